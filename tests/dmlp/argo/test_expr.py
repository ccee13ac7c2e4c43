"""Argo's small languages as the local runner reads them: variables, when, depends, durations."""

import pytest

from dmlp.argo import expr


def test_substitute_replaces_known_variables_and_names_a_missing_one():
    scope = {"inputs.parameters.x": "3", "item": "cnn"}
    assert expr.substitute("{{inputs.parameters.x}}-{{ item }}", scope) == "3-cnn"
    with pytest.raises(expr.MissingVariable, match=r"\{\{steps.a.outputs.result\}\}"):
        expr.substitute("{{steps.a.outputs.result}}", scope)
    with pytest.raises(expr.ExpressionError, match="expression tags"):
        expr.substitute("{{=sprig.sha1sum('x')}}", scope)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("heads == heads", True),
        ("heads == tails", False),
        ("'a b' != \"a b\"", False),
        ("0.9 > 0.85", True),
        ("10 >= 9 && 2 < 1", False),
        ("10 >= 9 && (2 < 1 || cnn == cnn)", True),
        ("!(1 == 1)", False),
        ("true", True),
        # govaluate orders two strings (evaluationStage.go, ltStage), so this is no error in Argo
        ("heads < tails", True),
        # an empty when runs the step (workflow/controller/steps.go, shouldExecute)
        ("", True),
    ],
)
def test_when_conditions(condition, expected):
    assert expr.evaluate_when(condition) is expected


@pytest.mark.parametrize("bad", ["a ==", "(a == b", "a == b c", " ", "hello"])
def test_unreadable_when_conditions_are_errors(bad):
    with pytest.raises(expr.ExpressionError):
        expr.evaluate_when(bad)


def test_depends_expressions():
    phases = {"a": "Succeeded", "b": "Failed", "c": "Skipped"}

    def state(name, result):
        return phases[name] == result

    assert expr.evaluate_depends("a && c", state)  # a bare name: Succeeded or Skipped
    assert not expr.evaluate_depends("a && b", state)
    assert expr.evaluate_depends("a.Succeeded && b.Failed", state)
    assert expr.evaluate_depends("!b.Succeeded || a.Failed", state)
    assert expr.depends_names("(a.Succeeded || b) && !c.Failed") == ["a", "b", "c"]
    with pytest.raises(expr.ExpressionError, match="Finished"):
        expr.evaluate_depends("a.Finished", state)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (5, 5)]
)
def test_go_durations(text, seconds):
    assert expr.duration(text) == pytest.approx(seconds)


def test_a_duration_with_a_day_unit_is_an_error():
    with pytest.raises(expr.ExpressionError, match="1d"):
        expr.duration("1d")
