"""Results that cannot mean what they say are flagged, and their verdicts refuse (issue #12, 5).

Each flag of :mod:`butfor.methods._flags` on a simulated panel of known truth,
with the healthy panel beside it (it must not be flagged), then the same
through ``butfor ingest`` + ``butfor run``: the flag in ``results.json`` and
the claim ``inconclusive`` naming the gate and the flag's values.

The panel: 25 units observed once a year, 2000-2015, each a level (50 + 3u)
plus a common trend (2 a year) plus seeded noise (sd 1); the subject u12 is
20% lower from 2010 on (the known effect). Filled to a daily grid it is what
issue #12 met on Prop 99: 16 observed days in 5,844, where the pre/post
comparison said -99.5% with p = 1.000.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.analyses import prepost
from butfor.analyses import synth as synth_case
from butfor.case import parse_case
from butfor.claims import evaluate_claims
from butfor.cli import app
from butfor.ingest import ingest_files
from butfor.methods import _flags
from butfor.methods.prepost import PrePostComparison
from butfor.results import validate

EVENT = pd.Timestamp("2010-01-01")
TRUTH = -0.20
SUBJECT = "u12"


def annual_frame(n_units: int = 25, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        for year in range(2000, 2016):
            y = 50 + 3 * u + 2.0 * (year - 2000) + rng.normal(0, 1.0)
            if f"u{u}" == SUBJECT and year >= 2010:
                y *= 1 + TRUTH
            rows.append((f"u{u}", pd.Timestamp(f"{year}-01-01"), y))
    return pd.DataFrame(rows, columns=["unit", "date", "sales"])


def wide(frame: pd.DataFrame, daily: bool = False) -> pd.DataFrame:
    table = frame.pivot(index="date", columns="unit", values="sales")
    if daily:  # the annual figures on a daily grid, every other day missing
        table = table.reindex(pd.date_range(table.index.min(), table.index.max(), freq="D"))
    return table


def fit_prepost(table: pd.DataFrame, frequency: str):
    peers = [c for c in table.columns if c != SUBJECT]
    return PrePostComparison().fit(table, SUBJECT, peers, EVENT, "sales", frequency=frequency)


# --- the edge estimate ---------------------------------------------------------------
@pytest.mark.parametrize(("relative", "p", "flagged"), [
    (-0.995, 1.0, True),     # issue #12's Prop 99 pre/post on a daily grid
    (-0.99, 0.5, True),      # both bounds met exactly (a factor of 100; the median placebo)
    (99.0, 0.9, True),       # a rise by a factor of 100
    (-0.995, 0.02, False),   # a real collapse (an account removed): the placebos do not
    (-0.985, 1.0, False),    # short of a factor of 100
    (-0.5, 1.0, False),      # an ordinary estimate the placebos call ordinary
    (None, 1.0, False),      # no estimate: the gate's own missing-figure check says so
])
def test_an_edge_estimate_is_flagged_only_beyond_a_factor_of_100_with_p_at_least_half(
        relative, p, flagged):
    # reference: the bounds as docs/verdict-policy.md states them, by hand
    flag = _flags.edge_estimate(relative, p)
    assert (flag is not None) == flagged
    if flagged:
        assert flag.name == "edge_estimate"
        assert flag.values["relative_effect"] == relative and flag.values["p_value"] == p
        assert f"p = {p:.3f}" in flag.message


@pytest.mark.parametrize("collapsed", [1, 13])
def test_a_collapse_to_zero_is_flagged_only_when_the_peers_collapse_too(collapsed):
    # simulation with known truth: from 2010 the subject and, with 13, every other unit
    # (u0, u2, ..., u24) report zero; with 1, only the subject does
    table = wide(annual_frame())
    post = table.index >= EVENT
    units = [SUBJECT] if collapsed == 1 else [f"u{i}" for i in range(0, 25, 2)]
    assert SUBJECT in units and len(units) == collapsed
    table.loc[post, units] = 0.0
    result = fit_prepost(table, "Y")
    assert result.effect.summary.relative == pytest.approx(-1.0)  # observed zero
    if collapsed == 1:  # a real collapse: no peer's placebo comes near it (p = 1/25)
        assert result.p_value == pytest.approx(1 / 25) and result.flags == ()
    else:  # half the peers collapsed as well: their placebos are as extreme
        (flag,) = result.flags
        assert flag.name == "edge_estimate" and result.p_value >= _flags.EDGE_P
        assert "100.0% fall" in flag.message


# --- pre/post: coverage ------------------------------------------------------------------
def test_a_healthy_annual_pre_post_is_not_flagged_and_finds_the_known_effect():
    result = fit_prepost(wide(annual_frame()), "Y")
    assert result.flags == ()
    # simulation with known truth: -20% on a level near 100, noise sd 1 on each of 24 peers
    assert result.effect.summary.relative == pytest.approx(TRUTH, abs=0.03)


def test_the_same_panel_on_a_daily_grid_is_flagged_sparse_and_no_longer_reads_minus_99():
    annual = fit_prepost(wide(annual_frame()), "Y")
    daily = fit_prepost(wide(annual_frame(), daily=True), "D")
    names = [f.name for f in daily.flags]
    assert names == ["sparse_pre_period", "sparse_post_period"]
    pre, post = daily.flags
    # 2000-01-01..2009-12-31 is 3,653 days of which 10 (one a year) are observed;
    # 2010-01-01..2015-01-01 is 5 x 365 + 1 (2012) + 1 = 1,827 days of which 6 are
    assert (pre.values["usable_periods"], pre.values["periods"]) == (10, 3653)
    assert (post.values["usable_periods"], post.values["periods"]) == (6, 1827)
    assert pre.values["share"] == pytest.approx(10 / 3653)
    # the method names its own parameter; `butfor run` names the case file's key (below)
    assert 'state frequency = "annual"' in pre.message and "[data]" not in pre.message
    assert pre.values["observed_frequency"] == "annual"
    # the comparison of the observed days is the annual one (before the fix, a peer's
    # "mean of the other peers" on a day none reported was 0, which gave about -99%)
    s, a = daily.effect.summary, annual.effect.summary
    assert s.relative == pytest.approx(a.relative, abs=1e-9)
    assert daily.p_value == pytest.approx(annual.p_value)
    assert _flags.edge_estimate(s.relative, daily.p_value) is None


def test_no_usable_pre_period_is_flagged_and_two_periods_are_enough_for_a_baseline():
    table = wide(annual_frame())
    one = table.copy()
    one.loc[one.index < pd.Timestamp("2009-01-01"), SUBJECT] = np.nan  # only 2009 left
    (flag,) = [f for f in fit_prepost(one, "Y").flags if f.name == "no_pre_period"]
    assert (flag.values["usable_pre_periods"], flag.values["pre_periods"]) == (1, 10)
    two = table.copy()
    two.loc[two.index < pd.Timestamp("2008-01-01"), SUBJECT] = np.nan  # 2008 and 2009
    names = [f.name for f in fit_prepost(two, "Y").flags]
    assert names == ["sparse_pre_period"]  # 2 of 10 observed: a baseline, but a thin one
    six = table.copy()
    six.loc[six.index < pd.Timestamp("2004-01-01"), SUBJECT] = np.nan  # 6 of 10: a majority
    assert fit_prepost(six, "Y").flags == ()


# --- synthetic control: an exact fit that is a construction ------------------------------
def sc_analysis(tmp_path, frame: pd.DataFrame):
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "p.csv",
                                                                     index=False)
    panel, _ = ingest_files([tmp_path / "p.csv"])
    case = parse_case({"subject": {"unit": SUBJECT}, "outcome": {"metric": "sales"},
                       "events": [{"name": "law", "date": "2010-01-01"}],
                       "methods": ["synthetic_control"]})
    (analysis,) = synth_case.analyses_for_case(case, panel, seed=0)
    return analysis


def test_a_subject_that_is_a_mix_of_two_donors_is_flagged_an_exact_fit(tmp_path):
    frame = annual_frame()
    table = wide(frame)
    copy = 0.6 * table["u3"] + 0.4 * table["u20"]  # known weights, no noise of its own
    copy[copy.index >= EVENT] *= 1 + TRUTH
    frame.loc[frame["unit"] == SUBJECT, "sales"] = copy.to_numpy()
    analysis = sc_analysis(tmp_path, frame)
    (flag,) = analysis["flags"]
    assert flag["name"] == "exact_fit"
    v = flag["values"]
    assert v["relative_rmspe"] <= _flags.EXACT_FIT_TOL
    # 1 / (0.6^2 + 0.4^2) = 1.923 effective donors: the weights it was built from
    assert v["effective_donors"] == pytest.approx(1 / (0.36 + 0.16), abs=1e-3)
    assert v["top_weights"] == pytest.approx({"u3": 0.6, "u20": 0.4}, abs=1e-4)
    assert "1.92 effective donors" in flag["message"]


def test_a_synthetic_control_fitted_on_fewer_periods_than_donors_is_flagged(tmp_path):
    frame = annual_frame()
    # 2 pre years (2008, 2009) and 24 donors: demeaned, one number to match, which some
    # mix of the donors always hits (with 3 years, u12's path lies outside their hull)
    frame = frame[frame["date"] >= pd.Timestamp("2008-01-01")]
    analysis = sc_analysis(tmp_path, frame)
    (flag,) = [f for f in analysis.get("flags", []) if f["name"] == "exact_fit"]
    assert (flag["values"]["fitted_periods"], flag["values"]["donors"]) == (2, 24)
    assert flag["values"]["relative_rmspe"] <= _flags.EXACT_FIT_TOL
    assert "fitted on 2 periods with 24 donors to weight" in flag["message"]


def test_a_healthy_synthetic_control_is_not_flagged(tmp_path):
    analysis = sc_analysis(tmp_path, annual_frame())  # 10 pre years, noisy subject
    assert "flags" not in analysis
    fit = analysis["synthetic_control"]
    assert fit["pre_rmspe"] > 0.1  # the noise (sd 1) is not fitted away


@pytest.mark.parametrize("copied", [True, False])
def test_each_staggered_unit_is_flagged_under_its_own_name(tmp_path, copied):
    # two units with their own dates; with ``copied``, u12 is 0.6 u3 + 0.4 u20 exactly
    frame = annual_frame()
    if copied:
        table = wide(frame)
        frame.loc[frame["unit"] == SUBJECT, "sales"] = (0.6 * table["u3"]
                                                       + 0.4 * table["u20"]).to_numpy()
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "p.csv",
                                                                     index=False)
    panel, _ = ingest_files([tmp_path / "p.csv"])
    case = parse_case({"subject": {"unit": "u0"}, "outcome": {"metric": "sales"},
                       "events": [{"name": "rollout",
                                   "dates": {SUBJECT: "2010-01-01", "u6": "2011-01-01"}}],
                       "methods": ["synthetic_control"]})
    (analysis,) = synth_case.analyses_for_case(case, panel, seed=0)
    assert analysis["id"].endswith(":staggered")
    if not copied:  # every unit its own noise: no fit is exact
        assert "flags" not in analysis
        return
    (flag,) = analysis["flags"]
    assert flag["name"] == "exact_fit" and flag["values"]["unit"] == SUBJECT
    assert flag["message"].startswith(f"{SUBJECT}: the synthetic control matches")
    assert flag["values"]["top_weights"] == pytest.approx({"u3": 0.6, "u20": 0.4}, abs=1e-4)


# --- flags reach the verdict --------------------------------------------------------------
CLAIM = {"id": "fell", "kind": "declined_after", "allegation": "Sales fell after the law."}


def judged(analyses):
    case = parse_case({"subject": {"unit": SUBJECT}, "outcome": {"metric": "sales"},
                       "events": [{"name": "law", "date": "2010-01-01"}],
                       "methods": ["prepost"], "claims": [CLAIM]})
    (verdict,) = evaluate_claims(case, analyses, None)
    return verdict


def prepost_analyses(tmp_path, daily: bool):
    frame = annual_frame()
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "p.csv",
                                                                     index=False)
    panel, _ = ingest_files([tmp_path / "p.csv"], frequency="daily" if daily else "auto")
    case = parse_case({"subject": {"unit": SUBJECT}, "outcome": {"metric": "sales"},
                       "events": [{"name": "law", "date": "2010-01-01"}]})
    return prepost.analyses_for_case(case, panel, seed=0)


def test_a_flagged_analysis_makes_its_claim_inconclusive_naming_gate_and_values(tmp_path):
    v = judged(prepost_analyses(tmp_path, daily=True))
    assert v.verdict == "inconclusive"
    assert "the degenerate gate failed (sparse_pre_period: only 10 of 3,653" in v.sentence
    assert "sparse_post_period: only 6 of 1,827" in v.sentence
    (gate,) = [g for g in v.gates if g["name"] == "degenerate"]
    assert not gate["passed"] and "sparse_pre_period" in gate["value"]
    # the degenerate gate is named first; the timing gate (docs/verdict-policy.md) fails
    # beside it only because its one pre-trend test is the flagged analysis's own
    failed = v.figures["failed_gates"]
    assert failed[0] == "degenerate" and set(failed) <= {"degenerate", "pretrend"}
    timing = [g for g in v.gates if g["name"] == "pretrend" and not g["passed"]]
    assert all("degenerate gate failed" in g["reading"] for g in timing)


def test_the_healthy_analysis_passes_the_gate_and_carries_the_known_effect(tmp_path):
    v = judged(prepost_analyses(tmp_path, daily=False))
    (gate,) = [g for g in v.gates if g["name"] == "degenerate"]
    assert gate["passed"]
    # 24 peers: the smallest placebo p is 1/25 = 0.04, under 0.05, so a 20% fall is found
    assert v.verdict == "supported", v.sentence


def test_the_results_schema_holds_flags_and_refuses_a_malformed_one(tmp_path):
    import jsonschema

    from butfor.results import load_schema

    flagged = prepost_analyses(tmp_path, daily=True)[0]
    analysis = {k: v for k, v in flagged.items() if k != "effect"}  # the flag's own part
    flags_schema = load_schema()["$defs"]["analysis"]["properties"]["flags"]
    jsonschema.validate(json.loads(json.dumps(analysis["flags"])), flags_schema)
    for broken in ([], [{"name": "sparse_pre_period", "values": {}}],
                   [{"name": "Not A Name", "message": "m", "values": {}}]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, flags_schema)


# --- through the product ---------------------------------------------------------------
CASE = """\
methods = ["prepost"]

[case]
title = "A law and annual sales"
seed = 0

[subject]
unit = "u12"

[outcome]
metric = "sales"

[[events]]
name = "law"
date = 2010-01-01
scope = "account"

[[claims]]
id = "fell"
kind = "declined_after"
allegation = "Sales fell after the law."
"""


def cli_run(tmp_path, *ingest_args):
    frame = annual_frame()
    csv = tmp_path / "panel.csv"
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)
    store = str(tmp_path / "s.duckdb")
    ingested = CliRunner().invoke(app, ["ingest", str(csv), "--store", store, *ingest_args])
    assert ingested.exit_code == 0, ingested.output
    (tmp_path / "case.toml").write_text(CASE, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out", str(out),
                                      "--store", store])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    validate(doc)  # flags are part of the results schema
    return " ".join(result.output.split()), doc


def test_butfor_run_writes_the_flag_and_refuses_the_claim(tmp_path):
    printed, doc = cli_run(tmp_path, "--frequency", "daily")
    (analysis,) = doc["analyses"]
    assert [f["name"] for f in analysis["flags"]] == ["sparse_pre_period", "sparse_post_period"]
    assert analysis["flags"][0]["values"]["usable_periods"] == 10
    # the flag's fix in the case file's words (butfor.analyses.case_terms)
    assert 'the observed dates are annual: state [data] frequency = "annual"' in \
        analysis["flags"][0]["message"]
    (verdict,) = doc["verdicts"]
    assert verdict["verdict"] == "inconclusive"
    assert "the degenerate gate failed (sparse_pre_period: only 10 of 3,653" in \
        verdict["sentence"]
    assert "prepost:sales:law flagged sparse_pre_period: only 10 of 3,653" in printed
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Flagged, so its verdicts are inconclusive (sparse_pre_period): only 10 of " \
           "3,653" in report


def test_butfor_run_refuses_a_synthetic_control_that_interpolates_two_years(tmp_path):
    frame = annual_frame()
    frame = frame[frame["date"] >= pd.Timestamp("2008-01-01")]  # 2 pre years, 24 donors
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "panel.csv",
                                                                     index=False)
    case = CASE.replace('methods = ["prepost"]', 'methods = ["synthetic_control"]')
    (tmp_path / "case.toml").write_text(case.replace("[subject]", "[data]\nfiles = "
                                                     "[\"panel.csv\"]\n\n[subject]"),
                                        encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                      str(tmp_path / "out"), "--store",
                                      str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    validate(doc)
    (analysis,) = doc["analyses"]
    (flag,) = analysis["flags"]
    assert flag["name"] == "exact_fit" and flag["values"]["fitted_periods"] == 2
    (verdict,) = doc["verdicts"]
    assert verdict["verdict"] == "inconclusive"
    assert "the degenerate gate failed (exact_fit: the synthetic control matches the " \
           "pre-period exactly" in verdict["sentence"]
    assert "synthetic_control:sales:law flagged exact_fit" in " ".join(result.output.split())


def test_butfor_run_on_the_annual_panel_has_no_flag_and_finds_the_fall(tmp_path):
    printed, doc = cli_run(tmp_path)
    (analysis,) = doc["analyses"]
    assert "flags" not in analysis and "flagged" not in printed
    (verdict,) = doc["verdicts"]
    assert verdict["verdict"] == "supported", verdict["sentence"]
    assert math.isclose(verdict["figures"]["relative_effect"], TRUTH, abs_tol=0.03)


@pytest.mark.parametrize("daily", [True, False])
def test_a_flagged_pre_trend_test_is_no_evidence_of_when_a_fall_began(tmp_path, daily):
    case = parse_case({"subject": {"unit": SUBJECT}, "outcome": {"metric": "sales"},
                       "events": [{"name": "law", "date": "2010-01-01"}],
                       "methods": ["prepost"],
                       "claims": [{"id": "new", "kind": "not_preexisting",
                                   "allegation": "Sales did not fall before the law."}]})
    (v,) = evaluate_claims(case, prepost_analyses(tmp_path, daily=daily), None)
    failed = [g["name"] for g in v.gates if not g["passed"]]
    if daily:
        assert v.verdict == "inconclusive" and failed == ["degenerate"]
        assert "prepost:sales:law's pre-trend test is unreadable: the degenerate gate " \
               "failed (sparse_pre_period" in v.sentence
    else:  # the simulated subject's path is parallel to the peers' before 2010
        assert failed == [] and v.verdict == "supported", v.sentence
