"""The one declaration of an example's settings: parser, validation and flags round trip."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from chapters.common.flags import DataSettings, TrainSettings
from dmlp.example.errors import UsageError
from dmlp.example.settings import option


@dataclass(frozen=True)
class Example(DataSettings):
    num_workers: int = option(3, "workers", minimum=1)
    num_files: int = option(6, "files", minimum=1)
    sizes: tuple[int, ...] = option((32, 128), "batch sizes", minimum=1)
    rate: float = option(1.5, "rate", minimum=0)
    num_examples: int | None = option(1200, "use only N", minimum=1)

    def check(self) -> None:
        if self.num_files < self.num_workers:
            raise UsageError("--num-files must be at least --num-workers")


def test_flags_parse_into_settings_and_back():
    s = Example.from_argv(["--num-workers", "2", "--sizes", "1,2", "--verbose"])
    assert (s.num_workers, s.sizes, s.verbose, s.num_examples) == (2, (1, 2), True, 1200)
    assert Example.from_argv(s.argv()) == s
    assert "--num-examples" not in Example(num_examples=None).argv()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--num-workers", "0"], "--num-workers must be at least 1, got 0"),
        (["--num-w", "2"], "unrecognized arguments: --num-w"),
        (["--sizes", "a"], "expected a whole number, got 'a'"),
        (["--num-files", "1"], "--num-files must be at least --num-workers"),
        (["--rate", "nan"], "expected a number, got 'nan'"),
        (["--dataset", "x"], "invalid choice: 'x'"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        Example.from_argv(argv)
    assert exit_info.value.code == 2
    assert needle in capsys.readouterr().err


def test_the_constructor_checks_what_the_parser_checks():
    with pytest.raises(UsageError, match="--num-workers must be at least 1"):
        Example(num_workers=0)
    with pytest.raises(UsageError, match="--num-workers expects a whole number"):
        Example(num_workers="3")
    with pytest.raises(UsageError, match="--model-type must be one of"):
        TrainSettings(model_type="resnet")


def test_help_shows_plain_words_and_defaults():
    text = Example.parser("Uses ``tf.data`` and :func:`shard`.").format_help()
    assert "Uses tf.data and shard." in text
    assert "``" not in text and ":func:" not in text
    assert "(default: 32,128)" in text


def test_a_changed_default_keeps_the_base_help_and_rules():
    @dataclass(frozen=True)
    class Smaller(Example):
        num_workers: int = option(2)

    assert Smaller().num_workers == 2
    with pytest.raises(UsageError, match="--num-workers must be at least 1"):
        Smaller(num_workers=0)  # the base's minimum still holds
    text = Smaller.parser().format_help()
    assert "workers (default: 2)" in text
    assert "--num-workers" in Smaller(num_workers=3).argv()


@dataclass(frozen=True)
class Chosen(Example):
    modes: tuple[str, ...] = option(("a", "b"), "modes to run", choices=("a", "b", "c"))
    mode: str = option("a", "one mode", choices=("a", "b", "c"))


def test_a_list_with_choices_accepts_each_allowed_item_and_names_the_wrong_one(capsys):
    s = Chosen.from_argv(["--modes", "c,a", "--mode", "b"])
    assert (s.modes, s.mode) == (("c", "a"), "b")
    assert Chosen.from_argv(s.argv()) == s  # what a launcher passes on parses again
    for argv, needle in [
        (["--modes", "a,z"], "--modes must be one of a, b, c, got 'z'"),
        (["--mode", "z"], "argument --mode: invalid choice: 'z'"),
    ]:
        with pytest.raises(SystemExit):
            Chosen.from_argv(argv)
        assert needle in capsys.readouterr().err
    assert "--modes {a,b,c}" in Chosen.parser().format_help()
