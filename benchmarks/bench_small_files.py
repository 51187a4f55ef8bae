"""Small-file ingest: the fixed cost of reading one small export, per reader.

A user's ingest is often many small exports (a week of one platform's CSV,
a handful of rows each), and the reader property test reads 26,000 of them,
so what matters there is the cost per file, not per row. For each registered
reader this reads the test suite's own fixture of it (tests/export_fixtures.py:
1 to 32 rows) with ``read_files`` and builds the Panel, as the property test
does, and then reads 100 five-row CSVs of the long layout in one call.

Each tree (``--src``, one or more ``src`` folders, e.g. a checkout of the
previous commit and this one) runs in its own process, alternating rounds, and
the figure is CPU time (``time.process_time``) per read, the median of the
rounds, so that other processes on a shared machine disturb it less. Usage::

    python benchmarks/bench_small_files.py --src /path/before/src --src src [--rounds 5]

The results (machine, load average, per reader) are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"


def measure(repeat: int) -> dict[str, float]:
    """In this process: ms of CPU per read, per reader, then for 100 files in one call."""
    sys.path.insert(0, str(TESTS))
    import export_fixtures as fx
    import test_readers_property as prop
    from butfor.panel import Panel
    from butfor.readers import READERS, read_files

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(READERS):
            folder = Path(tmp) / name
            folder.mkdir()
            path, options = prop._seed(name, folder)

            def once(path=path, name=name, options=options) -> None:
                result = read_files([path], format=name, **options)
                Panel.from_frame(result.frame, result.units, report=result.report)

            once()  # imports and caches warm
            t0 = time.process_time()
            for _ in range(repeat):
                once()
            out[name] = (time.process_time() - t0) / repeat * 1000
        many = Path(tmp) / "many"
        many.mkdir()
        paths = [fx.write_csv(many / f"u{i:03d}.csv", ["unit", "date", "followers"],
                              [[f"u{i:03d}", f"2024-01-0{d + 1}", str(100 + i + d)]
                               for d in range(5)]) for i in range(100)]
        read_files(paths, format="long")
        t0 = time.process_time()
        for _ in range(max(repeat // 10, 1)):
            result = read_files(paths, format="long")
            Panel.from_frame(result.frame, result.units, report=result.report)
        out["100 files, one call"] = (time.process_time() - t0) / max(repeat // 10, 1) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="append", required=True, help="a src folder (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=30, help="reads per reader per round")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args.repeat)))
        return
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in args.src}
    for _ in range(args.rounds):
        for src in args.src:  # alternate, so load changes fall on both alike
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            done = subprocess.run([sys.executable, __file__, "--worker", "--src", src,
                                   "--repeat", str(args.repeat)], env=env, check=True,
                                  capture_output=True, text=True)
            runs[src].append(json.loads(done.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {args.rounds} rounds x "
          f"{args.repeat} reads; ms of CPU per read (median of rounds)")
    names = list(runs[args.src[0]][0])
    header = "| reader | " + " | ".join(args.src) + (" | ratio |" if len(args.src) == 2 else " |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    total = {s: 0.0 for s in args.src}
    for name in names:
        med = {s: statistics.median(r[name] for r in runs[s]) for s in args.src}
        if name != "100 files, one call":
            for s in args.src:
                total[s] += med[s]
        cells = " | ".join(f"{med[s]:.1f}" for s in args.src)
        ratio = f" | {med[args.src[0]] / med[args.src[1]]:.2f}x" if len(args.src) == 2 else ""
        print(f"| {name} | {cells}{ratio} |")
    cells = " | ".join(f"{total[s]:.1f}" for s in args.src)
    ratio = f" | {total[args.src[0]] / total[args.src[1]]:.2f}x" if len(args.src) == 2 else ""
    print(f"| all 13 readers, one read each | {cells}{ratio} |")


if __name__ == "__main__":
    main()
