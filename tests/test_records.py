"""The typed analysis records (issue 11): every kind round-trips, records are frozen, the schema is theirs.

Reference: results.json itself. A record read from an analysis dict and
written back must give the same JSON text (not only equal values: an int must
stay an int and a float a float, or results.json's bytes would change). The
kinds the demo does not run (Sun & Abraham, the before/after regression) are
built by their case adapters' own functions on a small simulated panel.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest

from butfor.panel import Panel
from butfor.records import KINDS, Analysis, parse_analysis, replace_fields
from butfor.records.schema import results_schema, schema_text
from butfor.results import Results, dumps, to_jsonable, validate

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "butfor" / "schemas" / \
    "results.schema.json"
#: the kinds the demo's results.json holds
DEMO_KINDS = {"sts", "peer_effects", "synthetic_control", "sdid", "event_study",
              "group_disproportion", "changepoint", "prepost", "attribution"}


def test_the_committed_schema_is_the_generated_one():
    # write it with: python -m butfor.records.schema > src/butfor/schemas/results.schema.json
    assert json.loads(SCHEMA.read_text()) == results_schema()
    assert SCHEMA.read_text() == schema_text()


def test_every_kind_has_a_record_in_the_schema():
    schema = results_schema()
    assert set(schema["$defs"]["analysis"]["discriminator"]["mapping"]) == set(KINDS)


@pytest.fixture(scope="module")
def demo_analyses(demo_output) -> list[dict]:
    out, _ = demo_output
    return json.loads((out / "results.json").read_text())["analyses"]


def _panel(seed: int = 0, n_units: int = 30, n_days: int = 30, event_day: int = 20):
    """The contract test's panel (tests/test_contract.py) around 10: half the units gain 0.5."""
    rng = np.random.default_rng(seed)
    units = np.array([f"u{i:02d}" for i in range(n_units)], dtype=object)
    dates = pd.date_range("2022-01-01", periods=n_days)
    u, t = np.repeat(np.arange(n_units), n_days), np.tile(np.arange(n_days), n_units)
    treated = u < n_units // 2
    y = (10 + rng.normal(0, 1, n_units)[u] + rng.normal(0, 0.5, n_days)[t]
         + np.where(treated & (t >= event_day), 0.5, 0.0) + rng.normal(0, 0.5, len(u)))
    frame = pd.DataFrame({"unit": units[u], "date": dates[t], "y": y})
    return Panel.from_frame(frame), list(units[: n_units // 2]), list(units[n_units // 2:]), \
        dates[event_day]


@pytest.fixture(scope="module")
def other_analyses() -> list[dict]:
    """The kinds the demo does not run, as their case adapters write them."""
    from butfor.analyses.before_after import _analysis
    from butfor.analyses.event_study import sun_abraham_analysis
    from butfor.methods.before_after import BeforeAfter
    from butfor.methods.sun_abraham import SunAbraham

    panel, treated, others, event = _panel()
    dates = panel.data["date"].drop_duplicates().sort_values().to_list()
    adoption = {u: dates[15 + (i % 2) * 5] for i, u in enumerate(treated)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # assumption warnings on a tiny fixture are expected
        sa = SunAbraham(window=(-4, 4)).fit(panel, "y", adoption=adoption)
        ba = BeforeAfter(transform="log1p").fit(panel, "y", event=event, group_a=treated,
                                                group_b=others, labels=("a", "b"))
    return to_jsonable([sun_abraham_analysis(sa, "y", "adoption"), _analysis(ba, "y", "e")])


def test_every_kind_is_covered(demo_analyses, other_analyses):
    kinds = {a["method"] for a in demo_analyses} | {a["method"] for a in other_analyses}
    assert kinds == set(KINDS)
    assert {a["method"] for a in demo_analyses} == DEMO_KINDS


def test_every_analysis_round_trips_to_the_same_json(demo_analyses, other_analyses):
    for d in [*demo_analyses, *other_analyses]:
        record = parse_analysis(d)
        assert type(record) is KINDS[d["method"]]
        assert dumps(record.to_dict()) == dumps(d), d["id"]
        assert parse_analysis(record) is record  # a record is read as it is


def test_results_from_dict_reads_records_and_writes_the_same_bytes(demo_output):
    out, _ = demo_output
    text = (out / "results.json").read_text()
    results = Results.from_dict(json.loads(text))
    assert all(isinstance(a, Analysis) for a in results.analyses)
    assert results.to_json() == text
    validate(json.loads(text))


def test_records_are_frozen_and_closed(demo_analyses):
    sts = parse_analysis(next(a for a in demo_analyses if a["method"] == "sts"))
    with pytest.raises(pydantic.ValidationError):
        sts.title = "changed"
    with pytest.raises(pydantic.ValidationError):
        sts.effect.summary.relative = 0.0  # nested payloads too
    with pytest.raises(pydantic.ValidationError, match="extra"):
        parse_analysis({**sts.to_dict(), "surprise": 1})
    with pytest.raises(pydantic.ValidationError):
        parse_analysis({**sts.to_dict(), "method": "crystal_ball"})


def test_an_int_is_not_read_as_a_float_nor_a_float_as_an_int(demo_analyses):
    # results.json keeps 3 and 3.0 apart; a record that turned one into the other would
    # change the file's bytes
    prepost = next(a for a in demo_analyses if a["method"] == "prepost")
    broken = json.loads(json.dumps(prepost))
    broken["placebo"]["rank"] = float(broken["placebo"]["rank"])
    with pytest.raises(pydantic.ValidationError, match="rank"):
        parse_analysis(broken)


def test_replace_fields_validates_the_new_field(demo_analyses):
    prepost = parse_analysis(next(a for a in demo_analyses if a["method"] == "prepost"))
    renamed = replace_fields(prepost, event="another")
    assert renamed.event == "another" and prepost.event != "another"
    with pytest.raises(pydantic.ValidationError):
        replace_fields(prepost, power={"runs": "many"})
