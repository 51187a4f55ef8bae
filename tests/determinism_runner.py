"""Run one part of butfor in a fresh process and print its result at full precision.

``python tests/determinism_runner.py N_PLACEBO`` runs the demo case's event study
and group comparison (on the simulated demo platform) with N_PLACEBO placebo
accounts, and a small audit; both in one process, to pay the imports once.
Floats are printed with ``repr`` (every bit), not results.json's 12 digits, so a
drift in the last bit shows instead of hiding behind rounding.

test_determinism.py starts this under different hash seeds, CPU affinities and
thread settings and compares the bytes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def _plain(obj):
    """JSON types at full precision (NaN as a string, so it compares equal to itself)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return _plain(obj.to_dict())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return repr(float(obj))
    return obj if obj is None or isinstance(obj, str) else str(obj)


def event_study(n_placebo: int) -> object:
    import tomllib

    from butfor.analyses import event_study as es
    from butfor.case import parse_case
    from butfor.demo import demo_case_text
    from butfor.simulate import PlatformConfig, simulate_platform

    text = demo_case_text()
    raw = tomllib.loads(text)
    raw["methods"] = ["event_study"]
    raw["event_study"]["n_placebo"] = n_placebo
    case = parse_case(raw, text, "demo_case.toml")
    panel = simulate_platform(PlatformConfig(), seed=case.case.seed).panel
    from butfor.threads import single_threaded

    # as the pipeline runs it (run_case pins every backend's threads)
    with single_threaded():
        return es.analyses_for_case(case, panel, seed=case.case.seed)


def audit() -> object:
    from butfor.audit import AuditSpec, run_audit
    from butfor.audit_sim import AuditSimConfig, simulate_audit_panel

    cfg = AuditSimConfig(n_accounts=600, days=120, event_day=80, accounts_per_partition=150,
                         affected_share={"left": 0.2, "right": 0.05})
    with tempfile.TemporaryDirectory() as tmp:
        panel = simulate_audit_panel(cfg, Path(tmp) / "sim", seed=5)
        res = run_audit(panel, AuditSpec(event=cfg.event_date, controls=("pageviews",)),
                        Path(tmp) / "out", report=False)
        # the tables as values (a Parquet file's bytes carry writer metadata, not results)
        import pandas as pd

        return {p.name: pd.read_parquet(p).to_dict(orient="list")
                for p in sorted(Path(res.out).glob("*.parquet"))}


if __name__ == "__main__":
    result = {"event_study": event_study(int(sys.argv[1])), "audit": audit()}
    sys.stdout.write(json.dumps(_plain(result), sort_keys=True))
