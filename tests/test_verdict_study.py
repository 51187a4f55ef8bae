"""The verdict study (issue 13; tests/verdict_study.py, table in docs/verdict-study.md): on the
simulated platform, whose truth is known by construction, a wrong verdict is rare.

At CI size (3 seeds per scenario, 24 runs, about 30 s of one core) the test can detect: a
policy wrong in every run of one (claim kind, scenario) cell (the per-cell check), and a wrong
rate pooled over the false claims (72 verdicts, at most 8 wrong pass) or the true ones (48,
at most 6) well above 5%: a pooled rate of 15% fails with probability 0.77 and 0.59, 20%
with 0.97 and 0.87 (binomial). It cannot detect one cell wrong 10-30% of the time: that is
what ``--full`` (100 seeds per scenario, every cell on its own) and the table in
docs/verdict-study.md are for. Every run is seeded, so the CI test is deterministic.
"""

from __future__ import annotations

import pytest

from verdict_study import (
    PROMISED_RATE,
    SCENARIOS,
    Cell,
    run_study,
    tabulate,
    tolerance,
)

# Cells where the study found the policy breaks its promise (docs/verdict-study.md, "Known
# failures", with their causes). Each is held to the wrong rate the full study measured
# (rounded up; the binomial tolerance adds the noise), so it cannot get worse unnoticed at
# --full size (3 runs cannot tell 35% from worse), and is left out of the 5% checks. Remove a
# line when its cause is fixed.
KNOWN_BROKEN = {
    # a decline begun 60 days before the event is not always found: then "no decline
    # began before" is supported, and the effect claims pass their timing gate
    # (200 seeds: 62, 62, 62 and 28 of 200)
    ("not_preexisting", "pre_decline"): 0.35,
    ("beyond_platform_trend", "pre_decline"): 0.35,
    ("targeted", "pre_decline"): 0.35,
    ("declined_after", "pre_decline"): 0.2,
    # the change-point dating's slope model dates the event's drop weeks early
    # (53 and 25 of 200)
    ("not_preexisting", "effect"): 0.3,
    ("not_preexisting", "platform"): 0.2,
}


@pytest.fixture(scope="module")
def cells(slow_size) -> list[Cell]:
    seeds = list(range(slow_size(ci=3, full_size=100)))
    return tabulate(run_study(list(SCENARIOS), seeds))


def _pooled(cells: list[Cell], true: bool) -> tuple[int, int]:
    mine = [c for c in cells if c.true is true and (c.kind, c.scenario) not in KNOWN_BROKEN]
    return sum(c.wrong() for c in mine), sum(c.n for c in mine)


@pytest.mark.slow
def test_supported_is_rare_when_the_claim_is_false(cells):
    # pooled over every false claim: a binomial count at the promised 5%, one-sided at 99%
    wrong, n = _pooled(cells, true=False)
    assert wrong <= tolerance(n), f"supported on {wrong} of {n} false claims"


@pytest.mark.slow
def test_not_supported_is_rare_when_the_claim_is_true(cells):
    wrong, n = _pooled(cells, true=True)
    assert wrong <= tolerance(n), f"not supported on {wrong} of {n} true claims"


@pytest.mark.slow
def test_no_cell_breaks_the_promise(cells):
    # each (claim kind, scenario) on its own, one-sided at 99% for the whole family
    # (Bonferroni over the cells): at CI size a cell fails only when wrong in all 3 runs
    confidence = 1 - 0.01 / len(cells)
    broken = [(c.kind, c.scenario, c.wrong(), c.n) for c in cells
              if (c.kind, c.scenario) not in KNOWN_BROKEN
              and c.wrong() > tolerance(c.n, PROMISED_RATE, confidence)]
    assert not broken, broken


@pytest.mark.slow
def test_known_failures_get_no_worse(cells):
    for c in cells:
        bound = KNOWN_BROKEN.get((c.kind, c.scenario))
        if bound is not None:
            assert c.wrong() <= tolerance(c.n, bound), (c.kind, c.scenario, c.wrong(), c.n)


@pytest.mark.slow
def test_the_study_is_not_vacuous(cells):
    # a policy that said "inconclusive" to everything would keep every promise above; the
    # rates when right are reported in the doc, and here only checked to be far from zero
    true = [c for c in cells if c.true]
    false = [c for c in cells if not c.true]
    supported = sum(c.counts["supported"] for c in true) / sum(c.n for c in true)
    rejected = sum(c.counts["not supported"] for c in false) / sum(c.n for c in false)
    assert supported >= 0.2, supported
    assert rejected >= 0.05, rejected
    # the effect scenario's peer claims: the subject's 26% extra fall ranks first among its
    # 40 peers, so the rank test is supported in most runs
    beyond = next(c for c in cells if (c.kind, c.scenario) == ("beyond_platform_trend",
                                                               "effect"))
    assert beyond.counts["supported"] / beyond.n >= 0.3, beyond.counts
