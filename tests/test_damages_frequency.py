"""Damages follow the panel's frequency (issue #12 item 1): the same loss, daily or monthly.

A simulated loss is priced twice: as a daily effect path and as its monthly
aggregate (impressions summed over each month, followers averaged: a flow and
a level, the way a user's monthly file holds them). Every step is linear in
the loss (elasticity 1), the anchor is stated as "1 month" (June's 30 days on
both), and the projection runs day by day from 30 June on both, so the two
totals agree draw for draw; the one difference is by hand: prejudgment
interest dates a month's loss at its first day, not day by day (bound below).
The last tests run one monthly case end to end through ``butfor ingest`` and
``butfor run``.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.case import Damages, parse_case
from butfor.cli import app
from butfor.damages import contract_cashflows, damages_from_case
from butfor.errors import CaseError
from butfor.results import EffectPath, summarise_draws

PRE = pd.date_range("2020-07-01", "2020-12-31", freq="D")
POST = pd.date_range("2021-01-01", "2021-06-30", freq="D")  # 181 days, six whole months
N_DRAWS = 200
RATE = 0.05  # simple prejudgment interest


def _path(metric: str, dates: pd.DatetimeIndex, observed: np.ndarray,
          draws: np.ndarray, n_pre: int) -> EffectPath:
    cf = np.concatenate([observed[:n_pre], draws.mean(axis=0)])
    summary = summarise_draws(observed[n_pre:], draws)
    return EffectPath(method="test", unit="shop", metric=metric,
                      dates=dates.to_numpy().astype("datetime64[D]"), observed=observed,
                      counterfactual=cf, lower=cf, upper=cf, event_index=n_pre,
                      summary=summary, draws=draws)


@pytest.fixture(scope="module")
def paths() -> dict[str, dict[str, EffectPath]]:
    """Daily paths with a loss that fades over the half-year, and their monthly aggregates."""
    rng = np.random.default_rng(5)
    dates = PRE.append(POST)
    n_pre, t = PRE.size, np.arange(POST.size)
    out: dict[str, dict[str, EffectPath]] = {"daily": {}, "monthly": {}}
    for metric, level, agg in [("impressions", 50_000.0, "sum"), ("followers", 20_000.0, "mean")]:
        observed = level + rng.normal(0, level * 0.02, dates.size)
        # each draw's loss: 30% of the level at the event, fading to 10% by June, scaled
        # per draw; plus day-to-day noise
        scale = rng.normal(1.0, 0.2, (N_DRAWS, 1))
        loss = level * (0.3 - 0.2 * t / t[-1])[None, :] * scale
        draws = observed[n_pre:][None, :] + loss + rng.normal(0, level * 0.01, loss.shape)
        out["daily"][metric] = _path(metric, dates, observed, draws, n_pre)
        month = dates.to_period("M")
        frame = pd.DataFrame(np.vstack([observed, np.hstack(
            [np.tile(observed[:n_pre], (N_DRAWS, 1)), draws])]).T, index=month)
        monthly = getattr(frame.groupby(level=0), agg)()
        mdates = monthly.index.to_timestamp()
        m_pre = int((mdates < POST[0]).sum())
        values = monthly.to_numpy().T
        out["monthly"][metric] = _path(metric, mdates, values[0], values[1:, m_pre:], m_pre)
    return out


def _damages(**persistence) -> Damages:
    return Damages.model_validate({
        "pricing": [{"kind": "cpm", "metric": "impressions", "rate": 8.0},
                    {"kind": "rate_card", "metric": "followers", "dollars_per_thousand": 12.0,
                     "posts_per_month": 4}],
        "persistence": [{"kind": "none"}, {"kind": "constant", "horizon": "12 months"},
                        {"kind": "half_life", "half_life": "3 months",
                         "horizon": "18 months"}],
        "discount_rate": 0.06, "valuation_date": "2021-06-30", "anchor": "1 month",
        "interest": {"kind": "simple", "rate": RATE}, **persistence})


def test_daily_and_monthly_versions_of_one_loss_give_the_same_damages(paths):
    d = _damages()
    daily = damages_from_case(d, paths["daily"], seed=3)
    monthly = damages_from_case(d, paths["monthly"], seed=3)
    assert monthly.inputs[0]["frequency"] == "M" and daily.inputs[0]["frequency"] == "D"
    assert monthly.data_end == daily.data_end == dt.date(2021, 6, 30)  # June's last day
    for s_d, s_m in zip(daily.scenarios, monthly.scenarios, strict=True):
        assert s_d.name == s_m.name
        for c_d, c_m in zip(s_d.components, s_m.components, strict=True):
            # before interest, the data period is the same sum: nominal to the cent
            np.testing.assert_allclose(c_m.nominal_to_data_end, c_d.nominal_to_data_end,
                                       rtol=1e-9)
            # after the data: the same anchor (June per day), days, decay and discount
            np.testing.assert_allclose(c_m.after_data_end, c_d.after_data_end, rtol=1e-9)
            np.testing.assert_allclose(c_m.nominal_after_data_end, c_d.nominal_after_data_end,
                                       rtol=1e-9)
            # interest: a day's loss earns RATE x (days to 30 June) / 365; the monthly
            # figure dates each month's loss at its first day, at most 30 days earlier
            # (31-day months: day 31 is 30 days after day 1), so it earns more, by at most
            # RATE x 30 / 365 of the nominal past loss (hand bound)
            gap = c_m.to_data_end - c_d.to_data_end
            bound = RATE * 30 / 365 * np.abs(c_d.nominal_to_data_end)
            assert np.all(gap >= -1e-6) and np.all(gap <= bound + 1e-6)
        # the totals: within that bound summed over the components
        assert s_m.median == pytest.approx(s_d.median, rel=RATE * 30 / 365)
    # the check is not empty: the projection is a large share of the total
    constant = daily.scenarios[1]
    assert constant.name == "constant for 12 months"
    assert sum(c.after_data_end.mean() for c in constant.components) > \
        0.5 * sum(c.to_data_end.mean() for c in constant.components)


def test_monthly_rate_card_prices_each_months_own_days(paths):
    # hand: 1000 followers lost for all of February 2021 (28 days) at $12 per thousand per
    # post, 4 posts a month: 12 x 4 x 12 / 365 x 28 = $44.19; March (31 days): $48.92
    months = pd.DatetimeIndex(["2021-01-01", "2021-02-01", "2021-03-01"])
    observed = np.array([20_000.0, 19_000.0, 19_000.0])
    draws = np.array([[20_000.0, 20_000.0]])
    path = _path("followers", months, observed, draws, 1)
    d = Damages.model_validate({"pricing": [{"kind": "rate_card", "metric": "followers",
                                             "dollars_per_thousand": 12.0,
                                             "posts_per_month": 4}]})
    result = damages_from_case(d, {"followers": path}, seed=0)
    assert result.primary.mean == pytest.approx(12 * 4 * 12 / 365 * (28 + 31), abs=0.005)
    assert result.primary.mean == pytest.approx(93.11, abs=0.005)
    assert result.data_end == dt.date(2021, 3, 31)


def test_a_contract_term_in_years_follows_the_calendar():
    # hand: a one-year term from 2024-03-01 runs to 2025-02-28: 365 days; from 2023-03-01
    # (over 29 February 2024): 366 days; two terms spread day by day over 731 days
    c = Damages.model_validate({"pricing": [{"kind": "contracts", "contracts": [
        {"name": "deal", "value": 1000, "terms": 2, "term": "1 year"}]}]}).pricing[0].contracts[0]
    assert c.term_lengths(dt.date(2023, 3, 1)) == [366, 365]
    assert c.term_days == 365  # the nominal 365.25 days, rounded, for the checks
    offsets, term, share = contract_cashflows([366, 365], 2, "spread")
    assert offsets.size == 731 and share[0] == pytest.approx(1 / 366)
    assert share[-1] == pytest.approx(1 / 365) and term[366] == 1
    assert np.bincount(term, weights=share).tolist() == pytest.approx([1.0, 1.0])
    starts, _, _ = contract_cashflows([366, 365], 2, "start")
    assert starts.tolist() == [0, 366]
    # the day keys keep working: 365-day terms
    assert contract_cashflows(365, 2, "start")[0].tolist() == [0, 365]


@pytest.mark.parametrize(("persistence", "says"), [
    ({"kind": "constant", "horizon": "12 monts"}, "'horizon' = '12 monts' is not a length"),
    ({"kind": "constant", "horizon": "1.5 months"}, "write a whole number"),
    ({"kind": "constant", "horizon": "12 months", "horizon_days": 365},
     "'horizon' and 'horizon_days' say the same thing; give one of them"),
    ({"kind": "none", "horizon": "12 months"}, "'horizon' has no effect when kind = 'none'"),
    ({"kind": "half_life", "half_life": "soon", "horizon": "1 year"},
     "'half_life' = 'soon' is not a length"),
    ({"kind": "constant"}, "needs 'horizon' (such as \"12 months\") or 'horizon_days'"),
])
def test_period_neutral_keys_are_checked_in_one_sentence(persistence, says):
    text = textwrap.dedent("""\
        [subject]
        unit = "shop"
        [outcome]
        metric = "impressions"
        [[events]]
        name = "change"
        date = 2021-01-01
        [damages]
        [[damages.pricing]]
        kind = "cpm"
        rate = 8.0
        """)
    raw = tomllib.loads(text)
    raw["damages"]["persistence"] = [persistence]
    with pytest.raises(CaseError) as err:
        parse_case(raw, text)
    message = str(err.value)
    assert says in message, message
    assert "Traceback" not in message and message.count("\n") <= 1


def test_half_life_in_words_is_its_nominal_days():
    p = Damages.model_validate({"pricing": [{"kind": "cpm", "rate": 1.0}], "persistence": [
        {"kind": "half_life", "half_life": "3 months", "horizon": "1 year"}]}).persistence[0]
    assert p.half_life_days == pytest.approx(3 * 365.25 / 12)  # 91.3125 days, by hand
    assert p.horizon_days == 365 and p.label() == "half-life 3 months, for 1 year"
    assert p.days_after(dt.date(2023, 6, 30)) == 366  # 1 July 2023 to 30 June 2024
    assert p.days_after(dt.date(2022, 6, 30)) == 365


# ---------------------------------------------------------------------------
# one monthly case through the command line
MONTHLY_CASE = """\
methods = ["sts", "changepoint"]

[case]
title = "A shop's monthly impressions after the change"
seed = 4

[subject]
unit = "shop"

[outcome]
metric = "impressions"

[[events]]
name = "change"
date = 2021-01-01

[sts]
n_draws = 400
pseudo_events = 0

[damages]
valuation_date = 2021-12-31
discount_rate = 0.05
anchor = "3 months"

[[damages.pricing]]
kind = "cpm"
metric = "impressions"
rate = 10.0
source = "assumed"

[[damages.persistence]]
kind = "constant"
horizon = "12 months"

[[damages.persistence]]
kind = "half_life"
half_life = "6 months"
horizon = "2 years"

[[claims]]
id = "new"
kind = "not_preexisting"
allegation = "the fall began with the change"
"""


def test_a_monthly_case_end_to_end(tmp_path):
    rng = np.random.default_rng(11)
    months = pd.date_range("2016-01-01", "2021-12-01", freq="MS")
    post = months >= pd.Timestamp("2021-01-01")
    season = 1 + 0.2 * np.sin(2 * np.pi * (months.month.to_numpy() - 1) / 12)
    impressions = 1_000_000 * season * np.where(post, 0.8, 1.0) * rng.normal(1, 0.01,
                                                                             months.size)
    pd.DataFrame({"unit": "shop", "month": months.strftime("%Y-%m"),
                  "impressions": impressions.round()}).to_csv(tmp_path / "shop.csv",
                                                              index=False)
    (tmp_path / "case.toml").write_text(MONTHLY_CASE, encoding="utf-8")
    store = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(tmp_path / "shop.csv"), "--store", store])
    assert ingested.exit_code == 0, ingested.output
    assert "monthly" in ingested.output
    ran = runner.invoke(app, ["run", str(tmp_path / "case.toml"), "--store", store, "--out",
                              str(tmp_path / "out"), "--no-pdf"])
    assert ran.exit_code == 0, ran.output
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    sts = next(a for a in doc["analyses"] if a["method"] == "sts")
    assert sts["settings"]["seasonal_period"] == 12
    assert "12-month season" in sts["description"]
    # the loss: 20% of a seasonal million a month, known; the STS covers it
    truth = float((1_000_000 * season * 0.2)[post].mean())
    summary = sts["effect"]["summary"]
    assert summary["average_lower"] <= -truth <= summary["average_upper"], summary
    dmg = doc["damages"]
    names = [s["name"] for s in dmg["scenarios"]]
    assert names == ["constant for 12 months", "half-life 6 months, for 2 years"]
    assert dmg["inputs"][0]["frequency"] == "M"
    assert dmg["data_end"] == "2021-12-31"
    # by hand: 2021 loses 20% of 12 million impressions (the season sums to 12 months of a
    # million) = 2.4 million at $10 a thousand = $24,000, at face value (valued at the data
    # end); after it, the anchor is October to December's loss, 0.2 x 1e6 x (1 + 0.2 x
    # mean(sin 270, 300, 330 degrees) = 0.842) = 168,400 impressions a month = $1,684,
    # for 12 months = $20,210, discounted at 5% over about half a year (x 0.976) = $19,720:
    # $43,720 in all. The STS estimates the loss with error (its interval is a few percent
    # wide here), so within 10%
    constant = dmg["scenarios"][0]
    assert constant["quantiles"]["50"] == pytest.approx(43_720, rel=0.10)
    report = (tmp_path / "out" / "report.html").read_text()
    assert "constant for 12 months" in report
    assert "unchanged for 12 months" in report and "every 6 months" in report
    # change points: the 12-month season is taken out first (as the week is from daily
    # data), so the level's fall is dated at the event, not at every seasonal swing
    level = next(a for a in doc["analyses"] if a["id"] == "changepoint:impressions:level")
    assert level["changepoint"]["diagnostics"]["season_removed"] == 12
    assert level["changepoint"]["onset"] == "2021-01-01", level["sentence"]
    verdict = next(v for v in doc["verdicts"] if v["claim"] == "new")
    assert verdict["verdict"] == "supported", verdict["sentence"]
    assert "No decline before 2020-12-01 (1 month before the change)" in verdict["sentence"]


def test_a_monthly_mitigation_series_takes_its_baseline_from_whole_months():
    from butfor.damages import MitigationSeries

    # monthly impressions: 100,000 lost in each of January and February 2021 at $10 CPM
    months = pd.DatetimeIndex(["2020-11-01", "2020-12-01", "2021-01-01", "2021-02-01"])
    observed = np.array([500_000.0, 500_000.0, 400_000.0, 400_000.0])
    path = _path("impressions", months, observed, np.array([[500_000.0, 500_000.0]]), 2)
    # pageviews elsewhere: 1,000 a month before, 3,000 and 500 after
    series = MitigationSeries(months.to_numpy().astype("datetime64[D]"),
                              np.array([2_000.0, 1_000.0, 3_000.0, 500.0]), "shop", "pageviews")
    d = Damages.model_validate({
        "pricing": [{"kind": "cpm", "metric": "impressions", "rate": 10.0}],
        "mitigation": [{"name": "newsletter", "kind": "series", "metric": "pageviews",
                        "rate": 5.0}]})
    result = damages_from_case(d, {"impressions": path}, seed=0,
                               series={"newsletter": series})
    # hand: the baseline is the month holding the 28 days before 1 January: December's
    # 1,000 (a 28-day window on monthly dates used to find no value and stop); rises 2,000
    # and 0 at $5 a thousand = $10; losses 2 x 100,000 x $10 / 1000 = $2,000; $1,990
    assert result.primary.mean == pytest.approx(1_990.0, abs=0.005)
