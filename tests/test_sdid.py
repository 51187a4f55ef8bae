"""Synthetic difference-in-differences: exactness on additive panels, agreement with the
synthetic control module, the paper's rules for standard errors, staggered adoption,
calibration, and the case analysis on the demo platform.

References: hand computations (a 2×2 difference in means; an additive
unit + period panel where every weighting recovers the effect exactly),
butfor's own synthetic control solved independently (outcome-only SC), the
demo simulator's injected effects, and simulation with known truth for the
coverage of the placebo interval. Published numbers are in test_prop99.py.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest

from butfor.errors import DataError
from butfor.methods.sdid import SyntheticDiD
from butfor.methods.synth import SyntheticControl
from butfor.results import to_jsonable
from butfor.settings import SettingsError


def additive_panel(seed: int, n_units: int = 12, T: int = 30) -> pd.DataFrame:
    """y = unit effect + period effect, no noise: parallel trends hold exactly."""
    rng = np.random.default_rng(seed)
    unit = rng.uniform(0, 100, size=n_units)
    period = rng.normal(size=T).cumsum() * 3
    dates = pd.date_range("2021-01-04", periods=T, freq="7D")
    return pd.DataFrame(unit[None, :] + period[:, None], index=dates,
                        columns=[f"u{i:02d}" for i in range(n_units)])


def noisy_panel(seed: int, n_units: int = 16, T: int = 30, sd: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = additive_panel(seed, n_units, T)
    loadings = rng.normal(size=n_units)
    factor = np.sin(np.arange(T) / 4.0) * 3
    return base + np.outer(factor, loadings) + rng.normal(scale=sd, size=base.shape)


def test_did_is_the_difference_in_means():
    data = noisy_panel(0)
    event = data.index[20]
    fit = SyntheticDiD("did", se="none").fit(data, "u00", event)
    pre, post = data.index < event, data.index >= event
    treated = data["u00"]
    controls = data.drop(columns="u00").mean(axis=1)
    by_hand = (treated[post].mean() - treated[pre].mean()) - (controls[post].mean()
                                                              - controls[pre].mean())
    assert fit.estimate == pytest.approx(by_hand, abs=1e-10)


@pytest.mark.parametrize("estimator", ["sdid", "did"])
def test_additive_panels_give_the_effect_exactly(estimator):
    data = additive_panel(1)
    data.loc[data.index[20]:, "u03"] += 7.5
    fit = SyntheticDiD(estimator, se="none").fit(data, "u03", data.index[20])
    assert fit.estimate == pytest.approx(7.5, abs=1e-8)
    assert fit.omega.sum() == pytest.approx(1.0)
    assert fit.lambda_.sum() == pytest.approx(1.0)
    effect = fit.effect()
    post = slice(effect.event_index, None)
    np.testing.assert_allclose(effect.pointwise[post], 7.5, atol=1e-8)
    assert effect.summary.average == pytest.approx(7.5, abs=1e-8)


def test_every_replication_is_exact_on_an_additive_panel():
    """Resampled, left-out or reassigned units: an additive panel leaves nothing to vary."""
    data = additive_panel(8, n_units=14)
    treated = ["u00", "u01", "u02"]
    data.loc[data.index[20]:, treated] += 3.0
    for method in ("placebo", "bootstrap", "jackknife"):
        fit = SyntheticDiD("sdid", se=method, replications=25, seed=2).fit(
            data, treated, data.index[20])
        assert fit.estimate == pytest.approx(3.0, abs=1e-8)
        expected = 0.0 if method == "placebo" else 3.0
        np.testing.assert_allclose(fit.replicates, expected, atol=1e-7)
        assert fit.se == pytest.approx(0.0, abs=1e-7)


def test_sc_path_agrees_with_the_synthetic_control_module():
    """SDID's SC (no intercept, ridge 1e-6·σ) and butfor's outcome-only SC solve one problem."""
    data = noisy_panel(2)
    event = data.index[20]
    sdid_sc = SyntheticDiD("sc", se="none", solver="exact").fit(data, "u05", event)
    synth = SyntheticControl(None).fit(data, "u05", event)
    np.testing.assert_allclose(sdid_sc.omega.to_numpy(),
                               synth.weights.loc[sdid_sc.omega.index].to_numpy(), atol=1e-4)
    assert sdid_sc.estimate == pytest.approx(synth.average_effect, abs=1e-3)
    assert (sdid_sc.lambda_ == 0).all()


def test_frank_wolfe_and_exact_solvers_agree_on_sdid():
    data = noisy_panel(3)
    event = data.index[20]
    fw = SyntheticDiD("sdid", se="none").fit(data, "u01", event)
    exact = SyntheticDiD("sdid", se="none", solver="exact").fit(data, "u01", event)
    assert fw.estimate == pytest.approx(exact.estimate, abs=0.05)


def test_standard_errors_only_where_the_paper_says_they_are_valid():
    data = noisy_panel(4)
    event = data.index[20]
    one = {m: SyntheticDiD("sdid", se=m, replications=20).fit(data, "u00", event)
           for m in ("placebo", "bootstrap", "jackknife")}
    assert one["placebo"].se > 0
    assert one["bootstrap"].se is None
    assert "one treated unit" in one["bootstrap"].se_note
    assert one["jackknife"].se is None
    treated = ["u00", "u01", "u02"]
    several = {m: SyntheticDiD("sdid", se=m, replications=30).fit(data, treated, event)
               for m in ("placebo", "bootstrap", "jackknife")}
    assert all(f.se is not None and f.se > 0 for f in several.values())
    sc_jack = SyntheticDiD("sc", se="jackknife").fit(data, treated, event)
    assert sc_jack.se is None and "synthetic control" in sc_jack.se_note
    assert SyntheticDiD("sdid").fit(data, "u00", event).se_method == "placebo"
    assert SyntheticDiD("sdid", replications=30).fit(data, treated, event).se_method \
        == "bootstrap"


def test_placebo_is_reproducible_and_seeded():
    data = noisy_panel(5)
    event = data.index[20]
    a = SyntheticDiD("sdid", replications=30, seed=3).fit(data, "u00", event)
    b = SyntheticDiD("sdid", replications=30, seed=3).fit(data, "u00", event)
    c = SyntheticDiD("sdid", replications=30, seed=4).fit(data, "u00", event)
    assert a.se == b.se
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert a.se != c.se
    each = SyntheticDiD("sdid", placebo="each").fit(data, "u00", event)
    assert sorted(each.replicate_units) == sorted(data.columns.drop("u00"))
    assert each.effect().draws.shape == (15, 10)


def test_staggered_adoption_averages_cohorts_by_size():
    data = additive_panel(6, n_units=14)
    data.loc[data.index[15]:, "u00"] += 2.0
    data.loc[data.index[22]:, ["u01", "u02"]] += 6.0
    events = {"u00": data.index[15], "u01": data.index[22], "u02": data.index[22]}
    fit = SyntheticDiD("sdid", replications=20).fit(data, events)
    shares = np.array([1 * 15, 2 * 8], dtype=float)  # N_treated × T_post per cohort
    expected = (shares * [2.0, 6.0]).sum() / shares.sum()
    assert fit.estimate == pytest.approx(expected, abs=1e-8)
    assert [c["estimate"] for c in fit.cohorts.values()] == pytest.approx([2.0, 6.0], abs=1e-8)
    assert fit.se_method == "placebo" and fit.se >= 0


def test_bad_input_is_named():
    data = noisy_panel(7)
    with pytest.raises(DataError, match="'zz'"):
        SyntheticDiD().fit(data, "zz", data.index[20])
    with pytest.raises(DataError, match="no pre-period"):
        SyntheticDiD().fit(data, "u00", data.index[0])
    gappy = data.copy()
    gappy.iloc[3, 4] = np.nan
    with pytest.raises(DataError, match="missing values"):
        SyntheticDiD().fit(gappy, "u00", data.index[20])
    with pytest.raises(SettingsError, match="'estimator' setting"):
        SyntheticDiD("ols").fit(data, "u00", data.index[20])
    with pytest.raises(SettingsError, match="'se' setting"):
        SyntheticDiD(se="delta").fit(data, "u00", data.index[20])


@pytest.mark.slow
def test_placebo_interval_covers_a_zero_effect(slow_size):
    """Exchangeable units, no effect: the 90% placebo interval covers 0 about 90% of the time."""
    n = slow_size(ci=30, full_size=200)
    covered = 0
    for seed in range(n):
        data = noisy_panel(500 + seed, n_units=12, T=24, sd=2.0)
        fit = SyntheticDiD("sdid", placebo="each", level=0.9).fit(data, "u00", data.index[16])
        lo, hi = fit.interval
        covered += lo <= 0 <= hi
    # binomial(n, 0.9): allow 3 sd below the mean
    assert covered >= 0.9 * n - 3 * np.sqrt(n * 0.9 * 0.1)


# ---------------------------------------------------------------------------
# the case analysis on the demo platform
def demo_case():
    from butfor.case import parse_case
    from butfor.demo import demo_case_text

    raw = tomllib.loads(demo_case_text())
    raw.pop("method_events", None)  # it names the demo's events
    raw["events"] = [{"name": "ownership change", "date": "2022-10-27"}]
    raw["methods"] = ["sdid"]
    raw["claims"] = [c for c in raw["claims"] if c["kind"] in ("targeted",
                                                              "beyond_platform_trend")]
    raw.pop("damages", None)
    return parse_case(raw)


def test_case_analysis_recovers_the_targeted_effect():
    import jsonschema

    from butfor.analyses.sdid import analyses_for_case
    from butfor.results import load_schema
    from butfor.simulate import simulate_platform

    sim = simulate_platform(seed=2022)
    (analysis,) = analyses_for_case(demo_case(), sim.panel, seed=3)
    effect = analysis["effect"]
    dates = pd.DatetimeIndex(effect["dates"])
    post = dates[dates >= pd.Timestamp("2022-10-27")]
    truth = sim.truth.subject_effect("no_targeting")[sim.truth.dates.isin(post)].sum()
    s = effect["summary"]
    assert s["cumulative_lower"] <= truth <= s["cumulative_upper"]
    assert s["cumulative_upper"] < 0
    assert len(analysis["placebo"]["values"]) == 100  # a seeded sample of the 300 peers
    doc = to_jsonable(analysis)
    schema = load_schema()
    jsonschema.validate(doc, {"$defs": schema["$defs"], "$ref": "#/$defs/analysis"})


def test_a_platform_wide_shock_alone_is_not_called_targeted():
    from butfor.analyses.sdid import analyses_for_case
    from butfor.claims import evaluate_claims
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    config = PlatformConfig(n_peers=80, events=(
        EventSpec("ownership change", dt.date(2022, 10, 27), platform_shock=-0.15),))
    sim = simulate_platform(config, seed=5)
    case = demo_case()
    analyses = to_jsonable(analyses_for_case(case, sim.panel, seed=1))
    assert analyses[0]["placebo"]["p_value"] > 0.05
    groups = dict(zip(sim.panel.units["unit"], sim.panel.units["group"], strict=True))
    verdicts = {v.kind: v for v in evaluate_claims(case, analyses, None, groups)}
    assert verdicts["targeted"].verdict != "supported"
    assert verdicts["beyond_platform_trend"].verdict != "supported"


def test_case_with_per_unit_event_dates():
    """Staggered events in the case file reach both estimators; effects injected by hand."""
    import jsonschema

    from butfor.analyses import sdid, synth
    from butfor.case import parse_case
    from butfor.demo import demo_case_text
    from butfor.panel import Panel
    from butfor.results import load_schema
    from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

    config = PlatformConfig(n_peers=40, events=(
        EventSpec("ownership change", dt.date(2022, 10, 27), platform_shock=-0.1),))
    sim = simulate_platform(config, seed=8)
    units = [u for u in sim.panel.unit_ids if u != config.subject][:3]
    dates = {units[0]: "2022-08-01", units[1]: "2022-08-01", units[2]: "2023-01-09"}
    data = sim.panel.data.copy()
    for unit, date in dates.items():  # a known drop of 30% in impressions from each date
        rows = (data["unit"] == unit) & (data["date"] >= pd.Timestamp(date))
        data.loc[rows, "impressions"] *= 0.7
    panel = Panel.from_frame(data, sim.panel.units)
    raw = tomllib.loads(demo_case_text())
    raw.pop("method_events", None)  # it names the demo's events
    raw["events"] = [{"name": "rollout", "dates": dates}]
    raw["claims"] = []
    raw.pop("damages", None)
    case = parse_case(raw)
    schema = load_schema()
    for module in (sdid, synth):
        (analysis,) = to_jsonable(module.analyses_for_case(case, panel, seed=1))
        jsonschema.validate(analysis, {"$defs": schema["$defs"], "$ref": "#/$defs/analysis"})
        value = (analysis["estimate"]["value"] if module is sdid
                 else analysis["staggered"]["average_effect"])
        assert value == pytest.approx(np.log(0.7), abs=0.12), module.__name__
