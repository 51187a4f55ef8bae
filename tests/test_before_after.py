"""Before/after on a panel where every unit is exposed at one date, through `butfor run`.

Reference values: pyfixest's own ``feols`` called directly on the same simulated
panel (its version is named in the assertion message), so the CLI path (ingest,
case, transforms, design, clustered errors, results.json) must reproduce a
direct call of the library to 1e-8.
"""

from __future__ import annotations

import json
import textwrap
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.cli import app

EVENT = "2024-02-10"


def _panel(seed: int = 3, n_units: int = 40, n_days: int = 50) -> pd.DataFrame:
    """Reposts per day: unit effect + 0.5 log(posts) - 0.2 after the date, Poisson counts."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days)
    rows = []
    for i in range(n_units):
        level = rng.normal(3.2, 0.3)
        posts = rng.poisson(3, n_days) + 1
        post = dates >= pd.Timestamp(EVENT)
        mean = np.exp(level + 0.5 * np.log(posts) - 0.2 * post + rng.normal(0, 0.3, n_days))
        reposts = rng.poisson(mean)
        rows.append(pd.DataFrame({"unit": f"acct{i:03d}", "date": dates.strftime("%Y-%m-%d"),
                                  "reposts": reposts, "posts": posts}))
    return pd.concat(rows, ignore_index=True)


CASE = """\
methods = ["before_after"]
covariates = ["posts"]
covariate_transforms = {{ posts = "{cov}" }}

[case]
title = "Every account exposed on one date"

[data]
files = ["panel.csv"]

[outcome]
metric = "reposts"
transform = "{outcome}"

[regression]
time_effects = false

[[events]]
name = "platform change"
date = "2024-02-10"
"""


def _run(tmp_path, panel: pd.DataFrame, text: str):
    panel.to_csv(tmp_path / "panel.csv", index=False)
    (tmp_path / "case.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                      str(tmp_path / "out"), "--store",
                                      str(tmp_path / "store.duckdb")])
    return result


@pytest.mark.parametrize(("outcome", "cov"), [("log", "log"), ("log1p", "none")])
def test_before_after_matches_pyfixest(tmp_path, outcome, cov):
    import pyfixest as pf

    panel = _panel()
    result = _run(tmp_path, panel, CASE.format(outcome=outcome, cov=cov))
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    (analysis,) = [a for a in results["analyses"] if a["method"] == "before_after"]
    got = analysis["before_after"]

    frame = panel.assign(post=(pd.to_datetime(panel["date"]) >= EVENT).astype(float))
    frame["y"] = np.log(frame["reposts"]) if outcome == "log" else np.log1p(frame["reposts"])
    frame["x"] = np.log(frame["posts"]) if cov == "log" else frame["posts"].astype(float)
    fit = pf.feols("y ~ post + x | unit", frame, vcov={"CRV1": "unit"})
    version = f"pyfixest {metadata.version('pyfixest')}"
    assert got["effect"]["estimate"] == pytest.approx(fit.coef()["post"], abs=1e-8), version
    assert got["effect"]["se"] == pytest.approx(fit.se()["post"], abs=1e-8), version
    assert got["effect"]["p_value"] == pytest.approx(fit.pvalue()["post"], abs=1e-8), version
    assert got["covariates"][0]["estimate"] == pytest.approx(fit.coef()["x"], abs=1e-8), version
    assert got["n_obs"] == fit._N and got["n_clusters"] == 40
    assert got["time_effects"] is False and got["unit_effects"] is True
    # the simulation's truth (-0.2 on the log scale) lies in the interval
    if outcome == "log":
        assert got["effect"]["lower"] < -0.2 < got["effect"]["upper"]


def test_time_effects_refused_when_every_unit_is_exposed(tmp_path):
    text = CASE.format(outcome="log", cov="log").replace("time_effects = false",
                                                         "time_effects = true")
    result = _run(tmp_path, _panel(n_units=6), text)
    assert result.exit_code == 2
    assert "case.toml, line 16, column 'time_effects'" in result.output
    assert "time fixed effects" in result.output and "time_effects = false" in result.output
    assert "Traceback" not in result.output


def test_log_of_a_zero_is_refused_with_the_fix(tmp_path):
    panel = _panel(n_units=6)
    panel.loc[3, "reposts"] = 0
    result = _run(tmp_path, panel, CASE.format(outcome="log", cov="none"))
    assert result.exit_code == 2
    assert "zero or negative in 1 of" in result.output and "log1p" in result.output


GROUPS_CASE = """\
methods = ["before_after"]
covariates = ["posts"]

[case]
title = "Group a against group b"

[data]
files = ["panel.csv"]

[outcome]
metric = "reposts"
transform = "log1p"

[regression]
{time_effects}

[before_after]
comparison = "groups"

[groups]
members = {{ a = [{a}], b = [{b}] }}
compare = ["a", "b"]

[[events]]
name = "platform change"
date = "2024-02-10"

[[claims]]
id = "fell"
kind = "declined_after"
allegation = "Reposts fell after the change"
"""


@pytest.mark.parametrize("time_effects", [True, False])
def test_group_comparison_matches_pyfixest(tmp_path, time_effects):
    """a × post against pyfixest's feols, with day effects (DiD) and without (post main effect)."""
    import pyfixest as pf

    panel = _panel(n_units=30)
    units = sorted(panel["unit"].unique())
    a, b = units[:15], units[15:]
    # group a loses 0.3 more (on the log1p scale, roughly) after the date
    hit = panel["unit"].isin(a) & (pd.to_datetime(panel["date"]) >= EVENT)
    panel.loc[hit, "reposts"] = (panel.loc[hit, "reposts"] * 0.7).round().astype(int)
    quoted = lambda us: ", ".join(f'"{u}"' for u in us)  # noqa: E731
    text = GROUPS_CASE.format(a=quoted(a), b=quoted(b),
                              time_effects=f"time_effects = {str(time_effects).lower()}")
    # a before/after comparison may be about no one in particular: the claim then reads it
    result = _run(tmp_path, panel, text)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    (analysis,) = [x for x in results["analyses"] if x["method"] == "before_after"]
    got = analysis["before_after"]

    frame = panel.assign(post=(pd.to_datetime(panel["date"]) >= EVENT).astype(float),
                         y=np.log1p(panel["reposts"]), x=np.log1p(panel["posts"]))
    frame["a_post"] = frame["post"] * frame["unit"].isin(a)
    formula = "y ~ a_post + x | unit + date" if time_effects else "y ~ a_post + post + x | unit"
    fit = pf.feols(formula, frame, vcov={"CRV1": "unit"})
    version = f"pyfixest {metadata.version('pyfixest')}"
    assert got["effect"]["estimate"] == pytest.approx(fit.coef()["a_post"], abs=1e-8), version
    assert got["effect"]["se"] == pytest.approx(fit.se()["a_post"], abs=1e-8), version
    assert got["comparison"] == ["a", "b"] and got["time_effects"] is time_effects
    (verdict,) = results["verdicts"]
    assert verdict["figures"]["analysis"] == analysis["id"]
    assert verdict["verdict"] == "supported", verdict["sentence"]


# Inputs on which pyfixest 0.60's Rust demeaning panics and aborts the process (exit 134,
# past any except; each was run once in a subprocess to see it): every usable observation
# in one period (the Prop 99 event study of issue 12 on a daily grid of annual data), one
# observation per unit, a single unit, a regressor that is all missing.
def _frame(pattern: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_u, n_t = 12, 9
    unit = np.repeat(np.arange(n_u), n_t)
    time = np.tile(np.arange(n_t), n_u)
    y = np.full(n_u * n_t, np.nan)
    d = ((unit == 0) & (time >= 4)).astype(float)
    if pattern == "one_period":
        y[time == 4] = rng.normal(size=n_u)
    elif pattern == "one_per_unit":
        y[time == unit % n_t] = rng.normal(size=n_u)
    elif pattern == "one_unit":
        y[unit == 0] = rng.normal(size=n_t)
    else:
        y[:] = rng.normal(size=n_u * n_t)
        d[:] = np.nan
    return pd.DataFrame({"y": y, "unit": unit, "time": time, "d": d})


@pytest.mark.parametrize("pattern", ["one_period", "one_per_unit", "one_unit", "all_missing"])
def test_inputs_that_crash_pyfixest_are_refused_first(pattern):
    from butfor.errors import DataError
    from butfor.methods._regression import fit_feols

    with pytest.raises(DataError, match=r"^the two-way regression ") as err:
        fit_feols(_frame(pattern), ["d"], fixed_effects=("unit", "time"),
                  design="two-way regression", must_vary=())
    assert "\n" not in str(err.value)


def test_event_study_on_a_daily_grid_of_annual_data_is_refused(tmp_path):
    """Issue 12: annual data on a daily grid put one day with data in the event window.

    pyfixest aborted the process there (exit 134). Read as daily, butfor now refuses in one
    sentence; once the panel's frequency is read as annual the study may fit instead. Either
    way the run ends in an answer or a sentence, never a crash.
    """
    rows = [(f"s{i:02d}", f"{y}-01-01", float(100 + i - (y >= 1989) * (i == 0) * 20))
            for i in range(8) for y in range(1980, 1995)]
    pd.DataFrame(rows, columns=["unit", "date", "sales"]).to_csv(tmp_path / "p.csv",
                                                                   index=False)
    text = ('methods = ["event_study"]\n[data]\nfiles = ["p.csv"]\n[subject]\nunit = "s00"\n'
            '[outcome]\nmetric = "sales"\n[[events]]\nname = "law"\ndate = "1989-01-01"\n')
    (tmp_path / "case.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                      str(tmp_path / "out"), "--store",
                                      str(tmp_path / "store.duckdb")])
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert "two-way fixed-effects regression" in result.output
        assert result.output.strip().count("\n") == 0
    else:
        results = json.loads((tmp_path / "out" / "results.json").read_text())
        assert any(a["method"] == "event_study" for a in results["analyses"])
    assert "Traceback" not in result.output


def test_a_count_model_on_a_transformed_outcome_is_a_settings_error():
    # a rule between two settings: the Poisson fit models the count's own log rate, so
    # a log1p (or any) transform of the outcome would be taken twice
    from butfor.methods.before_after import BeforeAfter
    from butfor.settings import SettingsError

    with pytest.raises(SettingsError, match=r"'transform' setting of BeforeAfter must be 'none'"):
        BeforeAfter(family="poisson", transform="log1p")
    assert BeforeAfter(family="poisson").family == "poisson"
