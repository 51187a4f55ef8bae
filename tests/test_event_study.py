"""Event study, pre/post, group disproportion and Sun & Abraham.

References: pyfixest 0.60 called directly on the same data (formulas written
independently with its own ``i()`` syntax), hand computation (differences of
group means in balanced panels), and simulations with known injected effects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from butfor.analyses.event_study import analyses_for_case
from butfor.errors import AssumptionWarning, DataError
from butfor.methods.event_study import EventStudy, GroupDisproportion, PrePost
from butfor.methods.panel_design import (
    build_design,
    cohort_share_weights,
    grid_layout,
    linear_combination,
)
from butfor.methods.sun_abraham import SunAbraham
from butfor.panel import Panel
from butfor.results import dumps, to_jsonable
from butfor.settings import SettingsError

START = pd.Timestamp("2022-01-01")


def simulate(seed: int, *, n_units: int = 100, n_days: int = 40, event_day: int = 25,
             n_treated: int = 50, effect=None, pre_decline: float = 0.0,
             decline_from: int = 10, noise: float = 1.0) -> tuple[Panel, list[str], pd.Timestamp]:
    """Units u000.. with unit and day effects, activity, and injected effects for the treated.

    ``effect(k)`` is the effect at event time k >= 0; ``pre_decline`` a daily
    decline of the treated that starts on ``decline_from`` (before the event).
    """
    rng = np.random.default_rng(seed)
    units = np.array([f"u{i:03d}" for i in range(n_units)], dtype=object)
    dates = pd.date_range(START, periods=n_days)
    u = np.repeat(np.arange(n_units), n_days)
    t = np.tile(np.arange(n_days), n_units)
    treated = u < n_treated
    k = t - event_day
    eff = np.zeros(len(u))
    if effect is not None:
        eff = np.where(treated & (k >= 0), np.vectorize(effect)(np.maximum(k, 0)), 0.0)
    trend = np.where(treated, -pre_decline * np.maximum(t - decline_from, 0), 0.0)
    posts = rng.poisson(3.0, len(u)).astype(float)
    y = (rng.normal(0, 1, n_units)[u] + rng.normal(0, 0.5, n_days)[t] + 0.2 * np.log1p(posts)
         + eff + trend + rng.normal(0, noise, len(u)))
    frame = pd.DataFrame({"unit": units[u], "date": dates[t], "y": y, "posts": posts})
    return Panel.from_frame(frame), list(units[:n_treated]), dates[event_day]


def direct_frame(panel: Panel, treated: list[str], event: pd.Timestamp) -> pd.DataFrame:
    d = panel.data.copy()
    d["treat"] = d["unit"].isin(treated).astype(float)
    d["post"] = (d["date"] >= event).astype(float)
    d["D"] = d["treat"] * d["post"]
    d["lp"] = np.log1p(d["posts"])
    d["rel"] = (d["date"] - event).dt.days
    return d


# ---------------------------------------------------------------------------
# against pyfixest called directly
def test_prepost_matches_pyfixest_direct_call():
    panel, treated, event = simulate(1, effect=lambda k: 0.5)
    res = PrePost(covariates=["posts"]).fit(panel, "y", treated=treated, event=event)
    # reference: pyfixest 0.60, the same model written by hand on the raw frame
    ref = pf.feols("y ~ D + lp | unit + date", direct_frame(panel, treated, event),
                   vcov={"CRV1": "unit"})
    assert res.effect.estimate == pytest.approx(ref.coef()["D"], rel=1e-9)
    assert res.effect.se == pytest.approx(ref.se()["D"], rel=1e-9)
    assert res.effect.lower == pytest.approx(ref.confint().loc["D", "2.5%"], rel=1e-9)
    # pyfixest computes 2 * (1 - cdf), exact only to ~1e-15; we use the survival function
    assert res.effect.p_value == pytest.approx(ref.pvalue()["D"], rel=1e-6, abs=1e-12)
    assert res.covariates[0].estimate == pytest.approx(ref.coef()["lp"], rel=1e-9)
    assert res.n_obs == 4000 and res.n_clusters == 100 and res.n_treated == 50


def test_event_study_matches_pyfixest_i_syntax_and_wald():
    panel, treated, event = simulate(2, effect=lambda k: 0.2 + 0.1 * min(k, 6))
    lo, hi = -6, 6
    res = EventStudy(window=(lo, hi), covariates=["posts"]).fit(
        panel, "y", treated=treated, event=event)
    d = direct_frame(panel, treated, event)
    d["rel_b"] = d["rel"].clip(lo, hi)  # binned end points
    # reference: pyfixest's own interaction syntax, reference period -1
    ref = pf.feols("y ~ i(rel_b, treat, ref=-1) + lp | unit + date", d, vcov={"CRV1": "unit"})
    coefs = ref.coef()
    ses = ref.se()
    for k, est, se in zip(res.event_times, res.estimate, res.se, strict=True):
        if k == -1:
            assert est == 0 and np.isnan(se)
            continue
        name = next(n for n in coefs.index if n.startswith("rel_b::") and
                    float(n.split("::")[1].split(":")[0]) == k)
        assert est == pytest.approx(coefs[name], rel=1e-8, abs=1e-12)
        assert se == pytest.approx(ses[name], rel=1e-8)
    # pre-trend Wald statistic: same restriction through pyfixest's wald_test
    names = list(coefs.index)
    pre = [i for i, n in enumerate(names)
           if n.startswith("rel_b::") and float(n.split("::")[1].split(":")[0]) < -1]
    R = np.zeros((len(pre), len(names)))
    R[np.arange(len(pre)), pre] = 1.0
    w = ref.wald_test(R=R, distribution="chi2")
    assert res.pretrend.statistic == pytest.approx(w["statistic"], rel=1e-8)
    assert res.pretrend.p_value_chi2 == pytest.approx(w["pvalue"], rel=1e-6)
    assert res.pretrend.df == 5 and res.binned == (True, True)
    # average post effect: equal-weight mean of the seven post coefficients
    post = [i for i, n in enumerate(names)
            if n.startswith("rel_b::") and float(n.split("::")[1].split(":")[0]) >= 0]
    wv = np.zeros(len(names))
    wv[post] = 1 / len(post)
    beta = ref.coef().to_numpy()
    assert res.average_post.estimate == pytest.approx(wv @ beta, rel=1e-9)
    assert res.average_post.se == pytest.approx(np.sqrt(wv @ ref._vcov @ wv), rel=1e-8)


def test_two_period_group_gap_is_difference_of_mean_changes():
    panel, treated, event = simulate(3, n_days=2, event_day=1, effect=lambda k: 0.7)
    res = GroupDisproportion(window=(-1, 0)).fit(
        panel, "y", group_a=treated, group_b=[u for u in panel.unit_ids if u not in treated],
        event=event, labels=("a", "b"))
    w = panel.wide("y")
    change = w.iloc[1] - w.iloc[0]
    # reference: hand computation, mean change of group a minus mean change of group b
    hand = change[treated].mean() - change.drop(treated).mean()
    assert res.interaction.effect.estimate == pytest.approx(hand, rel=1e-10)
    # with two periods the event study's one coefficient is the same number
    assert res.event_study.estimate[res.event_study.event_times == 0][0] == pytest.approx(hand)
    means = res.means["mean"]
    assert (means["a", "post"] - means["a", "pre"]) - (means["b", "post"] - means["b", "pre"]) \
        == pytest.approx(hand)
    # the analysis describes the comparison in the panel's own periods (it said "day-by-day"
    # for weekly and annual panels too)
    from butfor.analyses.event_study import _group_analysis

    words = {p: _group_analysis(res, "y", "change", "none", p)["description"]
             for p in ("day", "week", "year")}
    assert "day-by-day" in words["day"] and "on the same days" in words["day"]
    assert "week-by-week" in words["week"] and "in the same weeks" in words["week"]
    assert "year-by-year" in words["year"] and "day" not in words["year"]


def test_sun_abraham_cohort_coefficients_are_did_of_means():
    """Balanced panel, no covariates: each cohort × event-time coefficient is the change of
    the cohort's mean from its last untreated day minus the same change for never-treated."""
    rng = np.random.default_rng(4)
    n, T = 60, 20
    dates = pd.date_range(START, periods=T)
    units = [f"u{i:02d}" for i in range(n)]
    adopt_day = np.array([8] * 20 + [12] * 20 + [-1] * 20)
    y = rng.normal(size=(n, T)) + np.where((adopt_day[:, None] >= 0) &
                                           (np.arange(T)[None, :] >= adopt_day[:, None]),
                                           adopt_day[:, None] / 10, 0)
    frame = pd.DataFrame({"unit": np.repeat(units, T), "date": np.tile(dates, n),
                          "y": y.ravel()})
    panel = Panel.from_frame(frame)
    adoption = {u: dates[a] for u, a in zip(units, adopt_day, strict=True) if a >= 0}
    res = SunAbraham(window=(-4, 4)).fit(panel, "y", adoption=adoption)
    never = adopt_day < 0
    for cohort, day in (("2022-01-09", 8), ("2022-01-13", 12)):
        members = adopt_day == day
        rows = res.cohorts[res.cohorts["cohort"] == cohort].set_index("event_time")
        for k in (-4, -2, 0, 3):
            # reference: hand computation of the 2x2 difference in means
            hand = ((y[members, day + k].mean() - y[members, day - 1].mean())
                    - (y[never, day + k].mean() - y[never, day - 1].mean()))
            assert rows.loc[k, "estimate"] == pytest.approx(hand, rel=1e-8, abs=1e-10)
    # equal cohort sizes: the aggregate is the plain mean of the two cohorts
    agg = res.event_study.estimate[res.event_study.event_times == 2][0]
    both = res.cohorts[res.cohorts["event_time"] == 2]["estimate"].mean()
    assert agg == pytest.approx(both)


def test_cohort_share_weights_and_linear_combination():
    w = cohort_share_weights(np.array([[10, 0, 3], [30, 0, 1]]))
    np.testing.assert_allclose(w, [[0.25, 0, 0.75], [0.75, 0, 0.25]])
    c = linear_combination(np.array([1.0, 3.0]), np.diag([4.0, 9.0]), np.array([0.5, 0.5]),
                           df=10**6)
    # hand: mean 2, variance (4 + 9) / 4
    assert c.estimate == 2 and c.se == pytest.approx(np.sqrt(13 / 4))
    assert c.upper - c.estimate == pytest.approx(1.959964 * np.sqrt(13 / 4), rel=1e-5)


# ---------------------------------------------------------------------------
# input checks and warnings
def test_bad_inputs_raise_one_sentence_errors():
    panel, treated, event = simulate(5, n_units=10, n_treated=5)
    with pytest.raises(DataError, match="both groups"):
        GroupDisproportion().fit(panel, "y", group_a=treated, group_b=treated[:2], event=event)
    with pytest.raises(DataError, match="no account is treated"):
        PrePost().fit(panel, "y", treated=["nobody"], event=event)
    with pytest.raises(DataError, match="same date"):
        PrePost().fit(panel, "y", treated=panel.unit_ids, event=event)
    with pytest.raises(SettingsError, match="'window' setting"):  # refused before any data
        EventStudy(window=(0, 5)).fit(panel, "y", treated=treated, event=event)
    with pytest.raises(DataError, match="no metric"):
        PrePost().fit(panel, "nope", treated=treated, event=event)


def test_one_treated_account_warns_about_clustered_errors():
    panel, _, event = simulate(6, n_units=20, n_treated=1)
    # recorded by hand: pytest.warns would re-raise pyfixest's pandas deprecation noise
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PrePost().fit(panel, "y", treated=["u000"], event=event)
    ours = [w for w in caught if issubclass(w.category, AssumptionWarning)]
    assert len(ours) == 1 and "only 1 treated account" in str(ours[0].message)


def test_refit_is_identical_and_row_order_does_not_matter():
    panel, treated, event = simulate(7, effect=lambda k: 0.3)
    shuffled = Panel.from_frame(panel.data.sample(frac=1.0, random_state=1))
    est = EventStudy(window=(-3, 3))
    a = est.fit(panel, "y", treated=treated, event=event)
    b = est.fit(shuffled, "y", treated=treated, event=event)
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-9)
    assert a.pretrend.statistic == pytest.approx(b.pretrend.statistic, rel=1e-8)
    assert dumps(a) == dumps(est.fit(panel, "y", treated=treated, event=event))


def test_grid_layout_codes_match_hashed_codes_on_any_row_order():
    """The Panel's sorted grid is coded by block arithmetic; a Panel built by hand in another
    order falls back to hashing. Reference: the hashed coding of the same rows (factorised
    labels, sorted unique dates), the design this module built before the arithmetic path."""
    panel, treated, event = simulate(10, n_units=30, n_days=20, event_day=12, n_treated=10)
    data = panel.data
    assert grid_layout(data) is not None
    shuffled = data.sample(frac=1.0, random_state=2).reset_index(drop=True)
    assert grid_layout(shuffled) is None
    # two accounts trade one day's row: every block still carries the full run of dates
    swapped = data.copy()
    swapped.loc[[23, 43], "unit"] = swapped.loc[[43, 23], "unit"].to_numpy()
    assert grid_layout(swapped) is None
    # accounts out of sorted order, and a plain object column (no pyarrow compare)
    assert grid_layout(data.iloc[np.r_[20:40, 0:20, 40:len(data)]]) is None
    assert grid_layout(data.astype({"unit": object})) is not None
    units = [*treated, *panel.unit_ids[14:25], "not-an-account"]
    for kw in ({}, {"units": units, "start": "2022-01-04", "end": "2022-01-17"},
               {"end": "2021-12-31"}):
        for transform in ("none", "pct_change", "per_post"):
            args = dict(transform=transform, posts_metric="posts", covariates=["posts"],
                        covariate_transform="log1p", **kw)
            if kw.get("end") == "2021-12-31":
                with pytest.raises(DataError, match="no rows are left"):
                    build_design(panel, "y", **args)
                continue
            grid = build_design(panel, "y", **args)
            hashed = build_design(Panel(shuffled, panel.units), "y", **args)
            order = np.lexsort((hashed.time_code, hashed.unit_code))
            np.testing.assert_array_equal(grid.unit_labels, hashed.unit_labels)
            np.testing.assert_array_equal(grid.dates, hashed.dates)
            np.testing.assert_array_equal(grid.unit_code, hashed.unit_code[order])
            np.testing.assert_array_equal(grid.time_code, hashed.time_code[order])
            for c in grid.frame.columns:
                np.testing.assert_array_equal(grid.frame[c].to_numpy(),
                                              hashed.frame[c].to_numpy()[order])
            # the frame owns its outcome and covariates; the panel never changes
            assert not np.shares_memory(grid.frame["y"].to_numpy(), data["y"].to_numpy())
    before = data["y"].to_numpy().copy()
    res = EventStudy(window=(-3, 3)).fit(panel, "y", treated=treated, event=event,
                                         units=units, start="2022-01-04")
    ref = EventStudy(window=(-3, 3)).fit(Panel(shuffled, panel.units), "y", treated=treated,
                                         event=event, units=units, start="2022-01-04")
    np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.se, ref.se, rtol=1e-9)
    np.testing.assert_array_equal(data["y"].to_numpy(), before)


def test_placebo_inference_for_one_account_flags_a_pre_existing_decline():
    # reference: simulation with known truth; the subject u000 declines 0.1 a day from day 10
    panel, _, event = simulate(8, n_units=41, n_treated=1, pre_decline=0.1, noise=0.2)
    est = EventStudy(window=(-10, 5), inference="placebo", n_placebo=40)
    res = est.fit(panel, "y", treated=["u000"], event=event)
    assert res.pretrend.p_value <= 1 / 41 + 1e-12  # more extreme than every placebo
    assert res.placebo["estimates"].shape == (40, 16)
    flat, _, _ = simulate(8, n_units=41, n_treated=1, noise=0.2)
    assert est.fit(flat, "y", treated=["u000"], event=event).pretrend.p_value > 0.05


# ---------------------------------------------------------------------------
# simulations with known truth (slow)
def _effect(k: int) -> float:
    return 0.2 + 0.08 * min(k, 5)  # grows for five days, then flat


@pytest.mark.slow
def test_event_study_recovers_injected_dynamic_effects(slow_size):
    n = slow_size(ci=30, full_size=200)
    times = np.arange(-5, 6)
    truth = np.array([0.0 if k < 0 else _effect(k) for k in times])
    covered = []
    for seed in range(n):
        panel, treated, event = simulate(100 + seed, effect=_effect)
        res = EventStudy(window=(-5, 5), covariates=["posts"]).fit(
            panel, "y", treated=treated, event=event)
        keep = res.event_times != -1
        covered.append((res.lower[keep] <= truth[keep]) & (truth[keep] <= res.upper[keep]))
        assert res.average_post.lower <= truth[times >= 0].mean() + 0.3
    covered = np.array(covered)
    # 95% intervals: pooled coverage near 0.95, no event time far below
    assert covered.mean() >= 0.90
    assert covered.mean(axis=0).min() >= 0.80


@pytest.mark.slow
def test_pretrend_test_size_and_power(slow_size):
    n = slow_size(ci=40, full_size=300)
    alpha = 0.05
    null = []
    trend = []
    for seed in range(n):
        panel, treated, event = simulate(1000 + seed, effect=lambda k: 0.3)
        est = EventStudy(window=(-8, 4))
        null.append(est.fit(panel, "y", treated=treated, event=event).pretrend.rejects(alpha))
        panel, treated, event = simulate(1000 + seed, effect=lambda k: 0.3, pre_decline=0.05)
        trend.append(est.fit(panel, "y", treated=treated, event=event).pretrend.rejects(alpha))
    # size: at most alpha plus three binomial standard errors
    assert np.mean(null) <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / n)
    # power against a decline of 0.05 a day starting 15 days before the event
    assert np.mean(trend) >= 0.8


def simulate_staggered(seed: int, n_per_cohort: int = 60, T: int = 40):
    """Cohorts adopting on days 8, 18, 28 (+ never treated) with effects growing at
    cohort-specific rates: the case where static two-way FE is badly biased."""
    rng = np.random.default_rng(seed)
    days = np.array([8, 18, 28, -1])
    slope = {8: 0.15, 18: 0.08, 28: 0.02}
    adopt = np.repeat(days, n_per_cohort)
    n = len(adopt)
    units = [f"s{i:03d}" for i in range(n)]
    dates = pd.date_range(START, periods=T)
    t = np.arange(T)
    rel = t[None, :] - adopt[:, None]
    eff = np.where((adopt[:, None] >= 0) & (rel >= 0),
                   np.vectorize(lambda a: slope.get(a, 0.0))(adopt)[:, None] * (rel + 1), 0.0)
    y = (rng.normal(0, 1, n)[:, None] + rng.normal(0, 0.5, T)[None, :] + eff
         + rng.normal(0, 0.5, (n, T)))
    frame = pd.DataFrame({"unit": np.repeat(units, T), "date": np.tile(dates, n),
                          "y": y.ravel()})
    adoption = {u: dates[a] for u, a in zip(units, adopt, strict=True) if a >= 0}
    treated_post = (adopt[:, None] >= 0) & (rel >= 0)
    return Panel.from_frame(frame), adoption, float(eff[treated_post].mean())


def test_sun_abraham_recovers_att_where_twfe_is_biased():
    panel, adoption, att = simulate_staggered(11)
    # window long enough to cover every treated cell, so both target the same ATT
    res = SunAbraham(window=(-7, 31)).fit(panel, "y", adoption=adoption)
    assert res.control == "never treated" and res.n_cohorts == 3
    assert res.att.lower <= att <= res.att.upper
    # plain two-way FE: far from the truth (known result: Goodman-Bacon 2021)
    assert abs(res.twfe_static.estimate - att) > 10 * res.twfe_static.se
    assert abs(res.twfe_static.estimate - att) > 0.3 * att


@pytest.mark.slow
def test_sun_abraham_covers_cohort_effects_across_simulations(slow_size):
    n = slow_size(ci=20, full_size=100)
    att_cover, twfe_far = [], []
    for seed in range(n):
        panel, adoption, att = simulate_staggered(500 + seed)
        res = SunAbraham(window=(-7, 31)).fit(panel, "y", adoption=adoption)
        att_cover.append(res.att.lower <= att <= res.att.upper)
        twfe_far.append(not (res.twfe_static.lower <= att <= res.twfe_static.upper))
        # cohort-specific effects at event time 5: slope × 6
        rows = res.cohorts[res.cohorts["event_time"] == 5].set_index("cohort")
        for cohort, slope in (("2022-01-09", 0.15), ("2022-01-19", 0.08)):
            assert abs(rows.loc[cohort, "estimate"] - 6 * slope) < 4 * rows.loc[cohort, "se"]
    assert np.mean(att_cover) >= 0.85
    assert np.mean(twfe_far) == 1.0


def test_sun_abraham_without_never_treated_uses_last_cohort():
    panel, adoption, _ = simulate_staggered(12)
    treated_only = [u for u in panel.unit_ids if u in adoption]
    res = SunAbraham(window=(-5, 5)).fit(panel, "y", adoption=adoption, units=treated_only)
    assert res.control == "last treated" and res.n_cohorts == 2


# ---------------------------------------------------------------------------
# the pipeline entry point, on the lead's simulated platform
def test_analyses_for_case_on_simulated_platform():
    from butfor.case import parse_case
    from butfor.results import validate
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    cfg = PlatformConfig(
        days=160, n_peers=80,
        events=(EventSpec("ownership change", dt.date(2022, 4, 1), platform_shock=-0.1,
                          group_shocks={"left": -0.3}, subject_shock=-0.5, ramp_days=1),),
    )
    sim = simulate_platform(cfg, seed=3)
    case = parse_case({
        "subject": {"unit": cfg.subject}, "outcome": {"metric": "impressions",
                                                      "transform": "log1p"},
        "covariates": ["posts"], "events": [{"name": "ownership change", "date": "2022-04-01"}],
        "groups": {"compare": ["left", "right"]}, "methods": ["event_study"],
    })
    analyses = analyses_for_case(case, sim.panel, seed=1)
    assert [a["method"] for a in analyses] == ["event_study", "group_disproportion"]
    gap = analyses[1]["estimate"]
    # known truth: left accounts lost 0.3 more log reach than right accounts
    assert gap["lower"] <= -0.3 <= gap["upper"]
    effect = analyses[0]["effect"]
    assert effect["summary"]["average"] < 0
    doc = {"schema_version": "1.0.0", "case": {}, "analyses": to_jsonable(analyses),
           "verdicts": [], "damages": None,
           "ingest": {"rows_read": 0, "rows_kept": 0, "rows_dropped": 0, "rows_repaired": 0,
                      "cells_filled": 0, "sources": [], "notes": []},
           "provenance": {"butfor_version": "0", "versions": {}, "seed": 1, "inputs": [],
                          "command": "test"},
           "summary_table": []}
    validate(doc)
    assert dumps(analyses) == dumps(analyses_for_case(case, sim.panel, seed=1))


def test_results_are_frozen():
    panel, treated, event = simulate(9, effect=lambda k: 0.3)
    res = PrePost().fit(panel, "y", treated=treated, event=event)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_obs = 0  # type: ignore[misc]
