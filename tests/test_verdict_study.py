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
KNOWN_BROKEN: dict[tuple[str, str], float] = {
    # empty since the onset check with its power (methods/changepoint_before.py): the six
    # cells held here before (pre_decline's four, supported on a false claim in 28-62 of
    # 200 runs; not_preexisting in effect and platform, not supported on a true claim in 53
    # and 25 of 200) were wrong in 0 of 20 runs each (seeds 0-19, docs/verdict-study.md)
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
    # a policy that said "inconclusive" to everything would keep every promise above. Each
    # claim kind must be decided right (supported when true, not supported when false) in
    # some runs, and a good share of all verdicts must be: seeds 0-49 decided 27.6% of them
    # right (declined_after 15.5%, beyond_platform_trend and targeted 24.0%, not_preexisting
    # 7.8%, disproportionate 66.5%), seeds 0-2 29.2% (35 of 120). Supported-when-true rates
    # are reported, not promised, in docs/verdict-study.md (11.8% pooled over seeds 0-49): the
    # timing gate asks the onset check for power against a decline as large as the effect,
    # and on this simulator's slow attention wander it often has none (then "inconclusive",
    # saying so)
    right = {kind: 0 for kind in {c.kind for c in cells}}
    for c in cells:
        right[c.kind] += c.counts["supported" if c.true else "not supported"]
    assert all(right.values()), right
    assert sum(right.values()) / sum(c.n for c in cells) >= 0.15, right
    # the effect scenario's peer claims: the subject's 26% extra fall ranks first among its
    # 40 peers, so the rank test is supported where the timing check has the power to place
    # the fall after the event (16 of seeds 0-49; below 20 of 100 with probability 0.003 at
    # that rate, binomial); the group claim where its pre-trend test holds (49 of 50)
    beyond = next(c for c in cells if (c.kind, c.scenario) == ("beyond_platform_trend",
                                                               "effect"))
    assert beyond.counts["supported"] / beyond.n >= 0.2, beyond.counts
    groups = next(c for c in cells if (c.kind, c.scenario) == ("disproportionate", "effect"))
    assert groups.counts["supported"] / groups.n >= 0.8, groups.counts
