"""Regression tests for the tracebacks and unsafe paths issue 17 found, each at its cause.

- STS on a constant series: the fit is left out with its reason, not a NaN interval
  that crashed the claims;
- a truncated audit partition is detected by its recorded size and checksum and
  computed again, giving the same tables as the untouched run;
- metric names with quotes go through the store and the audit as values, not SQL;
- an unexpected exception is one sentence plus a log file, and ``--debug`` shows it;
- case paths outside the allowed folders are refused without being opened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.audit import AuditSpec, run_audit, stage_from_store
from butfor.audit.files import intact as _intact
from butfor.audit_sim import AuditSimConfig, simulate_audit_panel
from butfor.cli import app
from butfor.errors import DataError
from butfor.methods.sts import ConstantSeriesError, StructuralTimeSeries


def _constant_case(tmp_path: Path, value: str, methods: str = '["sts"]') -> Path:
    rows = ["unit,date,impressions,pageviews"]
    for i, d in enumerate(pd.date_range("2024-01-01", periods=100)):
        rows.append(f"ava,{d:%Y-%m-%d},{value},{50 + i % 7}")
        for j, u in enumerate(["bob", "cat", "dan"]):
            rows.append(f"{u},{d:%Y-%m-%d},{90 + (i * (j + 1)) % 5},{40 + i % 3}")
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    case = tmp_path / "case.toml"
    case.write_text(f'''methods = {methods}
[data]
files = ["d.csv"]
[subject]
unit = "ava"
[outcome]
metric = "impressions"
transform = "log1p"
[controls]
metric = "pageviews"
[sts]
n_draws = 100
pseudo_events = 0
[[events]]
name = "change"
date = "2024-03-15"
[[claims]]
id = "fell"
kind = "declined_after"
allegation = "It fell."
event = "change"
''', encoding="utf-8")
    return case


def test_sts_refuses_a_series_constant_up_to_rounding():
    # log1p(123457) repeated: np.std gives 1.8e-15 from rounding alone (checked by hand in
    # numpy 2), which the old test `sd <= 0` let through into a NaN interval
    y = np.full(80, 123457.0)
    with pytest.raises(ConstantSeriesError, match="constant before the event"):
        StructuralTimeSeries(transform="log1p", n_draws=100, seasonal_period=None).fit(
            y, event_index=60)
    assert issubclass(ConstantSeriesError, DataError)


def test_run_with_constant_subject_leaves_sts_out_and_says_so(tmp_path):
    case = _constant_case(tmp_path, "123457")
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "sts left out: impressions is constant before the event" in result.output
    import json

    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    (sts,) = doc["analyses"]
    assert "effect" not in sts and "constant" in sts["left_out"]
    assert doc["verdicts"][0]["verdict"] == "inconclusive"


@pytest.fixture(scope="module")
def small_audit(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    cfg = AuditSimConfig(n_accounts=300, days=80, event_day=50, accounts_per_partition=100)
    source = simulate_audit_panel(cfg, root / "sim", seed=3)
    spec = AuditSpec(event=cfg.event_date, reference="none", controls=("pageviews",))
    first = run_audit(source, spec, root / "out", report=False)
    return root, source, spec, first


def test_truncated_audit_partition_is_recomputed(small_audit):
    root, source, spec, first = small_audit
    before = pd.read_parquet(first.accounts)
    part = root / "out" / "partitions" / "part-00001.parquet"
    assert _intact(part)
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])  # truncated on disk
    assert not _intact(part)
    again = run_audit(source, spec, root / "out", report=False)
    assert again.partitions_run == 1  # only the damaged partition ran again
    assert _intact(part)
    pd.testing.assert_frame_equal(pd.read_parquet(again.accounts), before)


def test_truncated_stage1_file_is_recomputed(small_audit):
    root, source, spec, first = small_audit
    before = pd.read_parquet(first.accounts)
    stage1 = root / "out" / "stage1" / "part-00000.npz"
    stage1.write_bytes(stage1.read_bytes()[:100])
    again = run_audit(source, spec, root / "out", report=False)
    assert again.partitions_run == 1
    pd.testing.assert_frame_equal(pd.read_parquet(again.accounts), before)


def test_truncated_input_partition_is_one_sentence(small_audit, tmp_path):
    _, source, spec, _ = small_audit
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(source, copy)
    victim = sorted(p for p in copy.glob("part-*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:200])
    result = CliRunner().invoke(app, ["audit", "--parquet", str(copy), "--event",
                                      str(spec.event), "--out", str(tmp_path / "o"),
                                      "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "cannot be read" in result.output and "Traceback" not in result.output


def test_metric_names_with_quotes_are_values_not_sql(tmp_path):
    """A metric named with quotes and a SQL comment is stored, staged and read back as itself."""
    from butfor.ingest import ingest_files
    from butfor.store import Store

    odd = 'views" FROM x; -- it\'s'
    lines = ["unit,date,views"] + [f"u{i},2024-01-{d:02d},{i + d}" for i in range(3)
                                   for d in range(1, 11)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    panel, report = ingest_files([path])
    frame = panel.data.rename(columns={"views": odd})
    from butfor.panel import Panel

    panel = Panel.from_frame(frame, panel.units)
    store = Store(tmp_path / "s.duckdb")
    store.write_panel(panel, report)
    assert store.read_panel().metrics == [odd]
    staged = stage_from_store(tmp_path / "s.duckdb", "default", tmp_path / "staged")
    table = pd.read_parquet(next(staged.glob("part=*")))
    assert odd in table.columns
    assert table[odd].sum() == sum(i + d for i in range(3) for d in range(1, 11))


def test_unexpected_error_is_one_sentence_with_a_log(tmp_path, monkeypatch):
    import butfor.pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(butfor.pipeline, "run_case_file", broken)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["run", "case.toml", "--out", str(out)])
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "unexpected ZeroDivisionError: boom" in message and "--debug" in message
    log = (out / "butfor-error.log").read_text()
    assert "Traceback" in log and "ZeroDivisionError: boom" in log
    debug = CliRunner().invoke(app, ["--debug", "run", "case.toml", "--out", str(out)])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_case_path_outside_the_allowed_folders_is_refused_unread(tmp_path, monkeypatch):
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    case = case_dir / "case.toml"
    case.write_text('[data]\nfiles = ["../elsewhere/secret.csv"]\n[subject]\nunit = "a"\n'
                    '[outcome]\nmetric = "m"\n[[events]]\nname = "e"\ndate = "2024-01-05"\n',
                    encoding="utf-8")
    monkeypatch.chdir(case_dir)
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "line 2, column 'files'" in result.output and "--allow-path" in result.output
    assert "root:" not in result.output and "❌" not in result.output
    allowed = CliRunner().invoke(app, ["run", str(case), "--out", str(tmp_path / "o"),
                                       "--allow-path", str(secret.parent)])
    assert allowed.exit_code == 2
    assert "could not tell the format" in allowed.output  # read now, refused for what it holds
