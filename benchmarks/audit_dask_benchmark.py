"""Benchmark ``butfor audit`` on a Dask cluster: 10^5 to 10^6 accounts x 730 days, and 10^7 by arithmetic.

For each size, one command does everything on a Dask ``LocalCluster`` of
separate worker processes talking over loopback (``--scheduler local
--workers 2``): the workers simulate the platform straight into Parquet
partitions on disk (``butfor.audit_sim``, 2,000 accounts a partition; the panel
is never held whole in any process), then run the audit's two passes on those
files; the driver combines them and writes the tables and the report. The
command's ``run.json`` gives each step's wall time, every partition's time and
the peak resident memory of the worker that ran it (``ru_maxrss`` read in the
worker); a sampler here adds the resident memory of the whole process tree
(driver, scheduler, nannies, workers) every 0.2 s. The generated files live
under ``--root`` (default ``/tmp/dask``) and are deleted after each size.

From the largest size's per-partition cost it writes the arithmetic for
10^7 accounts x 730 days in under an hour into the section "## Audit on a Dask
cluster" of benchmarks/README.md (only that section).

Run: ``python benchmarks/audit_dask_benchmark.py --sizes 100000 300000 1000000``
(about 15 minutes on the shared 2-core machine; ``--from-results`` rewrites
the section from the last results file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
RESULTS = HERE / ".cache" / "audit_dask" / "results.json"
PER_PARTITION = 2_000
TARGET_ACCOUNTS = 10_000_000
HOUR = 3600.0


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_size(n: int, days: int, workers: int, root: Path, seed: int) -> dict:
    out = root / f"audit-{n}"
    shutil.rmtree(out, ignore_errors=True)
    log = root / f"audit-{n}.log"
    cmd = [sys.executable, "-m", "butfor", "audit", "--simulate", str(n), "--simulate-days",
           str(days), "--partition-accounts", str(PER_PARTITION), "--scheduler", "local",
           "--workers", str(workers), "--control-metric", "pageviews", "--base-group", "right",
           "--seed", str(seed), "--out", str(out)]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    with open(log, "w") as fh:  # the command's progress bar goes here: tail -f it
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        peak = {"tree": 0}
        loads = []
        stop = threading.Event()

        def sample():
            i = 0
            while not stop.is_set():
                try:
                    procs = [ps, *ps.children(recursive=True)]
                except psutil.Error:
                    procs = []
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak["tree"] = max(peak["tree"], total)
                if i % 50 == 0:
                    loads.append(os.getloadavg()[0])
                i += 1
                time.sleep(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = proc.wait()
        stop.set()
        th.join()
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f"butfor audit failed ({rc}); see {log}")
    run = json.loads((out / "run.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    disk = _du(out / "simulated" / "panel")
    shutil.rmtree(out)  # the partitions: several GB at 10^6 accounts
    tasks = run.pop("tasks")
    trace = [[t["worker"], t["step"], t["partition"], t["peak_rss"], t["rss"]] for t in tasks]
    steps = {}
    for step in ("simulate", "pass1", "pass2"):
        secs = np.array([t["seconds"] for t in tasks if t["step"] == step])
        cpu = np.array([t["cpu_seconds"] for t in tasks if t["step"] == step])
        steps[step] = {"partitions": int(secs.size), "median": float(np.median(secs)),
                       "mean": float(secs.mean()), "p90": float(np.percentile(secs, 90)),
                       "max": float(secs.max()), "cpu_mean": float(cpu.mean()),
                       "busy": float(secs.sum())}
    return {"n_accounts": summary["n_accounts"], "n_partitions": summary["n_partitions"],
            "days": days, "workers": workers, "command_seconds": seconds,
            "audit_seconds": run["seconds"], "stages": run["stages"],
            "stages_cpu": run.get("stages_cpu", {}), "steps": steps,
            "worker_peak_rss": {w: v["peak_rss"] for w, v in run["workers"].items()},
            "worker_tasks": {w: v["tasks"] for w, v in run["workers"].items()},
            "driver_peak_rss": run["driver_peak_rss"], "tree_peak_rss": peak["tree"],
            "memory_limit": run["executor"].get("worker_memory_limit"),
            "scheduler": run["executor"].get("scheduler"), "disk_bytes": disk,
            "load_before": load0, "load_after": os.getloadavg(),
            "load_samples": loads, "flagged": summary["n_flagged"], "memory_trace": trace,
            "disproportion": summary["disproportion"][0]["coef"]}


DRIVER_STAGES = ("plan", "combine", "statistics", "write")


def _driver(r: dict, key: str = "stages") -> float:
    return sum(r[key].get(k, 0.0) for k in DRIVER_STAGES)


def _line(rows: list[dict], value) -> tuple[float, float]:
    """Least-squares (per account, fixed) through the sizes; proportional from one size."""
    x = np.array([r["n_accounts"] for r in rows], float)
    y = np.array([value(r) for r in rows], float)
    if len(rows) < 2:
        return float(y[0] / x[0]), 0.0
    slope, fixed = np.polyfit(x, y, 1)
    return float(slope), float(fixed)


def arithmetic(rows: list[dict]) -> dict:
    """10^7 accounts from the measured sizes: partitions, worker-seconds, driver, workers.

    The per-partition cost is taken from the largest size. On a dedicated core a
    one-thread partition takes its CPU time (plus a little I/O wait); on this
    shared machine its wall time was longer by the contention measured, so the
    workers are counted both ways.
    """
    r = rows[-1]
    parts = math.ceil(TARGET_ACCOUNTS / PER_PARTITION)
    p1, p2 = r["steps"]["pass1"], r["steps"]["pass2"]
    cpu = p1["cpu_mean"] + p2["cpu_mean"]
    wall = p1["mean"] + p2["mean"]
    busy = p1["busy"] + p2["busy"]
    efficiency = busy / (r["workers"] * (r["stages"]["pass1"] + r["stages"]["pass2"]))
    d_slope, d_fixed = _line(rows, lambda x: _driver(x, "stages_cpu") or _driver(x))
    dw_slope, dw_fixed = _line(rows, _driver)
    m_slope, m_fixed = _line(rows, lambda x: x["driver_peak_rss"])
    driver = d_slope * TARGET_ACCOUNTS + d_fixed
    driver_wall = dw_slope * TARGET_ACCOUNTS + dw_fixed
    margin = 300.0
    out = {"partitions": parts, "cpu": cpu, "wall": wall, "contention": wall / cpu,
           "efficiency": efficiency, "driver": driver, "driver_wall": driver_wall,
           "driver_rss": m_slope * TARGET_ACCOUNTS + m_fixed, "driver_rss_per_million": m_slope * 1e6,
           "margin": margin, "worker_peak_rss": max(max(x["worker_peak_rss"].values())
                                                    for x in rows),
           "disk_bytes": r["disk_bytes"] / r["n_accounts"] * TARGET_ACCOUNTS}
    for name, per, drv in (("dedicated", cpu, driver), ("shared", wall, driver_wall)):
        budget = HOUR - drv - margin
        n = math.ceil(parts * per / (efficiency * budget)) if budget > 0 else None
        out[name] = {"worker_seconds": parts * per, "budget": budget, "workers": n,
                     "hours": (drv + parts * per / (efficiency * n)) / HOUR if n else None}
    return out


def write_readme(results: dict) -> None:
    rows = results["runs"]
    big, small = rows[-1], rows[0]
    a = arithmetic(rows)
    gb = 1e9
    lines = [
        "## Audit on a Dask cluster (`audit_dask_benchmark.py`)",
        "",
        f"`butfor audit --simulate N --simulate-days {big['days']} --scheduler local --workers "
        f"{big['workers']}`: a Dask `LocalCluster` (distributed {results['distributed']}) of "
        f"{big['workers']} separate worker processes, one thread each, scheduler and workers on "
        "127.0.0.1 only. The workers simulate the platform straight into Parquet partitions on "
        f"disk ({PER_PARTITION:,} accounts x {big['days']} days a partition, AR(1) attention, a "
        "platform and a group shock, individual losses in 10% of accounts; no process ever "
        "holds the whole panel), then run both passes on those files (platform reference, the "
        "off-platform `pageviews` control, two groups); the driver adds up pass 1, computes the "
        "statistics over one row per account and writes the tables and the report. Figures from "
        "the command's own `run.json` (every partition's time; each worker's peak resident "
        "memory, `ru_maxrss` read inside the worker after each partition); one run per size, "
        f"Python {platform.python_version()}, on the 2-core development machine shared with "
        "other engineers' jobs (load average: 1-minute figure at the start and end of each "
        "run, and the range sampled during it).",
        "",
        "| accounts | partitions | audit s | simulate s | pass 1 s | pass 2 s | driver s | "
        "per partition s (pass 1 + 2, mean) | peak per worker (GB) | driver peak (GB) | "
        "whole tree peak (GB) | panel on disk (GB) | load average |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        st = r["stages"]
        driver = _driver(r)
        per = r["steps"]["pass1"]["mean"] + r["steps"]["pass2"]["mean"]
        peaks = ", ".join(f"{v / gb:.2f}" for _, v in sorted(r["worker_peak_rss"].items()))
        samples = r["load_samples"] or [r["load_before"][0]]
        lines.append(
            f"| {r['n_accounts']:,} | {r['n_partitions']:,} | {r['audit_seconds']:.0f} | "
            f"{st.get('simulate', 0):.0f} | {st['pass1']:.0f} | {st['pass2']:.0f} | "
            f"{driver:.0f} | {per:.2f} ({r['steps']['pass1']['mean']:.2f} + "
            f"{r['steps']['pass2']['mean']:.2f}) | {peaks} | {r['driver_peak_rss'] / gb:.2f} | "
            f"{r['tree_peak_rss'] / gb:.2f} | {r['disk_bytes'] / gb:.2f} | "
            f"{r['load_before'][0]:.1f} → {r['load_after'][0]:.1f} "
            f"({min(samples):.1f}-{max(samples):.1f}) |")
    p1, p2 = big["steps"]["pass1"], big["steps"]["pass2"]
    ded, sh = a["dedicated"], a["shared"]
    lines += [
        "",
        "\"audit s\" is the audit from its plan to its report (the `run.json` total, the "
        "simulation excluded); \"driver s\" is the serial part in the driver (plan, adding up "
        "pass 1, statistics, tables and report). At "
        f"{big['n_accounts']:,} accounts a partition took {p1['median']:.2f} s in pass 1 (median; "
        f"90th percentile {p1['p90']:.2f}, slowest {p1['max']:.2f}; CPU {p1['cpu_mean']:.2f} s "
        f"mean) and {p2['median']:.2f} s in pass 2 (90th percentile {p2['p90']:.2f}, slowest "
        f"{p2['max']:.2f}; CPU {p2['cpu_mean']:.2f} s mean); simulating one took "
        f"{big['steps']['simulate']['mean']:.2f} s. Memory per worker: "
        f"{max(small['worker_peak_rss'].values()) / gb:.2f} GB peak at "
        f"{small['n_accounts']:,} accounts, {max(big['worker_peak_rss'].values()) / gb:.2f} GB at "
        f"{big['n_accounts']:,} ({big['n_accounts'] // small['n_accounts']}x the accounts): a "
        "worker holds one partition at a time, so what it needs does not follow the platform's "
        f"size{results.get('memory_note', '')}; the driver's grows with accounts "
        f"(about {a['driver_rss_per_million'] / gb:.2f} GB per million: it holds one row of "
        "results per account for the false-discovery step).",
    ]
    prev = results.get("previous")
    if prev:
        lines += [
            "",
            f"Before commit {prev['commit']} every worker read and cached the whole "
            "`units.parquet` (one row per account of the platform) to look up its partition's "
            "groups, so its memory grew with the platform: peak per worker "
            + ", ".join(f"{p['peak'] / gb:.2f} GB at {p['n_accounts']:,}" for p in prev["runs"])
            + f" accounts (same command, load average {prev['load']}); at 10^6 accounts "
            f"reading three partitions in a bare process peaked at {prev['bare_old'] / 1e6:,.0f} "
            f"MB against {prev['bare_new'] / 1e6:,.0f} MB reading only the partition's rows, "
            f"so about {(prev['bare_old'] - prev['bare_new']) * 10 / 1e9:.1f} GB more per worker "
            "at 10^7. Now a worker reads only the row groups "
            "holding its partition's accounts.",
        ]
    lines += [
        "",
        "### 10^7 accounts x 730 days in under an hour: the arithmetic",
        "",
        f"From the measured per-partition cost at {big['n_accounts']:,} accounts and the "
        "driver's cost fitted over the sizes above (assumptions below the list):",
        "",
        f"- partitions: 10,000,000 / {PER_PARTITION:,} = {a['partitions']:,}, each "
        f"{PER_PARTITION:,} accounts x 730 days as measured;",
        f"- work per partition (pass 1 + pass 2, mean): {a['cpu']:.2f} CPU seconds, which is "
        f"its time on a dedicated core (one thread, data in the page cache); on this shared "
        f"machine it took {a['wall']:.2f} s of wall time ({a['contention']:.1f}x, the other "
        "jobs' share of the two cores);",
        f"- worker time: {a['partitions']:,} x {a['cpu']:.2f} s = "
        f"{ded['worker_seconds']:,.0f} worker-seconds ({ded['worker_seconds'] / HOUR:.1f} "
        f"worker-hours; {sh['worker_seconds'] / HOUR:.1f} at the shared machine's wall time);",
        f"- scheduling: the workers were busy {a['efficiency']:.0%} of the passes' wall time "
        "(the rest: the scheduler's round trips, the broadcast of pass 1's totals, the last "
        "partitions finishing one by one), taken as the same at 10^7;",
        f"- driver (serial, one core): {a['driver']:,.0f} CPU seconds at 10^7 from the line "
        f"through the sizes ({a['driver_wall']:,.0f} s at this machine's wall time), with "
        f"{a['margin'] / 60:.0f} minutes' margin for start-up, leaving "
        f"{ded['budget']:,.0f} s of the hour for the passes;",
    ]
    if ded["workers"]:
        lines += [
            f"- so **{ded['workers']} workers** on dedicated cores: "
            f"{ded['worker_seconds']:,.0f} / ({a['efficiency']:.2f} x {ded['workers']}) = "
            f"{ded['worker_seconds'] / (a['efficiency'] * ded['workers']):,.0f} s of passes, "
            f"{ded['hours']:.2f} hours in all"
            + (f" ({sh['workers']} workers if each ran only as fast as on this shared machine, "
               f"{sh['hours']:.2f} hours);" if sh["workers"] else ";"),
            f"- recommended: **{2 * ded['workers']} workers**, twice the minimum, for the "
            "assumptions below (a cold disk, slower cores, stragglers): "
            f"{(a['driver'] + ded['worker_seconds'] / (a['efficiency'] * 2 * ded['workers'])) / HOUR:.2f} "
            "hours by the same arithmetic;",
            f"- worker size: at most {a['worker_peak_rss'] / gb:.2f} GB peak resident per "
            "worker at any size measured (a partition's needs, not the platform's); give each **1 core and 1.5 GB** (a Dask "
            "worker is paused at 80% of its memory limit and restarted at 95%): "
            f"{2 * ded['workers']} x 1.5 = {2 * ded['workers'] * 1.5:.0f} GB for the workers;",
            f"- driver: {a['driver_rss'] / gb:.1f} GB peak at 10^7 from the line through the "
            f"sizes' driver peaks ({a['driver_rss_per_million'] / gb:.2f} GB per million "
            "accounts), and one core;",
            f"- disk: {a['disk_bytes'] / gb:.0f} GB of Parquet input at 10^7 "
            f"({big['disk_bytes'] / gb:.2f} GB measured at {big['n_accounts']:,}), each file "
            "read twice (once per pass).",
        ]
    lines += [
        "",
        "Assumptions: a partition's cost depends on its size, not on how many partitions "
        "there are (each task reads only its own file; pass 2 receives the same few-kilobyte "
        "totals at any size); a dedicated core runs a partition in its measured CPU time; the "
        "input sits where every worker reads it at local-disk speed (workers on several "
        "machines add the transfer of each partition's few megabytes, which this loopback run "
        "does not measure); the driver's statistics grow linearly in accounts (its one sort for "
        "the false-discovery step is n log n: a little more). Generating the data is not part "
        "of the hour (an audit reads data that exist); on the same workers it would add about "
        f"{a['partitions'] * big['steps']['simulate']['cpu_mean'] / (ded['workers'] or 1) / 60:.0f} "
        "minutes.",
        "",
        "Run: `python benchmarks/audit_dask_benchmark.py --sizes 100000 200000 300000 1000000` "
        "(generated partitions under `/tmp/dask/`, deleted after each size; sizes run one at a "
        "time are kept in the results file and the section is written from all of them).",
        "",
    ]
    section = "\n".join(lines)
    readme = HERE / "README.md"
    text = readme.read_text()
    start = text.find("## Audit on a Dask cluster (")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:  # after the audit's own section
        at = text.find("## Audit (")
        end = text.find("\n## ", at + 1) if at >= 0 else -1
        text = (text[:end + 1] + section + "\n" + text[end + 1:]) if end >= 0 \
            else text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--root", type=Path, default=Path("/tmp/dask"))
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--from-results", action="store_true")
    args = ap.parse_args()
    if args.from_results:
        write_readme(json.loads(RESULTS.read_text()))
        return
    import distributed

    args.root.mkdir(parents=True, exist_ok=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = {"distributed": distributed.__version__, "runs": []}
    if RESULTS.exists():  # keep sizes measured before (one size at a time fits the 15 minutes)
        old = json.loads(RESULTS.read_text())
        results["runs"] = [r for r in old.get("runs", []) if r["n_accounts"] not in args.sizes]
        for key in ("previous", "memory_note"):  # figures from before a fix; a note on them
            if key in old:
                results[key] = old[key]
    for n in sorted(args.sizes):
        print(f"{n:,} accounts x {args.days} days on {args.workers} Dask workers ...", flush=True)
        r = run_size(n, args.days, args.workers, args.root, args.seed)
        print(f"  audit {r['audit_seconds']:.0f} s (simulation {r['stages']['simulate']:.0f} s), "
              f"per partition {r['steps']['pass1']['mean'] + r['steps']['pass2']['mean']:.2f} s, "
              f"peak per worker {max(r['worker_peak_rss'].values()) / 1e9:.2f} GB, load "
              f"{r['load_before'][0]:.1f} -> {r['load_after'][0]:.1f}", flush=True)
        results["runs"].append(r)
        results["runs"].sort(key=lambda x: x["n_accounts"])
        RESULTS.write_text(json.dumps(results, indent=2))
    if not args.no_readme:
        write_readme(results)


if __name__ == "__main__":
    main()
