"""The audit's plan (calendar, groups, windows) and its resume manifest.

The plan is everything a partition needs besides its own rows, as plain JSON
values, so it pickles to any worker; ``audit.json`` records it with the input
files' sizes, and a resumed audit refuses an output folder made with other
settings or other input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from butfor.audit.files import write_text
from butfor.audit.partitions import Partition
from butfor.audit.settings import FORMAT_VERSION, AuditSpec
from butfor.errors import DataError, InputError
from butfor.sql import identifier


def make_plan(source: Path, parts: list[Partition], spec: AuditSpec) -> dict:
    import duckdb

    files = [p for part in parts for p in part.paths]
    units_path = source / "units.parquet"
    units_path = str(units_path.resolve()) if units_path.exists() else None
    con = duckdb.connect()
    try:
        try:
            lo, hi = con.execute("SELECT min(date), max(date) FROM read_parquet(?)",
                                 [files]).fetchone()
        except duckdb.Error as err:  # a truncated or damaged input file: say which
            first = str(err).strip().splitlines()[0][:300]
            raise InputError(source, f"holds a Parquet partition that cannot be read ({first})",
                             "write that partition again (a truncated copy cannot be "
                             "repaired here)") from None
        if lo is None:
            raise DataError(f"{source}: the panel has no rows")
        groups: list[str] = []
        gcol = spec.group_column
        if gcol:
            if units_path and gcol in pq.read_schema(units_path).names:
                q = (f"SELECT DISTINCT CAST({identifier(gcol)} AS VARCHAR) FROM read_parquet(?) "
                     f"WHERE {identifier(gcol)} IS NOT NULL")
                groups = sorted(r[0] for r in con.execute(q, [units_path]).fetchall())
            elif gcol in pq.read_schema(files[0]).names:
                q = (f"SELECT DISTINCT CAST({identifier(gcol)} AS VARCHAR) FROM read_parquet(?) "
                     f"WHERE {identifier(gcol)} IS NOT NULL")
                groups = sorted(r[0] for r in con.execute(q, [files]).fetchall())
            elif spec.reference == "group" or spec.reference_group or spec.base_group:
                raise InputError(source, f"has no group column '{gcol}'",
                                 "add it to units.parquet or name another with --group-column")
        ev_lo = ev_hi = None
        if spec.event_column:
            where = units_path if (units_path and spec.event_column
                                   in pq.read_schema(units_path).names) else files
            ev_lo, ev_hi = con.execute(
                f"SELECT min({identifier(spec.event_column)}), "
                f"max({identifier(spec.event_column)}) FROM read_parquet(?)",
                [where]).fetchone()
    finally:
        con.close()
    start = pd.Timestamp(lo).normalize()
    days = int((pd.Timestamp(hi).normalize() - start).days) + 1
    if spec.event is not None:
        event_index = int((pd.Timestamp(spec.event) - start).days)
        if not 0 < event_index < days:
            raise DataError(f"the event date {spec.event} is not inside the panel "
                            f"({start:%Y-%m-%d} to {pd.Timestamp(hi):%Y-%m-%d}); pick a date with "
                            "days before and after it")
        first, last = event_index, event_index
    else:
        if ev_lo is None:
            raise DataError(f"no account has a date in '{spec.event_column}'")
        first = int((pd.Timestamp(ev_lo) - start).days)
        last = int((pd.Timestamp(ev_hi) - start).days)
        event_index = first
    n_pre = spec.pre_days or max(1, last)
    n_post = spec.post_days or max(1, days - first)
    for name in (spec.reference_group, spec.base_group):
        if name is not None and name not in groups:
            raise InputError(source, f"has no group {name!r}",
                             f"choose one of {', '.join(groups) or '(no groups found)'}")
    base = spec.base_group or (groups[0] if groups else None)
    treat_groups = [i for i, g in enumerate(groups) if g != base] if len(groups) >= 2 else []
    return {
        "format": FORMAT_VERSION,
        "spec": spec.to_dict(),
        "start": start.strftime("%Y-%m-%d"),
        "days": days,
        "event_index": event_index,
        "n_pre": int(n_pre),
        "n_post": int(n_post),
        "groups": groups,
        "base_group": base,
        "treat_groups": treat_groups,
        "units_path": units_path,
    }


def _fingerprint(parts: list[Partition]) -> list:
    return [[part.pid, [[p, os.stat(p).st_size] for p in part.paths]] for part in parts]


def check_manifest(out: Path, plan: dict, parts: list[Partition], seed: int) -> None:
    manifest = {"plan": plan, "input": _fingerprint(parts), "seed": seed}
    path = out / "audit.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != json.loads(json.dumps(manifest)):
            raise InputError(out, "holds an audit with other settings or other input",
                             "choose another --out folder or delete this one")
        return
    write_text(path, json.dumps(manifest, indent=2, sort_keys=True))
