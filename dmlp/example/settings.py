"""One declaration of an example's settings (introduced in chapter 2, used by every chapter).

An example declares its settings once, as a frozen dataclass whose fields carry their default and
help text. The same class builds the command-line parser, validates itself (in the constructor,
so a test or the bench that builds it directly gets the same checks as the command line), turns
back into flags for a launcher that starts more tasks of the same module, and is the one argument
``main`` takes::

    @dataclass(frozen=True)
    class Settings(DataSettings):
        num_workers: int = option(3, "how many workers share the data", minimum=1)

        def check(self):
            if self.num_files < self.num_workers:
                raise UsageError("--num-files must be at least --num-workers")

    def main(settings: Settings) -> Result: ...

    if __name__ == "__main__":
        raise SystemExit(cli.run(main, Settings))

Field types map to flags: ``int``/``float``/``str`` take a value, ``bool`` is a switch
(``--verbose``), ``X | None`` may be left out, ``tuple[int, ...]`` is a comma-separated list.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Self

from dmlp.example.errors import UsageError


def option(
    default: Any,
    help: str | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: Sequence[Any] | None = None,
    flag: str | None = None,
) -> Any:
    """A settings field: its default, its help text and the rules its value must follow.

    ``option(new_default)`` alone, in a subclass, changes only the default of a field the base
    class declares: its help text and rules are the base's (one declaration of each idea).
    """
    if help is None:
        return dataclasses.field(default=default, metadata={"inherit": True})
    metadata = {
        "help": help,
        "minimum": minimum,
        "maximum": maximum,
        "choices": tuple(choices) if choices is not None else None,
        "flag": flag,
    }
    return dataclasses.field(default=default, metadata=metadata)


def meta_of(cls: type, field: dataclasses.Field) -> Mapping[str, Any]:
    """The field's help and rules: its own, or, for a changed default only, the base class's."""
    if not field.metadata.get("inherit"):
        return field.metadata
    for base in cls.__mro__[1:]:
        inherited = getattr(base, "__dataclass_fields__", {}).get(field.name)
        if inherited is not None and not inherited.metadata.get("inherit"):
            return inherited.metadata
    raise TypeError(f"{cls.__name__}.{field.name}: option() without help, but no base declares it")


def flag_name(field: dataclasses.Field, meta: Mapping[str, Any] | None = None) -> str:
    meta = field.metadata if meta is None else meta
    return meta.get("flag") or "--" + field.name.replace("_", "-")


def _plain(text: str | None) -> str | None:
    """Docstring text for ``--help``: reST markup (``code``, :func:`x`) shown as plain words."""
    if text is None:
        return None
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def _base_type(hint: Any) -> tuple[Any, bool]:
    """``(type, optional)`` for a field's type hint: ``int | None`` -> ``(int, True)``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


_NAMES = {int: "a whole number", float: "a number", str: "a text"}


def _converter(kind: Any):
    """argparse ``type=``: parse text into ``kind``, with a one-line message when it is not."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]

        def parse_list(text: str) -> tuple:
            parts = [p.strip() for p in text.split(",") if p.strip()]
            if not parts:
                raise argparse.ArgumentTypeError(f"expected comma-separated values, got {text!r}")
            return tuple(_converter(item)(p) for p in parts)

        return parse_list

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {_NAMES.get(kind, kind.__name__)}, got {text!r}"
            ) from None
        if kind is float and value != value:  # NaN
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
        return value

    return parse


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base class: subclasses add fields with :func:`option` and cross-field rules in ``check``."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            _check_field(
                field, meta_of(type(self), field), hints[field.name], getattr(self, field.name)
            )
        self.check()

    def check(self) -> None:
        """Rules that involve more than one field; raise :class:`UsageError`."""

    # ------------------------------------------------------------------ command line

    @classmethod
    def parser(cls, description: str | None = None) -> argparse.ArgumentParser:
        """The argument parser: one flag per field, defaults and rules shown in ``--help``."""
        p = argparse.ArgumentParser(
            description=_plain(description),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            kind, _optional = _base_type(hints[field.name])
            meta = meta_of(cls, field)
            text = _plain(meta.get("help", ""))
            if kind is bool:
                p.add_argument(flag_name(field, meta), action="store_true", help=text)
                continue
            shown = field.default
            if isinstance(shown, tuple):
                shown = ",".join(map(str, shown))
            suffix = "" if shown is None else f" (default: {shown})"
            choices = meta.get("choices")
            listed = typing.get_origin(kind) is tuple  # choices hold for each item: __post_init__
            p.add_argument(
                flag_name(field, meta),
                dest=field.name,
                type=_converter(kind),
                choices=None if listed else choices,
                default=field.default,
                metavar="{" + ",".join(map(str, choices)) + "}" if choices else field.name.upper(),
                help=f"{text}{suffix}",
            )
        return p

    @classmethod
    def from_argv(cls, argv: Sequence[str] | None = None, description: str | None = None) -> Self:
        """Parse flags into settings; a bad value or rule exits 2 with one line, as argparse."""
        p = cls.parser(description)
        args = p.parse_args(argv)
        try:
            return cls(**vars(args))
        except UsageError as err:
            p.error(str(err))

    def argv(self, **overrides: Any) -> list[str]:
        """These settings as flags again (for a launcher that starts tasks of the same module)."""
        values = {**dataclasses.asdict(self), **overrides}
        out: list[str] = []
        for field in dataclasses.fields(self):
            value = values[field.name]
            name = flag_name(field, meta_of(type(self), field))
            if value is None or value is False:
                continue
            if value is True:
                out.append(name)
            elif isinstance(value, tuple | list):
                out += [name, ",".join(map(str, value))]
            else:
                out += [name, str(value)]
        return out

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)


def _check_field(field: dataclasses.Field, meta: Mapping[str, Any], hint: Any, value: Any) -> None:
    kind, optional = _base_type(hint)
    name = flag_name(field, meta)
    if value is None:
        if optional:
            return
        raise UsageError(f"{name} needs a value")
    items = value if typing.get_origin(kind) is tuple else (value,)
    item_kind = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind
    if typing.get_origin(kind) is tuple and not isinstance(value, tuple):
        raise UsageError(f"{name} must be a list of values, got {value!r}")
    for item in items:
        accepted = (int, float) if item_kind is float else item_kind
        if not isinstance(item, accepted) or (item_kind is not bool and isinstance(item, bool)):
            raise UsageError(f"{name} expects {_NAMES.get(item_kind, item_kind)}, got {item!r}")
        if meta.get("choices") is not None and item not in meta["choices"]:
            allowed = ", ".join(map(str, meta["choices"]))
            raise UsageError(f"{name} must be one of {allowed}, got {item!r}")
        if meta.get("minimum") is not None and item < meta["minimum"]:
            raise UsageError(f"{name} must be at least {meta['minimum']}, got {item}")
        if meta.get("maximum") is not None and item > meta["maximum"]:
            raise UsageError(f"{name} must be at most {meta['maximum']}, got {item}")
        if item_kind is float and not (item == item and abs(item) != float("inf")):
            raise UsageError(f"{name} must be a finite number, got {item}")


# ---------------------------------------------------------------------------- shared groups


@dataclasses.dataclass(frozen=True)
class CommonSettings(Settings):
    """Flags every example has: where outputs go, the seed, and library logs on demand."""

    out: str = option("out", "directory for everything the example writes")
    seed: int = option(42, "random seed")
    verbose: bool = option(False, "show the libraries' own logs (TensorFlow, KServe, ...)")
