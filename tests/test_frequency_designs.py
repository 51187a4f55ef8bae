"""Weekly, monthly and annual versions of one daily panel, each through ``butfor run``.

Issue #12's done-when: "weekly, monthly and annual versions of one simulated
panel give the same estimates as the daily one aggregated by hand". The daily
panel is simulated (30 units, 2019-01-04 to 2022-12-29, every unit exposed on
2021-01-01, truth +0.3 after it); each version is the daily one averaged by
hand over its periods (pandas groupby, written as the file a user would
have), and the reference for each is pyfixest's ``feols`` on that
hand-aggregated frame (the before/after design: unit effects, no time
effects, clustered by unit) and butfor's ``SyntheticDiD`` on its wide table.
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
from butfor.methods.sdid import SyntheticDiD

START, EVENT = pd.Timestamp("2019-01-04"), pd.Timestamp("2021-01-01")  # 104 weeks apart


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    dates = pd.date_range(START, periods=1456, freq="D")  # 208 whole weeks
    post = (dates >= EVENT).astype(float)
    rows = []
    for i in range(30):
        price = 3 + rng.normal(0, 0.3) + rng.normal(0, 0.1, dates.size)
        sales = 20 + i + 0.5 * price + 0.3 * post + rng.normal(0, 1, dates.size)
        rows.append(pd.DataFrame({"unit": f"u{i:02d}", "date": dates, "sales": sales,
                                  "price": price}))
    return pd.concat(rows, ignore_index=True)


def by_hand(daily: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """Means over each week (from the first day), month or year: the user's own file."""
    date = daily["date"]
    if frequency == "weekly":
        period = START + pd.to_timedelta((date - START).dt.days // 7 * 7, unit="D")
    elif frequency == "monthly":
        period = date.dt.to_period("M").dt.start_time
    else:
        period = date.dt.to_period("Y").dt.start_time
    out = daily.assign(date=period).groupby(["unit", "date"], as_index=False)[
        ["sales", "price"]].mean()
    return out


CASE = """\
methods = ["before_after"]
covariates = ["price"]
covariate_transforms = { price = "none" }

[data]
files = ["panel.csv"]

[outcome]
metric = "sales"

[regression]
time_effects = false

[[events]]
name = "change"
date = 2021-01-01
"""


@pytest.mark.parametrize("frequency", ["weekly", "monthly", "annual"])
def test_aggregated_panel_gives_the_hand_aggregated_estimate(tmp_path, daily, frequency):
    import pyfixest as pf

    frame = by_hand(daily, frequency)
    written = frame.assign(date=frame["date"].dt.year.astype(str) if frequency == "annual"
                           else frame["date"].dt.strftime("%Y-%m-%d"))
    written.to_csv(tmp_path / "panel.csv", index=False)
    (tmp_path / "case.toml").write_text(textwrap.dedent(CASE), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                      str(tmp_path / "out"), "--store",
                                      str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["ingest"]["cells_filled"] == 0  # the grid is the data's own
    (analysis,) = [a for a in doc["analyses"] if a["method"] == "before_after"]
    got = analysis["before_after"]
    reference = frame.assign(post=(frame["date"] >= EVENT).astype(float))
    fit = pf.feols("sales ~ post + price | unit", reference, vcov={"CRV1": "unit"})
    version = f"pyfixest {metadata.version('pyfixest')}"
    assert got["effect"]["estimate"] == pytest.approx(fit.coef()["post"], abs=1e-8), version
    assert got["effect"]["se"] == pytest.approx(fit.se()["post"], abs=1e-8), version
    assert got["n_obs"] == len(frame)


@pytest.mark.parametrize("frequency", ["weekly", "monthly", "annual"])
def test_sdid_on_each_frequency_is_sdid_on_the_hand_aggregated_table(tmp_path, daily,
                                                                      frequency):
    from butfor.analyses.sdid import analyses_for_case
    from butfor.case import parse_case
    from butfor.ingest import ingest_files

    frame = by_hand(daily, frequency)
    # the treated unit: u10, 2 lower from the event on (a known effect)
    frame.loc[(frame["unit"] == "u10") & (frame["date"] >= EVENT), "sales"] -= 2
    frame.to_csv(tmp_path / "panel.csv", index=False)
    panel, _ = ingest_files([tmp_path / "panel.csv"])
    assert panel.frequency == {"weekly": "W", "monthly": "M", "annual": "Y"}[frequency]
    case = parse_case({"subject": {"unit": "u10"}, "outcome": {"metric": "sales"},
                       "events": [{"name": "change", "date": "2021-01-01"}],
                       "methods": ["sdid"], "sdid": {"se": "none"}})
    (analysis,) = analyses_for_case(case, panel, seed=0)
    wide = frame.pivot(index="date", columns="unit", values="sales")
    direct = SyntheticDiD("sdid", se="none", block=1).fit(wide, "u10", EVENT)
    assert analysis["estimate"]["block"] == 1
    assert analysis["estimate"]["value"] == pytest.approx(direct.estimate, abs=1e-10)
    assert analysis["estimate"]["value"] == pytest.approx(-2, abs=0.3)
