"""Lost profits (issue 21): avoided costs, dated mitigation, streams, exclusions, sensitivity.

Each hand computation is written out as the arithmetic a person would do on
paper, its figure in a comment. The path: lost impressions 2000, 500, 2500 on
1-3 Jan 2023 at $7.50 CPM, so lost revenue $15.00, $3.75, $18.75 = $37.50.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from butfor.case import Damages
from butfor.damages import MitigationSeries, damages_from_case
from butfor.damages.sensitivity import one_way
from butfor.errors import DataError
from test_damages_assumptions import IMPRESSIONS

CENT = 0.005


def damages(**kwargs) -> Damages:
    kwargs.setdefault("pricing", [{"kind": "cpm", "rate": 7.50}])
    return Damages.model_validate(kwargs)


def price(d: Damages, **kw):
    return damages_from_case(d, {"impressions": IMPRESSIONS}, seed=0, **kw)


def test_avoided_costs_by_hand():
    result = price(damages(pricing=[{"kind": "cpm", "rate": 7.50, "cost_ratio": 0.3,
                                     "cost_source": "2022 production invoices"}]))
    # hand: revenue $37.50; 30% of it would have been spent earning it: avoided $11.25,
    # lost profit 37.50 × 0.7 = $26.25
    s = result.primary.to_dict()
    assert result.primary.mean == pytest.approx(26.25, abs=CENT)
    assert s["revenue_lost"]["mean"] == pytest.approx(37.50, abs=CENT)
    assert s["avoided_costs"]["mean"] == pytest.approx(11.25, abs=CENT)


def test_cost_ratio_range_is_drawn_and_centred():
    # triangular(0.1, 0.3, 0.5) has mean (0.1 + 0.3 + 0.5) / 3 = 0.3, so the mean profit is
    # 37.50 × 0.7 = $26.25 within 37.50 × 4 × sd(mean) = 37.50 × 4 × 0.0816 / √4000 = $0.19
    result = price(damages(pricing=[{"kind": "cpm", "rate": 7.50, "cost_ratio": 0.3,
                                     "cost_ratio_low": 0.1, "cost_ratio_high": 0.5}]))
    assert result.primary.mean == pytest.approx(26.25, abs=0.19)
    assert "cpm (impressions): cost ratio" in result.parameters


def test_dated_mitigation_counts_within_each_horizon_by_hand():
    d = damages(persistence=[{"kind": "none"}, {"kind": "constant", "horizon_days": 3}],
                mitigation=[{"name": "podcast", "amount": 10.0, "start": "2023-01-01",
                             "end": "2023-01-05", "source": "podcast statements"}])
    result = price(d)
    # hand: $10 over 1-5 Jan is $2 a day. To the end of the data (3 Jan): 3 days, $6, so
    # 37.50 − 6 = $31.50. Constant for 3 days: the anchor is the mean of the three days,
    # 37.50 / 3 = $12.50 a day, for 3 more days, $37.50; all five mitigation days count:
    # 37.50 + 37.50 − 10 = $65.00
    assert result.scenario("to the end of the data").mean == pytest.approx(31.50, abs=CENT)
    assert result.scenario("constant for 3 days").mean == pytest.approx(65.00, abs=CENT)
    assert result.scenario("constant for 3 days").mitigation == pytest.approx(10.0)


def test_dated_mitigation_earns_interest_like_the_losses():
    d = damages(valuation_date=dt.date(2023, 1, 13), interest={"kind": "simple", "rate": 0.1},
                mitigation=[{"name": "podcast", "amount": 3.0, "start": "2023-01-01",
                             "end": "2023-01-03"}])
    # hand: losses with interest $37.61199 (test_damages_assumptions); mitigation $1 a day
    # on days 12, 11, 10 before: 3 + 0.1 / 365 × (12 + 11 + 10) = 3.00904;
    # 37.61199 − 3.00904 = $34.60 (34.60295)
    losses = 37.50 + 0.1 / 365 * (15.00 * 12 + 3.75 * 11 + 18.75 * 10)
    hand = losses - (3 + 0.1 / 365 * 33)
    assert price(d).primary.mean == pytest.approx(hand, abs=1e-9)
    assert round(hand, 2) == 34.60


def _pageviews(post):
    dates = np.datetime64("2022-12-01") + np.arange(34)  # 1 Dec 2022 to 3 Jan 2023
    values = np.concatenate([np.full(31, 100.0), post])
    return MitigationSeries(dates, values, "ava", "pageviews")


def test_income_on_another_platform_priced_from_its_series_by_hand():
    d = damages(mitigation=[{"name": "newsletter", "kind": "series", "metric": "pageviews",
                             "rate": 5.0, "source": "newsletter sponsor rate"}])
    result = price(d, series={"newsletter": _pageviews([1100.0, 50.0, 2100.0])})
    # hand: baseline = mean of the 28 days before 1 Jan = 100; rises 1000, 0 (50 is below
    # the baseline: no income found), 2000; at $5 per thousand: 5 + 0 + 10 = $15;
    # 37.50 − 15 = $22.50
    assert result.primary.mean == pytest.approx(22.50, abs=CENT)
    with pytest.raises(DataError, match="newsletter"):
        price(d)


def test_streams_add_up_and_are_reported_apart():
    d = damages(pricing=[{"kind": "cpm", "name": "brand A", "stream": "brand deals",
                          "rate": 5.0},
                         {"kind": "cpm", "name": "brand B", "stream": "brand deals",
                          "rate": 2.5},
                         {"kind": "cpm", "name": "ads", "stream": "platform payouts",
                          "rate": 1.0}])
    streams = {s["stream"]: s["mean"] for s in price(d).primary.to_dict()["streams"]}
    # hand: 5000 lost impressions × (5.00 + 2.50) / 1000 = $37.50; × 1.00 / 1000 = $5.00
    assert streams == pytest.approx({"brand deals": 37.50, "platform payouts": 5.00})


def test_excluded_period_adds_nothing_by_hand():
    d = damages(exclude=[{"start": "2023-01-02", "end": "2023-01-02",
                          "cause": "a week off sick"}])
    result = price(d)
    # hand: 2 Jan ($3.75) attributed to another cause: 15.00 + 18.75 = $33.75
    assert result.primary.mean == pytest.approx(33.75, abs=CENT)
    assert any("a week off sick" in n for n in result.notes)


def test_one_way_sensitivity_by_hand():
    d = damages(pricing=[{"kind": "cpm", "rate": 7.50, "rate_low": 5.0, "rate_high": 10.0,
                          "source": "invoices"}])
    result = price(d)
    table = one_way(d, {"impressions": IMPRESSIONS}, result, seed=0)
    rows = {r["assumption"]: r for r in table["rows"]}
    rate = rows["cpm (impressions): rate"]
    # hand: the lost quantity is certain, so with the rate fixed the damages are
    # 5000 × 5 / 1000 = $25.00 and 5000 × 10 / 1000 = $50.00
    assert (rate["median_at_low"], rate["median_at_high"]) == pytest.approx((25.0, 50.0))
    el = rows["cpm (impressions): fee-versus-reach elasticity"]
    assert el["basis"] == "0.5 to 1.5 (no range stated)"
    # the rows are ordered by their swing, largest first
    swings = [r["swing"] for r in table["rows"]]
    assert swings == sorted(swings, reverse=True)


def test_uniform_mitigation_range_must_be_centred():
    with pytest.raises(ValueError, match="centre"):
        damages(mitigation=[{"name": "x", "amount": 10, "amount_low": 0, "amount_high": 100,
                             "distribution": "uniform"}])
