"""`butfor demo`: the story in DESIGN.md, told on the simulated platform.

A public figure (fictional) among 300 peer accounts in two groups; the
platform changes owners and then its verification rules; her reach falls by
more than everyone else's. The demo stores the panel, runs every analysis the
demo case asks for, writes results.json and report.html, and prints a short
table next to the ground truth the simulator injected.
"""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console

from butfor.case import parse_case
from butfor.ingest_report import IngestReport
from butfor.pipeline import (
    InputFile,
    print_summary,
    run_case,
    sha256_panel,
    sha256_text,
    write_outputs,
)
from butfor.simulate import PlatformConfig, simulate_platform


def demo_case_text() -> str:
    return resources.files("butfor").joinpath("demo_case.toml").read_text(encoding="utf-8")


DEMO_DATASET = "demo"  # the name the demo stores its panel under
RERUN_COMMAND = "butfor run case.toml --out ."


def written_case_text(seed: int) -> str:
    """The demo case as the demo writes it out: its seed, and the stored panel to read.

    ``butfor run case.toml --out .`` in the output folder (with the demo's
    ``--store``) reruns it to the same results.json, byte for byte; that is
    the command its provenance records.
    """
    text = re.sub(r"(?m)^seed = \d+$", f"seed = {seed}", demo_case_text(), count=1)
    data = (f'[data]\ndataset = "{DEMO_DATASET}"  # the panel `butfor demo` stored\n\n')
    return text.replace("[subject]\n", data + "[subject]\n", 1)


def run_demo(*, out: Path, seed: int, store_path: Path, console: Console) -> dict[str, Path]:
    import tomllib

    from butfor.parallel import run_helper

    started = time.perf_counter()
    text = written_case_text(seed)
    case = parse_case(tomllib.loads(text), text, "case.toml")
    with run_helper():  # one helper process for the methods
        return _run_demo(case, text, out=out, seed=seed, store_path=store_path,
                         console=console, started=started)


def _run_demo(case, text: str, *, out: Path, seed: int, store_path: Path, console: Console,
              started: float) -> dict[str, Path]:
    from butfor.parallel_methods import warm_methods

    warm_methods(list(case.methods))  # the helper imports them while the platform is made
    console.print(f"Simulating the demo platform (seed {seed}) ...")
    sim = simulate_platform(PlatformConfig(), seed=seed)
    panel = sim.panel
    report = IngestReport()
    source = report.add_source(f"simulated platform (seed {seed})", sha256_panel(panel),
                               "simulation")
    source.rows_read = source.rows_kept = len(panel.data)

    from butfor.store import Store

    Store(store_path).write_panel(panel, report, name=DEMO_DATASET, mode="replace")
    # read back as `butfor run` will, so that the rerun sees the very same panel
    panel = Store(store_path).read_panel(DEMO_DATASET)
    report = Store(store_path).read_report(DEMO_DATASET)

    inputs = [InputFile(s.file, s.sha256) for s in report.sources]
    inputs.append(InputFile("case.toml", sha256_text(text)))
    output = run_case(case, panel, report, inputs=inputs, case_toml=text,
                      command=RERUN_COMMAND, console=console)
    written = write_outputs(output, out)
    (out / "case.toml").write_text(text, encoding="utf-8")

    print_summary(output.results, console)
    _print_truth(sim, console)
    console.print(f"\nDone in {time.perf_counter() - started:.1f} s. Output in {out}/:")
    for label, path in written.items():
        console.print(f"  {label:<8} {path}")
    console.print(f"  {'case':<8} {out / 'case.toml'} (in {out}/, `{RERUN_COMMAND} "
                  f"--store {store_path.resolve()}` reruns it to the same results.json)")
    return written


def _print_truth(sim, console: Console) -> None:
    truth = sim.truth
    first = truth.events[0]
    post = np.asarray(truth.dates >= np.datetime64(first.date))
    targeted = truth.subject_effect("no_targeting")[post]
    total = truth.subject_effect("no_events")[post]
    console.print(
        f"Ground truth (simulated): from the {first.name} on, the targeted shocks cost "
        f"{sim.config.subject_name} {-targeted.mean():,.0f} impressions a day "
        f"({targeted.sum() / truth.impressions_no_targeting[post].sum():+.1%}); with the "
        f"platform-wide shocks, {-total.mean():,.0f} a day "
        f"({total.sum() / truth.impressions_no_events[post].sum():+.1%})."
    )
