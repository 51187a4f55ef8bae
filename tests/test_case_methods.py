"""Issue #12's Prop 99 failures, each on a small simulated panel through ``butfor run``.

What a new user met (issue #12, "What a new user met", item 1) and what is
asked instead:

- annual data filled to a daily grid gave a degenerate synthetic control
  (Colorado 0.92, loss 1e-23): now refused, naming the frequency to state;
- SDID stopped after 95 s with "needs every day observed": the same refusal,
  at once, and the annual panel runs;
- daily panels were always blocked by week in SDID: ``[sdid] block`` states it
  (default a week of daily data, one period otherwise);
- the SC and DiD variants of SDID and the 2010 paper's predictors could not be
  stated: ``[sdid] estimators`` and ``[synthetic_control] predictors``.

The panel: 12 units over 2000-2015, each a level plus a common trend plus
seeded noise; unit u5 (in the middle) falls by 10 from 2010 (the known effect).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.case import parse_case
from butfor.cli import app
from butfor.errors import ButforError
from butfor.ingest import ingest_files
from butfor.methods.sdid import SyntheticDiD

EFFECT = -10.0


def _annual_csv(path, *, daily_dates: bool = False):
    rng = np.random.default_rng(12)
    rows = []
    for u in range(12):
        level = 50 + 5 * u
        for year in range(2000, 2016):
            y = level + 2.0 * (year - 2000) + rng.normal(0, 1.0)
            if u == 5 and year >= 2010:  # in the middle of the others, so SC can match it
                y += EFFECT
            date = f"{year}-01-01" if daily_dates else f"{year}.0"
            rows.append(f"u{u},{date},{y:.4f},{rng.normal(3, 0.2):.4f}")
    path.write_text("state,year,sales,price\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


CASE = """\
methods = {methods}

[case]
seed = 1

[data]
files = ["panel.csv"]
frequency = "{frequency}"

[subject]
unit = "u5"

[outcome]
metric = "sales"

[[events]]
name = "law"
date = 2010-01-01
scope = "account"
{extra}
"""


def _run(tmp_path, *, methods, frequency="auto", extra=""):
    _annual_csv(tmp_path / "panel.csv")
    case = tmp_path / "case.toml"
    case.write_text(CASE.format(methods=json.dumps(methods), frequency=frequency,
                                extra=textwrap.dedent(extra)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(out), "--store",
                                      str(tmp_path / "s.duckdb")])
    doc = json.loads((out / "results.json").read_text()) if result.exit_code == 0 else None
    return result, doc


@pytest.mark.parametrize("method", ["synthetic_control", "sdid"])
def test_annual_data_on_a_daily_grid_is_refused_with_the_frequency_to_state(tmp_path, method):
    """Issue #12: a degenerate SC fit and SDID's 'needs every day observed'."""
    result, _ = _run(tmp_path, methods=[method], frequency="daily")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "Traceback" not in message
    # 10 pre-event years observed among 3,653 pre-event days
    assert "only 10 of 3,653 pre-event days" in message.replace("3653", "3,653")
    assert 'state [data] frequency = "annual"' in message


def test_the_annual_panel_runs_both_methods_and_recovers_the_effect(tmp_path):
    result, doc = _run(tmp_path, methods=["synthetic_control", "sdid"],
                       extra="""
                       [sdid]
                       estimators = ["sdid", "sc", "did"]
                       """)
    assert result.exit_code == 0, result.output
    by_id = {a["id"]: a for a in doc["analyses"]}
    sc = by_id["synthetic_control:sales:law"]["synthetic_control"]
    assert sc["variant"] == "demeaned, outcome-only" and sc["block"] == 1
    assert sc["placebo_units"] == 12
    assert sum(sc["weights"].values()) == pytest.approx(1.0)
    for suffix, estimator in (("", "sdid"), (":sc", "sc"), (":did", "did")):
        estimate = by_id[f"sdid:sales:law{suffix}"]["estimate"]
        assert estimate["estimator"] == estimator and estimate["block"] == 1
        # the injected effect, within the noise of 11 controls (sd 1 a year)
        assert estimate["value"] == pytest.approx(EFFECT, abs=1.5), estimator
    assert "sdid (sc)" in result.output and "sdid (did)" in result.output


def test_sdid_block_is_a_setting_and_defaults_to_a_week_of_daily_data():
    """Issue #12: daily panels were always blocked by week (-16.59 on Prop 99, not -15.6)."""
    from butfor.analyses.sdid import analyses_for_case
    from butfor.panel import Panel

    rng = np.random.default_rng(3)
    dates = pd.date_range("2021-01-01", periods=70, freq="D")
    frames = []
    for u in range(8):
        y = 10 + u + np.sin(np.arange(70) / 5) + rng.normal(0, 0.3, 70)
        if u == 0:
            y[dates >= "2021-02-26"] -= 2
        frames.append(pd.DataFrame({"unit": f"u{u}", "date": dates, "views": y}))
    panel = Panel.from_frame(pd.concat(frames))
    raw = {"subject": {"unit": "u0"}, "outcome": {"metric": "views"},
           "events": [{"name": "change", "date": "2021-02-26"}], "methods": ["sdid"]}
    weekly = analyses_for_case(parse_case(raw), panel, seed=0)[0]["estimate"]
    assert weekly["block"] == 7
    daily = analyses_for_case(parse_case({**raw, "sdid": {"block": 1, "se": "none"}}), panel,
                              seed=0)[0]["estimate"]
    assert daily["block"] == 1
    direct = SyntheticDiD("sdid", se="none", block=1).fit(panel.wide("views"), "u0",
                                                         pd.Timestamp("2021-02-26"))
    assert daily["value"] == pytest.approx(direct.estimate, abs=1e-12)
    assert daily["value"] != pytest.approx(weekly["value"], abs=1e-6)


def test_predictors_reach_the_synthetic_control(tmp_path):
    result, doc = _run(tmp_path, methods=["synthetic_control"], extra="""
                       [synthetic_control]
                       v = "equal"
                       predictors = [
                           { variable = "price", start = 2005, end = 2009 },
                           { variable = "sales", start = 2003 },
                           { variable = "sales", start = 2008 },
                       ]
                       """)
    assert result.exit_code == 0, result.output
    sc = doc["analyses"][0]["synthetic_control"]
    assert sc["variant"] == "predictors" and sc["v"] == "equal"
    assert sorted(sc["predictor_balance"]) == ["price (2005–2009)", "sales (2003)",
                                               "sales (2008)"]
    # hand computation: the treated column of the balance table is u5's own mean of
    # price over 2005-2009 in the file
    raw = pd.read_csv(tmp_path / "panel.csv")
    own = raw[(raw.state == "u5") & raw.year.between(2005, 2009)]["price"].mean()
    assert sc["predictor_balance"]["price (2005–2009)"]["treated"] == pytest.approx(own)


def test_window_in_periods_of_an_annual_panel(tmp_path):
    result, doc = _run(tmp_path, methods=["sdid"], extra="""
                       [window]
                       pre_periods = 6
                       post_periods = 3
                       """)
    assert result.exit_code == 0, result.output
    dates = doc["analyses"][0]["effect"]["dates"]
    assert [d[:4] for d in (dates[0], dates[-1])] == ["2004", "2012"]
    assert len(dates) == 9


@pytest.mark.parametrize(("section", "message"), [
    ({"synthetic_control": {"intercept": True, "predictors": [
        {"variable": "sales", "start": 2003}]}}, "outcome-only"),
    ({"synthetic_control": {"predictors": [{"variable": "sales", "start": 2009,
                                           "end": 2003}]}}, "ends before it starts"),
    ({"sdid": {"estimators": ["sdid", "sdid"]}}, "listed twice"),
    ({"sdid": {"estimators": ["synthdid"]}}, "sdid.estimators"),
    ({"data": {"format": "csv"}}, "'csv' is not a format butfor reads"),
    ({"window": {"pre_days": 10, "pre_periods": 2}}, "not both"),
])
def test_method_and_data_settings_are_checked_before_any_data_is_read(section, message):
    raw = {"subject": {"unit": "u0"}, "outcome": {"metric": "sales"},
           "events": [{"name": "law", "date": "2010-01-01"}], **section}
    with pytest.raises(ButforError, match=message):
        parse_case(raw)


def test_long_csv_with_a_userid_column_is_not_taken_for_a_wide_one(tmp_path):
    """Issue #12: "'7dc0…' is not a number" on a long file keyed by userid."""
    path = tmp_path / "engagement.csv"
    path.write_text("userid,date,retweets,posts\n7dc0a1,2023-01-01,3,1\n7dc0a1,2023-01-02,4,2\n"
                    "9fe2b7,2023-01-01,0,1\n9fe2b7,2023-01-02,1,1\n", encoding="utf-8")
    panel, report = ingest_files([path])
    assert sorted(panel.unit_ids) == ["7dc0a1", "9fe2b7"]
    assert panel.metrics == ["reposts", "posts"]  # retweets is read as reposts
    assert any("column 'userid' read as the unit" in r for r in report.remarks)


def test_case_column_mapping_reaches_ingest(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("who,when,n\na,2023-01-01,1\na,2023-01-02,2\nb,2023-01-01,3\n"
                    "b,2023-01-02,4\n", encoding="utf-8")
    case = parse_case({"data": {"files": [str(path)], "columns": {"who": "unit",
                                                                   "when": "date",
                                                                   "n": "views"}},
                       "subject": {"unit": "a"}, "outcome": {"metric": "views"},
                       "events": [{"name": "e", "date": "2023-01-02"}]})
    panel, _ = ingest_files(case.data.files, columns=case.data.columns,
                            frequency=case.data.frequency)
    assert panel.metrics == ["views"] and panel.wide("views").loc["2023-01-02", "b"] == 4
