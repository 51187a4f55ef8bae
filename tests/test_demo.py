"""`butfor demo` end to end: outputs written, schema-valid, byte-reproducible.

The demo's output is the session's one run (``demo_output`` in conftest.py, shared
with the report's browser tests); the byte-for-byte checks run it again: the demo in
a fresh process, and the case.toml it wrote with ``butfor run``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from butfor.cli import app
from butfor.results import validate

pytestmark = pytest.mark.xdist_group("demo")  # one worker: demo_output is built once


@pytest.fixture(scope="module")
def demo_run(demo_output):
    out, printed = demo_output
    return out, (out / "results.json").read_bytes(), printed


def test_demo_writes_results_and_report(demo_run):
    out, _, output = demo_run
    assert (out / "report.html").stat().st_size > 0
    assert "<svg" in (out / "report.html").read_text() or "<img" in (out / "report.html").read_text()
    assert str(out) in output


def test_demo_results_follow_the_schema(demo_run):
    out, _, _ = demo_run
    doc = json.loads((out / "results.json").read_text())
    validate(doc)
    assert doc["case"]["subject"]["unit"] == "ava_sterling"
    assert len(doc["verdicts"]) == len(doc["case"]["claims"])
    # every input row of the simulated platform is accounted for
    ingest = doc["ingest"]
    assert ingest["rows_read"] == ingest["rows_kept"] + ingest["rows_dropped"]


def test_same_seed_gives_byte_identical_results(demo_run, tmp_path):
    # a second demo, in a process of its own (another hash seed) into a new store
    _, first, _ = demo_run
    done = subprocess.run(
        [sys.executable, "-m", "butfor", "demo", "--out", str(tmp_path / "demo"),
         "--store", str(tmp_path / "store.duckdb")],
        capture_output=True, text=True, cwd=tmp_path, timeout=900, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "demo" / "results.json").read_bytes() == first


def test_demo_stores_the_panel(demo_run, tmp_path):
    from butfor.store import Store

    out, _, _ = demo_run
    store = Store(out.parent / "store.duckdb")
    panel = store.read_panel("demo")
    assert "ava_sterling" in panel.unit_ids
    assert len(panel.unit_ids) == 301


def test_written_case_reruns_to_byte_identical_results(demo_run, tmp_path, monkeypatch):
    # issue 21, finding 6: the case.toml the demo writes reruns as it is (it used to fail
    # with "store has no dataset 'default'"), and to the same results.json, byte for byte;
    # in a folder of its own, with a copy of the store, so the shared output stays as it was
    out, first, _ = demo_run
    shutil.copy(out / "case.toml", tmp_path / "case.toml")
    shutil.copy(out.parent / "store.duckdb", tmp_path / "store.duckdb")
    monkeypatch.chdir(tmp_path)
    rerun = CliRunner().invoke(app, ["run", "case.toml", "--out", ".", "--store",
                                     str(tmp_path / "store.duckdb")])
    assert rerun.exit_code == 0, rerun.output
    assert (tmp_path / "results.json").read_bytes() == first


def test_demo_damages_exhibit(demo_run):
    # issue 21: the damages section states what an expert would be asked for
    out, _, _ = demo_run
    html = (out / "report.html").read_text()
    doc = json.loads((out / "results.json").read_text())
    dmg = doc["damages"]
    assert "Valuation date" in html and "Headline scenario" in html
    assert dmg["headline"] == "fading, half-life 180 days, 2 years"  # the central one
    assert not [a["name"] for a in dmg["assumptions"] if not a["source"]]  # all sourced
    assert "Each assumption and its source" in html
    assert "fictional: Ava&#39;s brand-content invoices, 2021-2022" in html
    assert "(below 1 in" in html and "under the model" in html
    # the sensitivity table and figure, and the apportionment between the two events
    assert "Sensitivity: the median of the headline scenario" in html
    assert 'id="fig-damages-sensitivity"' in html
    assert [e["name"] for e in dmg["apportionment"]["events"]] == [
        "ownership change", "verification change"]
    assert "Apportionment of the impressions lost" in html
    assert str(dmg["data_end"]) == "2023-07-01"  # priced to the end of the data
