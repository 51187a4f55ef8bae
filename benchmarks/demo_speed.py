"""`butfor demo` end to end at two commits, run alternately in one run (issue 18).

Each commit's ``src/`` is exported with ``git archive`` into a temporary folder and
run as its own process (``python -m butfor demo``, ``PYTHONPATH`` set to it, its own
output folder and store), the two commits alternating, ``--repeats`` times each.
Per run: wall time, CPU time (user + system of the process and its helpers, from
``wait4``), peak resident memory, the stage timings of ``run.json``. The results.json
of every run are compared with the first one's, every key but ``provenance`` (which
names the butfor source), so a speed-up that changed a number shows here.

Run: ``/work/venv/bin/python benchmarks/demo_speed.py --before <commit> --after <commit>``
(``--after`` defaults to the working tree's ``src/``).
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

ROOT = Path(__file__).resolve().parents[1]


def export(commit: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def results_digest(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("provenance", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def run_once(src: Path, work: Path) -> dict:
    out, store = work / "out", work / "store.duckdb"
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "butfor", "demo", "--out", str(out),
                             "--store", str(store)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"butfor demo failed with {src}:\n{err}")
    stages = json.loads((out / "run.json").read_text())["timings_seconds"]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_gb": usage.ru_maxrss / 1024**2, "stages": stages,
            "results": results_digest(out / "results.json")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=None, help="a commit; default: this tree's src/")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="butfor-demo-speed-") as tmp:
        tmp = Path(tmp)
        trees = {"before": export(args.before, tmp / "before"),
                 "after": export(args.after, tmp / "after") if args.after else ROOT / "src"}
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        load = [os.getloadavg()[0]]
        for r in range(args.repeats):
            order = ("before", "after") if r % 2 == 0 else ("after", "before")
            for name in order:
                work = tmp / f"{name}-{r}"
                work.mkdir()
                runs[name].append(run_once(trees[name], work))
                load.append(os.getloadavg()[0])
                m = runs[name][-1]
                print(f"{name} run {r + 1}: wall {m['wall']:.1f} s, CPU {m['cpu']:.1f} s, "
                      f"peak {m['rss_gb']:.2f} GB, results {m['results']}", flush=True)
    digests = {m["results"] for v in runs.values() for m in v}
    med = {k: {f: statistics.median(m[f] for m in v) for f in ("wall", "cpu", "rss_gb")}
           for k, v in runs.items()}
    print(f"\nbefore {args.before}, after {args.after or 'working tree'}; "
          f"{args.repeats} runs each, alternating; load average (1 min) "
          f"{min(load):.1f}-{max(load):.1f} during the run; results.json digests "
          f"(all but provenance): {', '.join(sorted(digests))}")
    print("\n| run | median wall s | all wall (s) | median CPU s | peak memory (GB) |")
    print("| --- | ---: | --- | ---: | ---: |")
    for k, v in runs.items():
        walls = ", ".join(f"{m['wall']:.1f}" for m in v)
        print(f"| {k} | {med[k]['wall']:.1f} | {walls} "
              f"| {med[k]['cpu']:.1f} | {med[k]['rss_gb']:.2f} |")
    print(f"\nratio after/before: wall {med['after']['wall'] / med['before']['wall']:.2f}, "
          f"CPU {med['after']['cpu'] / med['before']['cpu']:.2f}")
    stages = sorted({s for v in runs.values() for m in v for s in m["stages"]})
    print("\n| stage (run.json, median s) | before | after |")
    print("| --- | ---: | ---: |")
    for s in stages:
        b = statistics.median(m["stages"].get(s, 0.0) for m in runs["before"])
        a = statistics.median(m["stages"].get(s, 0.0) for m in runs["after"])
        print(f"| {s} | {b:.2f} | {a:.2f} |")


if __name__ == "__main__":
    main()
