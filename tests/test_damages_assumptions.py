"""Damages an opposing expert cannot take apart (issue 21): interest, bounds, headline, sources.

Each hand computation is written out in the test as the arithmetic a person
would do on paper; the figure it gives is in a comment, rounded to the cent.
Tests named ``test_finding_*`` are the issue's findings, each made a regression.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from butfor.case import Damages, parse_case
from butfor.claims import evaluate_claims
from butfor.damages import (
    damages_from_case,
    discount_factors,
    interest_factors,
    lost_at_elasticity,
    value_factors,
)
from butfor.errors import CaseError
from butfor.results import EffectPath, summarise_draws

CENT = 0.005


def make_path(observed_post, draws, *, start: str = "2023-01-01", pre: int = 3,
              metric: str = "impressions") -> EffectPath:
    observed_post = np.asarray(observed_post, dtype=float)
    draws = np.atleast_2d(np.asarray(draws, dtype=float))
    first = np.datetime64(start, "D") - pre
    dates = first + np.arange(pre + observed_post.size)
    pre_values = np.full(pre, observed_post[0])
    observed = np.concatenate([pre_values, observed_post])
    cf = np.concatenate([pre_values, draws.mean(axis=0)])
    return EffectPath(method="test", unit="ava", metric=metric, dates=dates, observed=observed,
                      counterfactual=cf, lower=cf, upper=cf, event_index=pre,
                      summary=summarise_draws(observed_post, draws), draws=draws)


# lost impressions 2000, 500, 2500 on 1-3 Jan 2023; at $7.50 CPM: $15.00, $3.75, $18.75
IMPRESSIONS = make_path([1000.0, 2000.0, 1500.0], [[3000.0, 2500.0, 4000.0]])


def damages(**kwargs) -> Damages:
    return Damages.model_validate(kwargs)


def price(**kwargs):
    kwargs.setdefault("pricing", [{"kind": "cpm", "rate": 7.50}])
    return damages_from_case(damages(**kwargs), {"impressions": IMPRESSIONS}, seed=0)


# ---------------------------------------------------------------------------
# prejudgment interest, its own setting
def test_simple_and_compound_interest_factors_by_hand():
    # hand: 73 days before the valuation date at 10%: simple 1 + 0.10 × 73/365 = 1.02;
    # compound 1.10^(73/365) = 1.10^0.2 = exp(0.2 × 0.0953102) = 1.019245
    np.testing.assert_allclose(interest_factors([73.0], 0.10, "simple"), [1.02], rtol=1e-12)
    np.testing.assert_allclose(interest_factors([73.0], 0.10, "compound"), [1.019245],
                               atol=1e-6)
    # after the valuation date there is no interest; "none" leaves every amount alone
    np.testing.assert_array_equal(interest_factors([-5.0, 0.0], 0.10, "simple"), [1.0, 1.0])
    np.testing.assert_array_equal(interest_factors([73.0], 0.10, "none"), [1.0])


def test_simple_interest_on_past_losses_end_to_end_by_hand():
    result = price(valuation_date=dt.date(2023, 1, 13),
                   interest={"kind": "simple", "rate": 0.10, "source": "statute, 10% simple"})
    # hand: 1, 2, 3 Jan are 12, 11, 10 days before 13 Jan; 15.00 × (1 + 0.1 × 12/365)
    # + 3.75 × (1 + 0.1 × 11/365) + 18.75 × (1 + 0.1 × 10/365)
    # = 37.50 + 0.1 / 365 × (180 + 41.25 + 187.50) = 37.50 + 0.11199 = $37.61
    hand = 37.50 + 0.1 / 365 * (15.00 * 12 + 3.75 * 11 + 18.75 * 10)
    assert result.primary.mean == pytest.approx(hand, abs=1e-9)
    assert round(result.primary.mean, 2) == 37.61
    assert result.to_dict()["interest"] == {"kind": "simple", "rate": 0.10,
                                            "source": "statute, 10% simple"}


def test_compound_interest_has_its_own_rate_apart_from_discounting():
    # valuation on 2 Jan: 1 Jan is a day before (interest at 8%), 3 Jan a day after
    # (discounted at 3%): 15.00 × 1.08^(1/365) + 3.75 + 18.75 × 1.03^(−1/365)
    # = 15.003163 + 3.75 + 18.748482 = $37.50 (37.501645)
    result = price(valuation_date=dt.date(2023, 1, 2), discount_rate=0.03,
                   interest={"kind": "compound", "rate": 0.08})
    hand = 15.00 * 1.08 ** (1 / 365) + 3.75 + 18.75 * 1.03 ** (-1 / 365)
    assert result.primary.mean == pytest.approx(hand, abs=1e-9)
    assert hand == pytest.approx(37.501645, abs=1e-6)


def test_discounting_to_a_stated_date_by_hand():
    # valuation 365 days before 1 Jan 2023 (1 Jan 2022) at 5%, daily convention:
    # 15.00 / 1.05^(365/365) + 3.75 / 1.05^(366/365) + 18.75 / 1.05^(367/365)
    # = 14.285714 + 3.570939 + 17.851836 = $35.71 (35.708489)
    result = price(valuation_date=dt.date(2022, 1, 1), discount_rate=0.05)
    hand = 15.00 / 1.05 + 3.75 / 1.05 ** (366 / 365) + 18.75 / 1.05 ** (367 / 365)
    assert result.primary.mean == pytest.approx(hand, abs=1e-9)
    assert round(hand, 2) == 35.71
    np.testing.assert_allclose(value_factors(np.array([365.0]), 0.05), [1 / 1.05])
    np.testing.assert_array_equal(value_factors(np.array([-3.0]), 0.05),
                                  discount_factors(np.array([-3.0]), 0.05))


def test_interest_given_twice_is_refused():
    with pytest.raises(ValueError, match="given twice"):
        damages(pricing=[{"kind": "cpm", "rate": 1}], past_losses="compounded",
                interest={"kind": "simple", "rate": 0.05})


# ---------------------------------------------------------------------------
# fees versus reach
def test_elasticity_by_hand():
    # observed 1000, counterfactual 4000: at e = 1 the loss is 3000; at e = 0.5 the fee
    # scales as reach^0.5, 4000 × (1 − (1000/4000)^0.5) = 4000 × 0.5 = 2000; at e = 0 nothing
    lost = lost_at_elasticity(np.array([1000.0]), np.array([[4000.0], [4000.0], [4000.0]]),
                              np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(lost[:, 0], [3000.0, 2000.0, 0.0])


# ---------------------------------------------------------------------------
# the findings, each a regression
def test_finding_2_stated_rate_must_be_the_uniform_centre():
    text = """
[subject]
unit = "ava"
[outcome]
metric = "impressions"
[[events]]
name = "e"
date = "2023-01-01"
[damages]
[[damages.pricing]]
kind = "cpm"
rate = 25
rate_low = 1
rate_high = 400
distribution = "uniform"
"""
    import tomllib

    with pytest.raises(CaseError) as err:
        parse_case(tomllib.loads(text), text, "case.toml")
    # the $1–$400 uniform range has its centre at $200.50, not the $25 stated
    assert "200.5" in str(err.value) and "line 12, column 'rate'" in str(err.value)


def test_finding_2_the_stated_rate_is_what_is_priced():
    # uniform(5, 10) centred on the stated 7.50: the mean rate drawn is 7.50 (to Monte Carlo
    # error: sd of the mean rate = (10 − 5)/√12/√4000 = 0.0228, so 4 sd is 0.09), and the
    # damages mean is 5000 × 7.50 / 1000 = $37.50 within 5000 × 0.09 / 1000 = $0.46
    result = price(pricing=[{"kind": "cpm", "rate": 7.5, "rate_low": 5, "rate_high": 10,
                             "distribution": "uniform"}])
    assert result.primary.mean == pytest.approx(37.50, abs=0.46)


def test_finding_4_hundred_year_horizon_refused_unless_reasoned():
    with pytest.raises(ValueError, match="beyond the ceiling of 1825 days"):
        damages(pricing=[{"kind": "cpm", "rate": 1}],
                persistence=[{"kind": "constant", "horizon_days": 36500}])
    ok = damages(pricing=[{"kind": "cpm", "rate": 1}],
                 persistence=[{"kind": "constant", "horizon_days": 36500,
                               "override_reason": "a lifetime contract"}])
    assert ok.persistence[0].horizon_days == 36500


def test_finding_4_horizon_past_the_data_warns_in_the_result():
    # 3 days of post-event data; 6 days is 2 times (no warning), 7 days is 2.3 times
    quiet = price(persistence=[{"kind": "constant", "horizon_days": 6}])
    assert quiet.warnings == ()
    loud = price(persistence=[{"kind": "constant", "horizon_days": 7}])
    (warning,) = loud.warnings
    assert "7 days past the data, 2.3 times the 3 days observed" in warning
    assert loud.to_dict()["warnings"] == [warning]


def test_finding_4_headline_is_the_central_scenario_not_the_first():
    scenarios = [{"name": "lasting", "kind": "constant", "horizon_days": 3},
                 {"kind": "none"},
                 {"name": "fading", "kind": "half_life", "half_life_days": 2, "horizon_days": 3}]
    result = price(persistence=scenarios, anchor_days=2)
    # medians (hand, test_damages): none $37.50, fading $37.50 + $17.56, lasting $37.50 +
    # $33.75: the central one is "fading", though "lasting" is listed first
    assert result.primary.name == "fading"
    assert "central scenario" in result.headline_rule
    named = price(persistence=scenarios, anchor_days=2, headline="lasting")
    assert named.primary.name == "lasting" and "named" in named.headline_rule


def test_finding_4_valuation_date_stated_with_its_rule():
    default = price().to_dict()
    assert default["valuation_date"] == dt.date(2023, 1, 3)
    assert "last date of the data" in default["valuation_rule"]
    stated = price(valuation_date=dt.date(2023, 2, 1)).to_dict()
    assert stated["valuation_rule"] == "stated in the case file"


def test_every_assumption_listed_with_its_source():
    result = price(pricing=[{"kind": "cpm", "rate": 7.5, "source": "2022 invoices"}],
                   discount_rate=0.05, discount_source="10-year Treasury")
    rows = {a["name"]: a for a in result.assumptions}
    assert rows["cpm (impressions): rate (per thousand impressions)"]["source"] == \
        "2022 invoices"
    assert rows["discount rate (future losses)"]["source"] == "10-year Treasury"
    # the default elasticity and cost ratio are assumptions too, and unsourced here
    assert rows["cpm (impressions): fee-versus-reach elasticity"]["value"] == 1.0
    unsourced = next(n for n in result.notes if "no stated source" in n)
    assert "fee-versus-reach elasticity" in unsourced and "2022" not in unsourced


# ---------------------------------------------------------------------------
def _claim_case():
    import tomllib

    text = """
[subject]
unit = "ava"
[outcome]
metric = "impressions"
[[events]]
name = "e"
date = "2023-01-01"
[[claims]]
id = "amount"
kind = "claimed_amount"
allegation = "worth $400 million"
amount = 400000000
"""
    return parse_case(tomllib.loads(text), text)


def test_finding_6_tie_at_zero_is_not_called_most_favourable():
    result = price(persistence=[{"kind": "none"}, {"kind": "constant", "horizon_days": 3}],
                   amount_claimed=4e8)
    (verdict,) = evaluate_claims(_claim_case(), [], result.to_dict(amounts=(4e8,)))
    assert verdict.verdict == "not supported"
    assert "most favourable" not in verdict.sentence
    assert "in every scenario the probability that damages reach it is below 1 in 4,000" \
        in verdict.sentence
    assert "resolution is 1 in 4,000" in verdict.sentence and "under the model" in \
        verdict.sentence
    # the highest median is named, whatever the order the case lists the scenarios in
    assert verdict.figures["scenario"] == "constant for 3 days"


def test_finding_6_exhibit_states_dates_method_streams_and_zero_mitigation():
    from butfor.report.damages_view import damages_view

    result = price(amount_claimed=4e8)
    doc = result.to_dict(amounts=(4e8,))
    doc["sources"] = {"impressions": "sts"}
    doc["method"] = "auto"
    view = damages_view({"damages": doc, "case": {}}, "USD")
    assert view["valuation_date"] == "3 Jan 2023" and "last date" in view["valuation_rule"]
    assert view["data_end"] == "3 Jan 2023" and view["event_date"] == "1 Jan 2023"
    assert "structural time series" in view["method"]
    parts = {r["what"]: r["median"] for r in view["breakdown"]}
    # mitigation is shown when it is zero, not left out
    assert parts["less mitigation (income found elsewhere)"] == "$0.00"
    assert parts["lost profit: cpm (impressions)"] == "$38"  # $37.50, money rounded to dollars
    # P(≥ claim) with its resolution, and that it holds under the model
    assert view["scenarios"][0]["p_reaching_claim"] == "0 of 4,000 (below 1 in 4,000)"
    assert "resolution is 1 in 4,000" in view["reading"] and "under the model" in view["reading"]
