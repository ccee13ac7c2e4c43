"""How every example runs: its settings and flags, its command line, its closing report.

``settings`` declares an example's flags once; ``cli.run`` parses them, calls ``main`` and turns
errors into one line (``errors.UsageError``); ``report.finish`` prints an example's closing
lines (the claim, its pictures, the book section, what it wrote);
``tf_setup`` configures TensorFlow in one place; ``bench`` is the harness of ``make bench``.
"""
