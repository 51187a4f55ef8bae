"""The platform audit end to end: truth recovery, false discoveries, backends, resume, sources."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.audit import AuditSpec, Executor, partition_panel, run_audit
from butfor.audit_sim import AuditSimConfig, simulate_audit_panel
from butfor.cli import app
from butfor.errors import InputError

REPO = Path(__file__).resolve().parents[1]

SMALL = AuditSimConfig(n_accounts=600, days=120, event_day=80, accounts_per_partition=150,
                       affected_share={"left": 0.2, "right": 0.05})


def _frames(out) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(Path(out) / f"{name}.parquet")
            for name in ("accounts", "groups", "disproportion", "group_time", "top_accounts")}


@pytest.mark.slow
def test_audit_recovers_disproportion_and_controls_false_discoveries(tmp_path, slow_size):
    # Simulation with known per-account truth (butfor.audit_sim). No platform-wide
    # or group shock: 20% of "left" and 5% of "right" accounts lose about 0.4 log
    # points, everyone else nothing, so with the off-platform control (pageviews)
    # and no on-platform reference an unaffected account's true effect is exactly 0.
    n = slow_size(ci=3000, full_size=20000)
    reps = slow_size(ci=2, full_size=5)
    alpha = 0.05
    false = flagged = 0
    power = []
    for rep in range(reps):
        cfg = AuditSimConfig(n_accounts=n, platform_shock=0.0, group_shocks={},
                             affected_share={"left": 0.2, "right": 0.05},
                             accounts_per_partition=1000)
        panel = simulate_audit_panel(cfg, tmp_path / f"sim{rep}", seed=100 + rep)
        truth = pd.read_parquet(tmp_path / f"sim{rep}" / "truth.parquet")
        spec = AuditSpec(event=cfg.event_date, reference="none", controls=("pageviews",),
                         base_group="right", alpha=alpha)
        res = run_audit(panel, spec, tmp_path / f"out{rep}", report=False)
        acc = pd.read_parquet(res.accounts).merge(truth, on="unit")
        assert len(acc) == n and acc["unit"].is_unique
        false += int((acc["flagged"] & ~acc["affected"]).sum())
        flagged += int(acc["flagged"].sum())
        power.append(acc.loc[acc["affected"], "flagged"].mean())

        # the group-disproportion regression recovers the injected difference
        by = truth.groupby("group")["true_effect"].mean()
        true_diff = by["left"] - by["right"]
        dis = pd.read_parquet(res.disproportion).set_index("group").loc["left"]
        assert abs(dis["coef"] - true_diff) < 3 * dis["se"], (dis["coef"], dis["se"], true_diff)
        assert dis["p_value"] < 1e-6

    fdp = false / flagged
    # BH controls the expected false-discovery proportion at alpha * (share of nulls);
    # allow two binomial standard errors of the pooled proportion.
    assert fdp <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / flagged), (fdp, flagged)
    assert min(power) > 0.5, power


def test_platform_reference_recovers_group_gap(tmp_path):
    # Simulation with known truth: platform shock -0.08 on everyone, -0.05 more on
    # "left", and individual losses in 20% / 5% of accounts. With the platform as
    # reference the group gap is what remains identified.
    cfg = replace(SMALL, n_accounts=1500, days=200, event_day=140)
    panel = simulate_audit_panel(cfg, tmp_path / "sim", seed=4)
    truth = pd.read_parquet(tmp_path / "sim" / "truth.parquet")
    res = run_audit(panel, AuditSpec(event=cfg.event_date, base_group="right"), tmp_path / "out",
                    report=False)
    by = truth.groupby("group")["true_effect"].mean()
    f = _frames(res.out)
    dis = f["disproportion"].set_index("group").loc["left"]
    assert abs(dis["coef"] - (by["left"] - by["right"])) < 3 * dis["se"]
    g = f["groups"].set_index("group")
    # mean of per-account effects: the same gap, measured the other way
    assert abs(g.loc["left", "diff_vs_base"] - (by["left"] - by["right"])) < 3 * g.loc["left", "diff_se"]
    acc = f["accounts"].merge(truth, on="unit")
    # relative truth: own shift minus the platform's mean shift
    rel = acc["true_effect"] - truth["true_effect"].mean()
    assert np.corrcoef(acc["effect"], rel)[0, 1] > 0.8


def test_backends_give_identical_results(tmp_path):
    # Property: the same partitions through one process, a spawn process pool and a
    # Dask LocalCluster with two worker processes give byte-identical tables.
    from dask.distributed import Client, LocalCluster

    panel = simulate_audit_panel(SMALL, tmp_path / "sim", seed=1)
    spec = AuditSpec(event=SMALL.event_date, controls=("pageviews",))
    local = run_audit(panel, spec, tmp_path / "local", report=False)
    pool = run_audit(panel, spec, tmp_path / "pool", executor=Executor(workers=2), report=False)
    # a random loopback port for the scheduler's HTTP server (None still means 8787, and a
    # cluster already there, another test's or audit's, failed this test)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        dask = run_audit(panel, spec, tmp_path / "dask", executor=Executor(client=client),
                         report=False)
    a = _frames(local.out)
    for other in (pool, dask):
        b = _frames(other.out)
        for name in a:
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert local.summary["n_accounts"] == SMALL.n_accounts


def test_sigkill_midway_then_resume_gives_the_same_table(tmp_path):
    cfg = replace(SMALL, n_accounts=4000, days=200, event_day=140, accounts_per_partition=100)
    panel = simulate_audit_panel(cfg, tmp_path / "sim", seed=2)
    n_parts = 40
    full = run_audit(panel, AuditSpec(event=cfg.event_date), tmp_path / "full", report=False)

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "butfor", "audit", "--parquet", str(panel), "--event",
           cfg.event_date.isoformat(), "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / "partitions"
    deadline = time.monotonic() + 120
    done: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        done = sorted(parts.glob("part-*.parquet")) if parts.exists() else []
        if len(done) >= 3:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(parts.glob("part-*.parquet"))
    assert 0 < len(done) < n_parts, f"the kill did not land midway ({len(done)} partitions done)"
    assert not (out / "accounts.parquet").exists()
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done}

    res = run_audit(panel, AuditSpec(event=cfg.event_date), out, report=False)
    assert res.partitions_run == n_parts - len(done)  # finished partitions were not redone
    for p in done:
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamps[p.name]
    a, b = _frames(full.out), _frames(res.out)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert b["accounts"]["unit"].is_unique and len(b["accounts"]) == cfg.n_accounts


def test_resume_refuses_other_settings(tmp_path):
    panel = simulate_audit_panel(SMALL, tmp_path / "sim", seed=3)
    run_audit(panel, AuditSpec(event=SMALL.event_date), tmp_path / "out", report=False)
    with pytest.raises(InputError, match="other settings"):
        run_audit(panel, AuditSpec(event=SMALL.event_date, alpha=0.1), tmp_path / "out")


def test_store_source_and_partition_helper_agree(tmp_path):
    # The same panel read from a butfor DuckDB store and from partition_panel()
    # files: the same accounts and effects (partitions differ, so only summation
    # order differs: tolerance 1e-9).
    from butfor.ingest_report import IngestReport
    from butfor.panel import Panel
    from butfor.store import Store

    cfg = replace(SMALL, n_accounts=300, accounts_per_partition=300)
    sim = simulate_audit_panel(cfg, tmp_path / "sim", seed=5)
    long = pd.read_parquet(sim / "part-00000.parquet")
    units = pd.read_parquet(sim / "units.parquet")
    panel = Panel.from_frame(long, units.assign(display_name=units["unit"]))
    store = tmp_path / "b.duckdb"
    Store(store).write_panel(panel, IngestReport(), name="sim")
    parted = partition_panel(panel, tmp_path / "parted", n_partitions=3)
    assert len(list(parted.glob("part-*.parquet"))) == 3

    runner = CliRunner()
    r = runner.invoke(app, ["audit", "--store", str(store), "--dataset", "sim", "--event",
                            cfg.event_date.isoformat(), "--out", str(tmp_path / "from_store"),
                            "--no-progress"])
    assert r.exit_code == 0, r.output
    a = pd.read_parquet(tmp_path / "from_store" / "accounts.parquet")
    res = run_audit(parted, AuditSpec(event=cfg.event_date), tmp_path / "from_parquet",
                    report=False)
    b = pd.read_parquet(res.accounts)
    assert list(a["unit"]) == list(b["unit"]) == sorted(units["unit"])
    np.testing.assert_allclose(a["effect"], b["effect"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a["p_value"], b["p_value"], rtol=1e-7, atol=1e-12)

    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM audit_accounts WHERE audit = 'sim'").fetchone()[0]
    finally:
        con.close()
    assert n == cfg.n_accounts


def test_cli_simulate_writes_report_and_staggered_events(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "--simulate", "400", "--out", str(tmp_path / "a"),
                            "--no-progress", "--seed", "3"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "a" / "report.html").read_text()
    assert page.count("<svg") == 3 and "Group disproportion" in page

    # per-account event dates (staggered): effects still track the truth
    cfg = replace(SMALL, staggered_days=20, platform_shock=0.0, group_shocks={})
    panel = simulate_audit_panel(cfg, tmp_path / "stag", seed=6)
    truth = pd.read_parquet(tmp_path / "stag" / "truth.parquet")
    res = run_audit(panel, AuditSpec(event_column="event_date", reference="none",
                                     controls=("pageviews",)), tmp_path / "stag_out",
                    report=False)
    acc = pd.read_parquet(res.accounts).merge(truth, on="unit")
    assert (acc["event_date_x"] == acc["event_date_y"]).all()
    assert np.corrcoef(acc["effect"], acc["true_effect"])[0, 1] > 0.8


def test_cli_bad_input_is_one_sentence(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "--parquet", str(tmp_path), "--event", "2022-13-01",
                            "--out", str(tmp_path / "o"), "--no-progress"])
    assert r.exit_code == 2
    assert "not a date" in r.output or "no Parquet partitions" in r.output
    assert "Traceback" not in r.output


def test_report_is_deterministic(tmp_path):
    # Property: the same audit gives the same report, byte for byte.
    panel = simulate_audit_panel(SMALL, tmp_path / "sim", seed=8)
    pages = []
    for name in ("a", "b"):
        res = run_audit(panel, AuditSpec(event=SMALL.event_date), tmp_path / name)
        pages.append(res.report.read_bytes())
    assert pages[0] == pages[1]
    assert pages[0].count(b"<svg") == 3


def test_cli_on_a_dask_cluster_matches_in_process(tmp_path):
    # The path of the 10^6-account benchmark at small size: `butfor audit --simulate`
    # on a real Dask scheduler with two worker processes on loopback writes the
    # partitions on the workers and runs both passes there; the platform, every
    # table and summary.json are identical to the same command in one process, and
    # run.json records every partition's cost and each worker's peak memory.
    runner = CliRunner()
    common = ["audit", "--simulate", "900", "--simulate-days", "120", "--partition-accounts",
              "150", "--control-metric", "pageviews", "--seed", "11", "--no-progress"]
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "here")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "dask"), "--scheduler", "local",
                            "--workers", "2"])
    assert r.exit_code == 0, r.output
    for f in ("panel/part-00000.parquet", "panel/part-00005.parquet", "panel/units.parquet",
              "truth.parquet"):
        assert (tmp_path / "here" / "simulated" / f).read_bytes() == \
            (tmp_path / "dask" / "simulated" / f).read_bytes(), f
    a, b = _frames(tmp_path / "here"), _frames(tmp_path / "dask")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert (tmp_path / "here" / "summary.json").read_text() == \
        (tmp_path / "dask" / "summary.json").read_text()
    assert len(a["accounts"]) == 900

    import json

    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert run["executor"]["backend"] == "dask" and run["executor"]["workers"] == 2
    assert run["executor"]["scheduler"].startswith("tcp://127.0.0.1:")
    for step in ("simulate", "pass1", "pass2"):
        pids = sorted(t["partition"] for t in run["tasks"] if t["step"] == step)
        assert pids == list(range(6)), (step, pids)
        assert run["partition_cost"][step]["partitions"] == 6
    assert len(run["workers"]) == 2  # both worker processes ran partitions
    assert all(w["peak_rss"] > 0 for w in run["workers"].values())
    assert run["driver_peak_rss"] > 0 and set(run["stages"]) >= {"simulate", "pass1", "pass2"}


def test_simulated_counts_are_never_negative(tmp_path):
    # A pageview noise of 2 log points puts many account-days below log(0.5), where
    # expm1 rounded gave -1 before the clip (log1p then refused the platform).
    cfg = replace(SMALL, n_accounts=150, pageview_noise_sd=2.0)
    panel = simulate_audit_panel(cfg, tmp_path / "sim", seed=9)
    frame = pd.read_parquet(panel / "part-00000.parquet")
    assert (frame["pageviews"] == 0).any()
    assert (frame["pageviews"] >= 0).all() and (frame["impressions"] >= 0).all()


def test_a_worker_reads_only_its_partitions_unit_rows(tmp_path, monkeypatch):
    # units.parquet in four row groups of sorted accounts (as the simulator writes
    # it): a partition's accounts get the rows the whole file gives them, and only
    # the row group holding them is read; in a shuffled file every group is read.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from butfor.audit import partitions

    units = pd.DataFrame({"unit": [f"a{i:03d}" for i in range(400)],
                          "group": np.where(np.arange(400) % 3 == 0, "left", "right")})
    mine = units["unit"].to_numpy()[110:150]
    full = units.set_index("unit").loc[mine, ["group"]]
    reads = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group",
                        lambda self, i, **kw: reads.append(i) or real(self, i, **kw))
    for name, frame in (("sorted", units), ("shuffled", units.sample(frac=1, random_state=0))):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                       row_group_size=100)
        reads.clear()
        got = partitions._units_rows(str(path), ("group",), mine)
        pd.testing.assert_frame_equal(got.loc[mine], full, check_dtype=False,
                                      check_index_type=False)
        assert reads == ([1] if name == "sorted" else [0, 1, 2, 3]), (name, reads)
