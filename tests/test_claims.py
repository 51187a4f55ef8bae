"""Every claim kind, on the simulated platform: supported where the scenario was built to
support it, not supported where it was built against it (known truth by construction)."""

from __future__ import annotations

import datetime as dt

import pytest

from butfor.case import parse_case
from butfor.ingest_report import IngestReport
from butfor.pipeline import run_case
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform
from record_fixtures import record

EVENT = dt.date(2022, 7, 20)  # day 200 of 300
METHODS = ["sts", "prepost", "peer_effects", "event_study", "changepoint"]


def scenario(*, subject=0.0, platform=0.0, left=0.0, pre_decline=0.0, seed=1):
    cfg = PlatformConfig(
        n_peers=60, days=300,
        events=(EventSpec("change", EVENT, platform_shock=platform,
                          group_shocks={"left": left}, subject_shock=subject),),
        pre_decline_start=EVENT - dt.timedelta(days=120) if pre_decline else None,
        pre_decline_per_day=pre_decline,
    )
    return simulate_platform(cfg, seed=seed)


def verdicts(sim, *, amount=1_000.0, seed=3) -> dict[str, str]:
    raw = {
        "methods": METHODS,
        "case": {"title": "claims test", "seed": seed},
        "subject": {"unit": "ava_sterling"},
        "outcome": {"metric": "impressions", "transform": "log1p"},
        "events": [{"name": "change", "date": EVENT}],
        "controls": {"metric": "pageviews"},
        "groups": {"compare": ["left", "right"]},
        "claims": [
            {"id": k, "kind": k, "allegation": k, "event": "change"}
            for k in ("declined_after", "beyond_platform_trend", "not_preexisting", "targeted",
                      "income_loss")
        ] + [
            {"id": "disproportionate", "kind": "disproportionate", "allegation": "left worse",
             "group_a": "left", "group_b": "right"},
            {"id": "claimed_amount", "kind": "claimed_amount", "allegation": "worth it",
             "amount": amount},
        ],
        "damages": {"pricing": [{"kind": "cpm", "metric": "impressions", "rate": 8.0,
                                 "rate_low": 5.0, "rate_high": 12.0}]},
    }
    case = parse_case(raw)
    out = run_case(case, sim.panel, IngestReport(), inputs=[], case_toml=None, command="test")
    from test_verdicts import assert_sentence_agrees

    for v in out.results.verdicts:
        assert_sentence_agrees(v)
    return {v["claim"]: v["verdict"] for v in out.results.verdicts} | {
        f"{v['claim']}:sentence": v["sentence"] for v in out.results.verdicts}


def not_shown(found: dict, claim: str) -> bool:
    """Not supported, or inconclusive because the data could not detect a change that matters
    (the verdict policy: "not supported" needs the power to have seen it)."""
    return found[claim] == "not supported" or (
        found[claim] == "inconclusive" and "could not detect" in found[f"{claim}:sentence"])


@pytest.fixture(scope="module")
def targeted_harm():
    # the subject loses 55% of its reach (log -0.8) beyond a platform-wide -0.1, and the
    # "left" group loses a further 25% (log -0.3): every allegation is true by construction
    return verdicts(scenario(subject=-0.8, platform=-0.1, left=-0.3), amount=1_000.0)


@pytest.fixture(scope="module")
def platform_wide_only():
    # everyone loses 33% (log -0.4), the subject nothing more, no group differs
    return verdicts(scenario(platform=-0.4), amount=1_000.0)


@pytest.fixture(scope="module")
def reach_rose():
    # the subject's reach rose by 49% (log +0.4); a $400 million claim
    return verdicts(scenario(subject=0.4), amount=400e6)


@pytest.fixture(scope="module")
def earlier_decline():
    # the subject declined by 0.4% a day from 120 days before the event, nothing at it
    return verdicts(scenario(pre_decline=-0.004))


def test_declined_after(targeted_harm, reach_rose):
    assert targeted_harm["declined_after"] == "supported"
    assert reach_rose["declined_after"] == "not supported"


def test_beyond_platform_trend(targeted_harm, platform_wide_only):
    assert targeted_harm["beyond_platform_trend"] == "supported"
    assert not_shown(platform_wide_only, "beyond_platform_trend")


def test_not_preexisting(targeted_harm, earlier_decline):
    # the drop is at the event, so no decline is found before it; but "supported" needs the
    # data to have been able to show a 10% decline (the default smallest effect) begun before
    # it, and at pre-period pseudo-events this series' check reaches 80% power only for
    # declines of about a third (docs/verdict-policy.md, power decides): inconclusive, saying so
    assert targeted_harm["not_preexisting"] == "inconclusive"
    assert "could not detect a decline smaller than" in targeted_harm["not_preexisting:sentence"]
    assert earlier_decline["not_preexisting"] == "not supported"


def test_targeted(targeted_harm, platform_wide_only):
    assert targeted_harm["targeted"] == "supported"
    assert not_shown(platform_wide_only, "targeted")


def test_disproportionate(targeted_harm, platform_wide_only):
    # with 30 accounts a group the group event study's pre-trend test of 27 coefficients,
    # referred to F(27, 59), rejected here (p = 0.005) although the simulator puts no group
    # difference before the event, and the gate withheld "supported"; its wild cluster
    # bootstrap does not (p = 0.32, seed 3), so the true claim (left lost 26% more) is supported
    assert targeted_harm["disproportionate"] == "supported"
    assert "pre-trend test rejects" not in targeted_harm["disproportionate:sentence"]
    assert not_shown(platform_wide_only, "disproportionate") or (
        "rules out" in platform_wide_only["disproportionate:sentence"])


def test_income_loss(targeted_harm, reach_rose):
    assert targeted_harm["income_loss"] == "supported"
    assert reach_rose["income_loss"] == "not supported"


def test_claimed_amount(targeted_harm, reach_rose):
    assert targeted_harm["claimed_amount"] == "supported"  # $1,000 of a far larger loss
    assert reach_rose["claimed_amount"] == "not supported"  # $400 million, and no loss


# --- the conservative rules, on hand-made results --------------------------------------
def _case_with(kind: str, **claim):
    return parse_case({
        "subject": {"unit": "s"}, "outcome": {"metric": "m"},
        "events": [{"name": "e", "date": "2022-01-10"}],
        "claims": [{"id": "c", "kind": kind, "allegation": "a", **claim}],
    })


def _effect_analysis(method: str, cum: float, lo: float, hi: float, p: float,
                     rel=(-0.2, -0.4, 0.1)) -> dict:
    summary = {"average": cum / 10, "average_lower": lo / 10, "average_upper": hi / 10,
               "cumulative": cum, "cumulative_lower": lo, "cumulative_upper": hi,
               "relative": rel[0], "relative_lower": rel[1], "relative_upper": rel[2],
               "p_value": p, "level": 0.95}
    return {"id": method, "method": method, "title": method, "metric": "m", "event": "e",
            "description": "", "effect": {"unit": "s", "summary": summary}}


@pytest.mark.parametrize(("lo", "hi", "p", "rel", "expected"), [
    # whole interval below zero and p small: supported
    (-30.0, -10.0, 0.01, (-0.2, -0.3, -0.1), "supported"),
    # interval includes zero: never supported, even with a small p-value from elsewhere
    (-30.0, 5.0, 0.01, (-0.2, -0.3, 0.02), "inconclusive"),
    # interval includes zero and rules out any decline beyond 5%: not supported
    (-3.0, 5.0, 0.5, (-0.01, -0.03, 0.02), "not supported"),
    # an increase: not supported
    (5.0, 30.0, 0.01, (0.2, 0.1, 0.3), "not supported"),
])
def test_declined_after_is_never_supported_by_an_interval_that_includes_zero(lo, hi, p, rel,
                                                                               expected):
    from butfor.claims import evaluate_claims

    case = _case_with("declined_after", event="e")
    analysis = _effect_analysis("sts", (lo + hi) / 2, lo, hi, p, rel)
    (verdict,) = evaluate_claims(case, [record(analysis)], None)
    assert verdict.verdict == expected


def test_a_claim_no_analysis_can_test_is_inconclusive_and_says_why():
    from butfor.claims import evaluate_claims

    (verdict,) = evaluate_claims(_case_with("disproportionate"), [], None)
    assert verdict.verdict == "inconclusive"
    assert "group comparison" in verdict.sentence


def test_a_growth_outcome_is_named_as_growth_in_the_sentence():
    # [outcome] transform = "pct_change" analyses day-on-day growth: an 89% fall in growth
    # read "followers ran 89.3% lower" on the demo's panel, which says the followers fell
    sim = scenario(subject=-0.3, seed=2)
    case = parse_case({
        "methods": ["sts"], "case": {"title": "growth", "seed": 1},
        "subject": {"unit": "ava_sterling"},
        "outcome": {"metric": "followers", "transform": "pct_change"},
        "events": [{"name": "change", "date": EVENT}], "controls": {"metric": "pageviews"},
        "claims": [{"id": "fell", "kind": "declined_after", "allegation": "growth fell",
                    "event": "change"}],
    })
    out = run_case(case, sim.panel, IngestReport(), inputs=[], case_toml=None, command="test")
    (verdict,) = out.results.verdicts
    assert verdict["sentence"].startswith("After the change, the day-on-day change in "
                                          "followers ran "), verdict["sentence"]
