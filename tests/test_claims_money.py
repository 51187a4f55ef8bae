"""Money claims are gated by the analysis their damages are priced from (issue 13).

A damages figure is only as good as the effect it prices. These tests build the claim
context by hand (so each gate is tested on its own, with a known reading), then run one
case through the pipeline where the structural time series is run far too short to
converge and check that the money claims say so instead of pricing it as fact.
"""

from __future__ import annotations

import datetime as dt

import pytest

from butfor.case import parse_case
from butfor.claims import evaluate_claims
from record_fixtures import record
from test_verdicts import assert_sentence_agrees

EVENT = dt.date(2022, 7, 20)


def _case(amount: float = 50.0):
    return parse_case({
        "methods": ["sts"],
        "case": {"title": "money gates", "seed": 1},
        "subject": {"unit": "ava"},
        "outcome": {"metric": "impressions"},
        "events": [{"name": "change", "date": EVENT}],
        "claims": [
            {"id": "lost", "kind": "income_loss", "allegation": "I lost income",
             "event": "change"},
            {"id": "worth", "kind": "claimed_amount", "allegation": "worth it",
             "amount": amount},
        ],
        "damages": {"pricing": [{"kind": "cpm", "metric": "impressions", "rate": 8.0}]},
    })


def _damages(source: str = "sts-impressions") -> dict:
    # a damages distribution well above zero and above the 50 claimed: both money claims
    # would be supported on these figures alone
    scenario = {"name": "central", "quantiles": {"5": 100.0, "50": 200.0, "95": 300.0},
                "amounts": [{"amount": 50.0, "p_reaching_amount": 0.99,
                             "amount_percentile": 1.0}]}
    return {"scenarios": [scenario], "headline": "central", "currency": "USD",
            "n_draws": 1000, "sources": {"impressions": "sts"},
            "source_analyses": {"impressions": source}}


def _analysis(**extra) -> dict:
    return {"id": "sts-impressions", "method": "sts", "metric": "impressions",
            "effect": {"diagnostics": {}}, **extra}


def _judge(analysis: dict) -> dict[str, dict]:
    case = _case()
    out = {v.claim: v.to_dict() for v in evaluate_claims(case, [record(analysis)], _damages())}
    for v in out.values():
        assert_sentence_agrees(v)
    return out


def test_money_claims_supported_when_their_source_passes_every_gate():
    out = _judge(_analysis(convergence={"max_rhat": 1.01, "ess": {"level": 900.0}}))
    assert out["lost"]["verdict"] == "supported"
    assert out["worth"]["verdict"] == "supported"
    assert [g["name"] for g in out["lost"]["gates"]] == ["degenerate", "convergence"]


@pytest.mark.parametrize("extra, gate, words", [
    # issue 13's example: the sampler run with 500 draws did not converge (R-hat 1.54)
    ({"convergence": {"max_rhat": 1.54}}, "convergence", "split R-hat 1.540"),
    # 3 of 5 pseudo-events flagged on this data: 60% against a bound of 10%
    ({"false_positive": {"rate": 0.6, "alpha": 0.05, "runs": 5, "n_flagged": 3}},
     "known_error_rate", "3 of 5 pseudo-events"),
    # a pre/post comparison's own pre-trend test (the structural time series has none)
    ({"method": "prepost", "pretrend": {"p_value": 6e-5, "slope": -0.1}}, "pretrend",
     "rejects parallel paths"),
    ({"flags": [{"name": "edge_estimate", "message": "the estimate is a 99.5% fall",
                 "values": {}}]},
     "degenerate", "edge_estimate"),
])
def test_a_failed_gate_of_the_priced_analysis_makes_money_claims_inconclusive(extra, gate,
                                                                             words):
    out = _judge(_analysis(**extra))
    for claim in ("lost", "worth"):
        v = out[claim]
        assert v["verdict"] == "inconclusive"
        assert v["figures"]["failed_gates"] == [gate]
        assert words in v["sentence"] and "sts-impressions" in v["sentence"]


def test_damages_name_a_flagged_source_in_their_notes():
    from butfor.damages.from_analyses import _flag_note

    flagged = _analysis(flags=[{"name": "exact_fit", "message": "the fit is exact",
                                "values": {}}])
    note = _flag_note("impressions", record(flagged))
    assert note is not None and "exact_fit: the fit is exact" in note
    assert _flag_note("impressions", record(_analysis())) is None


def test_unconverged_sampler_gives_inconclusive_money_claims_through_the_pipeline():
    from butfor.ingest_report import IngestReport
    from butfor.pipeline import run_case
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    cfg = PlatformConfig(n_peers=8, days=300, events=(
        EventSpec("change", EVENT, platform_shock=-0.3, subject_shock=-0.3),))
    sim = simulate_platform(cfg, seed=4)
    raw = {
        "methods": ["sts"],
        "case": {"title": "too few draws", "seed": 2},
        "subject": {"unit": "ava_sterling"},
        "outcome": {"metric": "impressions", "transform": "log1p"},
        "events": [{"name": "change", "date": EVENT}],
        "controls": {"metric": "pageviews"},
        # 100 draws (the least the case allows; issue 13 saw R-hat 1.54 at 500): too few to
        # mix, split R-hat above the gate's 1.05
        "sts": {"n_draws": 100, "pseudo_events": 0},
        "claims": [{"id": "lost", "kind": "income_loss", "allegation": "I lost income",
                    "event": "change"}],
        "damages": {"pricing": [{"kind": "cpm", "metric": "impressions", "rate": 8.0}]},
    }
    out = run_case(parse_case(raw), sim.panel, IngestReport(), inputs=[], case_toml=None,
                   command="test")
    results = out.results
    sts = next(a for a in results.analyses if a.method == "sts")
    assert results.damages["source_analyses"] == {"impressions": sts.id}
    (v,) = results.verdicts
    assert_sentence_agrees(v)
    rhat = sts.convergence.max_rhat
    if rhat < 1.05:  # the gate's own bound: if this seed mixed, the test has nothing to say
        pytest.fail(f"the short chain converged (R-hat {rhat:.3f}); shorten it further")
    assert v["verdict"] == "inconclusive"
    assert "convergence" in v["figures"]["failed_gates"]
