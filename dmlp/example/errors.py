"""The error every module raises for bad input (introduced in chapter 2).

It lives on its own so that any module can raise it without importing the command-line helpers:
imports flow one way (``errors`` <- ``settings``/``data``/``models`` <- ``cli``).
"""


class UsageError(ValueError):
    """A problem with what the user asked for; printed as one line, exit code 2."""
