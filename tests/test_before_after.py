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
