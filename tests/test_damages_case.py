"""Damages from the case file: every option a [damages] section can state, its refusals,
and a simulated platform's known truth priced through the case (split from test_damages.py,
whose helpers it shares)."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import pandas as pd
import pytest

from butfor.case import parse_case
from butfor.damages import damages_from_case
from butfor.errors import CaseError
from butfor.results import dumps
from test_damages import CENT, damages, make_path

BASE = {"subject": {"unit": "ava"}, "outcome": {"metric": "impressions"},
        "events": [{"name": "change", "date": "2023-01-01"}]}


def test_case_file_expresses_every_option():
    case = parse_case({**BASE, "damages": {
        "pricing": [
            {"kind": "cpm", "metric": "views", "rate": 4, "rate_low": 2, "rate_high": 8},
            {"kind": "rate_card", "dollars_per_thousand": 10, "uncertainty": 0.3,
             "posts_per_month": 4, "distribution": "uniform"},
            {"kind": "contracts", "contracts": [
                {"name": "shoes", "value": 5e5, "value_low": 3e5, "value_high": 6e5,
                 "renewal_probability": 0.6, "terms": 3, "term_days": 365,
                 "schedule": "start", "start": "2023-06-01"}]},
        ],
        "persistence": [{"kind": "half_life", "half_life_days": 180, "horizon_days": 730},
                        {"kind": "constant", "horizon_days": 365, "name": "flat year"}],
        "discount_rate": 0.06, "discounting": "mid_year", "past_losses": "compounded",
        "valuation_date": "2024-06-01", "mitigation": 1e4, "amount_claimed": 4e8,
        "anchor_days": 56, "draws": 2000,
    }})
    d = case.damages
    assert d.pricing[1].rate_range() == pytest.approx((7.0, 13.0))
    assert [p.label() for p in d.persistence] == ["half-life 180 days, for 730 days",
                                                  "flat year"]


@pytest.mark.parametrize(
    ("damages_section", "message"),
    [
        ({"pricing": [{"kind": "cpm", "rate": 5, "rate_low": 6, "rate_high": 9}]},
         "rate_low"),
        ({"pricing": [{"kind": "cpm", "rate": 5, "rate_low": 4}]}, "both"),
        ({"pricing": [{"kind": "rate_card", "dollars_per_thousand": 5, "posts_per_month": 2,
                       "uncertainty": 0.2, "dollars_per_thousand_low": 4,
                       "dollars_per_thousand_high": 6}]}, "not both"),
        ({"pricing": [{"kind": "cpm", "rate": 5}],
          "persistence": [{"kind": "half_life", "horizon_days": 10}]}, "half_life_days"),
        ({"pricing": [{"kind": "cpm", "rate": 5}],
          "persistence": [{"kind": "none", "horizon_days": 10}]}, "no effect"),
        ({"pricing": [{"kind": "cpm", "rate": 5}],
          "persistence": [{"kind": "constant"}]}, "horizon_days"),
        ({"pricing": []}, "at least one"),
        ({"pricing": [{"kind": "cpm", "rate": 5}, {"kind": "cpm", "rate": 6}]}, "share a name"),
        ({"pricing": [{"kind": "cpm", "rate": 5, "rait": 6}]}, "did you mean 'rate'"),
        ({"pricing": [{"kind": "cpm", "rate": 5}], "discounting": "monthly"}, "discounting"),
    ],
)
def test_case_file_rejects_bad_damages(damages_section, message):
    with pytest.raises(CaseError, match=message):
        parse_case({**BASE, "damages": damages_section})


# ---------------------------------------------------------------------------
# with the simulated platform (known truth) and a real method's effect paths
CASE_TOML = """
[subject]
unit = "ava_sterling"
[outcome]
metric = "impressions"
[[events]]
name = "ownership change"
date = 2022-10-27
[damages]
amount_claimed = 4e8
[[damages.pricing]]
kind = "cpm"
rate = 8
[[damages.pricing]]
kind = "contracts"
[[damages.pricing.contracts]]
name = "sneakers"
value = 250000
renewal_probability = 0.6
terms = 3
[[damages.persistence]]
kind = "half_life"
half_life_days = 180
horizon_days = 730
[[damages.persistence]]
kind = "none"
"""


def test_simulated_truth_priced_exactly_and_a_method_path_runs_through():
    from butfor.methods.prepost import PrePostComparison
    from butfor.simulate import PlatformConfig, simulate_platform

    sim = simulate_platform(PlatformConfig(n_peers=20, days=400), seed=3)
    case = parse_case(tomllib.loads(CASE_TOML), CASE_TOML)
    truth = sim.truth
    post = truth.dates >= pd.Timestamp("2022-10-27")
    # the exact counterfactual as the only draw: damages = the true lost impressions × $8
    # per thousand (the simulator's own "observed − counterfactual"), plus the contract
    exact = make_path("impressions", truth.impressions[post],
                      truth.impressions_no_targeting[post][None, :], start="2022-10-27")
    only_cpm = damages(pricing=[{"kind": "cpm", "rate": 8}])
    priced = damages_from_case(only_cpm, {"impressions": exact}, seed=0).primary.mean
    assert priced == pytest.approx(-truth.subject_effect()[post].sum() * 8 / 1000, abs=CENT)

    peers = [u for u in sim.panel.unit_ids if u != truth.subject]
    fit = PrePostComparison().fit(sim.panel.wide("impressions"), truth.subject, peers,
                                  pd.Timestamp("2022-10-27"), "impressions")
    result = damages_from_case(case.damages, {"impressions": fit.effect}, seed=case.case.seed)
    assert [s.name for s in result.scenarios] == ["half-life 180 days, for 730 days",
                                                  "to the end of the data"]
    assert result.n_draws == 4000 and result.data_end == dt.date(2023, 2, 4)
    # a targeted cut of 30% in reach: the priced loss is positive in most draws
    assert result.scenario("to the end of the data").components[0].to_data_end.mean() > 0
    doc = json.loads(dumps(result))
    assert doc["scenarios"][0]["p_reaching_claim"] == 0.0
    assert doc["scenarios"][0]["claim_percentile"] == 100.0
