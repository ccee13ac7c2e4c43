"""Section 8.4: each basic workflow runs on the laptop and shows what Argo defines."""

import random

import pytest

from chapters.ch08_basics import argo_basics
from dmlp import argo


def run(name: str, **flags):
    return argo_basics.main(argo_basics.Settings(workflow=name, **flags)).outcomes[name]


def test_hello_world_prints_its_greeting():
    outcome = run("hello-world")
    assert outcome.phase == "Succeeded" and outcome.shown
    assert "'hello world'" in outcome.detail


def side(seed: int) -> str:
    return random.Random(seed).choice(["heads", "tails"])


@pytest.mark.parametrize(
    "seed", [next(s for s in range(100) if side(s) == w) for w in ("heads", "tails")]
)
def test_the_coin_flip_takes_exactly_the_branch_it_flipped(seed):
    result = argo.run(argo_basics.COINFLIP, {"seed": seed}, quiet=True).raise_for_status()
    flipped = result.node("flip-coin").outputs["result"]
    assert flipped == side(seed)
    other = "tails" if flipped == "heads" else "heads"
    assert result.node(flipped).phase == "Succeeded"
    assert result.node(flipped).outputs["result"] == f"it was {flipped}"
    assert result.node(other).phase == "Skipped"
    assert run("coinflip", seed=seed).shown


def test_the_diamond_joins_after_both_middles():
    result = argo.run(argo_basics.DAG_DIAMOND, {"seconds": 0.3}, quiet=True)
    a, b, c, d = (result.raise_for_status().node(n) for n in "ABCD")
    assert min(b.started, c.started) >= a.finished
    assert d.started >= max(b.finished, c.finished)
    assert b.started < c.finished and c.started < b.finished  # the middles ran side by side


def test_a_script_result_is_passed_to_the_next_step():
    result = argo.run(argo_basics.SCRIPT_TEMPLATE, {"seed": 7}, quiet=True)
    made = result.raise_for_status().node("gen-random-int").outputs["result"]
    assert made == str(random.Random(7).randint(1, 100))
    assert result.node("print-message").outputs["result"] == made


def test_the_resource_template_says_it_needs_a_cluster():
    outcome = run("resource-template")
    assert outcome.phase == "Skipped" and not outcome.shown
    assert outcome.detail.startswith("needs a cluster") and "ConfigMap" in outcome.detail


def test_all_together_make_one_claim_that_holds():
    result = argo_basics.main(argo_basics.Settings(seconds=0.1))
    assert set(result.outcomes) == set(argo_basics.WORKFLOWS)
    assert result.claim.held and "resource-template needs a cluster" in result.claim.text
    assert result.claim.figures["shown"]["dag-diamond"]


def test_a_failing_check_is_reported_not_hidden(monkeypatch):
    monkeypatch.setitem(argo_basics.SHOWS, "hello-world", lambda run: (False, "said nothing"))
    result = argo_basics.main(argo_basics.Settings(workflow="hello-world"))
    assert not result.claim.held and "0 of 1" in result.claim.text
