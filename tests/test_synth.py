"""Synthetic control: kernels, estimator properties, placebo inference, the case analysis.

References are constructions with known truth (a treated unit that is an
exact convex combination of donors, effects injected by hand), an independent
solver (scipy's SLSQP) for the simplex least squares, brute-force sampling of
V for the nested search, and the demo simulator's injected effects.
Published numbers on real data are in test_prop99.py.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from butfor.errors import DataError, EstimationError
from butfor.methods._simplex import (
    frank_wolfe,
    frank_wolfe_batch,
    kkt_gap,
    simplex_lsq,
    simplex_lsq_batch,
)
from butfor.methods.synth import Predictor, SyntheticControl
from butfor.methods.synth_placebo import leave_one_out, placebo_in_space, placebo_in_time
from butfor.methods.synth_staggered import StaggeredSyntheticControl
from butfor.methods.synth_weights import search_v, solve_w
from butfor.results import to_jsonable
from butfor.settings import SettingsError


# ---------------------------------------------------------------------------
# data with known truth
def factor_panel(seed: int, n_donors: int = 12, T: int = 40, noise: float = 0.5
                 ) -> pd.DataFrame:
    """Donors from a two-factor model plus a random walk of their own; no treated unit."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    factors = np.column_stack([np.sin(t / 5.0), t / T])
    loadings = rng.normal(size=(n_donors, 2)) * [4.0, 10.0]
    level = rng.uniform(20, 40, size=n_donors)
    own = rng.normal(scale=0.7, size=(n_donors, T)).cumsum(axis=1)  # each donor its own path
    y = (level[:, None] + loadings @ factors.T + own
         + rng.normal(scale=noise, size=(n_donors, T)))
    dates = pd.date_range("2020-01-06", periods=T, freq="7D")
    return pd.DataFrame(y.T, index=dates, columns=[f"d{i:02d}" for i in range(n_donors)])


def with_treated(donors: pd.DataFrame, weights: dict[str, float], effect: float, event_at: int,
                 shift: float = 0.0) -> pd.DataFrame:
    treated = sum(w * donors[d] for d, w in weights.items()) + shift
    treated = treated.copy()
    treated.iloc[event_at:] += effect
    return pd.concat([treated.rename("treated"), donors], axis=1)


TRUE_W = {"d01": 0.5, "d04": 0.3, "d07": 0.2}


# ---------------------------------------------------------------------------
# kernels
def test_simplex_lsq_matches_an_independent_solver():
    rng = np.random.default_rng(0)
    for trial in range(60):
        m, n = rng.integers(2, 20), rng.integers(2, 30)
        A = rng.normal(size=(m, n))
        b = rng.normal(size=m) * rng.uniform(0.1, 3)
        eta = [0.0, 1e-3, 1.0][trial % 3]
        x = simplex_lsq(A, b, eta)
        assert x.min() >= 0 and x.sum() == pytest.approx(1.0)
        assert kkt_gap(A, b, x, eta) <= 1e-9 * (1 + np.abs(A.T @ b).max())

        def objective(z, A=A, b=b, eta=eta):
            return np.sum((A @ z - b) ** 2) + eta * z @ z

        ref = minimize(objective, np.full(n, 1 / n), method="SLSQP", bounds=[(0, 1)] * n,
                       constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1}],
                       options={"ftol": 1e-14, "maxiter": 1000})
        assert objective(x) <= ref.fun + 1e-8 * (1 + abs(ref.fun))


def test_batched_active_set_equals_one_at_a_time():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(50, 7, 25)) * np.exp(rng.uniform(-6, 0, size=(50, 7, 1)))
    b = rng.normal(size=(50, 7))
    x, ok = simplex_lsq_batch(A, b)
    assert ok.all()
    single = np.stack([simplex_lsq(A[i], b[i]) for i in range(50)])
    np.testing.assert_allclose(x, single, atol=1e-8)
    # a warm start lands on the same solution
    warm, _ = simplex_lsq_batch(A, b, x0=np.roll(x, 1, axis=0))
    np.testing.assert_allclose(warm, single, atol=1e-8)
    # weights outside `allowed` stay zero
    allowed = np.ones((50, 25), bool)
    allowed[:, :5] = False
    masked, _ = simplex_lsq_batch(A, b, allowed=allowed)
    assert (masked[:, :5] == 0).all()


def test_frank_wolfe_converges_to_the_exact_solution():
    rng = np.random.default_rng(2)
    A, b = rng.normal(size=(15, 10)), rng.normal(size=15)
    exact = simplex_lsq(A, b, eta=2.0)
    fw = frank_wolfe(A, b, eta=2.0, min_decrease=1e-12, max_iter=200_000)
    np.testing.assert_allclose(fw, exact, atol=1e-4)


def test_batched_frank_wolfe_follows_the_single_iterates():
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(6, 15, 9)), rng.normal(size=(6, 15))
    x0 = np.full((6, 9), 1 / 9)
    batch = frank_wolfe_batch(A, b, np.full(6, 0.5), x0, min_decrease=1e-4, max_iter=500)
    single = np.stack([frank_wolfe(A[i], b[i], 0.5, x0[i], min_decrease=1e-4, max_iter=500)
                       for i in range(6)])
    np.testing.assert_allclose(batch, single, atol=1e-10)


# ---------------------------------------------------------------------------
# the estimator on data with known truth
def test_outcome_only_recovers_an_exact_convex_combination():
    data = with_treated(factor_panel(0, noise=0.0), TRUE_W, effect=5.0, event_at=30)
    event = data.index[30]
    fit = SyntheticControl(None).fit(data, "treated", event)
    for donor, w in TRUE_W.items():
        assert fit.weights[donor] == pytest.approx(w, abs=1e-6)
    assert fit.pre_rmspe == pytest.approx(0.0, abs=1e-6)
    assert fit.average_effect == pytest.approx(5.0, abs=1e-6)
    effect = fit.effect()
    assert effect.event_index == 30
    assert effect.summary.average == pytest.approx(5.0, abs=1e-6)
    assert effect.summary.cumulative == pytest.approx(50.0, abs=1e-5)


def test_demeaned_synthetic_control_matches_a_shifted_unit():
    donors = factor_panel(1, noise=0.0)
    data = with_treated(donors, TRUE_W, effect=-3.0, event_at=30, shift=100.0)
    event = data.index[30]
    plain = SyntheticControl(None).fit(data, "treated", event)
    assert plain.pre_rmspe > 10  # 100 above every donor: no convex combination reaches it
    demeaned = SyntheticControl(None, intercept=True).fit(data, "treated", event)
    for donor, w in TRUE_W.items():
        assert demeaned.weights[donor] == pytest.approx(w, abs=1e-6)
    assert demeaned.average_effect == pytest.approx(-3.0, abs=1e-6)


def predictors_for(data: pd.DataFrame) -> tuple[list[Predictor], dict[str, pd.DataFrame]]:
    rng = np.random.default_rng(9)
    covariate = pd.DataFrame(rng.normal(size=data.shape), index=data.index,
                             columns=data.columns)
    d = data.index
    return ([Predictor("y", d[0], d[9]), Predictor("y", d[20]), Predictor("y", d[29]),
             Predictor("x", d[0], d[29])], {"x": covariate})


def test_exact_match_when_the_treated_unit_is_inside_the_donors_range():
    donors = factor_panel(2, noise=0.0)
    data = with_treated(donors, TRUE_W, effect=4.0, event_at=30)
    preds, covs = predictors_for(data)
    covs["x"]["treated"] = sum(w * covs["x"][d] for d, w in TRUE_W.items())
    fit = SyntheticControl(preds).fit(data, "treated", data.index[30], covariates=covs,
                                      metric="y")
    balance = fit.predictor_balance
    np.testing.assert_allclose(balance["synthetic"], balance["treated"], atol=1e-6)
    assert fit.predictor_weights is None  # every V gives the same exact match
    assert "inside the donors' range" in fit.search["variant"]
    assert fit.average_effect == pytest.approx(4.0, abs=1e-4)


def outside_problem(seed: int):
    rng = np.random.default_rng(seed)
    K, J, T0 = 5, 15, 20
    X0 = rng.normal(size=(K, J))
    X1 = X0[:, :3].mean(axis=1) + rng.normal(scale=1.5, size=K)  # outside the hull
    Z0 = rng.normal(size=(T0, J)).cumsum(axis=0)
    Z1 = Z0[:, :4] @ rng.dirichlet(np.ones(4)) + rng.normal(scale=0.5, size=T0)
    return X1[None], X0[None], Z1[None], Z0[None]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_v_search_is_at_least_as_good_as_brute_force_sampling(seed):
    X1, X0, Z1, Z0 = outside_problem(seed)
    res = search_v(X1, X0, Z1, Z0, rng=np.random.default_rng(0))
    # 2000 random V (log-uniform over the same box) never do better
    rng = np.random.default_rng(100 + seed)
    v = np.exp(rng.uniform(np.log(1e-6), 0, size=(2000, X1.shape[1])))
    _, losses = solve_w(v, np.repeat(X1, 2000, 0), np.repeat(X0, 2000, 0),
                         np.repeat(Z1, 2000, 0), np.repeat(Z0, 2000, 0))
    assert res.loss[0] <= losses.min() + 1e-9
    # the equal-weights start and the regression start are beaten or matched too
    assert res.loss[0] <= min(res.start_losses[0]) + 1e-12
    # the reported loss is the loss of the reported V
    _, again = solve_w(res.v, X1, X0, Z1, Z0)
    assert again[0] == pytest.approx(res.loss[0])


def test_fit_leaves_its_input_alone_and_refits_identically():
    data = with_treated(factor_panel(3), TRUE_W, effect=2.0, event_at=30)
    preds, covs = predictors_for(data)
    before = data.copy()
    est = SyntheticControl(preds, seed=4)
    a = est.fit(data, "treated", data.index[30], covariates=covs, metric="y")
    b = est.fit(data, "treated", data.index[30], covariates=covs, metric="y")
    pd.testing.assert_frame_equal(data, before)
    pd.testing.assert_series_equal(a.weights, b.weights)
    pd.testing.assert_series_equal(a.predictor_weights, b.predictor_weights)


def test_bad_input_is_named():
    data = with_treated(factor_panel(4), TRUE_W, effect=2.0, event_at=30)
    with pytest.raises(DataError, match="'nobody'"):
        SyntheticControl(None).fit(data, "nobody", data.index[30])
    with pytest.raises(DataError, match="no pre-period"):
        SyntheticControl(None).fit(data, "treated", data.index[0])
    late = [Predictor("y", data.index[31])]
    with pytest.raises(DataError, match="post-event"):
        SyntheticControl(late).fit(data, "treated", data.index[30], metric="y")
    with pytest.raises(DataError, match="'z'"):
        SyntheticControl([Predictor("z", data.index[3])]).fit(data, "treated", data.index[30])
    with pytest.raises(SettingsError, match="'v' setting"):
        SyntheticControl(None, v="best").fit(data, "treated", data.index[30])
    with pytest.raises(EstimationError, match="intercept"):
        SyntheticControl(late, intercept=True).fit(data, "treated", data.index[30])


# ---------------------------------------------------------------------------
# placebo inference
def test_a_large_effect_ranks_first_among_placebos():
    data = with_treated(factor_panel(5, n_donors=15), TRUE_W, effect=-8.0, event_at=30)
    test = placebo_in_space(SyntheticControl(None), data, "treated", data.index[30])
    assert test.rank == 1
    assert test.p_value == pytest.approx(1 / 16)
    record = test.to_dict()
    assert record["subject_value"] < 0  # signed by the direction of the change
    assert record["p_value"] == pytest.approx(1 / 16)
    effect = test.effect()
    assert effect.draws.shape == (15, 10)
    assert effect.summary.p_value == pytest.approx(1 / 16)
    assert effect.summary.cumulative_upper < 0


@pytest.mark.slow
def test_placebo_p_value_is_valid_when_nothing_happened(slow_size):
    """Exchangeable units and no effect: P(p ≤ 0.2) ≤ 0.2 (up to sampling error)."""
    n = slow_size(ci=30, full_size=150)
    hits = 0
    for seed in range(n):
        donors = factor_panel(1000 + seed, n_donors=9, T=30, noise=1.0)
        rng = np.random.default_rng(seed)
        treated = donors.iloc[:, :3] @ rng.dirichlet(np.ones(3)) + rng.normal(size=30)
        data = pd.concat([treated.rename("treated"), donors], axis=1)
        test = placebo_in_space(SyntheticControl(None), data, "treated", data.index[20])
        hits += test.p_value <= 0.2
    # binomial(n, 0.2): mean + 3 sd
    assert hits <= 0.2 * n + 3 * np.sqrt(n * 0.2 * 0.8)


def test_placebo_in_time_and_leave_one_out():
    data = with_treated(factor_panel(6), TRUE_W, effect=-6.0, event_at=30)
    est = SyntheticControl(None)
    fake = placebo_in_time(est, data, "treated", data.index[30], data.index[22])
    # before the real event the synthetic unit keeps tracking: no gap opens
    assert abs(fake.fit.average_effect) < 1.0
    assert fake.fit.observed.index.max() < data.index[30]
    with pytest.raises(DataError, match="before the real one"):
        placebo_in_time(est, data, "treated", data.index[30], data.index[31])
    loo = leave_one_out(est, data, "treated", data.index[30])
    assert set(loo) == set(est.fit(data, "treated", data.index[30]).weights.pipe(
        lambda w: w[w > 0]).index)
    for dropped, refit in loo.items():
        assert dropped not in refit.weights.index
        assert refit.average_effect < -3


def test_staggered_units_average_by_event_time():
    donors = factor_panel(7, noise=0.0)
    a = sum(w * donors[d] for d, w in TRUE_W.items())
    b = 0.6 * donors["d02"] + 0.4 * donors["d09"]
    a.iloc[25:] += 3.0
    b.iloc[30:] += 7.0
    data = pd.concat([a.rename("a"), b.rename("b"), donors], axis=1)
    events = {"a": data.index[25], "b": data.index[30]}
    res = StaggeredSyntheticControl(SyntheticControl(None)).fit(data, events)
    assert set(res.fits) == {"a", "b"}
    assert "a" not in res.fits["b"].weights.index  # treated units are never donors
    at0 = int(np.flatnonzero(res.event_time == 0)[0])
    assert res.average_gap[at0] == pytest.approx(5.0, abs=1e-6)
    assert res.units_at[at0] == 2
    post = res.event_time >= 0
    expected = (3.0 * 15 + 7.0 * 10) / 25  # periods each unit contributes after its event
    assert res.average_effect == pytest.approx(expected, abs=1e-6)
    assert res.average_gap[post][-1] == pytest.approx(3.0, abs=1e-6)  # only `a` that late


# ---------------------------------------------------------------------------
# the case analysis on the demo platform
def demo_case(events: list[dict]):
    from butfor.case import parse_case
    from butfor.demo import demo_case_text

    raw = tomllib.loads(demo_case_text())
    raw.pop("method_events", None)  # it names the demo's events
    raw["events"] = events
    raw["methods"] = ["synthetic_control"]
    raw["claims"] = [c for c in raw["claims"] if c["kind"] in ("targeted",
                                                              "beyond_platform_trend")]
    raw.pop("damages", None)
    return parse_case(raw)


@pytest.fixture(scope="module")
def demo():
    from butfor.simulate import simulate_platform

    return simulate_platform(seed=2022)


def test_case_analysis_recovers_the_targeted_effect(demo):
    from butfor.analyses.synth import analyses_for_case

    case = demo_case([{"name": "ownership change", "date": "2022-10-27"}])
    (analysis,) = analyses_for_case(case, demo.panel, seed=3)
    effect = analysis["effect"]
    post = pd.DatetimeIndex(effect["dates"]) >= pd.Timestamp("2022-10-27")
    window = demo.truth.dates.isin(pd.DatetimeIndex(effect["dates"])[post])
    truth = demo.truth.subject_effect("no_targeting")[window].sum()  # exact, injected
    s = effect["summary"]
    assert s["cumulative_lower"] <= truth <= s["cumulative_upper"]
    assert s["cumulative"] < 0
    assert len(analysis["placebo"]["values"]) == 300
    doc = to_jsonable(analysis)
    assert doc["placebo"]["rank"] >= 1
    _validate_analysis(doc)


def test_a_platform_wide_shock_alone_is_not_called_targeted():
    from butfor.analyses.synth import analyses_for_case
    from butfor.claims import evaluate_claims
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    config = PlatformConfig(n_peers=120, events=(
        EventSpec("ownership change", dt.date(2022, 10, 27), platform_shock=-0.15),))
    sim = simulate_platform(config, seed=5)
    case = demo_case([{"name": "ownership change", "date": "2022-10-27"}])
    analyses = to_jsonable(analyses_for_case(case, sim.panel, seed=1))
    assert analyses[0]["placebo"]["p_value"] > 0.05
    groups = dict(zip(sim.panel.units["unit"], sim.panel.units["group"], strict=True))
    verdicts = {v.kind: v for v in evaluate_claims(case, analyses, None, groups)}
    assert verdicts["targeted"].verdict != "supported"
    assert verdicts["beyond_platform_trend"].verdict != "supported"


def _validate_analysis(doc: dict) -> None:
    import jsonschema

    from butfor.results import load_schema

    schema = load_schema()
    jsonschema.validate(doc, {"$defs": schema["$defs"], "$ref": "#/$defs/analysis"})
