"""The audit's false-discovery rate over seeds of the simulated platform, per reference.

For each scenario of :mod:`butfor.audit_sim` (the platform ``butfor audit
--simulate`` makes, the same without the group shock, and with individual hits
only) and each reference (platform, group, none), the audit runs on ``--seeds``
seeded platforms of ``--accounts`` accounts and every flag is checked against
the simulator's truth. Two proportions per audit: ``fdr`` counts a flag as
false when the account's true audit effect (its injected shift minus its
reference's typical shift, :func:`butfor.audit_sim.true_estimand`) is zero or
has the other sign; ``unaffected`` counts every flag on an account that was not
individually hit (the measure of issue 13; it equals ``fdr`` in the cells
marked "exact nulls", where an unhit account's true effect is exactly zero).
Each is averaged over seeds (FDR = E[FDP], FDP = 0 when nothing is flagged),
with its Monte-Carlo standard error (sd over seeds / sqrt(seeds)).

The study itself is :func:`fdr_study` in tests/test_audit_fdr.py (the slow
test runs it at CI size). ``--write`` replaces the section "## Audit false
discoveries" of benchmarks/README.md.

Run: ``/work/venv/bin/python benchmarks/audit_fdr.py --seeds 50 --accounts 2000``
(about 5 minutes on the 2-core machine).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from test_audit_fdr import fdr_study, summarise  # noqa: E402

TITLE = "## Audit false discoveries (`audit_fdr.py`)"


def markdown(table, *, accounts: int, seeds: int, alpha: float, commit: str) -> str:
    lines = [
        "| scenario | reference | exact nulls | flagged | FDR (MC se) | FDR among unaffected (MC se) | power |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in table.itertuples():
        lines.append(f"| {r.scenario} | {r.reference} | {'yes' if r.exact_nulls else 'no'} | "
                     f"{r.flagged:.0f} | {r.fdr:.3f} ({r.fdr_se:.3f}) | "
                     f"{r.fdr_unaffected:.3f} ({r.fdr_unaffected_se:.3f}) | {r.power:.2f} |")
    head = (f"{accounts:,} simulated accounts x 365 days, seeds 0-{seeds - 1}, nominal "
            f"false-discovery rate {alpha:g}, commit {commit}.")
    tail = ("What each column counts, why, and the table before the fix: docs/audit.md. Run: "
            f"`/work/venv/bin/python benchmarks/audit_fdr.py --seeds {seeds} "
            f"--accounts {accounts} --write`.")
    return "\n".join([head, "", *lines, "", tail])


def write_section(body: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    section = f"{TITLE}\n\n{body}\n"
    start = text.find(TITLE)
    if start >= 0:
        end = text.find("\n## ", start + len(TITLE))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--write", action="store_true", help="rewrite the README section")
    args = ap.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        rows = fdr_study(args.accounts, range(args.seeds), Path(work), alpha=args.alpha)
    body = markdown(summarise(rows), accounts=args.accounts, seeds=args.seeds,
                    alpha=args.alpha, commit=commit)
    print(body)
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.write:
        write_section(body)


if __name__ == "__main__":
    main()
