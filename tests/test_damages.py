"""Damages: every convention checked to the cent against a hand computation.

Each hand computation is written out in the test as the arithmetic a person
would do on paper (the code reaches the same figure through array products,
so the two paths are independent); the figure it gives is in a comment,
rounded to the cent. The draw-by-draw propagation is checked against cases
with closed-form answers (sums and products of normal and uniform variables,
chained Bernoulli trials), within Monte Carlo error stated beside each check.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from scipy import stats

from butfor.case import Damages
from butfor.damages import (
    anchor_amount,
    contract_cashflows,
    damages_from_case,
    discount_factors,
    draw_indices,
    draw_values,
    lost_quantity,
    persistence_factors,
    price_cpm,
    price_rate_card,
    renewal_chain,
)
from butfor.errors import AssumptionWarning, ButforWarning, DataError
from butfor.results import EffectPath, dumps, summarise_draws, to_jsonable

CENT = 0.005  # "to the cent": the figures agree once rounded to cents


def make_path(metric: str, observed_post, draws, *, start: str = "2023-01-01",
              step_days: int = 1, pre: int = 3, method: str = "test") -> EffectPath:
    """An EffectPath with ``pre`` flat pre-period dates and the given post period."""
    observed_post = np.asarray(observed_post, dtype=float)
    draws = None if draws is None else np.atleast_2d(np.asarray(draws, dtype=float))
    n_post = observed_post.size
    first = np.datetime64(start, "D") - pre * step_days
    dates = first + step_days * np.arange(pre + n_post)
    pre_values = np.full(pre, observed_post[0] if np.isfinite(observed_post[0]) else 0.0)
    observed = np.concatenate([pre_values, observed_post])
    cf_post = draws.mean(axis=0) if draws is not None else observed_post
    counterfactual = np.concatenate([pre_values, cf_post])
    summary = summarise_draws(observed_post, draws if draws is not None else cf_post[None])
    return EffectPath(method=method, unit="ava", metric=metric, dates=dates, observed=observed,
                      counterfactual=counterfactual, lower=counterfactual, upper=counterfactual,
                      event_index=pre, summary=summary, draws=draws)


def damages(**kwargs) -> Damages:
    return Damages.model_validate(kwargs)


# ---------------------------------------------------------------------------
# pure arithmetic, to the cent
def test_lost_quantity_is_counterfactual_minus_observed_per_draw():
    lost = lost_quantity(np.array([1000.0, 2000.0, np.nan]),
                         np.array([[3000.0, 2500.0, 4000.0], [900.0, 2000.0, 1.0]]))
    # hand: 3000 − 1000, 2500 − 2000; a gain stays negative; a missing day stays missing
    np.testing.assert_array_equal(lost[:, :2], [[2000.0, 500.0], [-100.0, 0.0]])
    assert np.isnan(lost[:, 2]).all()


def test_cpm_three_days_by_hand():
    lost = np.array([[2000.0, 500.0, 2500.0]])
    dollars = price_cpm(lost, np.array([7.50]))
    # hand: 2000 × 7.50 / 1000 = 15.00; 500 → 3.75; 2500 → 18.75; total 37.50
    np.testing.assert_allclose(dollars, [[15.00, 3.75, 18.75]], atol=CENT)
    assert dollars.sum() == pytest.approx(15.00 + 3.75 + 18.75, abs=CENT)


def test_cpm_rate_per_draw():
    # two draws, two rates: each draw is priced at its own rate
    dollars = price_cpm(np.array([[1000.0], [1000.0]]), np.array([4.0, 6.0]))
    np.testing.assert_allclose(dollars, [[4.00], [6.00]], atol=CENT)  # 1000 × rate / 1000


def test_rate_card_daily_by_hand():
    lost_followers = np.array([[10_000.0, 12_000.0, 14_000.0]])
    dollars = price_rate_card(lost_followers, 12.0, posts_per_month=8)
    # hand: a post loses 10,000 × $12 / 1000 = $120; 8 posts a month = $960 a month;
    # a month is 365/12 days, so $960 × 12 / 365 = $31.56 a day. Likewise
    # 12,000 → $144 × 8 × 12 / 365 = $37.87 and 14,000 → $168 × 96 / 365 = $44.19.
    hand = [120 * 8 * 12 / 365, 144 * 8 * 12 / 365, 168 * 8 * 12 / 365]
    np.testing.assert_allclose(dollars[0], hand, atol=CENT)
    np.testing.assert_allclose(dollars[0], [31.56, 37.87, 44.19], atol=CENT)
    # total: 36,000 followers × 0.012 × 96 / 365 = 41,472 / 365 = $113.62
    assert dollars.sum() == pytest.approx(113.62, abs=CENT)


def test_rate_card_weekly_step_by_hand():
    dollars = price_rate_card(np.array([[1000.0]]), 10.0, posts_per_month=30, step_days=7)
    # hand: 1000 × $10 / 1000 = $10 a post × 30 posts = $300 a month × 12 / 365 = $9.8630
    # a day, × 7 days in the week = $69.04
    assert dollars[0, 0] == pytest.approx(300 * 12 / 365 * 7, abs=CENT)
    assert dollars[0, 0] == pytest.approx(69.04, abs=CENT)


def test_anchor_is_mean_of_last_days_with_data():
    amounts = np.array([[15.0, 3.75, 18.75], [1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    anchor, used = anchor_amount(amounts, 2)
    # hand: (3.75 + 18.75) / 2 = 11.25; the missing day is skipped: 3.0 / 1; nothing → 0
    np.testing.assert_allclose(anchor, [11.25, 3.0, 0.0], atol=CENT)
    assert used == 2


def test_persistence_factors_by_hand():
    # half-life 2 days, 3 days ahead: 2^(−1/2), 2^(−1), 2^(−3/2) = 0.7071, 0.5, 0.3536
    np.testing.assert_allclose(persistence_factors("half_life", 3, 1, 2.0),
                               [0.70710678, 0.5, 0.35355339], atol=1e-8)
    # weekly steps, half-life 14 days, 2 steps ahead: 2^(−7/14), 2^(−14/14)
    np.testing.assert_allclose(persistence_factors("half_life", 2, 7, 14.0),
                               [2 ** -0.5, 0.5], atol=1e-12)
    np.testing.assert_array_equal(persistence_factors("constant", 3), [1.0, 1.0, 1.0])
    assert persistence_factors("none", 5).size == 0


def test_half_life_projection_summed_by_hand():
    anchor = 11.25
    projected = anchor * persistence_factors("half_life", 3, 1, 2.0).sum()
    # hand: 11.25 × (0.70710678 + 0.5 + 0.35355339) = 11.25 × 1.56066017 = $17.56
    assert projected == pytest.approx(11.25 * (0.70710678 + 0.5 + 0.35355339), abs=CENT)
    assert projected == pytest.approx(17.56, abs=CENT)


@pytest.mark.parametrize(
    ("days", "convention", "past", "hand"),
    [
        # $1000 two years ahead at 5%, fractional years: 1000 / 1.05² = $907.03
        (730, "daily", "nominal", 1000 / 1.05**2),
        # one day ahead at 5%: 1000 / 1.05^(1/365) = $999.87
        (1, "daily", "nominal", 1000 / 1.05 ** (1 / 365)),
        # end of year: day 365 is in year 1 → 1000 / 1.05 = $952.38
        (365, "end_of_year", "nominal", 1000 / 1.05),
        # day 366 is in year 2 → 1000 / 1.05² = $907.03
        (366, "end_of_year", "nominal", 1000 / 1.05**2),
        # mid-year: day 200 is in year 1, discounted half a year → 1000 / 1.05^0.5 = $975.90
        (200, "mid_year", "nominal", 1000 / 1.05**0.5),
        # mid-year, day 400 (year 2) → 1000 / 1.05^1.5 = $929.42
        (400, "mid_year", "nominal", 1000 / 1.05**1.5),
        # a past loss at face value
        (-365, "daily", "nominal", 1000.0),
        # a past loss compounded a year forward: 1000 × 1.05 = $1050.00
        (-365, "daily", "compounded", 1050.0),
        # the valuation day itself is never discounted
        (0, "end_of_year", "compounded", 1000.0),
    ],
)
def test_discount_factor_by_hand(days, convention, past, hand):
    pv = 1000 * discount_factors(np.array([days]), 0.05, convention, past)[0]
    assert pv == pytest.approx(hand, abs=CENT)


def test_discount_figures_to_the_cent():
    # the same conventions, with the cent figures a person gets on a calculator
    f = discount_factors(np.array([730, 365, 366, 200, -365]), 0.05, "daily", "compounded")
    np.testing.assert_allclose(1000 * f[[0, 4]], [907.03, 1050.00], atol=CENT)
    f = discount_factors(np.array([365, 366]), 0.05, "end_of_year")
    np.testing.assert_allclose(1000 * f, [952.38, 907.03], atol=CENT)
    f = discount_factors(np.array([200]), 0.05, "mid_year")
    np.testing.assert_allclose(1000 * f, [975.90], atol=CENT)


def test_contract_cashflows():
    offsets, term, share = contract_cashflows(4, 2, "spread")
    np.testing.assert_array_equal(offsets, np.arange(8))
    np.testing.assert_array_equal(term, [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(share, 0.25)
    offsets, term, share = contract_cashflows(365, 3, "start")
    np.testing.assert_array_equal(offsets, [0, 365, 730])
    np.testing.assert_array_equal(term, [0, 1, 2])
    np.testing.assert_array_equal(share, [1, 1, 1])


def test_renewal_chain_needs_every_earlier_term():
    chain = renewal_chain(np.random.default_rng(3), 0.5, 4, 2000)
    # a later term is never lost without the earlier ones: rows are non-increasing
    assert (np.diff(chain, axis=1) <= 0).all()
    np.testing.assert_array_equal(renewal_chain(np.random.default_rng(0), 1.0, 2, 3), 1.0)
    np.testing.assert_array_equal(renewal_chain(np.random.default_rng(0), 0.0, 2, 3), 0.0)


# ---------------------------------------------------------------------------
# end to end from the case section, to the cent
IMPRESSIONS = make_path("impressions", [1000.0, 2000.0, 1500.0], [[3000.0, 2500.0, 4000.0]])


def test_cpm_scenarios_discounting_and_mitigation_by_hand():
    d = damages(
        pricing=[{"kind": "cpm", "rate": 7.50}],
        persistence=[{"kind": "none"},
                     {"kind": "constant", "horizon_days": 3},
                     {"kind": "half_life", "half_life_days": 2, "horizon_days": 3}],
        discount_rate=0.10, valuation_date=dt.date(2022, 12, 31), mitigation=5.0,
        anchor_days=2,
    )
    result = damages_from_case(d, {"impressions": IMPRESSIONS}, seed=1)
    # hand: lost impressions 2000, 500, 2500 on 1-3 Jan 2023, days 1, 2, 3 after the
    # valuation date; dollars 15.00, 3.75, 18.75; v = 1.10^(−1/365) = 0.99973891
    v = 1.10 ** (-1 / 365)
    data = 15.00 * v + 3.75 * v**2 + 18.75 * v**3  # = $37.48 (37.4794)
    # anchor = mean of the last 2 days = (3.75 + 18.75) / 2 = $11.25 a day, projected on
    # days 4, 5, 6
    constant = 11.25 * (v**4 + v**5 + v**6)  # = $33.71 (33.7060)
    half = 11.25 * (2**-0.5 * v**4 + 2**-1 * v**5 + 2**-1.5 * v**6)  # = $17.54 (17.5356)
    totals = [s.mean for s in result.scenarios]
    np.testing.assert_allclose(totals, [data - 5, data + constant - 5, data + half - 5],
                               atol=CENT)
    np.testing.assert_allclose(totals, [32.48, 66.19, 50.01], atol=CENT)
    # the breakdown: observed period and projection, each component's present value
    hl = result.scenario("half-life 2 days, for 3 days")
    (comp,) = hl.components
    assert comp.to_data_end[0] == pytest.approx(37.48, abs=CENT)
    assert comp.after_data_end[0] == pytest.approx(17.54, abs=CENT)
    assert comp.nominal_to_data_end[0] == pytest.approx(37.50, abs=CENT)
    # nominal projection: 11.25 × 1.56066017 = $17.56
    assert comp.nominal_after_data_end[0] == pytest.approx(17.56, abs=CENT)
    assert result.valuation_date == dt.date(2022, 12, 31)
    assert result.data_end == dt.date(2023, 1, 3)
    assert result.event_date == dt.date(2023, 1, 1)


def test_undiscounted_cpm_is_plain_sum():
    d = damages(pricing=[{"kind": "cpm", "rate": 7.50}])
    result = damages_from_case(d, {"impressions": IMPRESSIONS}, seed=0)
    # hand: 5000 lost impressions × $7.50 / 1000 = $37.50; valuation defaults to the last date
    assert result.primary.mean == pytest.approx(37.50, abs=CENT)
    assert result.valuation_date == dt.date(2023, 1, 3)


def test_rate_card_end_of_year_by_hand():
    followers = make_path("followers", [990_000.0, 985_000.0, 980_000.0],
                          [[1_000_000.0, 997_000.0, 994_000.0]], start="2023-03-01")
    d = damages(pricing=[{"kind": "rate_card", "dollars_per_thousand": 12,
                          "posts_per_month": 8}],
                discount_rate=0.10, discounting="end_of_year",
                valuation_date=dt.date(2022, 3, 1))
    result = damages_from_case(d, {"followers": followers}, seed=0)
    # hand: lost followers 10,000, 12,000, 14,000 → $31.56, $37.87, $44.19 a day (see the
    # rate-card test); 1-3 Mar 2023 are days 365, 366, 367 after 1 Mar 2022, i.e. in years
    # 1, 2, 2: 31.5616 / 1.1 + (37.8740 + 44.1863) / 1.21 = 28.69 + 67.82 = $96.51
    hand = (11520 / 365) / 1.1 + (13824 / 365 + 16128 / 365) / 1.21
    assert result.primary.mean == pytest.approx(hand, abs=CENT)
    assert result.primary.mean == pytest.approx(96.51, abs=CENT)


def test_rate_card_weekly_projection_by_hand():
    weekly = make_path("followers", [9_000.0], [[10_000.0]], start="2023-01-15", step_days=7)
    d = damages(pricing=[{"kind": "rate_card", "dollars_per_thousand": 10,
                          "posts_per_month": 30}],
                persistence=[{"kind": "constant", "horizon_days": 14}], anchor_days=7)
    result = damages_from_case(d, {"followers": weekly}, seed=0)
    # hand: one week of 1000 lost followers = $69.04 (see the weekly test); constant for
    # 14 days = 2 more weeks of $69.04: 3 × 300 × 12 / 365 × 7 = $207.12
    assert result.primary.mean == pytest.approx(3 * 300 * 12 / 365 * 7, abs=CENT)
    assert result.primary.mean == pytest.approx(207.12, abs=CENT)


def test_past_losses_compounded_to_a_later_valuation_date():
    d = damages(pricing=[{"kind": "cpm", "rate": 7.50}], discount_rate=0.10,
                past_losses="compounded", valuation_date=dt.date(2023, 1, 10))
    result = damages_from_case(d, {"impressions": IMPRESSIONS}, seed=0)
    # hand: 1-3 Jan are 9, 8, 7 days before 10 Jan: grown by 1.1^(9/365) etc.
    # 15 × 1.002353 + 3.75 × 1.002091 + 18.75 × 1.001829 = 15.0353 + 3.7578 + 18.7843 = $37.58
    hand = 15 * 1.1 ** (9 / 365) + 3.75 * 1.1 ** (8 / 365) + 18.75 * 1.1 ** (7 / 365)
    assert result.primary.mean == pytest.approx(hand, abs=CENT)
    assert result.primary.mean == pytest.approx(37.58, abs=CENT)
    # the same losses at face value
    nominal = damages(pricing=[{"kind": "cpm", "rate": 7.50}], discount_rate=0.10,
                      valuation_date=dt.date(2023, 1, 10))
    assert damages_from_case(nominal, {"impressions": IMPRESSIONS}, seed=0).primary.mean == \
        pytest.approx(37.50, abs=CENT)


def test_contract_paid_at_start_end_of_year_by_hand():
    d = damages(
        pricing=[{"kind": "contracts", "contracts": [
            {"name": "shoes", "value": 1000, "terms": 2, "term_days": 365,
             "schedule": "start", "start": dt.date(2023, 1, 31)}]}],
        discount_rate=0.10, discounting="end_of_year", valuation_date=dt.date(2023, 1, 1),
        draws=10,
    )
    result = damages_from_case(d, {}, seed=0)
    # hand: $1000 on day 30 (year 1) and $1000 on day 395 (year 2):
    # 1000 / 1.1 + 1000 / 1.21 = 909.09 + 826.45 = $1735.54
    np.testing.assert_allclose(result.primary.draws, 1000 / 1.1 + 1000 / 1.21, atol=CENT)
    assert result.primary.mean == pytest.approx(1735.54, abs=CENT)


def test_contract_spread_daily_matches_geometric_series():
    d = damages(
        pricing=[{"kind": "contracts", "contracts": [
            {"name": "agency", "value": 50_000, "start": dt.date(2023, 1, 1)}]}],
        discount_rate=0.05, valuation_date=dt.date(2023, 1, 1), draws=3,
    )
    result = damages_from_case(d, {}, seed=0)
    # hand: $50,000 / 365 a day on days 0..364 at 5%: with g = 1.05^(−1/365) the sum of
    # g^j for j = 0..364 is (1 − g^365) / (1 − g) = (1 − 1/1.05) / (1 − g); so the present
    # value is 50,000 / 365 × (1 − 1/1.05) / (1 − g) = $48,803.11
    g = 1.05 ** (-1 / 365)
    assert result.primary.mean == pytest.approx(50_000 / 365 * (1 - 1 / 1.05) / (1 - g),
                                                abs=CENT)
    assert result.primary.mean == pytest.approx(48_803.11, abs=CENT)


def test_contract_split_at_data_end_and_same_in_every_scenario():
    d = damages(
        pricing=[{"kind": "cpm", "rate": 7.50},
                 {"kind": "contracts", "contracts": [{"name": "deal", "value": 730,
                                                      "term_days": 730}]}],
        persistence=[{"kind": "none"}, {"kind": "constant", "horizon_days": 10}],
    )
    result = damages_from_case(d, {"impressions": IMPRESSIONS}, seed=0)
    for s in result.scenarios:
        deal = next(c for c in s.components if c.kind == "contract")
        # hand: $1 a day from 1 Jan 2023 (the event); 3 days up to the data end on 3 Jan,
        # the other 727 after; no discounting
        assert deal.to_data_end[0] == pytest.approx(3.00, abs=CENT)
        assert deal.after_data_end[0] == pytest.approx(727.00, abs=CENT)
    # hand: no projection = 37.50 + 730.00 = $767.50; the anchor averages the last 28 days,
    # here all 3: (15 + 3.75 + 18.75) / 3 = $12.50 a day, so constant for 10 days adds
    # 10 × 12.50 = $125.00 → $892.50
    np.testing.assert_allclose([s.mean for s in result.scenarios],
                               [767.50, 892.50], atol=CENT)


def test_breakdown_adds_up_to_total():
    d = damages(pricing=[{"kind": "cpm", "rate": 5, "rate_low": 3, "rate_high": 9},
                         {"kind": "contracts", "contracts": [
                             {"name": "a", "value": 100, "renewal_probability": 0.5}]}],
                persistence=[{"kind": "half_life", "half_life_days": 30, "horizon_days": 90}],
                mitigation=20.0, discount_rate=0.07)
    rng = np.random.default_rng(5)
    draws = 3000 + 200 * rng.standard_normal((500, 3))
    path = make_path("impressions", [1000.0, 2000.0, 1500.0], draws)
    s = damages_from_case(d, {"impressions": path}, seed=2).primary
    parts = sum(c.total for c in s.components) - 20.0
    np.testing.assert_allclose(s.draws, parts, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------
# draw-by-draw propagation against closed forms
def _normal_quantile_se(sd: float, q: float, n: int) -> float:
    """Large-sample standard error of the q-quantile of n normal draws."""
    return sd * math.sqrt(q * (1 - q) / n) / stats.norm.pdf(stats.norm.ppf(q))


def test_independent_normal_days_give_normal_damages():
    # lost impressions per day ~ N(1000, 400²), independent over 30 days and draws; priced
    # at $5 per thousand: damages = 5/1000 × N(30,000, 400² × 30) = N(150, 10.954²)
    n, days, mu, sigma, rate = 20_000, 30, 1000.0, 400.0, 5.0
    rng = np.random.default_rng(11)
    observed = np.full(days, 5000.0)
    draws = observed + mu + sigma * rng.standard_normal((n, days))
    path = make_path("impressions", observed, draws)
    s = damages_from_case(damages(pricing=[{"kind": "cpm", "rate": rate}]),
                          {"impressions": path}, seed=0).primary
    mean, sd = rate / 1000 * days * mu, rate / 1000 * sigma * math.sqrt(days)
    # Monte Carlo error: 4 standard errors (mean: sd/√n = 0.077; sd: sd/√(2n) = 0.055;
    # quantiles: sd √(q(1−q)/n) / φ(z_q), 0.16 at 5% and 95%, 0.10 at the median)
    assert s.mean == pytest.approx(mean, abs=4 * sd / math.sqrt(n))
    assert s.sd == pytest.approx(sd, abs=4 * sd / math.sqrt(2 * n))
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert s.quantile(q) == pytest.approx(mean + sd * stats.norm.ppf(q),
                                              abs=4 * _normal_quantile_se(sd, q, n))


def test_a_shock_shared_across_days_stays_in_the_draw():
    # one N(0, 400²) shock per draw, the same on all 30 days: the total's sd is 30 × 400
    # (not √30 × 400, which a day-by-day summary would give): damages ~ N(150, 60²)
    n, days, rate = 20_000, 30, 5.0
    rng = np.random.default_rng(12)
    observed = np.full(days, 5000.0)
    draws = observed + 1000.0 + 400.0 * rng.standard_normal((n, 1))
    path = make_path("impressions", observed, draws)
    s = damages_from_case(damages(pricing=[{"kind": "cpm", "rate": rate}]),
                          {"impressions": path}, seed=0).primary
    sd = rate / 1000 * 400.0 * days  # = 60
    assert s.sd == pytest.approx(sd, abs=4 * sd / math.sqrt(2 * n))  # ± 1.7
    assert s.quantile(0.05) == pytest.approx(150 + sd * stats.norm.ppf(0.05),
                                             abs=4 * _normal_quantile_se(sd, 0.05, n))


def test_uncertain_rate_times_uncertain_quantity():
    # rate ~ U(4, 6) independent of lost impressions L ~ N(30,000, 400² × 30):
    # E[D] = E[R] E[L] / 1000 = 5 × 30 = 150;
    # Var[D] = (E[R²] E[L²] − E[R]² E[L]²) / 1000², E[R²] = 25 + 4/12, E[L²] = m² + s²
    n, days = 20_000, 30
    rng = np.random.default_rng(13)
    observed = np.full(days, 5000.0)
    draws = observed + 1000.0 + 400.0 * rng.standard_normal((n, days))
    path = make_path("impressions", observed, draws)
    d = damages(pricing=[{"kind": "cpm", "rate": 5, "rate_low": 4, "rate_high": 6,
                          "distribution": "uniform"}])
    s = damages_from_case(d, {"impressions": path}, seed=3).primary
    m, s2 = 30_000.0, 400.0**2 * days
    var = ((25 + 4 / 12) * (m**2 + s2) - 25 * m**2) / 1000**2
    sd = math.sqrt(var)  # = 19.18
    assert s.mean == pytest.approx(150.0, abs=4 * sd / math.sqrt(n))  # ± 0.54
    # the product is close to normal (kurtosis ≈ 2.5); 4 standard errors of the sd ≈ 3%
    assert s.sd == pytest.approx(sd, rel=0.03)


def test_triangular_rate_draws_match_closed_form():
    # triangular(a, c, b): mean (a + b + c) / 3, variance (a² + b² + c² − ab − ac − bc) / 18
    a, c, b, n = 2.0, 3.0, 7.0, 40_000
    x = draw_values(np.random.default_rng(4), c, (a, b), "triangular", n)
    mean = (a + b + c) / 3
    var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
    assert x.mean() == pytest.approx(mean, abs=4 * math.sqrt(var / n))
    assert x.min() >= a and x.max() <= b
    np.testing.assert_array_equal(draw_values(np.random.default_rng(4), c, None, "uniform", 3), c)


def test_contract_renewals_are_chained_bernoulli():
    # V = $1000 a term, 2 terms, renewal probability 0.7, no discounting:
    # P(0) = 0.3, P(1000) = 0.7 × 0.3 = 0.21, P(2000) = 0.7² = 0.49
    n = 20_000
    d = damages(pricing=[{"kind": "contracts", "contracts": [
        {"name": "deal", "value": 1000, "renewal_probability": 0.7, "terms": 2,
         "schedule": "start", "start": dt.date(2024, 1, 1)}]}],
        valuation_date=dt.date(2024, 1, 1), draws=n, amount_claimed=2000)
    s = damages_from_case(d, {}, seed=9).primary
    for value, p in [(0, 0.3), (1000, 0.21), (2000, 0.49)]:
        assert np.mean(s.draws == value) == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    assert s.mean == pytest.approx(1000 * (0.7 + 0.49), abs=4 * s.sd / math.sqrt(n))
    # the amount claimed: P(damages ≥ 2000) = 0.49, and 2000 sits above the 51% below it
    se = 4 * math.sqrt(0.49 * 0.51 / n)
    assert s.prob_at_least(2000) == pytest.approx(0.49, abs=se)
    assert s.percentile_of(2000) == pytest.approx(51.0, abs=100 * se)
    out = s.to_dict(amounts=(1000.0,))
    assert out["p_reaching_claim"] == s.prob_at_least(2000)
    assert out["claim_percentile"] == s.percentile_of(2000)
    # another amount (a claim's own): P(damages ≥ 1000) = 0.21 + 0.49 = 0.7
    (figs,) = out["amounts"]
    assert figs["p_reaching_amount"] == pytest.approx(0.7, abs=4 * math.sqrt(0.21 / n))


# ---------------------------------------------------------------------------
# figures for the claims, determinism, JSON
def _noisy_case():
    rng = np.random.default_rng(21)
    observed = np.full(60, 4000.0)
    draws = observed + 1500 + 800 * rng.standard_normal((400, 60))
    d = damages(pricing=[{"kind": "cpm", "rate": 6, "rate_low": 3, "rate_high": 12}],
                persistence=[{"kind": "half_life", "half_life_days": 60, "horizon_days": 365},
                             {"kind": "none"}],
                discount_rate=0.05, amount_claimed=1000.0, mitigation=10.0)
    return d, {"impressions": make_path("impressions", observed, draws)}


def test_figures_for_claims():
    d, effects = _noisy_case()
    result = damages_from_case(d, effects, seed=4)
    # the headline is the central scenario, not the first listed: of two, the lower one
    assert result.primary.name == "to the end of the data"
    s = result.scenario("half-life 60 days, for 365 days")
    figs = s.amount_figures(1000.0)
    assert figs["p_reaching_amount"] + figs["amount_percentile"] / 100 == pytest.approx(1.0)
    assert figs["p_reaching_amount"] == np.mean(s.draws >= 1000.0)
    loss = s.loss_figures(0.95)
    assert loss["lower_bound"] == pytest.approx(np.quantile(s.draws, 0.05))
    assert loss["lower_bound_above_zero"] == (loss["lower_bound"] > 0)
    # projection only adds here (every draw's anchor is a loss): paired draws, more damages
    none = result.scenario("to the end of the data")
    assert (s.draws >= none.draws).all()


def test_same_seed_same_json_and_draws_left_out_by_default():
    d, effects = _noisy_case()
    a = damages_from_case(d, effects, seed=4)
    b = damages_from_case(d, effects, seed=4)
    assert dumps(a) == dumps(b)
    assert dumps(damages_from_case(d, effects, seed=5)) != dumps(a)  # the rate draws move
    doc = json.loads(dumps(a))
    assert "draws" not in doc["scenarios"][0]
    assert "draws" not in doc["scenarios"][0]["components"][0]
    assert doc["valuation_date"] == "2023-03-01"
    qs = doc["scenarios"][0]["quantiles"]
    assert set(qs) == {"2.5", "5", "25", "50", "75", "95", "97.5"}
    assert qs["5"] == pytest.approx(np.quantile(a.scenarios[0].draws, 0.05))
    hist = doc["scenarios"][0]["histogram"]
    assert sum(hist["counts"]) == a.n_draws and len(hist["edges"]) == 31
    full = to_jsonable(a.to_dict(include_draws=True))
    assert len(full["scenarios"][0]["draws"]) == a.n_draws == 4000
    assert doc["headline"] == a.primary.name == "to the end of the data"
    json.dumps(full, allow_nan=False)


def test_draw_counts_are_aligned_with_replacement():
    rng = np.random.default_rng(8)
    imp = make_path("impressions", np.full(5, 100.0), 150 + rng.standard_normal((50, 5)))
    fol = make_path("followers", np.full(5, 1e5), 1.1e5 + rng.standard_normal((80, 5)))
    d = damages(pricing=[{"kind": "cpm", "rate": 5},
                         {"kind": "rate_card", "dollars_per_thousand": 10,
                          "posts_per_month": 4}])
    result = damages_from_case(d, {"impressions": imp, "followers": fol}, seed=1)
    assert result.n_draws == 4000  # the default floor, above both counts
    assert sum("spread evenly" in note for note in result.notes) == 2
    assert result.primary.draws.shape == (4000,)
    # each of the 50 draws is used exactly 80 times, each of the 80 exactly 50 times
    idx = draw_indices(50, 4000, np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(idx, minlength=50), 80)
    idx = draw_indices(80, 4003, np.random.default_rng(0))
    assert set(np.bincount(idx, minlength=80)) == {50, 51}
    assert draw_indices(80, 30, np.random.default_rng(0)).size == 30
    assert len(set(draw_indices(80, 30, np.random.default_rng(0)))) == 30  # no repeats
    # the damages reflect each effect draw in its share: the rate card part, priced at a
    # fixed rate, takes exactly the 80 values the followers draws give
    comp = result.primary.components[1]
    assert len(np.unique(np.round(comp.to_data_end, 9))) == 80


def test_effects_with_equal_draw_counts_stay_paired():
    # two metrics from one joint model: draw i of one goes with draw i of the other
    rng = np.random.default_rng(2)
    shock = rng.standard_normal((30, 1))
    imp = make_path("impressions", np.full(4, 100.0), 200 + 50 * shock + np.zeros((30, 4)))
    eng = make_path("engagements", np.full(4, 10.0), 20 + 5 * shock + np.zeros((30, 4)))
    d = damages(pricing=[{"kind": "cpm", "rate": 5},
                         {"kind": "cpm", "metric": "engagements", "rate": 50}])
    s = damages_from_case(d, {"impressions": imp, "engagements": eng}, seed=1).primary
    a, b = (c.to_data_end for c in s.components)
    # hand: 4 × (100 + 50 z) × 5 / 1000 and 4 × (10 + 5 z) × 50 / 1000 are the same number
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_point_effect_warns_that_uncertainty_is_missing():
    path = make_path("impressions", [1000.0, 2000.0], None)
    path = EffectPath(**{**path.__dict__, "counterfactual": np.array(
        [1000.0, 1000.0, 1000.0, 3000.0, 2500.0])})
    d = damages(pricing=[{"kind": "cpm", "rate": 10}])
    with pytest.warns(AssumptionWarning, match="no counterfactual draws"):
        result = damages_from_case(d, {"impressions": path}, seed=0)
    # hand: (2000 + 500) × $10 / 1000 = $25.00 in every one of the 4000 default draws
    np.testing.assert_allclose(result.primary.draws, 25.00, atol=CENT)


def test_missing_observed_day_adds_nothing_and_warns():
    path = make_path("impressions", [1000.0, np.nan, 1500.0], [[3000.0, 2500.0, 4000.0]])
    with pytest.warns(ButforWarning, match="no observed value"):
        result = damages_from_case(damages(pricing=[{"kind": "cpm", "rate": 7.5}]),
                                   {"impressions": path}, seed=0)
    # hand: (2000 + 2500) × 7.50 / 1000 = $33.75
    assert result.primary.mean == pytest.approx(33.75, abs=CENT)


def test_missing_metric_irregular_dates_and_transform_are_data_errors():
    d = damages(pricing=[{"kind": "cpm", "rate": 5}])
    with pytest.raises(DataError, match=r"'impressions'.*followers"):
        damages_from_case(d, {"followers": IMPRESSIONS}, seed=0)
    dates = IMPRESSIONS.dates.copy()
    dates[4:] += np.timedelta64(1, "D")  # a day missing from the rows, not marked NaN
    gappy = EffectPath(**{**IMPRESSIONS.__dict__, "dates": dates})
    with pytest.raises(DataError, match="irregular dates"):
        damages_from_case(d, {"impressions": gappy}, seed=0)
    logged = EffectPath(**{**IMPRESSIONS.__dict__, "diagnostics": {"transform": "log1p"}})
    with pytest.raises(DataError, match="transformed scale"):
        damages_from_case(d, {"impressions": logged}, seed=0)


# ---------------------------------------------------------------------------
# the case file
