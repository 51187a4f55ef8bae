"""Readers: one per export format, a registry, and detection from the header.

::

    detect_format(path)                 -> "socialblade" (from the header alone)
    read(path, format="auto", ...)      -> ReadResult(frame, units, report)
    read_files(paths, format="auto")    -> one ReadResult for several files

``frame`` is long: ``unit``, ``date`` (a calendar day), one float column per
metric under its canonical name (see :mod:`butfor.readers._parse`). ``units``
has ``unit``, ``display_name`` and, where the file says so, ``group``. The
report accounts for every input row: for each file
``rows_read == rows_kept + rows_dropped``.

Formats (``--format`` names):

==============  =========================================================
``long``        generic long CSV / Parquet / JSON lines: unit, date, metrics
``wide``        generic wide: date, then one column per unit (``--metric``)
``socialblade`` Social Blade-style daily stats: username, date, followers...
``x_overview``  X account overview export: one row per day, one account
``x_content``   X per-post content export, summed to account-days
``x_legacy``    legacy per-tweet export (before 2024), summed to account-days
``posts``       generic per-post records (id, created_at, metrics)
``wikimedia``   Wikimedia pageviews: the REST API's JSON, or its items as CSV
==============  =========================================================

Rows that share a (unit, date), within a file or across files, are combined:
values must agree metric by metric (otherwise an InputError names both
lines); a row that adds nothing is dropped with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers import _parse
from butfor.readers._parse import Table, load_table, snake

BOOKKEEPING = ("_table", "_line", "_rows")


@dataclass(frozen=True)
class ReadResult:
    """What a reader returns: the long frame, unit attributes and the report."""

    frame: pd.DataFrame
    units: pd.DataFrame
    report: IngestReport


@dataclass(frozen=True)
class ReadOptions:
    """Settings a reader may need; each reader uses the ones that apply to it."""

    unit: str | None = None  # unit id for single-account exports
    timezone: str | None = None  # IANA zone for post-level exports
    metric: str | None = None  # metric held by a wide file's unit columns
    columns: dict[str, str] = field(default_factory=dict)  # source header -> target name


# A reader takes the loaded tables of its format and returns
# (frame with unit, date, metrics and _table/_line/_rows, units).
ReaderFn = Callable[[list[Table], IngestReport, ReadOptions],
                    tuple[pd.DataFrame, pd.DataFrame]]


@dataclass(frozen=True)
class Reader:
    name: str
    description: str
    detect: Callable[[set[str]], bool]
    read: ReaderFn
    # for layouts the header cannot show (a JSON document): tell from the bytes, load own way
    sniff: Callable[[Path], bool] | None = None
    load: Callable[[Path, IngestReport, str], Table] | None = None


def _registry() -> dict[str, Reader]:
    from butfor.readers import generic, socialblade, wikimedia, x_overview, x_posts

    readers = [
        Reader("x_legacy", "legacy X per-tweet export (tweet_activity_metrics_*.csv)",
               x_posts.detect_legacy, x_posts.read_legacy),
        Reader("x_content", "X per-post content export (account_analytics_content_*.csv)",
               x_posts.detect_content, x_posts.read_content),
        Reader("posts", "generic per-post records (id, created_at, metrics)",
               x_posts.detect_posts, x_posts.read_posts),
        Reader("socialblade", "Social Blade-style daily stats (username, date, followers)",
               socialblade.detect, socialblade.read),
        Reader("x_overview", "X account overview export (account_overview_analytics.csv)",
               x_overview.detect, x_overview.read),
        Reader("wikimedia", "Wikimedia pageviews (REST API JSON, or its items as CSV)",
               wikimedia.detect, wikimedia.read, sniff=wikimedia.sniff, load=wikimedia.load),
        Reader("long", "generic long table: unit, date, one column per metric",
               generic.detect_long, generic.read_long),
        Reader("wide", "generic wide table: date, one column per unit",
               generic.detect_wide, generic.read_wide),
    ]
    return {r.name: r for r in readers}


READERS: dict[str, Reader] = _registry()
FORMATS: tuple[str, ...] = tuple(READERS)


def detect_format(path: str | Path, columns: dict[str, str] | None = None) -> str:
    """The reader name for a file, decided from its header (first match in registry order)."""
    path = Path(path)
    for reader in READERS.values():
        if reader.sniff is not None and reader.sniff(path):
            return reader.name
    header = _parse.header_of(path)
    names = {snake((columns or {}).get(h, h)) for h in header}
    if names <= {"name", "handle"} and "handle" in names:
        raise InputError(
            path, "is a list of handles (Name,Handle), not account data",
            f"pass it as --groups-file LABEL={path.name} to attach group labels", line=1)
    for reader in READERS.values():
        if reader.detect(names):
            return reader.name
    raise InputError(
        path, f"could not tell the format from its header ({', '.join(header)})",
        f"pass --format with one of {', '.join(FORMATS)}, or rename the columns "
        "(a long table needs 'unit' and 'date')", line=1)


def read(path: str | Path, format: str = "auto", **options) -> ReadResult:
    """Read one file (see :func:`read_files`)."""
    return read_files([path], format=format, **options)


def read_files(paths: Sequence[str | Path], format: str = "auto", *,
               unit: str | None = None, timezone: str | None = None,
               metric: str | None = None, columns: dict[str, str] | None = None) -> ReadResult:
    """Read several files into one long frame, each file with its own or the given format.

    Files of one format are read together, so post-level readers can remove
    posts that appear in several overlapping exports.
    """
    if not paths:
        raise InputError(None, "no input files were given", "name at least one export file")
    opts = ReadOptions(unit=unit, timezone=_parse.check_timezone(timezone), metric=metric,
                       columns=dict(columns or {}))
    if format != "auto" and format not in READERS:
        raise InputError(None, f"--format '{format}' is not a reader butfor knows",
                         f"use one of {', '.join(FORMATS)}, or auto")
    report = IngestReport()
    by_format: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        name = format if format != "auto" else detect_format(p, opts.columns)
        by_format.setdefault(name, []).append(p)
    parts, unit_parts, tables_all = [], [], []
    for name, group_paths in by_format.items():
        load = READERS[name].load or load_table
        tables = [load(p, report, name) for p in group_paths]
        for t in tables:
            if opts.columns:
                t.frame = t.frame.rename(columns=opts.columns)
        frame, units = READERS[name].read(tables, report, opts)
        frame = frame.copy()
        frame["_table"] = frame["_table"] + len(tables_all)
        tables_all.extend(tables)
        parts.append(frame)
        unit_parts.append(units)
    frame = pd.concat(parts, ignore_index=True, sort=False)
    frame = _combine(frame, tables_all, report)
    for t in tables_all:
        t.source.rows_kept = t.source.rows_read - t.source.rows_dropped
        t.source.rows_repaired = len(t.repaired_rows)
    report.check()
    units = pd.concat(unit_parts, ignore_index=True, sort=False)
    units = units.drop_duplicates("unit", keep="first").reset_index(drop=True)
    if "display_name" not in units:
        units["display_name"] = units["unit"]
    units["display_name"] = units["display_name"].fillna(units["unit"])
    if "group" not in units:
        units["group"] = None
    units = units[["unit", "display_name", "group",
                   *[c for c in units.columns if c not in ("unit", "display_name", "group")]]]
    metrics = [c for c in frame.columns if c not in ("unit", "date", *BOOKKEEPING)]
    out = frame[["unit", "date", *metrics]].sort_values(["unit", "date"], kind="stable")
    return ReadResult(out.reset_index(drop=True), units, report)


def _combine(frame: pd.DataFrame, tables: list[Table], report: IngestReport) -> pd.DataFrame:
    """One row per (unit, date): agreeing rows merge, repeats are dropped, conflicts raise."""
    key = ["unit", "date"]
    frame = frame.sort_values(["_table", "_line"], kind="stable").reset_index(drop=True)
    dup = frame.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return frame
    metrics = [c for c in frame.columns if c not in (*key, *BOOKKEEPING)]
    d = frame[dup]
    groups = [d["unit"], d["date"]]
    for m in metrics:
        first = d.groupby(groups, sort=False)[m].transform("first")
        clash = (d[m].notna() & first.notna() & (d[m] != first)).to_numpy()
        if clash.any():
            row = d.iloc[int(np.flatnonzero(clash)[0])]
            same = d[(d["unit"] == row["unit"]) & (d["date"] == row["date"]) & d[m].notna()]
            a = same.iloc[0]
            ta, tb = tables[int(a["_table"])], tables[int(row["_table"])]
            where = f"line {int(a['_line'])}" + ("" if ta is tb else f" of {ta.name}")
            raise InputError(
                tb.path,
                f"unit '{row['unit']}' has another row for {row['date']:%Y-%m-%d} ({where}) "
                f"with a different {m} ({_parse._show(a[m])} there, {_parse._show(row[m])} here)",
                "keep one row per unit and day: remove or correct one of them",
                line=tb.line_of(int(row["_line"])), column=tb.metric_columns.get(m, m))
    notna = d[metrics].notna()
    first_value = pd.DataFrame(
        {m: notna[m] & (notna[m].groupby(groups).cumsum() == 1) for m in metrics}
    )
    leader = ~d.duplicated(key, keep="first")
    contributes = first_value.any(axis=1) | leader
    dropped = d[~contributes]
    merged = d[contributes & ~leader]
    for t_index, rows in dropped.groupby("_table"):
        t = tables[int(t_index)]
        report.note(t.name, "dropped",
                    "duplicate (unit, date) row: every value repeats a row that was kept",
                    rows["_line"].astype(int).tolist())
        t.source.rows_dropped += int(rows["_rows"].sum())
    for t_index, rows in merged.groupby("_table"):
        t = tables[int(t_index)]
        report.note(t.name, "aggregated",
                    "combined with another row for the same unit and day (other metrics)",
                    rows["_line"].astype(int).tolist())
    combined = d.groupby(groups, sort=False).first()
    combined.index.names = key
    leaders = d[leader].set_index(key)
    for col in BOOKKEEPING:
        combined[col] = leaders[col]
    return pd.concat([frame[~dup], combined.reset_index()], ignore_index=True, sort=False)


__all__ = ["FORMATS", "READERS", "ReadOptions", "ReadResult", "Reader", "detect_format",
           "read", "read_files"]
