"""A method's error names its own parameter; `butfor run` names the case file's key.

Each message is tested twice: the estimator called from Python raises
ParameterError naming its own parameter and no case key (no ``[section]``, no
"case"); and the same error through the case's layer (butfor.analyses.case_terms)
names the case file, the key's line and the fix, exit 2 with no traceback, where a
case can reach it. The flag that suggests a frequency is tested in test_flags.py.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.analyses.case_terms import CaseKeyError, case_error
from butfor.cli import app
from butfor.errors import DataError, ParameterError

CASE_WORDS = re.compile(r"\[[a-z_]+\]|\bcase\b")  # a section name, or the case itself


def method_error(call) -> ParameterError:
    """The ParameterError ``call()`` raises, checked to name no case-file key."""
    with pytest.raises(ParameterError) as info:
        call()
    err = info.value
    assert isinstance(err, DataError)  # what callers caught before is still caught
    assert not CASE_WORDS.search(str(err)), str(err)
    assert err.parameter in str(err) or err.parameter in err.names()
    return err


# ---------------------------------------------------------------------------
# the methods' own sentences


def test_sts_count_model_on_fractional_values_names_family():
    from butfor.methods.sts import StructuralTimeSeries

    y = np.linspace(5.5, 9.5, 60)  # fractional: not counts
    dates = pd.date_range("2024-01-01", periods=60)
    err = method_error(lambda: StructuralTimeSeries(family="poisson", n_draws=100).fit(
        y, np.ones((60, 1)), dates=dates, event_index=45))
    assert err.parameter == "family" and err.suggest == "gaussian"
    assert 'count (family = "poisson"), but 60 value(s) are negative or fractional' in str(err)
    assert 'use family = "gaussian"' in str(err)


def _frame(y, unit, time, post) -> pd.DataFrame:
    return pd.DataFrame({"y": y, "post": post, "unit": unit, "time": time})


def test_regression_count_model_on_fractional_values_names_family():
    from butfor.methods._regression import fit_fepois

    frame = _frame([1.5, 2.0, 3.0, 4.0], ["a", "a", "b", "b"], [0, 1, 0, 1], [0, 1, 0, 1.0])
    err = method_error(lambda: fit_fepois(frame, ["post"], fixed_effects=["unit"],
                                          design="before/after regression"))
    assert err.parameter == "family" and err.owner == "before/after regression"
    assert "1 value(s) of the outcome are negative or fractional (e.g. 1.5)" in str(err)


def test_regression_with_every_observation_alone_in_its_fixed_effect_names_frequency():
    from butfor.methods._regression import check_design

    # three units seen once each: every row is alone in its unit's fixed effect
    frame = _frame([1.0, 2.0, 3.0], ["a", "b", "c"], [0, 1, 2], [0, 1, 1.0])
    err = method_error(lambda: check_design(frame, ["post"], ["unit"], None, "event study"))
    assert err.parameter == "frequency" and "alone in its fixed effect" in str(err)
    assert "need their frequency" in str(err)


def test_regression_with_a_single_unit_names_frequency():
    from butfor.methods._regression import check_design

    frame = _frame([1.0, 2.0, 3.0, 4.0], ["a"] * 4, [0, 1, 2, 3], [0, 0, 1, 1.0])
    err = method_error(lambda: check_design(frame, ["post"], ["unit"], None, "event study"))
    assert "a single unit with usable data, so its fixed effects absorb everything" in str(err)
    assert err.parameter == "frequency"


def test_prepost_with_one_peer_names_peers():
    from butfor.methods.prepost import PrePostComparison

    dates = pd.date_range("2024-01-01", periods=40)
    table = pd.DataFrame({"ava": np.arange(40.0) + 10, "p0": np.arange(40.0) + 12}, index=dates)
    err = method_error(lambda: PrePostComparison().fit(table, "ava", ["p0"], dates[30]))
    assert err.parameter == "peers" and "and peers holds 1" in str(err)


def _panel(tmp_path):
    from butfor.ingest import ingest_files

    rng = np.random.default_rng(3)
    rows = ["unit,date,reposts"]
    for u in range(4):
        for d in pd.date_range("2024-01-01", periods=30):
            rows.append(f"u{u},{d:%Y-%m-%d},{rng.poisson(20)}")
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ingest_files([tmp_path / "p.csv"])[0]


def test_before_after_time_effects_on_one_exposure_date_names_time_effects(tmp_path):
    from butfor.methods.before_after import BeforeAfter

    panel = _panel(tmp_path)
    err = method_error(lambda: BeforeAfter(time_effects=True).fit(
        panel, "reposts", event="2024-01-20"))
    assert err.parameter == "time_effects" and err.suggest is False
    assert "set time_effects = false, or compare two groups with group_a and group_b" in str(err)


def test_before_after_with_nothing_before_the_event_names_the_window(tmp_path):
    from butfor.methods.before_after import BeforeAfter

    panel = _panel(tmp_path)
    err = method_error(lambda: BeforeAfter(time_effects=False).fit(
        panel, "reposts", event="2024-01-20", start="2024-01-20"))
    assert err.parameter == "window"
    assert "no usable observation before 2024-01-20" in str(err)
    assert "move the event date or widen the window" in str(err)


def test_attribution_with_one_candidate_names_the_candidates():
    from butfor.methods.attribution import ChangeAttribution

    series = pd.Series(np.arange(200.0), index=pd.date_range("2024-01-01", periods=200))
    err = method_error(lambda: ChangeAttribution().fit(
        series, {"a": (pd.Timestamp("2024-04-01").date(), None)}))
    assert err.parameter == "candidates" and "name two or more candidates" in str(err)


# ---------------------------------------------------------------------------
# the case's layer: the same errors in the case file's words


def test_each_parameter_a_method_names_has_a_case_key():
    # the messages above, translated without a file: the key and the fix in case words
    cases = {
        "family": ('the event study models a count ({family} = "poisson")',
                   'use {family} = "gaussian"',
                   'the event study models a count ([outcome] family = "poisson")',
                   'use [outcome] family = "gaussian"'),
        "peers": ("and {peers} holds 1", "name more peers in {peers}", "and [peers] holds 1",
                  "name more peers in [peers] (or leave prepost out of methods)"),
        "time_effects": ("cannot have time fixed effects", "set {time_effects} = false",
                         "cannot have time fixed effects",
                         "set [regression] time_effects = false, or compare two groups with "
                         '[before_after] comparison = "groups"'),
        "window": ("no usable observation", "widen the {window}", "no usable observation",
                   "move the event date or widen [window]"),
        "frequency": ("alone", "data observed less often than the grid need their {frequency}",
                      "alone", "data observed less often than the grid need their "
                      "[data] frequency"),
        "candidates": ("needs two", "name two or more {candidates}", "needs two",
                       "name two or more changes as [[events]] in the case"),
    }
    for parameter, (problem, fix, case_problem, case_fix) in cases.items():
        said = case_error(ParameterError("X", parameter, problem, fix), "prepost")
        assert isinstance(said, CaseKeyError) and isinstance(said, DataError)
        assert (said.problem, said.fix) == (case_problem, case_fix), parameter
    assert case_error(ParameterError("X", "n_draws", "p", "f"), "sts") is None


def test_the_case_sentence_names_the_file_and_the_keys_line():
    text = 'methods = ["sts"]\n\n[outcome]\nmetric = "score"\nfamily = "poisson"\n'
    said = case_error(ParameterError("X", "family", "a count ({family} = \"poisson\")",
                                     'use {family} = "gaussian"'), "sts").located("c.toml", text)
    assert str(said) == ('c.toml, line 5: a count ([outcome] family = "poisson"); '
                         'use [outcome] family = "gaussian".')


CASE = """\
methods = {methods}

[case]
seed = 1

[data]
files = ["panel.csv"]

[subject]
unit = "ava"

[outcome]
metric = "score"
{outcome}

[[events]]
name = "change"
date = "2024-03-01"
{extra}
"""


def _run(tmp_path, methods: str, outcome: str = "", extra: str = ""):
    rng = np.random.default_rng(1)
    rows = ["unit,date,score,pageviews"]
    for u in ["ava", *(f"p{i}" for i in range(6))]:
        for d in pd.date_range("2024-01-01", "2024-03-30"):
            rows.append(f"{u},{d:%Y-%m-%d},{rng.uniform(5, 20):.2f},{rng.poisson(100)}")
    (tmp_path / "panel.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "case.toml").write_text(CASE.format(methods=methods, outcome=outcome,
                                                    extra=extra), encoding="utf-8")
    done = CliRunner().invoke(app, ["run", str(tmp_path / "case.toml"), "--out",
                                    str(tmp_path / "out"), "--store", str(tmp_path / "s.duckdb")])
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "out" / "results.json").exists()
    return " ".join(done.output.split())


def test_butfor_run_names_outcome_family_for_the_structural_time_series(tmp_path):
    said = _run(tmp_path, '["sts"]', 'family = "poisson"',
                '[controls]\nmetric = "pageviews"\n[sts]\nn_draws = 100\npseudo_events = 0\n')
    assert said.startswith(f"error: {tmp_path / 'case.toml'}, line 14: score is modelled as a "
                           'count ([outcome] family = "poisson"), but ')
    assert said.endswith('; use [outcome] family = "gaussian" for a measure that is not a '
                         "count.")


def test_butfor_run_names_outcome_family_for_the_regression(tmp_path):
    said = _run(tmp_path, '["before_after"]', 'family = "poisson"',
                "[regression]\ntime_effects = false\n")
    assert "case.toml, line 14: the before/after regression models a count ([outcome] " \
           'family = "poisson"), but ' in said
    assert 'use [outcome] family = "gaussian"' in said


def test_butfor_run_names_the_peers_for_prepost(tmp_path):
    said = _run(tmp_path, '["prepost"]', "", '[peers]\nunits = ["p0"]\n')
    assert "case.toml, line 19: a pre/post comparison needs at least two peer accounts " \
           "besides the subject, and [peers] holds 1; name more peers in [peers] (or leave " \
           "prepost out of methods)." in said
