"""Structural time series: kernels against dense linear algebra, behaviour on known truth.

Reference values come from (a) dense numpy/scipy computations of the same
Gaussian quantities the banded kernels compute, (b) simulations with a known
injected effect (``butfor.methods._sts_sim``), (c) exact identities
(standardisation makes the fit shift- and scale-equivariant).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from butfor.errors import AssumptionWarning, DataError, InputError
from butfor.inference.false_positive import (
    clopper_pearson,
    false_positive_rate,
    pseudo_event_indices,
)
from butfor.methods._convergence import effective_sample_size, split_rhat
from butfor.methods._sts_gibbs import (
    _draw,
    _factor,
    _innovation_bands,
    truncated_precision,
)
from butfor.methods._sts_slab import log_marginal as _log_marginal
from butfor.methods._sts_sim import simulate_sts_series
from butfor.methods.sts import StructuralTimeSeries, sts_false_positive_check
from butfor.results import EffectSummary, dumps, summarise_draws

FAST = {"n_draws": 600, "chains": 6, "burn": 40}


def _sim(seed: int, **kw):
    return simulate_sts_series(np.random.default_rng(seed), **kw)


# ---------------------------------------------------------------------------
# kernels against dense computations
@pytest.mark.parametrize("trend", ["local_level", "local_linear_trend"])
def test_banded_state_posterior_equals_dense(trend):
    # Reference: the dense posterior precision Q = A'A/s2 + init + diag(obs)/sigma2 and
    # mean Q^-1 b, built by hand with numpy for a short series with missing days.
    rng = np.random.default_rng(3)
    T, B = 12, 2
    m = 2 if trend == "local_linear_trend" else 1
    kd, bands = _innovation_bands(trend, T)
    obs = rng.uniform(size=(B, T)) > 0.3
    target = rng.normal(size=(B, T))
    s2 = rng.uniform(0.1, 1.0, size=(m, B))
    prec_obs = rng.uniform(0.5, 2.0, size=B)
    init_mean = rng.normal(size=(B, m))
    init_prec = np.array([0.5, 2.0][:m])
    terms, logdet, quad = _factor(kd, m, bands, list(1 / s2), obs, prec_obs, target,
                                  init_mean, init_prec)
    band, _, scale = terms
    n = m * T
    mean_all = _draw(terms, np.zeros(B * n))
    for b in range(B):
        # innovation matrices, written out directly from the model equations
        A_level = np.zeros((T - 1, n))
        A_slope = np.zeros((T - 1, n))
        for t in range(T - 1):
            A_level[t, m * (t + 1)] = 1
            A_level[t, m * t] = -1
            if m == 2:
                A_level[t, m * t + 1] = -1
                A_slope[t, m * (t + 1) + 1] = 1
                A_slope[t, m * t + 1] = -1
        Q = A_level.T @ A_level / s2[0, b]
        if m == 2:
            Q += A_slope.T @ A_slope / s2[1, b]
        Q[np.arange(m), np.arange(m)] += init_prec
        rhs = np.zeros(n)
        rhs[:m] += init_mean[b] * init_prec
        for t in range(T):
            if obs[b, t]:
                Q[m * t, m * t] += prec_obs[b]
                rhs[m * t] += target[b, t] * prec_obs[b]
        np.testing.assert_allclose(logdet[b], np.linalg.slogdet(Q)[1], rtol=1e-10)
        np.testing.assert_allclose(quad[b], rhs @ np.linalg.solve(Q, rhs), rtol=1e-10)
        np.testing.assert_allclose(mean_all[b * n:(b + 1) * n], np.linalg.solve(Q, rhs),
                                   atol=1e-10)
        # a draw is U^-1 (pre + scale z): its covariance U^-1 S^2 U^-T must be Q^-1
        L = np.zeros((n, n))
        blk = band[:, b * n:(b + 1) * n]
        for d in range(kd + 1):
            idx = np.arange(n - d)
            L[idx + d, idx] = blk[d, : n - d]
        if scale.size > 1:
            np.fill_diagonal(L, 1.0)
            S = np.diag(scale[b * n:(b + 1) * n])
        else:
            S = np.eye(n)
        U_inv = np.linalg.inv(L.T)
        np.testing.assert_allclose(U_inv @ S @ S @ U_inv.T, np.linalg.inv(Q), atol=1e-9)


@pytest.mark.parametrize("trend", ["local_level", "local_linear_trend"])
def test_paired_factorisation_equals_two_single_ones(trend):
    # Reference: _factor, itself checked against dense algebra above
    from butfor.methods._sts_gibbs import _factor_pair

    rng = np.random.default_rng(4)
    T, B = 15, 3
    m = 2 if trend == "local_linear_trend" else 1
    kd, bands = _innovation_bands(trend, T)
    obs = rng.uniform(size=(B, T)) > 0.2
    target = rng.normal(size=(B, T))
    var, var_new = rng.uniform(0.1, 1.0, (B, m)), rng.uniform(0.1, 1.0, (B, m))
    prec_obs = rng.uniform(0.5, 2.0, B)
    init_mean, init_prec = rng.normal(size=(B, m)), np.array([0.5, 2.0][:m])
    logdet, quad, pick = _factor_pair(kd, m, bands, var, var_new, obs, prec_obs, target,
                                      init_mean, init_prec)
    z = rng.normal(size=B * m * T)
    accept = np.array([True, False, True])
    for k, v in enumerate([var, var_new]):
        terms, ld, qd = _factor(kd, m, bands, list((1 / v).T), obs, prec_obs, target,
                                init_mean, init_prec)
        np.testing.assert_allclose(logdet[k], ld, rtol=1e-12)
        np.testing.assert_allclose(quad[k], qd, rtol=1e-12)
        rows = np.repeat(accept == bool(k), m * T)
        np.testing.assert_allclose(_draw(pick(accept), z)[rows], _draw(terms, z)[rows],
                                   rtol=1e-10, atol=1e-12)


def test_log_marginal_matches_multivariate_normal():
    # Reference: with beta ~ N(0, sigma2 Omega^-1), r ~ N(0, sigma2 (I + W Omega^-1 W')),
    # evaluated with scipy's multivariate normal; the kernel drops gamma-free constants,
    # so differences between models are compared.
    rng = np.random.default_rng(5)
    n, q = 40, 5
    W = rng.normal(size=(n, q))
    r = W[:, [0, 2]] @ np.array([1.0, -0.5]) + rng.normal(0, 0.7, n)
    omega = rng.uniform(0.05, 0.5, q)
    sigma2 = 0.6
    models = [np.array(g, dtype=float) for g in ([1, 0, 1, 0, 0], [1, 1, 1, 0, 1], [0, 0, 0, 1, 0])]
    kernel, direct = [], []
    for g in models:
        logml, _, _ = _log_marginal((W.T @ W)[None], omega[None], (r @ W)[None], g[None],
                                    np.array([sigma2]))
        kernel.append(logml[0])
        on = g.astype(bool)
        cov = sigma2 * (np.eye(n) + W[:, on] @ np.diag(1 / omega[on]) @ W[:, on].T)
        direct.append(multivariate_normal(np.zeros(n), cov).logpdf(r))
    np.testing.assert_allclose(np.diff(kernel), np.diff(direct), rtol=1e-9, atol=1e-9)


def test_truncated_precision_respects_bound_and_gamma_law():
    rng = np.random.default_rng(0)
    shape, rate = np.full(20000, 3.0), np.full(20000, 2.0)
    free = truncated_precision(rng, shape, rate, 0.0)
    # Reference: Gamma(3, rate 2) has mean 1.5 and variance 0.75
    assert abs(free.mean() - 1.5) < 0.03
    assert abs(free.var() - 0.75) < 0.05
    bounded = truncated_precision(rng, shape, rate, 2.5)
    assert bounded.min() >= 2.5
    # Reference: E[X | X > 2.5] for Gamma(3, 2) by numerical integration (scipy.stats.gamma)
    from scipy.stats import gamma

    dist = gamma(3.0, scale=0.5)
    grid = np.linspace(2.5, 40, 200001)
    expected = np.trapezoid(grid * dist.pdf(grid), grid) / dist.sf(2.5)
    assert abs(bounded.mean() - expected) < 0.02


def test_split_rhat_and_ess():
    rng = np.random.default_rng(1)
    iid = rng.normal(size=(4, 500))
    assert abs(split_rhat(iid) - 1.0) < 0.02
    # Reference: independent draws have ESS close to the number of draws (2000)
    assert 1500 < effective_sample_size(iid) < 2600
    shifted = iid + np.array([0.0, 0.0, 2.0, 2.0])[:, None]
    # Reference: hand computation; half-chain means at 0 and 2 give between-variance
    # about 8/7 against within-variance 1, so R-hat is about sqrt(1 + 8/7) = 1.46
    assert split_rhat(shifted) == pytest.approx(np.sqrt(1 + 8 / 7), abs=0.1)
    sticky = np.cumsum(rng.normal(size=(4, 500)), axis=1)
    assert effective_sample_size(sticky) < 100


# ---------------------------------------------------------------------------
# the estimator on simulated series with a known effect
def test_recovers_known_effect_and_is_reproducible():
    s = _sim(11, effect_size=2.5)
    model = StructuralTimeSeries(seed=4, **FAST)
    first = model.fit(s.y, s.X, dates=s.dates, event_index=s.event_index)
    again = model.fit(s.y, s.X, dates=s.dates, event_index=s.event_index)
    summary = first.effect.summary
    # Reference: the injected cumulative effect (simulation with known truth)
    assert summary.cumulative_lower < s.true_cumulative < summary.cumulative_upper
    assert summary.p_value < 0.05 and summary.cumulative > 0
    np.testing.assert_array_equal(first.effect.draws, again.effect.draws)
    assert first.effect.draws.shape == (600, len(s.y) - s.event_index)
    other = StructuralTimeSeries(seed=5, **FAST).fit(s.y, s.X, dates=s.dates,
                                                    event_index=s.event_index)
    assert not np.array_equal(first.effect.draws, other.effect.draws)
    # the controls that drive y are found (true beta nonzero on three of ten)
    active = np.flatnonzero(s.beta)
    assert (first.inclusion_probability[active] > 0.9).all()
    assert first.diagnostics["converged"]
    # the Metropolis step on the level variance was tuned in burn-in towards 0.35
    assert 0.15 < first.diagnostics["level_variance_acceptance"] < 0.7
    # the path is JSON-serialisable
    assert '"method": "sts"' in dumps(first.effect.to_dict())


def test_fit_is_shift_and_scale_equivariant():
    # Reference: standardisation on the pre-period makes the model blind to units
    s = _sim(12, effect_size=0.5, p=3)
    model = StructuralTimeSeries(seed=1, **FAST)
    base = model.fit(s.y, s.X, dates=s.dates, event_index=s.event_index)
    moved = model.fit(3.0 * s.y - 1000.0, s.X, dates=s.dates, event_index=s.event_index)
    np.testing.assert_allclose(moved.effect.draws, 3.0 * base.effect.draws - 1000.0, rtol=1e-7)
    np.testing.assert_allclose(moved.effect.summary.cumulative,
                               3.0 * base.effect.summary.cumulative, rtol=1e-7)


def test_missing_days_in_pre_period_are_skipped_not_zero_filled():
    s = _sim(13, effect_size=0.0, p=3)
    y = s.y.copy()
    rng = np.random.default_rng(0)
    holes = np.concatenate([rng.choice(s.event_index, 40, replace=False),
                            np.arange(300, 314)])  # scattered days and a two-week gap
    y[holes] = np.nan
    model = StructuralTimeSeries(seed=2, **FAST)
    full = model.fit(s.y, s.X, dates=s.dates, event_index=s.event_index)
    gappy = model.fit(y, s.X, dates=s.dates, event_index=s.event_index)
    assert gappy.diagnostics["days_missing_in_fit"] == len(np.unique(holes))
    assert np.isnan(gappy.effect.observed[holes]).all()
    # Reference: the same series without holes; losing 9% of the pre-period moves the
    # cumulative estimate by a small fraction of its interval
    width = full.effect.summary.cumulative_upper - full.effect.summary.cumulative_lower
    shift = abs(gappy.effect.summary.cumulative - full.effect.summary.cumulative)
    assert shift < 0.15 * width
    # zero-filling (what users of other ports report) moves it many times further
    zeroed = np.nan_to_num(y, nan=0.0)
    zero_fit = model.fit(zeroed, s.X, dates=s.dates, event_index=s.event_index)
    zero_shift = abs(zero_fit.effect.summary.cumulative - full.effect.summary.cumulative)
    assert zero_shift > max(5 * shift, 0.5 * width)


def test_missing_days_in_post_period_are_left_out_of_sums():
    s = _sim(14, effect_size=1.0, p=2)
    y = s.y.copy()
    y[s.event_index + 5: s.event_index + 9] = np.nan
    res = StructuralTimeSeries(seed=0, **FAST).fit(y, s.X, dates=s.dates,
                                                  event_index=s.event_index)
    post = slice(res.effect.event_index, None)
    ok = ~np.isnan(res.effect.observed[post])
    # Reference: hand computation from the returned draws
    expected = np.mean((res.effect.observed[post][ok][None, :] - res.effect.draws[:, ok]).sum(1))
    assert res.effect.summary.cumulative == pytest.approx(expected)


def test_counts_log1p_reports_original_scale_and_never_negative():
    # Reference: a multiplicative effect on Poisson counts, known exactly
    rng = np.random.default_rng(21)
    T, n_pre = 400, 320
    dates = pd.date_range("2023-01-02", periods=T)
    control = np.exp(3 + np.cumsum(rng.normal(0, 0.03, T)))
    rate = np.exp(0.5 + 0.8 * np.log(control) + 0.3 * (dates.day_of_week.to_numpy() >= 5))
    y_cf = rng.poisson(rate).astype(float)
    y = y_cf.copy()
    y[n_pre:] = rng.binomial(y_cf[n_pre:].astype(int), 0.6)
    res = StructuralTimeSeries(transform="log1p", seed=3, **FAST).fit(
        y, np.log(control), dates=dates, event_index=n_pre)
    assert (res.effect.draws >= 0).all()
    assert (res.effect.lower >= 0).all()
    truth = float((y - y_cf)[n_pre:].sum())
    summary = res.effect.summary
    assert summary.cumulative_lower < truth < summary.cumulative_upper
    assert summary.relative < 0
    with pytest.raises(DataError, match="negative values"):
        StructuralTimeSeries(transform="log1p", **FAST).fit(y - 50, dates=dates,
                                                            event_index=n_pre)


def test_relative_effect_keeps_its_sign_when_baseline_is_negative():
    s = _sim(15, effect_size=1.5, p=2)
    shifted = s.y - 200.0  # a series that lives below zero (e.g. net follows)
    res = StructuralTimeSeries(seed=0, **FAST).fit(shifted, s.X, dates=s.dates,
                                                  event_index=s.event_index)
    assert res.effect.counterfactual[s.event_index:].mean() < 0
    assert res.effect.summary.cumulative > 0
    assert res.effect.summary.relative > 0


def test_several_post_periods_in_one_fit():
    s = _sim(16, effect_size=0.0, p=2, T=700, n_pre=500)
    y = s.y.copy()
    y[500:600] += 2.0  # first event: +2 a day for 100 days
    y[600:] -= 2.0  # second event: -2 a day
    res = StructuralTimeSeries(seed=0, **FAST).fit(y, s.X, dates=s.dates,
                                                  event_index=[500, 600])
    assert res.post_periods == ((500, 600), (600, 700))
    first, second = res.paths
    # Reference: injected effects, cumulative +200 and -200
    assert first.summary.cumulative_lower < 200 < first.summary.cumulative_upper
    assert second.summary.cumulative_lower < -200 < second.summary.cumulative_upper
    assert first.event_index == 500 and len(first.dates) == 600
    band = res.cumulative_effect(1)
    assert band["point"][-1] == pytest.approx(second.summary.cumulative)
    assert band["lower"][-1] == pytest.approx(second.summary.cumulative_lower)
    assert (band["upper"] >= band["lower"]).all() and band["point"].shape == (100,)
    assert second.event_index == 600 and second.draws.shape[1] == 100
    # explicit windows with a gap: the days between them are data again
    gap = StructuralTimeSeries(seed=0, **FAST).fit(
        s.y, s.X, dates=s.dates, post_periods=[(450, 480), (600, 650)])
    assert gap.diagnostics["days_fitted"] == 700 - 30 - 50


def test_control_that_moved_at_the_event_is_refused():
    s = _sim(17, effect_size=1.0, p=3)
    X = s.X.copy()
    X[s.event_index:, 1] += 25.0  # the "control" was hit by the event too
    with pytest.raises(DataError, match="control 'x1' itself moved at the event"):
        StructuralTimeSeries(**FAST).fit(s.y, X, dates=s.dates, event_index=s.event_index)
    with pytest.warns(AssumptionWarning, match="x1"):
        res = StructuralTimeSeries(check_controls="warn", **FAST).fit(
            s.y, X, dates=s.dates, event_index=s.event_index)
    assert res.control_check.moved[1, 0]
    assert not res.control_check.moved[[0, 2], 0].any()
    # untouched controls pass
    ok = StructuralTimeSeries(**FAST).fit(s.y, s.X, dates=s.dates, event_index=s.event_index)
    assert not ok.control_check.moved.any()


def test_control_check_rarely_refuses_untouched_controls():
    # Reference: simulation with known truth; 300 series x 10 random-walk controls that
    # the event did not touch (half of them from the misspecified generator)
    from butfor.methods.sts import control_jump_check

    largest = []
    for i in range(300):
        s = _sim(5000 + i, misspecified=i % 2 == 1)
        fit_days = np.arange(len(s.y)) < s.event_index
        check = control_jump_check(s.X, fit_days, [(s.event_index, len(s.y))],
                                   [f"x{j}" for j in range(s.X.shape[1])])
        largest.append(check.ratio.max())
    assert max(largest) < 5.0
    assert np.quantile(largest, 0.5) < 2.5


def test_local_linear_trend_and_no_controls():
    rng = np.random.default_rng(8)
    T, n_pre = 300, 240
    t = np.arange(T)
    y_cf = 10 + 0.05 * t + np.cumsum(rng.normal(0, 0.05, T)) + rng.normal(0, 0.5, T)
    y = y_cf.copy()
    y[n_pre:] += 1.0
    res = StructuralTimeSeries(trend="local_linear_trend", seasonal_period=None, seed=1,
                               **FAST).fit(y, event_index=n_pre)
    truth = float((y - y_cf)[n_pre:].sum())
    assert res.effect.summary.cumulative_lower < truth < res.effect.summary.cumulative_upper
    assert "sigma_slope" in res.diagnostics["rhat"]
    assert res.control_names == ()


@pytest.mark.parametrize(("name", "value"), [
    ("trend", "quadratic"), ("n_draws", 0), ("level", 1.5), ("seasonal_period", 1),
    ("transform", "log"), ("check_controls", "maybe"), ("burn", 2.5),
])
def test_invalid_settings_name_the_setting(name, value):
    with pytest.raises(InputError, match=f"'{name}' setting"):
        StructuralTimeSeries(**{name: value}).fit(np.arange(50.0), event_index=40)


def test_bad_inputs_are_explained():
    y = np.random.default_rng(0).normal(size=100)
    with pytest.raises(DataError, match="not inside the series"):
        StructuralTimeSeries(**FAST).fit(y, event_index=100)
    with pytest.raises(DataError, match="usable days"):
        StructuralTimeSeries(**FAST).fit(y, event_index=8)
    with pytest.raises(DataError, match="constant"):
        StructuralTimeSeries(**FAST).fit(np.ones(100), event_index=80)
    with pytest.raises(DataError, match="controls have"):
        StructuralTimeSeries(**FAST).fit(y, np.ones((90, 1)), event_index=80)


def test_constant_control_is_dropped_with_a_warning():
    s = _sim(18, p=2)
    X = np.column_stack([s.X, np.full(len(s.y), 3.0)])
    with pytest.warns(AssumptionWarning, match="constant before the event"):
        res = StructuralTimeSeries(**FAST).fit(s.y, X, dates=s.dates, event_index=s.event_index)
    assert np.isnan(res.inclusion_probability[2])


# ---------------------------------------------------------------------------
# the false-positive check
def test_clopper_pearson_reference_values():
    # Reference: closed forms; k = 0 gives upper 1 - (alpha/2)^(1/n) = 0.3085 for n = 10
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-9)


def test_false_positive_rate_counts_what_the_method_reports():
    ps = iter([0.01, 0.5, 0.2, 0.04, 0.9, 0.3])
    seen = []

    def fit_at(k, length):
        seen.append((k, length))
        p = next(ps)
        return EffectSummary(0, 0, 0, 0, 0, 0, 0, 0, 0, p)

    res = false_positive_rate(fit_at, event_index=200, post_length=30, n_events=6, min_fit=50)
    assert res.n_events == 6 and res.n_flagged == 2 and res.rate == pytest.approx(2 / 6)
    assert all(50 <= k and k + n <= 200 for k, n in seen)
    assert "2 times" in res.sentence()
    with pytest.raises(DataError, match="too short"):
        pseudo_event_indices(60, 30, min_fit=50)


def test_sts_false_positive_check_on_a_series_without_effects():
    s = _sim(19, effect_size=0.0, p=2, T=420, n_pre=360)
    model = StructuralTimeSeries(seed=0, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sts_false_positive_check(model, s.y, s.X, dates=s.dates,
                                       event_index=s.event_index, n_events=5, n_draws=200)
    assert res.n_events == 5
    assert (res.event_indices + res.post_length <= s.event_index).all()
    assert np.isfinite(res.p_values).all()
    # a null series: most pseudo-events find nothing (5 draws of a 5% event)
    assert res.n_flagged <= 2


# ---------------------------------------------------------------------------
# the pipeline's entry point, on the demo platform (simulation with known truth)
def test_analyses_for_case_on_the_demo_platform():
    import json
    from importlib import resources

    import jsonschema

    from butfor.analyses.sts import analyses_for_case
    from butfor.case import load_case
    from butfor.results import load_schema, to_jsonable
    from butfor.simulate import PlatformConfig, simulate_platform

    case = load_case(str(resources.files("butfor").joinpath("demo_case.toml")))
    sim = simulate_platform(PlatformConfig(n_peers=6), seed=2022)
    analyses = analyses_for_case(case, sim.panel, seed=7)
    assert len(analyses) == 1
    doc = json.loads(json.dumps(to_jsonable(analyses[0])))
    schema = load_schema()
    jsonschema.validate(doc, {"$ref": "#/$defs/analysis", "$defs": schema["$defs"]})
    assert [e["diagnostics"]["event"] for e in doc["effects"]] == [
        "ownership change", "verification change"]
    first = doc["effects"][0]
    # Reference: the simulator's exact counterfactual had no event happened
    # (simulate.Truth.subject_effect("no_events"), same noise as the observed series)
    true_effect = pd.Series(sim.truth.subject_effect("no_events"), index=sim.truth.dates)
    dates = pd.DatetimeIndex(first["dates"])
    a, b = first["diagnostics"]["post_period"]
    assert dates[first["event_index"]] == pd.Timestamp("2022-10-27")
    true_cum = float(true_effect.loc[dates[0]:].iloc[a:b].sum())
    summary = first["summary"]
    assert summary["cumulative_upper"] < 0  # reach fell, and the interval says so
    assert summary["cumulative_lower"] < true_cum < summary["cumulative_upper"]
    assert doc["false_positive"]["n_events"] == 10
    assert 0 <= doc["false_positive"]["rate"] <= 1
    assert doc["controls"]["names"] == [f"{case.subject.unit}:pageviews"]


def test_sts_section_of_the_case_file_sets_the_model():
    import tomllib
    from importlib import resources

    from butfor.analyses.sts import analyses_for_case
    from butfor.case import parse_case
    from butfor.simulate import PlatformConfig, simulate_platform

    text = resources.files("butfor").joinpath("demo_case.toml").read_text()
    text += "\n[sts]\nn_draws = 200\npseudo_events = 0\nseasonal_period = 1\n"
    case = parse_case(tomllib.loads(text), text)
    sim = simulate_platform(PlatformConfig(n_peers=4), seed=3)
    (analysis,) = analyses_for_case(case, sim.panel, seed=1)
    assert "false_positive" not in analysis
    assert analysis["settings"]["seasonal_period"] is None
    assert analysis["settings"]["n_draws"] == 200
    assert len(analysis["effect"]["summary"]) > 0
    assert analysis["warnings"] == [] or all(isinstance(w, str) for w in analysis["warnings"])


def test_kernel_batches_different_series():
    # Reference: simulation with known truth; two series with noise sd 0.3 and 0.8 (on the
    # scale the kernel sees) and their own regressors, sampled in one batched call
    from butfor.methods._sts_gibbs import Priors, gibbs

    rng = np.random.default_rng(9)
    T, q = 400, 2
    W = rng.normal(size=(2, T, q))
    level = np.cumsum(rng.normal(0, 0.02, (2, T)), axis=1)
    sd = np.array([0.3, 0.8])
    y = level + np.einsum("btq,q->bt", W, np.array([0.5, -0.4])) + sd[:, None] * rng.normal(
        size=(2, T))
    y[:, 350:] = np.nan  # a post-period
    draws = gibbs(y, W, n_fixed=0, prior_inclusion=np.full(q, 0.5), trend="local_level",
                  priors=Priors(), n_keep=300, burn=50, rng=np.random.default_rng(0))
    est = draws.sigma_obs.mean(axis=1)
    assert abs(est[0] - 0.3) < 0.05 and abs(est[1] - 0.8) < 0.1
    assert draws.signal.shape == (2, 300, T)
    assert (draws.gamma.mean(axis=1) > 0.9).all()


def test_missing_control_days():
    s = _sim(20, effect_size=0.0, p=2, T=300, n_pre=250)
    X = s.X.copy()
    X[[10, 11, 50], 0] = np.nan  # pre-period: those days leave the fit
    X[260, 1] = np.nan  # post-period: carried forward, with a warning
    with pytest.warns(AssumptionWarning, match="carried forward"):
        res = StructuralTimeSeries(**FAST).fit(s.y, X, dates=s.dates, event_index=250)
    assert res.diagnostics["days_dropped_for_missing_controls"] == 3
    assert res.diagnostics["days_fitted"] == 247
    assert np.isfinite(res.effect.draws).all()


@pytest.mark.realdata
def test_verge_follows_conservative_accounts_gained(shared_data, tmp_path):
    # Reference: The Verge, 2022-04-27, "Conservative Twitter accounts got boost in followers
    # after Musk acquisition, data shows" (data: ../shared/data/verge-follows, Social Blade):
    # right-leaning accounts gained followers unusually fast after 2022-04-25, several
    # left-leaning accounts lost followers. Each account's own forecast (local level, no
    # controls, 27 days before the event, 2 after) should show that split.
    from typer.testing import CliRunner

    from butfor.cli import app
    from butfor.store import Store

    folder = shared_data / "verge-follows"
    store = tmp_path / "butfor.duckdb"
    result = CliRunner().invoke(app, [
        "ingest", str(folder / "conservative-follows.csv"), str(folder / "liberal-follows.csv"),
        "--groups-file", f"conservative={folder / 'conservative-list.csv'}",
        "--groups-file", f"liberal={folder / 'liberal-list.csv'}",
        "--store", str(store),
    ])
    assert result.exit_code == 0, result.output
    panel = Store(store).read_panel()
    wide = panel.wide("followers").loc[:"2022-04-26"]
    event = int(wide.index.searchsorted(pd.Timestamp("2022-04-25")))
    model = StructuralTimeSeries(seasonal_period=None, n_draws=400, chains=8, seed=0)
    share = {}
    for group, units in panel.groups().items():
        ups, downs = [], []
        for unit in units:
            s = model.fit(wide[unit].to_numpy(), dates=wide.index, event_index=event).effect.summary
            ups.append(s.p_value < 0.05 and s.cumulative > 0)
            downs.append(s.p_value < 0.05 and s.cumulative < 0)
        share[group] = (np.mean(ups), np.mean(downs))
    # measured: conservative 90% up / 6% down; liberal 32% up / 46% down (50 accounts each)
    assert share["conservative"][0] > 0.7
    assert share["conservative"][0] > share["liberal"][0] + 0.3
    assert share["liberal"][1] > share["conservative"][1] + 0.2


def test_batched_pseudo_events_match_one_by_one_fits():
    # Reference: the same pseudo-events fitted one at a time with StructuralTimeSeries.fit
    # (different random streams, so agreement is statistical: a small share of the interval)
    from butfor.methods.sts_pseudo import pseudo_event_forecasts

    s = _sim(22, p=2, T=420, n_pre=360)
    model = StructuralTimeSeries(seed=0, n_draws=1000, check_controls="off")
    indices = pseudo_event_indices(360, 40, n_events=4, min_fit=56)
    batched = [summarise_draws(f.observed, f.draws, model.level) for f in
               pseudo_event_forecasts(model, s.y, s.X, s.dates, None, indices, 40)]
    for k, b in zip(indices, batched, strict=True):
        stop = int(k) + 40
        one = model.fit(s.y[:stop], s.X[:stop], dates=s.dates[:stop],
                        event_index=int(k)).effect.summary
        half = (one.cumulative_upper - one.cumulative_lower) / 2
        assert abs(b.cumulative - one.cumulative) < 0.15 * half
        assert (b.cumulative_upper - b.cumulative_lower) / 2 == pytest.approx(half, rel=0.15)
    # a control constant before the earliest pseudo-event: no shared batch, one by one instead
    X = s.X.copy()
    X[: indices[0] + 40, 1] = 5.0
    with pytest.warns(AssumptionWarning, match="constant before the event"):
        assert pseudo_event_forecasts(model, s.y, X, s.dates, None, indices, 40) is None
