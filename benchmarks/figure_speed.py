"""butfor's SVG writer against matplotlib's SVG on the same scenes (issue 18).

Every figure of one results.json (default: the demo's, made by ``butfor demo`` into a
temporary folder) is built once as a scene (``report.scenes.scene``); then, in this
process, alternating per figure, ``--repeats`` times each:

- **ours**: ``report.svgwriter.write_svg(scene)``, the report's figure;
- **matplotlib SVG**: the same scene drawn by ``report.mplscene`` (axes placed by our
  layout: no layout engine, no tight bounding box) and saved with ``savefig(format="svg")``;
- **matplotlib PNG**: the same figure saved as PNG at 150 dpi (what ``--png`` writes).

Per figure the median over repeats, CPU time (``time.process_time``); the table gives
the sum over figures and the ratio. Building the scenes and the imports are timed
once each (matplotlib's import in a fresh process), and the load average is printed
before and after, since the machine is shared.

Run: ``PYTHONPATH=src /work/venv/bin/python benchmarks/figure_speed.py
[--results results.json] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_results(into: Path) -> Path:
    out = into / "demo"
    subprocess.run([sys.executable, "-m", "butfor", "demo", "--out", str(out), "--store",
                    str(into / "s.duckdb")], check=True, stdout=subprocess.DEVNULL)
    return out / "results.json"


def fresh_import(code: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu(job) -> float:
    start = time.process_time()
    job()
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="butfor-figure-speed-") as tmp:
        results_path = args.results or demo_results(Path(tmp))
        results = json.loads(results_path.read_text(encoding="utf-8"))

    import matplotlib

    from butfor.report import mplscene
    from butfor.report.plotdata import figures_for
    from butfor.report.scenes import scene
    from butfor.report.svgwriter import write_svg

    plots = figures_for(results)
    start = time.process_time()
    scenes = [scene(p) for p in plots]
    build = time.process_time() - start

    def ours(s):
        return lambda: write_svg(s)

    def mpl(s, fmt):
        def job():
            with matplotlib.rc_context(mplscene._rc()):
                fig = mplscene._figure(s)
                out = io.BytesIO() if fmt == "png" else io.StringIO()
                fig.savefig(out, format=fmt, dpi=150 if fmt == "png" else 100,
                            metadata={"Software": None} if fmt == "png" else {"Date": None})
        return job

    mpl(scenes[0], "svg")()  # matplotlib's first text draw reads the font list: not timed
    per = {"ours": [], "matplotlib SVG": [], "matplotlib PNG": []}
    for s in scenes:
        times = {k: [] for k in per}
        for r in range(args.repeats):
            order = list(per) if r % 2 == 0 else list(per)[::-1]
            for k in order:
                job = ours(s) if k == "ours" else mpl(s, "svg" if "SVG" in k else "png")
                times[k].append(cpu(job))
        for k in per:
            per[k].append(statistics.median(times[k]))
    sizes = [len(write_svg(s)) for s in scenes]
    imp = fresh_import("import matplotlib.figure, matplotlib.backends.backend_svg, "
                       "matplotlib.backends.backend_agg")
    ours_imp = fresh_import("import butfor.report.svgwriter, butfor.report.scenes")
    load_after = os.getloadavg()
    total = {k: sum(v) for k, v in per.items()}
    n = len(scenes)
    print(f"{n} figures of {results_path.name}; {sys.version.split()[0]}, matplotlib "
          f"{matplotlib.__version__}; median of {args.repeats} per figure, CPU seconds; "
          f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    print("\n| renderer (same scenes) | all figures, s | per figure, ms | vs ours |")
    print("| --- | ---: | ---: | ---: |")
    for k, v in total.items():
        print(f"| {k} | {v:.3f} | {1000 * v / n:.1f} | {v / total['ours']:.0f}× |")
    print(f"\nbuilding the {n} scenes: {build:.3f} s; our SVG {sum(sizes) / n / 1000:.0f} kB a "
          f"figure on average; imports in a fresh process (wall, median of 3): matplotlib's "
          f"figure, SVG and Agg {imp:.2f} s, butfor's scenes and SVG writer {ours_imp:.2f} s")


if __name__ == "__main__":
    main()
