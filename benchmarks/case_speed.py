"""Issue 18's three targets end to end, at two commits, run alternately in one run.

- **creator**: one creator's case, ``butfor run benchmarks/creator/case.toml`` (her own
  series, one off-platform control read from the cache, STS, change points, damages, the
  report); target under 3 s.
- **demo**: ``butfor demo``; target under 15 s.
- **report**: ``butfor report results.json --no-pdf`` on the demo's results (39 figures
  and the page); target under 2 s. Since issue 18's SVG writer the figures are SVG files
  only; before it each was written as SVG and PNG.
- **report_png**: the same with every figure as a PNG file too (``--png`` where the commit
  has it; a commit without it wrote PNG files always), for the like-for-like comparison.

Each commit's ``src/`` is exported with ``git archive`` and run as its own process
(``python -m butfor``, ``PYTHONPATH`` set to it, its own output folder and store), the
two commits alternating, ``--repeats`` times each. Per run: wall time
(``time.perf_counter`` around the process), CPU time (user + system of the process
and its helper process, from ``wait4``), peak resident memory of the largest single
process, the load average just before. results.json is compared between all runs of
a task (every key but ``provenance``, which names the command and the output folder),
and the report's figure files: every run of one commit must give the same files (a
second digest for one commit is reported as a failure of determinism), while the two
commits' files differ whenever their drawing does (expected across the SVG writer of
issue 18, which changed every figure's bytes and dropped the default PNG files), which
the table says rather than fails on.

Floors, measured in the same run: a bare interpreter (``python -c pass``), and the
imports a creator's case cannot avoid (its CLI, pipeline, STS, change points, damages
and, for drawing, matplotlib), each in a fresh process.

Run: ``/work/venv/bin/python benchmarks/case_speed.py --before <commit>`` (``--after``
defaults to the working tree's ``src/``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo_speed import export, results_digest  # one copy: a commit's src/, results.json's digest

ROOT = Path(__file__).resolve().parents[1]
CREATOR = ROOT / "benchmarks" / "creator" / "case.toml"
CASSETTE = ROOT / "examples" / "wikipedia-control" / "cassette.json"

FLOOR_IMPORTS = {
    "interpreter (python -c pass)": "pass",
    "a creator's case: CLI, pipeline, STS, change points, damages": (
        "import butfor.cli, butfor.pipeline, butfor.analyses.sts, butfor.analyses.changepoint, "
        "butfor.damages.from_analyses, butfor.claims"),
    "the report: butfor.report's page and figures": (
        "import butfor.report.figures, butfor.report.html"),
    "matplotlib's figure, SVG and Agg (PNG files, .plot(); before issue 18 every figure)": (
        "import matplotlib.figure, matplotlib.backends.backend_svg, "
        "matplotlib.backends.backend_agg"),
}


def figures_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def timed(args: list[str], src: Path, env_extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), **(env_extra or {})}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed with {src}:\n{err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_gb": usage.ru_maxrss / 1024**2, "load": load}


def creator(src: Path, work: Path) -> dict:
    # one store for both commits: its cache holds the control (the same bytes for both)
    out, store = work / "out", work.parents[1] / "creator-store" / "store.duckdb"
    m = timed(["-m", "butfor", "run", str(CREATOR), "--out", str(out), "--store", str(store)],
              src)
    m["stages"] = json.loads((out / "run.json").read_text())["timings_seconds"]
    m["results"] = results_digest(out / "results.json")
    m["figures"] = figures_digest(out / "figures")
    return m


def demo(src: Path, work: Path) -> dict:
    out = work / "out"
    m = timed(["-m", "butfor", "demo", "--out", str(out), "--store", str(work / "s.duckdb")],
              src)
    m["stages"] = json.loads((out / "run.json").read_text())["timings_seconds"]
    m["results"] = results_digest(out / "results.json")
    m["figures"] = figures_digest(out / "figures")
    return m


def has_png_option(src: Path) -> bool:
    """Whether this commit's ``butfor report`` takes ``--png`` (before it, PNG always)."""
    return '"--png"' in (src / "butfor" / "cli.py").read_text(encoding="utf-8")


def report(src: Path, work: Path, results: Path, png: bool = False) -> dict:
    out = work / "out"
    extra = ["--png"] if png and has_png_option(src) else []
    m = timed(["-m", "butfor", "report", str(results), "--out", str(out), "--no-pdf", *extra],
              src)
    m["stages"] = {}
    m["results"] = ""
    m["figures"] = figures_digest(out / "figures")
    return m


def floors(src: Path, repeats: int) -> dict[str, float]:
    out = {}
    for label, code in FLOOR_IMPORTS.items():
        out[label] = statistics.median(timed(["-c", code], src)["wall"] for _ in range(repeats))
    return out


def table(task: str, runs: dict[str, list[dict]]) -> list[str]:
    med = {k: {f: statistics.median(m[f] for m in v) for f in ("wall", "cpu", "rss_gb")}
           for k, v in runs.items()}
    before = sorted({m['figures'] for m in runs['before']})
    after = sorted({m['figures'] for m in runs['after']})
    if len(before) > 1 or len(after) > 1:
        same = "NOT DETERMINISTIC: one commit gave different figure files between runs"
    elif before == after:
        same = "the same files before and after"
    else:
        same = ("before and after differ, as expected when the commits draw differently "
                "(issue 18's SVG writer changed every figure)")
    lines = [f"\n{task}: results.json digests {sorted({m['results'] for v in runs.values() for m in v})}, "
             f"figure files before {before} after {after}: {same}",
             "", "| run | median wall s | all wall (s) | median CPU s | peak memory (GB) "
             "| load average (1 min) |", "| --- | ---: | --- | ---: | ---: | --- |"]
    for k, v in runs.items():
        walls = ", ".join(f"{m['wall']:.2f}" for m in v)
        loads = f"{min(m['load'] for m in v):.1f}-{max(m['load'] for m in v):.1f}"
        lines.append(f"| {k} | {med[k]['wall']:.2f} | {walls} | {med[k]['cpu']:.2f} "
                     f"| {med[k]['rss_gb']:.2f} | {loads} |")
    lines.append(f"\nratio after/before: wall {med['after']['wall'] / med['before']['wall']:.2f}, "
                 f"CPU {med['after']['cpu'] / med['before']['cpu']:.2f}")
    stages = sorted({s for v in runs.values() for m in v for s in m["stages"]})
    if stages:
        lines += ["", "| stage (run.json, median s) | before | after |", "| --- | ---: | ---: |"]
        for s in stages:
            b = statistics.median(m["stages"].get(s, 0.0) for m in runs["before"])
            a = statistics.median(m["stages"].get(s, 0.0) for m in runs["after"])
            lines.append(f"| {s} | {b:.2f} | {a:.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=None, help="a commit; default: this tree's src/")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--demo-repeats", type=int, default=3)
    ap.add_argument("--tasks", nargs="+", default=["creator", "report", "demo"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="butfor-case-speed-") as tmp:
        tmp = Path(tmp)
        trees = {"before": export(args.before, tmp / "before"),
                 "after": export(args.after, tmp / "after") if args.after else ROOT / "src"}
        for name, src in trees.items():  # the control into the store's cache, untimed
            store = tmp / "creator-store" / "store.duckdb"
            timed(["-m", "butfor", "run", str(CREATOR), "--fetch", "--out",
                   str(tmp / name / "fetch"), "--store", str(store)], src,
                  {"BUTFOR_CASSETTE": str(CASSETTE)})
        # the report's input: one demo results.json (the same for every run of both)
        seed_run = tmp / "seed"
        seed_run.mkdir()
        demo(trees["before"], seed_run)
        results = seed_run / "out" / "results.json"
        lines = [f"before {args.before}, after {args.after or 'working tree'}; "
                 f"{sys.version.split()[0]}, {os.cpu_count()} cores"]
        for task in args.tasks:
            repeats = args.demo_repeats if task == "demo" else args.repeats
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for r in range(repeats):
                for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    work = tmp / name / f"{task}-{r}"
                    work.mkdir(parents=True)
                    m = (report(trees[name], work, results) if task == "report"
                         else report(trees[name], work, results, png=True)
                         if task == "report_png"
                         else creator(trees[name], work) if task == "creator"
                         else demo(trees[name], work))
                    runs[name].append(m)
                    print(f"{task} {name} {r + 1}: wall {m['wall']:.2f} s, CPU {m['cpu']:.2f} s,"
                          f" load {m['load']:.1f}", flush=True)
            lines += table(task, runs)
        lines += ["", "| floor (fresh process, median wall s) | before | after |",
                  "| --- | ---: | ---: |"]
        fb, fa = floors(trees["before"], args.repeats), floors(trees["after"], args.repeats)
        for label in FLOOR_IMPORTS:
            lines.append(f"| {label} | {fb[label]:.2f} | {fa[label]:.2f} |")
        lines.append(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
