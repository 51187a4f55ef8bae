"""Change-point dating: kernels against hand computation, dating against known truth.

References: brute-force least squares for the posterior of the change date
(the formula in the module docstring, evaluated with numpy.linalg.lstsq and
slogdet independently of the fast path), the BIC penalty written out by hand,
and simulations with a change injected on a known day.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from butfor.analyses.changepoint import analyses_for_case
from butfor.errors import DataError
from butfor.methods.changepoint import (
    ChangePoint,
    bic_penalty,
    break_posterior,
    credible_interval,
    noise_sd,
)
from butfor.results import dumps

DATES = pd.date_range("2022-01-01", periods=120)
T = np.arange(120.0)


def brute_posterior(y, t, model, min_size):
    """The same posterior, computed the slow, obvious way."""
    m = len(y)
    logp = np.full(m, -np.inf)
    for tau in range(min_size, m - min_size + 1):
        if model == "level":
            X = np.column_stack([(np.arange(m) < tau), (np.arange(m) >= tau)]).astype(float)
        else:
            X = np.column_stack([np.ones(m), t, np.maximum(t - t[tau], 0)])
        _, res, *_ = np.linalg.lstsq(X, y, rcond=None)
        _, logdet = np.linalg.slogdet(X.T @ X)
        logp[tau] = -0.5 * (m - X.shape[1]) * np.log(res[0]) - 0.5 * logdet
    p = np.exp(logp - logp.max())
    return p / p.sum()


@pytest.mark.parametrize("model", ["level", "slope"])
def test_break_posterior_matches_brute_force(model):
    rng = np.random.default_rng(0)
    t = np.arange(60.0)
    y = rng.normal(size=60) + (t >= 35) * -1.0 + (model == "slope") * -0.05 * np.maximum(t - 30, 0)
    np.testing.assert_allclose(break_posterior(y, t, model, 5), brute_posterior(y, t, model, 5),
                               rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("model", ["level", "slope"])
def test_breaks_are_ruptures_pelt_breaks(model):
    # Reference: ruptures 1.1.x Pelt(jump=1) with its l2 / linear cost, run here on the
    # same series (the search _pelt reimplements on prefix sums). Random walks with
    # jumps, several penalties and minimum sizes, so the breaks are not all obvious.
    import ruptures as rpt

    from butfor.methods.changepoint import detect_breaks

    rng = np.random.default_rng(11)
    for rep in range(6):
        n = int(rng.integers(40, 120))
        t = np.arange(n, dtype=float)
        y = 5 + np.cumsum(rng.normal(0, 0.05, n)) + rng.normal(0, 0.1, n)
        for b in rng.integers(5, n - 5, size=rep % 4):
            y[b:] += rng.normal(0, 0.5)
        min_size = int(rng.integers(2, 9))
        pen = bic_penalty(noise_sd(y, model), n, model) * (0.5, 1.0, 2.0)[rep % 3]
        if model == "level":
            algo, signal = rpt.Pelt(model="l2", min_size=min_size, jump=1), y.reshape(-1, 1)
        else:
            algo = rpt.Pelt(custom_cost=rpt.costs.CostLinear(), min_size=min_size, jump=1)
            signal = np.column_stack([y, np.ones(n), t - t.mean()])
        expected = algo.fit(signal).predict(pen=pen)[:-1]
        assert detect_breaks(y, t, model, pen, min_size) == expected, (rep, n, min_size)


def test_penalty_and_noise_scale():
    # hand: BIC charges (parameters per segment + 1 for the date) * log(n) * sigma^2
    assert bic_penalty(2.0, 100, "level") == pytest.approx(2 * math.log(100) * 4)
    assert bic_penalty(2.0, 100, "slope") == pytest.approx(3 * math.log(100) * 4)
    rng = np.random.default_rng(1)
    y = rng.normal(scale=2.0, size=2000) + 5.0 * (np.arange(2000) >= 1000)
    assert noise_sd(y, "level") == pytest.approx(2.0, rel=0.06)  # the jump barely moves it
    z = rng.normal(scale=2.0, size=2000) + 0.01 * np.maximum(np.arange(2000) - 700, 0)
    assert noise_sd(z, "slope") == pytest.approx(2.0, rel=0.06)


def test_credible_interval_of_a_known_distribution():
    prob = np.zeros(10)
    prob[3:7] = [0.1, 0.4, 0.4, 0.1]
    assert credible_interval(prob, 0.5) == (4, 5)
    assert credible_interval(prob, 0.95) == (3, 6)


def test_clear_drop_is_dated_with_sentence_and_days():
    rng = np.random.default_rng(2)
    y = rng.normal(scale=0.3, size=120) - 2.0 * (T >= 70)
    res = ChangePoint(model="level").fit(pd.Series(y, index=DATES), DATES[80])
    assert res.onset == DATES[70]
    assert res.days_from_event() == (-10, (res.onset_lower - DATES[80]).days,
                                     (res.onset_upper - DATES[80]).days)
    assert res.change == pytest.approx(-2.0, abs=0.15)
    assert "fall in the level" in res.sentence() and "10 days before the event" in res.sentence()
    assert res.onset_probability.sum() == pytest.approx(1.0)
    assert dumps(res) == dumps(ChangePoint(model="level").fit(pd.Series(y, index=DATES),
                                                              DATES[80]))


def test_missing_days_and_short_series():
    rng = np.random.default_rng(3)
    y = pd.Series(rng.normal(scale=0.3, size=120) - 2.0 * (T >= 70), index=DATES)
    y.iloc[[10, 50, 69, 71]] = np.nan
    res = ChangePoint(model="level").fit(y, DATES[80])
    assert abs((res.onset - DATES[70]).days) <= 1
    with pytest.raises(DataError, match="observed days"):
        ChangePoint(min_size=7).fit(y.iloc[:10])


def test_weekly_cycle_is_removed_before_detection():
    rng = np.random.default_rng(4)
    cycle = np.array([0.0, 0.5, 0.5, 0.5, 0.0, -1.5, -1.5])[DATES.day_of_week]
    y = pd.Series(cycle + rng.normal(scale=0.2, size=120), index=DATES)
    assert ChangePoint(model="level", weekly=True).fit(y).onset is None


# ---------------------------------------------------------------------------
# simulations with known truth
@pytest.mark.slow
def test_level_change_dated_within_3_days_in_90_percent(slow_size):
    n = slow_size(ci=40, full_size=300)
    hit, covered = [], []
    for seed in range(n):
        rng = np.random.default_rng(10_000 + seed)
        y = rng.normal(size=120) - 2.0 * (T >= 70)  # a drop of two noise sd on day 70
        res = ChangePoint(model="level").fit(pd.Series(y, index=DATES), DATES[80])
        hit.append(res.onset is not None and abs((res.onset - DATES[70]).days) <= 3)
        covered.append(res.onset is not None and res.onset_lower <= DATES[70] <= res.onset_upper)
    assert np.mean(hit) >= 0.90
    assert np.mean(covered) >= 0.88  # 95% credible intervals


@pytest.mark.slow
def test_slope_change_dated_within_10_days_in_90_percent(slow_size):
    n = slow_size(ci=40, full_size=300)
    hit, covered = [], []
    for seed in range(n):
        rng = np.random.default_rng(20_000 + seed)
        # a decline of 0.05 a day (a tenth of the noise sd) from day 60
        y = rng.normal(scale=0.5, size=120) - 0.05 * np.maximum(T - 60, 0)
        res = ChangePoint(model="slope").fit(pd.Series(y, index=DATES), DATES[80])
        hit.append(res.onset is not None and abs((res.onset - DATES[60]).days) <= 10)
        covered.append(res.onset is not None and res.onset_lower <= DATES[60] <= res.onset_upper)
    assert np.mean(hit) >= 0.90
    assert np.mean(covered) >= 0.88


@pytest.mark.slow
def test_no_change_is_rarely_reported(slow_size):
    n = slow_size(ci=40, full_size=300)
    found = {"level": 0, "slope": 0}
    for seed in range(n):
        y = pd.Series(np.random.default_rng(30_000 + seed).normal(size=120), index=DATES)
        for model in found:
            found[model] += ChangePoint(model=model).fit(y).onset is not None
    assert found["level"] / n <= 0.10 and found["slope"] / n <= 0.15


def test_analyses_for_case_dates_an_injected_pre_decline():
    from butfor.case import parse_case
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    # known truth: the subject's reach falls by 0.02 a day from 2022-03-01 on (a month
    # before the event) and by 1.0 more at the event
    cfg = PlatformConfig(
        days=150, n_peers=5, attention_sd=0.01, common_attention_sd=0.01, reach_noise_sd=0.1,
        events=(EventSpec("ownership change", dt.date(2022, 4, 1), subject_shock=-1.0,
                          ramp_days=1),),
        pre_decline_start=dt.date(2022, 3, 1), pre_decline_per_day=-0.02,
    )
    sim = simulate_platform(cfg, seed=5)
    case = parse_case({
        "subject": {"unit": cfg.subject, "display_name": "Ava"},
        "outcome": {"metric": "impressions", "transform": "log1p"},
        "events": [{"name": "ownership change", "date": "2022-04-01"}],
    })
    out = analyses_for_case(case, sim.panel, seed=0)
    assert [a["method"] for a in out] == ["changepoint", "changepoint"]
    level, slope = out
    # the jump at the event is the largest change in level
    assert abs(level["days_from_events"]["ownership change"]) <= 2, level["sentence"]
    assert level["changepoint"]["change"] == pytest.approx(-1.0, abs=0.3)
    # and the trend model finds a decline that began well before it; with the jump inside
    # the same stretch the one-kink posterior dates it within two weeks of the truth
    early = [c for c in slope["changepoint"]["changes"]
             if abs(c["days_from_event"] + 31) <= 14 and c["change"] < 0]
    assert early, slope["sentence"]
