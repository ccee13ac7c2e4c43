"""Conformance: the runner's ``when`` and ``depends`` give Argo v4.1.2's answer, case by case.

Every case names the upstream file and function that fixes its expected value:

* ``ARGO``: argoproj/argo-workflows at tag v4.1.2;
* ``GOVALUATE``: github.com/Knetic/govaluate at 7625b7f8c03d, the version Argo's go.mod pins
  (``v3.0.1-0.20250325060307-7625b7f8c03d+incompatible``).

Argo substitutes ``{{...}}`` textually, then ``shouldExecute`` (ARGO
workflow/controller/steps.go) parses the text with govaluate, turns every variable token (a bare
word) into a string token, parses again from the tokens, evaluates with no parameters and
requires a bool. The ``when`` strings below are what govaluate sees after substitution.
"""

import pytest

from dmlp.argo import expr

ARGO = "argo-workflows v4.1.2"
GOVALUATE = "govaluate 7625b7f8c03d"
SHOULD_EXECUTE = f"{ARGO} workflow/controller/steps.go shouldExecute"

WHEN = [
    # booleans: `true`/`false` are BOOLEAN tokens; parentheses are a noop stage around them
    ("true", True, f"{GOVALUATE} parsing.go readToken (true/false become BOOLEAN)"),
    ("false", False, f"{GOVALUATE} parsing.go readToken; {SHOULD_EXECUTE} skips on false"),
    ("(false)", False, f"{GOVALUATE} stagePlanner.go planValue (CLAUSE -> noopStageRight)"),
    ("((true))", True, f"{GOVALUATE} stagePlanner.go planValue"),
    ("", True, f"{SHOULD_EXECUTE}: an empty when executes"),
    # numbers: every number is a float64
    ("0.9 > 0.8", True, f"{GOVALUATE} evaluationStage.go gtStage (float64)"),
    ("1 == 1.0", True, f"{GOVALUATE} evaluationStage.go equalStage (reflect.DeepEqual of float64)"),
    ("10 >= 9", True, f"{GOVALUATE} evaluationStage.go gteStage"),
    ("2 <= 1", False, f"{GOVALUATE} evaluationStage.go lteStage"),
    ("-1 < 0", True, f"{GOVALUATE} parsing.go readToken ('-' as PREFIX); negateStage"),
    ("0x10 == 16", True, f"{GOVALUATE} parsing.go readToken (hex literal)"),
    # bare words are strings (Argo turns VARIABLE into STRING), compared as strings
    ("heads == heads", True, f"{SHOULD_EXECUTE} (VARIABLE -> STRING); equalStage"),
    ("heads == tails", False, f"{SHOULD_EXECUTE}; {GOVALUATE} evaluationStage.go equalStage"),
    ("heads != tails", True, f"{GOVALUATE} evaluationStage.go notEqualStage"),
    ("a < b", True, f"{GOVALUATE} evaluationStage.go ltStage (two strings: lexicographic)"),
    ("b <= a", False, f"{GOVALUATE} evaluationStage.go lteStage (two strings)"),
    ("tails > heads", True, f"{GOVALUATE} evaluationStage.go gtStage (two strings)"),
    ("True == True", True, f"{SHOULD_EXECUTE}: `True` is a word, not a boolean"),
    # quoted strings, including quoted numbers, stay strings
    ("'a b' == \"a b\"", True, f"{GOVALUATE} parsing.go readToken (either quote)"),
    ("'10' < '9'", True, f"{GOVALUATE} evaluationStage.go ltStage: quoted numbers are strings"),
    ("'1' == 1", False, f"{GOVALUATE} evaluationStage.go equalStage: string vs float64"),
    ("'heads' == heads", True, f"{SHOULD_EXECUTE}: a bare word equals the quoted word"),
    ("[a b] == 'a b'", True, f"{GOVALUATE} parsing.go readToken ([...] is a VARIABLE)"),
    # && || ! and parentheses; && binds tighter than ||; ! binds tightest
    ("true && false", False, f"{GOVALUATE} evaluationStage.go andStage"),
    ("false || true", True, f"{GOVALUATE} evaluationStage.go orStage"),
    ("true || false && false", True, f"{GOVALUATE} stagePlanner.go planLogicalOr > And"),
    ("(true || false) && false", False, f"{GOVALUATE} stagePlanner.go planValue (clause)"),
    ("!false", True, f"{GOVALUATE} evaluationStage.go invertStage"),
    ("!(1 == 2) && a != b", True, f"{GOVALUATE} stagePlanner.go planPrefix"),
    ("!true == false", True, f"{GOVALUATE} stagePlanner.go planPrefix binds before =="),
    ("false && x.Y", False, f"{GOVALUATE} EvaluableExpression.go evaluateStage (short cut)"),
    ("heads == heads&&tails != heads", True, f"{GOVALUATE} parsing.go readToken (no spaces)"),
    # arithmetic, and other operators govaluate has
    ("1 - 2 - 3 == -4", True, f"{GOVALUATE} stagePlanner.go reorderStages (left to right)"),
    ("2 + 3 * 4 == 14", True, f"{GOVALUATE} stagePlanner.go planAdditive > Multiplicative"),
    ("v + 1 == v1", True, f"{GOVALUATE} evaluationStage.go addStage (string concat, %v)"),
    ("2 ** 10 == 1024", True, "Go math/pow.go pow (square and multiply)"),
    # Go's Pow is not C's: C's pow(1.1, 8) is 2.14358881000000156547..., one bit more
    ("1.1 ** 8 == 2.143588810000001121380819313344545662403106689453125", True, "math/pow.go"),
    ("heads in (heads, tails)", True, f"{GOVALUATE} evaluationStage.go inStage, separatorStage"),
    ("tails =~ tai", True, f"{GOVALUATE} parsing.go optimizeTokens; regexStage ({ARGO} docs)"),
    ("heads !~ '^t'", True, f"{GOVALUATE} evaluationStage.go notRegexStage"),
    ("true ? false : true", False, f"{GOVALUATE} evaluationStage.go ternaryIf/ElseStage"),
    # govaluate's own quirk: the planner stops at a token no level takes, the rest is ignored
    ("(1 == 1) false", True, f"{GOVALUATE} stagePlanner.go planStages (no end check)"),
]

WHEN_ERRORS = [
    # a result that is not a boolean
    ("hello", "Expected boolean", f"{SHOULD_EXECUTE}: result.(bool) fails"),
    ("3", "Expected boolean", f"{SHOULD_EXECUTE}: result.(bool) fails"),
    ("True", "Expected boolean", f"{SHOULD_EXECUTE}: `True` is the string 'True'"),
    ("(heads)", "Expected boolean", f"{SHOULD_EXECUTE}: result.(bool) fails"),
    # type errors
    ("tails-up == tails-up", "modifier '-'", f"{GOVALUATE} evaluationStage.go subtractStage"),
    ("1 < a", "comparator '<'", f"{GOVALUATE} evaluationStage.go comparatorTypeCheck"),
    ("'10' > 9", "comparator '>'", f"{GOVALUATE} evaluationStage.go comparatorTypeCheck"),
    ("true && 1", "logical operator", f"{GOVALUATE} evaluationStage.go findTypeChecks (isBool)"),
    ("a.B == a.B", "No parameter 'a'", f"{GOVALUATE} makeAccessorStage; Evaluate(nil)"),
    # syntax errors
    ("!heads", "PREFIX", f"{SHOULD_EXECUTE} re-checks tokens; {GOVALUATE} lexerState.go"),
    ("a ==", "ends too early", f"{GOVALUATE} lexerState.go checkExpressionSyntax (isEOF)"),
    (" ", "ends too early", f"{GOVALUATE} lexerState.go checkExpressionSyntax (isEOF)"),
    ("(a == b", "Unbalanced", f"{GOVALUATE} parsing.go checkBalance"),
    ("a == b c", "Cannot transition", f"{GOVALUATE} lexerState.go checkExpressionSyntax"),
    ("model.h5 == model.h5", "unexported", f"{GOVALUATE} parsing.go readToken (accessor)"),
    ("a === a", "Invalid token", f"{GOVALUATE} parsing.go readToken (symbols)"),
    ("'open == open", "Unclosed string", f"{GOVALUATE} parsing.go readToken"),
]

# what the runner refuses rather than guesses: one line naming the feature
WHEN_REFUSED = [
    ("'2024-01-01' < '2024-02-01'", "date or time", f"{GOVALUATE} parsing.go tryParseTime"),
    ("x =~ '(?i)X'", "not supported locally", "RE2 flags; Go regexp and Python re differ"),
    ("2 ** 0.3 > 1", "not reproduced locally", "Go math/pow.go uses Go's own Exp and Log"),
    ("2 ** {{x}} > 1", "not reproduced locally", "the exponent may be fractional"),
]


@pytest.mark.parametrize(("when", "expected", "source"), WHEN, ids=[c[0] for c in WHEN])
def test_when_gives_govaluates_answer(when, expected, source):
    assert expr.evaluate_when(when) is expected, source


@pytest.mark.parametrize(
    ("when", "message", "source"), WHEN_ERRORS, ids=[c[0] for c in WHEN_ERRORS]
)
def test_when_is_an_error_where_argo_errs(when, message, source):
    with pytest.raises(expr.ExpressionError, match=message):
        expr.evaluate_when(when)


@pytest.mark.parametrize(("when", "message", "why"), WHEN_REFUSED, ids=[c[0] for c in WHEN_REFUSED])
def test_when_refuses_what_it_does_not_reproduce(when, message, why):
    with pytest.raises(expr.ExpressionError, match=message):
        expr.check_when(when)


@pytest.mark.parametrize(
    ("when", "value", "expected"),
    [
        ("{{inputs.parameters.flag}}", "false", False),
        ("{{inputs.parameters.flag}}", "true", True),
        ("{{inputs.parameters.x}} > 0.8", "0.9", True),
        ("{{inputs.parameters.x}} > 0.8", "0.5", False),
        ("{{inputs.parameters.x}} == heads", "heads", True),
        ("!{{inputs.parameters.flag}}", "false", True),
    ],
)
def test_when_is_checked_before_the_run_and_evaluated_after_substitution(when, value, expected):
    """ARGO steps.go: the text is substituted first (resolveDependencyReferences / ProcessArgs)."""
    expr.check_when(when)  # before the run, whatever the value will be
    scope = {match.group(1): value for match in expr.VARIABLE.finditer(when)}
    assert expr.evaluate_when(expr.substitute(when, scope)) is expected


def test_when_with_an_expression_tag_is_refused_before_the_run():
    with pytest.raises(expr.ExpressionError, match="expression tags"):
        expr.check_when("{{=inputs.parameters.x == 'a'}}")


def test_a_fractional_power_that_only_shows_at_run_time_is_an_error_then():
    with pytest.raises(expr.ExpressionError, match="not reproduced locally"):
        expr.evaluate_when("2 ** 0.3 > 1")


def test_when_that_is_not_a_boolean_is_an_error_at_run_time():
    """ARGO steps.go shouldExecute: `Expected boolean evaluation` (the node errors)."""
    expr.check_when("{{inputs.parameters.flag}}")
    with pytest.raises(expr.ExpressionError, match="Expected boolean"):
        expr.evaluate_when(expr.substitute("{{x}}", {"x": "yes"}))


# ---------------------------------------------------------------------------- depends
# Argo reads `depends` with a regular expression (ancestry.go GetTaskDependencies), expands bare
# names, replaces '-' by '_' and evaluates the result with expr-lang (dag.go).

DEPENDS = f"{ARGO} workflow/controller/dag.go evaluateDependsLogic"
EXPAND = f"{ARGO} workflow/common/ancestry.go expandDependency"
TASK_REGEX = f"{ARGO} workflow/common/ancestry.go taskNameRegex"
EXPR_LANG = f"{ARGO} util/expr/argoexpr/eval.go EvalBool (expr-lang: ! > && > ||)"
# each task's results that are true (dag.go TaskResults)
RESULTS = {
    "ok": {"Succeeded"},
    "bad": {"Failed"},
    "skip": {"Skipped"},
    "err": {"Errored"},
    "gone": {"Omitted"},
    "daemon": {"Daemoned"},
    "fan": {"Failed", "AnySucceeded"},
    "all-bad": {"Failed", "AllFailed"},
}

DEPENDS_CASES = [
    ("ok", True, f"{EXPAND}: ok.Succeeded || ok.Skipped || ok.Daemoned"),
    ("skip", True, EXPAND),
    ("daemon", True, EXPAND),
    ("bad", False, EXPAND),
    ("err", False, EXPAND),
    ("gone", False, EXPAND),
    ("ok.Succeeded", True, DEPENDS),
    ("bad.Failed", True, DEPENDS),
    ("err.Errored", True, DEPENDS),
    ("skip.Skipped", True, DEPENDS),
    ("gone.Omitted", True, DEPENDS),
    ("daemon.Daemoned", True, DEPENDS),
    ("fan.AnySucceeded", True, DEPENDS),
    ("all-bad.AllFailed", True, DEPENDS),
    ("fan.AllFailed", False, DEPENDS),
    ("bad.Failed||ok", True, f"{TASK_REGEX}: no spaces needed"),
    ("bad||ok.Failed", False, TASK_REGEX),
    ("!bad.Succeeded", True, EXPR_LANG),
    ("!bad", True, f"{EXPAND} wraps the bare name in parentheses"),
    ("ok.Succeeded || bad.Succeeded && skip.Failed", True, EXPR_LANG),
    ("(ok.Succeeded || bad.Succeeded) && skip.Failed", False, EXPR_LANG),
    ("!ok.Succeeded||bad.Failed&&!skip.Failed", True, EXPR_LANG),
    ("ok && (bad.Failed || err.Errored) && !gone.Succeeded", True, EXPR_LANG),
]


def _state(name: str, result: str) -> bool:
    return result in RESULTS[name]


@pytest.mark.parametrize(
    ("depends", "expected", "source"), DEPENDS_CASES, ids=[c[0] for c in DEPENDS_CASES]
)
def test_depends_gives_argos_answer(depends, expected, source):
    assert expr.evaluate_depends(depends, _state) is expected, source


@pytest.mark.parametrize(
    ("depends", "names", "atoms"),
    [
        ("A.Failed||B", ["A", "B"], [("A", "Failed"), ("B", None)]),
        ("(a-1.Failed||b)&&!a-1", ["a-1", "b"], [("a-1", "Failed"), ("b", None), ("a-1", None)]),
        ("x.AnySucceeded || y.AllFailed", ["x", "y"], [("x", "AnySucceeded"), ("y", "AllFailed")]),
    ],
)
def test_depends_names_and_atoms(depends, names, atoms):
    """ARGO ancestry.go GetTaskDependencies: names with dashes, results after a dot, no spaces."""
    assert expr.depends_names(depends) == names
    assert expr.depends_atoms(depends) == atoms


@pytest.mark.parametrize(
    ("depends", "message", "source"),
    [
        ("A.Finished", "unknown result", f"{ARGO} ancestry.go ValidateTaskResults"),
        ("A.succeeded", "unknown result", f"{TASK_REGEX} (a result starts with a capital)"),
        ("1a", "begins with a digit", f"{ARGO} workflow/validate/validate.go validateDAG"),
        ("A == B", "cannot read", "only names, results, && || ! and parentheses are read"),
        ("A and B", "unexpected", f"{TASK_REGEX}: `and` is read as a task name"),
        ("(A", "ends too early", EXPR_LANG),
        ("A)", "unexpected", EXPR_LANG),
        (" ", "empty", f'{ARGO} ancestry.go getTaskDependsLogic: only "" means none'),
    ],
)
def test_depends_that_argo_rejects_is_refused_before_the_run(depends, message, source):
    with pytest.raises(expr.ExpressionError, match=message):
        expr.check_depends(depends)


def test_an_empty_depends_is_no_depends():
    """ARGO ancestry.go getTaskDependsLogic: `depends: ""` falls back to `dependencies`."""
    assert expr.depends_names("") == []
    assert expr.evaluate_depends("", _state) is True
