"""The events registry, registry events in a case, and "which change does the data point to?".

Known truth comes from the simulated platform (``butfor.simulate``): the loss
is injected at one of two candidate changes, so the right answer is known.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.case import Event, parse_case
from butfor.cli import app
from butfor.errors import CaseError
from butfor.methods.attribution import ChangeAttribution, level_break_logpost
from butfor.registry import load_registry
from butfor.results import validate
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

OWNERSHIP = dt.date(2022, 10, 27)  # x/ownership-change
VERIFICATION = dt.date(2023, 4, 20)  # x/legacy-verification-removed, 175 days later


# ---------------------------------------------------------------------------
# the registry itself
def test_every_entry_has_a_date_a_scope_and_a_public_source():
    registry = load_registry()
    x = registry.for_platform("x")
    in_range = [c for c in x if dt.date(2022, 1, 1) <= c.date <= dt.date(2025, 12, 31)]
    assert len(in_range) >= 12
    for change in registry.changes:
        assert change.date and change.scope and change.what
        assert change.sources, change.id
        for source in change.sources:
            assert str(source.url).startswith("https://") and source.title and source.publisher
            # a source cannot date a change before it was written
            assert source.published is None or source.published >= change.date - dt.timedelta(
                days=31), (change.id, source.title)
        if change.date_end is not None:
            assert change.date_end >= change.date
            assert change.note, f"{change.id}: a range says why the sources leave it open"


def test_registry_dates_the_changes_the_demo_simulates():
    registry = load_registry()
    assert registry.get("x/ownership-change").date == OWNERSHIP
    assert registry.get("x/legacy-verification-removed").date == VERIFICATION


def test_unknown_id_names_the_nearest():
    with pytest.raises(CaseError, match="did you mean 'x/legacy-verification-removed'"):
        load_registry().get("x/legacy-verfication-removed")


def test_registry_event_takes_date_description_and_sources():
    event = Event.model_validate({"name": "verification", "registry": "x/legacy-verification-removed"})
    assert event.date == VERIFICATION
    assert event.sources and event.sources[0].url.startswith("https://")
    assert "checkmark" in event.description
    ranged = Event.model_validate({"name": "likes", "registry": "x/likes-private"})
    assert (ranged.date, ranged.registry_date_end) == (dt.date(2024, 6, 11), dt.date(2024, 6, 13))


def test_a_date_the_sources_contradict_is_refused_with_the_line():
    text = textwrap.dedent("""\
        [subject]
        unit = "a"
        [outcome]
        metric = "impressions"
        [[events]]
        name = "verification"
        registry = "x/legacy-verification-removed"
        date = "2023-06-01"
        """)
    import tomllib

    with pytest.raises(CaseError) as err:
        parse_case(tomllib.loads(text), text, "case.toml")
    message = str(err.value)
    assert "the registry dates 'x/legacy-verification-removed' 2023-04-20" in message
    assert "case.toml" in message


def test_cli_lists_the_registry_and_refuses_an_unknown_platform():
    runner = CliRunner()
    listed = runner.invoke(app, ["events", "x"])
    assert listed.exit_code == 0, listed.output
    for change in load_registry().for_platform("x"):
        assert change.id in listed.output
    cited = runner.invoke(app, ["events", "x", "--sources"])
    assert "https://" in cited.output
    unknown = runner.invoke(app, ["events", "myspace"])
    assert unknown.exit_code == 2 and "no platform 'myspace'" in unknown.output


# ---------------------------------------------------------------------------
# the estimator on a series with a known break
def test_posterior_peaks_at_a_clean_break():
    """Hand-made: one level shift of 3 noise sds at position 60 of 120."""
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 120) + np.r_[np.zeros(60), np.full(60, -3.0)]
    logp = level_break_logpost(y, 1.0)
    assert abs(int(np.argmax(logp)) - 60) <= 2


def _series(break_at: int, n: int = 600, start: str = "2022-01-01", seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 0.1, n) - 0.5 * (np.arange(n) >= break_at)
    return pd.Series(y, index=pd.date_range(start, periods=n, freq="D"))


def test_far_apart_candidates_are_told_apart_and_the_true_one_ranks_first():
    s = _series(break_at=450)
    first, second = s.index[250].date(), s.index[450].date()
    res = ChangeAttribution().fit(s, {"first": (first, None), "second": (second, None)})
    assert res.top.name == "second" and res.distinguishable
    assert res.score("second").placebo_p <= 0.05
    assert res.score("first").share < 0.05


def test_candidates_on_the_same_day_cannot_be_told_apart():
    s = _series(break_at=300)
    day = s.index[300].date()
    res = ChangeAttribution().fit(s, {"a": (day, None), "b": (day, None)})
    assert not res.distinguishable and set(res.plausible) == {"a", "b"}


def test_one_candidate_is_refused():
    s = _series(break_at=300)
    with pytest.raises(Exception, match="at least two candidate changes"):
        ChangeAttribution().fit(s, {"only": (s.index[300].date(), None)})


# ---------------------------------------------------------------------------
# through the product: butfor run on the simulated platform
CASE = """\
methods = ["attribution"]

[case]
title = "Which change cut Ava's reach?"
seed = 3

[data]
files = ["panel.csv"]

[subject]
unit = "ava_sterling"

[outcome]
metric = "impressions"
transform = "log1p"

[controls]
metric = "pageviews"

{events}

[[claims]]
id = "first"
kind = "attributed_to"
allegation = "It was the first change that cut my reach."
event = "first change"

[[claims]]
id = "second"
kind = "attributed_to"
allegation = "It was the second change that cut my reach."
event = "second change"
"""

def _two_events(first: str, second: str) -> str:
    """Two [[events]] tables; each value is a TOML key and value (a date or a registry id)."""
    return "\n".join(f'[[events]]\nname = "{name} change"\n{value}\n'
                     for name, value in (("first", first), ("second", second)))


REGISTRY_EVENTS = _two_events('registry = "x/ownership-change"',
                              'registry = "x/legacy-verification-removed"')
WEEK_APART_EVENTS = _two_events('date = "2022-10-27"', 'date = "2022-11-03"')


def _run(folder, events_toml: str, second: dt.date, seed: int) -> dict:
    """Simulate, write the panel as a CSV, and `butfor run` a case on it."""
    folder.mkdir(parents=True, exist_ok=True)
    sim = simulate_platform(PlatformConfig(n_peers=4, events=(
        EventSpec("first change", OWNERSHIP),
        EventSpec("second change", second, subject_shock=-0.30))), seed=seed)
    sim.panel.data.to_csv(folder / "panel.csv", index=False)
    case = folder / "case.toml"
    case.write_text(CASE.format(events=events_toml), encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(out),
                                      "--store", str(folder / "s.duckdb")])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    validate(doc)
    doc["_report"] = (out / "report.html").read_text(encoding="utf-8")
    return doc


SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def six_months_apart(tmp_path_factory):
    """The loss injected at the second of two registry changes 175 days apart, 3 seeds."""
    root = tmp_path_factory.mktemp("attribution")
    return [_run(root / str(s), REGISTRY_EVENTS, VERIFICATION, s) for s in SEEDS]


def test_six_months_apart_the_ranking_puts_the_second_change_first(six_months_apart):
    for doc in six_months_apart:
        (analysis,) = [a for a in doc["analyses"] if a["method"] == "attribution"]
        assert analysis["attribution"]["top"] == "second change"
        verdicts = {v["claim"]: v for v in doc["verdicts"]}
        # the loss was injected at the second change: "it was the first" is never supported
        assert verdicts["first"]["verdict"] in ("not supported", "inconclusive")
        assert verdicts["second"]["verdict"] in ("supported", "inconclusive")


def test_six_months_apart_the_true_change_is_supported_on_most_seeds(six_months_apart):
    supported = [{v["claim"]: v["verdict"] for v in doc["verdicts"]}["second"] == "supported"
                 for doc in six_months_apart]
    assert sum(supported) >= 2


def test_the_report_cites_each_registry_date(six_months_apart):
    report = six_months_apart[0]["_report"]
    for change_id in ("x/ownership-change", "x/legacy-verification-removed"):
        source = load_registry().get(change_id).sources[0]
        assert str(source.url) in report


@pytest.mark.parametrize("seed", [0, 1])
def test_a_week_apart_it_says_they_cannot_be_told_apart(tmp_path, seed):
    doc = _run(tmp_path, WEEK_APART_EVENTS, dt.date(2022, 11, 3), seed)
    (analysis,) = [a for a in doc["analyses"] if a["method"] == "attribution"]
    assert not analysis["attribution"]["distinguishable"]
    for v in doc["verdicts"]:
        assert v["verdict"] == "inconclusive"
        assert "cannot tell" in v["sentence"]
