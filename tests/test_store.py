"""The DuckDB store: panels, reports, results and Parquet export round-trip exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import export_fixtures as fx
from butfor.cli import app
from butfor.errors import DataError
from butfor.ingest import ingest_files
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.store import Store


def _panel(values: dict[tuple[str, str], tuple[float, float]], units=None) -> Panel:
    rows = [{"unit": u, "date": d, "followers": f, "likes": lk}
            for (u, d), (f, lk) in values.items()]
    return Panel.from_frame(pd.DataFrame(rows), units)


@pytest.fixture
def panel() -> Panel:
    units = pd.DataFrame({"unit": ["ava", "bo"], "display_name": ["Ava A", "Bo"],
                          "group": ["left", None], "country": ["FR", "US"]})
    return _panel({("ava", "2024-01-01"): (10.0, 1.0), ("ava", "2024-01-03"): (12.0, np.nan),
                   ("bo", "2024-01-02"): (5.0, 2.5)}, units)


def test_panel_and_report_round_trip(tmp_path, panel):
    store = Store(tmp_path / "s" / "b.duckdb")
    report = IngestReport()
    source = report.add_source("x.csv", "0" * 64, "long")
    source.rows_read = source.rows_kept = 3
    report.note("x.csv", "repaired", "thousands separators removed", [2], column="likes")
    report.remarks.append("a remark")
    store.write_panel(panel, report, name="default", mode="replace")
    back = store.read_panel()
    pd.testing.assert_frame_equal(back.data, panel.data)
    pd.testing.assert_frame_equal(back.units, panel.units)
    assert back.frequency == panel.frequency
    assert store.read_report().to_dict() == report.to_dict()


def test_merge_adds_metrics_units_and_counts_replaced_values(tmp_path, panel):
    store = Store(tmp_path / "b.duckdb")
    store.write_panel(panel, IngestReport(), mode="replace")
    new = Panel.from_frame(pd.DataFrame({
        "unit": ["ava", "ava", "cy"], "date": ["2024-01-01", "2024-01-03", "2024-01-03"],
        "followers": [10.0, 13.0, 7.0], "impressions": [100.0, 200.0, 50.0]}))
    written = store.write_panel(new, IngestReport(), mode="merge")
    # ava 2024-01-03 followers 12 -> 13 is the only stored value that changes
    assert written == {"replaced": 1}
    merged = store.read_panel()
    assert merged.unit_ids == ["ava", "bo", "cy"]
    assert merged.metrics == ["followers", "likes", "impressions"]
    wide = merged.wide("followers")
    assert wide.loc["2024-01-03", "ava"] == 13.0
    assert wide.loc["2024-01-02", "bo"] == 5.0  # kept from the first write
    assert merged.wide("likes").loc["2024-01-01", "ava"] == 1.0
    attrs = merged.units.set_index("unit")
    assert attrs.loc["ava", "group"] == "left"  # the new panel had no group: the old one stays
    assert attrs.loc["ava", "display_name"] == "Ava A"
    # grid 3 units x 3 days; rows with data: ava Jan 1 and 3, bo Jan 2, cy Jan 3
    assert len(merged.data) == 9 and store.read_report().cells_filled == 5


def test_replace_overwrites(tmp_path, panel):
    store = Store(tmp_path / "b.duckdb")
    store.write_panel(panel, IngestReport(), mode="replace")
    small = _panel({("zed", "2024-02-01"): (1.0, 1.0)})
    store.write_panel(small, IngestReport(), mode="replace")
    assert store.read_panel().unit_ids == ["zed"]


def test_datasets_are_separate_and_listed(tmp_path, panel):
    store = Store(tmp_path / "b.duckdb")
    store.write_panel(panel, IngestReport(), name="default")
    store.write_panel(_panel({("zed", "2024-02-01"): (1.0, 1.0)}), IngestReport(), name="demo")
    listed = {d["name"]: d for d in store.list_datasets()}
    assert set(listed) == {"default", "demo"}
    d = listed["default"]
    assert (d["units"], d["rows"], str(d["first"]), str(d["last"])) == (2, 6, "2024-01-01",
                                                                        "2024-01-03")
    assert d["metrics"] == ["followers", "likes"] and d["groups"] == {"left": 1}
    assert store.read_panel("demo").unit_ids == ["zed"]


def test_results_round_trip(tmp_path):
    store = Store(tmp_path / "b.duckdb")
    text = json.dumps({"analyses": [{"id": "a", "value": 1.5}]})
    store.write_results("run-1", text)
    store.write_results("run-2", "{}")
    store.write_results("run-1", text)  # replacing keeps one copy
    assert store.read_results("run-1") == text
    assert [name for name, _ in store.list_results()] == ["run-1", "run-2"]
    with pytest.raises(json.JSONDecodeError):
        store.write_results("bad", "{not json")
    with pytest.raises(DataError, match="no results named 'nope'"):
        store.read_results("nope")


def test_parquet_export_matches_the_panel(tmp_path, panel):
    store = Store(tmp_path / "b.duckdb")
    store.write_panel(panel, IngestReport())
    data_path, units_path = store.export_parquet("default", tmp_path / "out")
    pd.testing.assert_frame_equal(pd.read_parquet(data_path), panel.data, check_dtype=False)
    assert pd.read_parquet(units_path)["unit"].tolist() == ["ava", "bo"]


def test_missing_store_and_dataset_say_what_to_do(tmp_path, panel):
    with pytest.raises(DataError, match="run 'butfor ingest"):
        Store(tmp_path / "none.duckdb").read_panel()
    store = Store(tmp_path / "b.duckdb")
    store.write_panel(panel, IngestReport(), name="default")
    with pytest.raises(DataError, match="no dataset 'other' \\(it holds default\\)"):
        store.read_panel("other")


def test_ingest_then_data_on_the_command_line(tmp_path):
    store = tmp_path / "b.duckdb"
    runner = CliRunner()
    empty = runner.invoke(app, ["data", "--store", str(store)])
    assert empty.exit_code == 0 and "Nothing stored" in empty.output
    ingested = runner.invoke(app, ["ingest", str(fx.socialblade(tmp_path)), "--group", "peers",
                                   "--store", str(store)])
    assert ingested.exit_code == 0, ingested.output
    assert "6 rows read, 6 kept, 0 repaired, 0 dropped" in ingested.output
    assert "2 units, 2022-03-29 to 2022-03-31 (3 days)" in ingested.output
    assert str(store) in ingested.output
    listed = runner.invoke(app, ["data", "--store", str(store), "--export", str(tmp_path / "x")])
    assert listed.exit_code == 0, listed.output
    assert "default" in listed.output and "peers (2)" in listed.output
    exported = pd.read_parquet(tmp_path / "x" / "default.panel.parquet")
    assert len(exported) == 6 and set(exported["unit"]) == {"alice", "Bob_B"}


def test_ingesting_twice_is_idempotent(tmp_path):
    store = Store(tmp_path / "b.duckdb")
    path = fx.long_csv(tmp_path)
    for _ in range(2):
        panel, report = ingest_files([path])
        written = store.write_panel(panel, report, mode="merge")
    assert written == {"replaced": 0}
    pd.testing.assert_frame_equal(store.read_panel().data, panel.data)


def test_column_mapping_and_metric_on_the_command_line(tmp_path):
    path = fx.write_csv(tmp_path / "mine.csv", ["account", "day", "Views"],
                        [["ava", "2024-01-01", 5], ["ava", "2024-01-02", 6]])
    wide = fx.wide_csv(tmp_path)
    store = tmp_path / "b.duckdb"
    result = CliRunner().invoke(app, [
        "ingest", str(path), "--column", "account=unit", "--column", "day=date",
        "--store", str(store)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["ingest", str(wide), "--metric", "impressions",
                                      "--store", str(store)])
    assert result.exit_code == 0, result.output
    panel = Store(store).read_panel()
    views = panel.series("ava", "views")
    assert (views["2024-01-01"], views["2024-01-02"]) == (5.0, 6.0)
    assert panel.series("bob", "impressions")["2022-01-03"] == 25.0


def test_ingest_summary_counts_repairs(tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(fx.overview(tmp_path)), "--unit", "ava",
                                      "--store", str(tmp_path / "b.duckdb")])
    assert result.exit_code == 0, result.output
    # fixture: "15,000" on line 2 and "-" on line 3 are the two repaired rows
    assert "3 rows read, 3 kept, 2 repaired, 0 dropped" in result.output
    assert "thousands separators removed" in result.output
