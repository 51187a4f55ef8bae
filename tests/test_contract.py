"""The contract every estimator keeps (issue #11).

Each estimator named by ``import butfor`` is fitted on a small simulated
fixture; its result must be frozen, serialise through ``to_dict()`` to JSON that
reads back to the same values (every effect path in it valid against the results
schema's ``effect_path``), give a non-empty pandas table from ``.summary()`` and
a matplotlib Figure from ``.plot()``; a bad setting must raise the settings
error (one sentence for the user), never a bare Python exception. The figures quoted are
checked against the result's own fields, so a summary that drifts from its
result fails here.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import butfor
from butfor.panel import Panel
from butfor.results import dumps, to_jsonable
from butfor.settings import SettingsError

START = pd.Timestamp("2022-01-01")
#: every estimator ``import butfor`` names (test_every_registered_estimator_is_covered)
ESTIMATORS = ["StructuralTimeSeries", "SyntheticControl", "SyntheticDiD", "PrePost", "EventStudy",
              "GroupDisproportion", "SunAbraham", "ChangePoint", "ChangeAttribution",
              "PrePostComparison", "PeerEffects", "BeforeAfter"]


def _wide(seed: int = 0, n_units: int = 12, n_days: int = 60, event_day: int = 40,
          effect: float = -2.0) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Units in columns, days in rows; u00 loses ``effect`` a day from the event."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=n_days)
    common = np.cumsum(rng.normal(0, 0.3, n_days))
    data = {f"u{i:02d}": 50 + 2 * i + common + rng.normal(0, 0.5, n_days) for i in range(n_units)}
    frame = pd.DataFrame(data, index=dates)
    frame.iloc[event_day:, 0] += effect
    return frame, dates[event_day]


def _panel(seed: int = 0, n_units: int = 30, n_days: int = 30, event_day: int = 20):
    rng = np.random.default_rng(seed)
    units = np.array([f"u{i:02d}" for i in range(n_units)], dtype=object)
    dates = pd.date_range(START, periods=n_days)
    u, t = np.repeat(np.arange(n_units), n_days), np.tile(np.arange(n_days), n_units)
    treated = u < n_units // 2
    y = (rng.normal(0, 1, n_units)[u] + rng.normal(0, 0.5, n_days)[t]
         + np.where(treated & (t >= event_day), 0.5, 0.0) + rng.normal(0, 0.5, len(u)))
    posts = rng.poisson(3.0, len(u)).astype(float)
    frame = pd.DataFrame({"unit": units[u], "date": dates[t], "y": y, "posts": posts})
    return Panel.from_frame(frame), list(units[: n_units // 2]), list(units[n_units // 2:]), \
        dates[event_day]


def _fit(name: str):
    wide, event = _wide()
    if name == "StructuralTimeSeries":
        est = butfor.StructuralTimeSeries(n_draws=200, chains=2, seed=1)
        return est.fit(wide["u00"], wide.drop(columns="u00"), dates=wide.index,
                       event_index=40)
    if name == "SyntheticControl":
        return butfor.SyntheticControl(v="equal").fit(wide, "u00", event)
    if name == "SyntheticDiD":
        return butfor.SyntheticDiD(se="placebo", replications=20, seed=1).fit(wide, "u00", event)
    if name == "PrePostComparison":
        return butfor.PrePostComparison().fit(wide, "u00", list(wide.columns[1:]), event)
    if name == "PeerEffects":  # every unit's off-platform control: the units' common path
        controls = pd.DataFrame({u: wide.mean(axis=1) for u in wide.columns})
        return butfor.PeerEffects().fit(wide, controls, "u00", list(wide.columns[1:]), event)
    if name == "ChangePoint":
        return butfor.ChangePoint().fit(wide["u00"], event_date=event)
    if name == "ChangeAttribution":
        long = _wide(n_days=400, event_day=300)[0]["u00"]
        return butfor.ChangeAttribution().fit(
            long, {"first": (long.index[200].date(), None), "second": (long.index[300].date(),
                                                                       None)})
    panel, treated, others, event = _panel()
    if name == "BeforeAfter":
        return butfor.BeforeAfter().fit(panel, "y", event=event, group_a=treated, group_b=others)
    if name == "PrePost":
        return butfor.PrePost().fit(panel, "y", treated=treated, event=event)
    if name == "EventStudy":
        return butfor.EventStudy(window=(-5, 5)).fit(panel, "y", treated=treated, event=event)
    if name == "GroupDisproportion":
        return butfor.GroupDisproportion(window=(-5, 5)).fit(
            panel, "y", group_a=treated, group_b=others, event=event)
    if name == "SunAbraham":
        dates = panel.data["date"].drop_duplicates().sort_values().to_list()
        adoption = {u: dates[15 + (i % 2) * 5] for i, u in enumerate(treated)}
        return butfor.SunAbraham(window=(-4, 4)).fit(panel, "y", adoption=adoption)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def results() -> dict:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # assumption warnings on a tiny fixture are expected
        return {name: _fit(name) for name in ESTIMATORS}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_result_is_frozen(results, name):
    result = results[name]
    assert dataclasses.is_dataclass(result)
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


def test_every_registered_estimator_is_covered():
    registered = {name for name, module in butfor._LAZY.items()
                  if module.startswith("butfor.methods.")}
    assert registered == set(ESTIMATORS)


def _effect_paths(value):
    """Every effect path (a dict with an event index and a summary) inside a JSON value."""
    if isinstance(value, dict):
        if {"event_index", "summary", "counterfactual"} <= set(value):
            yield value
        for v in value.values():
            yield from _effect_paths(v)
    elif isinstance(value, list):
        for v in value:
            yield from _effect_paths(v)


# the results whose dict holds an effect path (the coefficient designs report coefficients)
WITH_EFFECT_PATH = {"StructuralTimeSeries", "SyntheticControl", "SyntheticDiD",
                    "PrePostComparison", "PeerEffects"}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_result_round_trips_through_json_and_the_schema(results, name):
    import jsonschema

    from butfor.results import load_schema

    value = to_jsonable(results[name].to_dict())
    text = dumps(value)
    assert json.loads(text) == value  # nothing is lost or changed on the way to the file
    assert dumps(json.loads(text)) == text
    schema = load_schema()
    paths = list(_effect_paths(value))
    assert bool(paths) == (name in WITH_EFFECT_PATH)
    for path in paths:
        jsonschema.validate(path, {"$defs": schema["$defs"], "$ref": "#/$defs/effect_path"})


@pytest.mark.parametrize("name", ESTIMATORS)
def test_summary_and_plot(results, name):
    from matplotlib.figure import Figure

    result = results[name]
    table = result.summary()
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    fig = result.plot()
    assert isinstance(fig, Figure) and fig.axes


def test_summaries_quote_the_results_own_figures(results):
    sts = results["StructuralTimeSeries"]
    row = sts.summary().iloc[0]
    assert row["cumulative"] == sts.paths[0].summary.cumulative
    sc = results["SyntheticControl"]
    table = sc.summary()
    assert table["weight"].sum() == pytest.approx(1.0)
    assert set(table["donor"]) == set(sc.weights[sc.weights > 0].index)
    es = results["EventStudy"]
    assert np.array_equal(es.summary()["estimate"].to_numpy(), es.estimate)
    sdid = results["SyntheticDiD"]
    assert sdid.summary()["estimate"].iloc[0] == sdid.estimate


# a bad value for a setting each estimator has; each must be refused in one sentence
BAD_SETTINGS = {
    "StructuralTimeSeries": {"n_draws": -5},
    "SyntheticControl": {"v": "nonsense"},
    "SyntheticDiD": {"estimator": "nonsense"},
    "PrePost": {"level": 1.5},
    "EventStudy": {"window": (5, -5)},
    "GroupDisproportion": {"level": -0.1},
    "SunAbraham": {"level": 2.0},
    "ChangePoint": {"model": "nonsense"},
    "ChangeAttribution": {"share_needed": 1.5},
    "PrePostComparison": {"level": 0.0},
    "PeerEffects": {"level": 1.0},
    "BeforeAfter": {"family": "negative_binomial"},
}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_setting_is_the_settings_error(name):
    with pytest.raises(SettingsError) as err:
        getattr(butfor, name)(**BAD_SETTINGS[name])
    message = str(err.value)
    assert "\n" not in message and name in message and next(iter(BAD_SETTINGS[name])) in message


def test_lazy_import_keeps_the_cli_light():
    import subprocess
    import sys

    code = ("import sys, butfor; heavy = [m for m in ('pyfixest', 'matplotlib', 'scipy') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
