"""Readers: one per export format, a registry, and detection from the header.

::

    detect_format(path)                 -> "socialblade" (from the header alone)
    read(path, format="auto", ...)      -> ReadResult(frame, units, report)
    read_files(paths, format="auto")    -> one ReadResult for several files (zips and
                                           folders opened, each member by its own reader)

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
``youtube``     YouTube Studio advanced-mode export: Table data, Chart data, Totals
``instagram``   Instagram post export (Meta Business Suite)
``tiktok``      TikTok Studio overview and follower history (dates without a year)
``socialblade_api`` Social Blade API JSON (``data.daily[]``)
``trends``      Google Trends "Interest over time" (``multiTimeline.csv``)
``wikimedia``   Wikimedia pageviews: the REST API's JSON, or its items as CSV
==============  =========================================================

When no reader fits, the message names the nearest layouts and the columns
each is missing (see :func:`explain`).

Rows that share a (unit, date), within a file or across files, are combined:
values must agree metric by metric (otherwise an InputError names both
lines); a row that adds nothing is dropped with a note.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers import _parse, _sense
from butfor.readers._members import Member, expand, is_zip
from butfor.readers._parse import Table, load_table, snake
from butfor.readers._table import sort_stable

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
    year: int | None = None  # year of the latest date, for exports whose dates have none
    date_window: tuple[pd.Timestamp, pd.Timestamp] = _sense.DEFAULT_DATE_WINDOW


class HeaderNames(frozenset):
    """A file's snake_case column names, as a set, plus what else detection may use.

    A reader's ``detect`` receives one of these: plain set operations work on
    it, and ``file_name`` (``Totals.csv``), ``json_path`` (``data.daily`` for
    a JSON document, None otherwise) and ``raw`` (the headers as written)
    are there for layouts that their column names alone do not tell apart.
    """

    file_name: str = ""
    json_path: str | None = None
    raw: tuple[str, ...] = ()

    @classmethod
    def of(cls, names, *, file_name: str = "", json_path: str | None = None,
           raw: Sequence[str] = ()) -> HeaderNames:
        out = cls(names)
        out.file_name, out.json_path, out.raw = file_name, json_path, tuple(raw)
        return out


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
    columns: tuple[str, ...] = ()  # the layout's key headers, named when detection fails
    # for layouts the header cannot show (a JSON document): tell from the bytes, load own way
    sniff: Callable[[Path], bool] | None = None
    load: Callable[[Path, IngestReport, str], Table] | None = None


def _registry() -> dict[str, Reader]:
    from butfor.readers import (
        generic,
        instagram,
        socialblade,
        tiktok,
        trends,
        wikimedia,
        x_overview,
        x_posts,
        youtube,
    )

    readers = [
        Reader("youtube", "YouTube Studio advanced-mode export (Table data, Chart data, Totals)",
               youtube.detect, youtube.read, youtube.COLUMNS),
        Reader("instagram", "Instagram post export from Meta Business Suite",
               instagram.detect, instagram.read, instagram.COLUMNS),
        Reader("tiktok", "TikTok Studio overview or follower history (dates without a year)",
               tiktok.detect, tiktok.read, tiktok.COLUMNS),
        Reader("trends", "Google Trends interest over time (multiTimeline.csv)",
               trends.detect, trends.read, trends.COLUMNS),
        Reader("socialblade_api", "Social Blade API JSON (data.daily[])",
               socialblade.detect_api, socialblade.read_api, socialblade.API_COLUMNS),
        Reader("x_legacy", "legacy X per-tweet export (tweet_activity_metrics_*.csv)",
               x_posts.detect_legacy, x_posts.read_legacy, ("Tweet id", "time")),
        Reader("x_content", "X per-post content export (account_analytics_content_*.csv)",
               x_posts.detect_content, x_posts.read_content, ("Post id", "Date")),
        Reader("posts", "generic per-post records (id, created_at, metrics)",
               x_posts.detect_posts, x_posts.read_posts, ("id", "created_at")),
        Reader("socialblade", "Social Blade-style daily stats (username, date, followers)",
               socialblade.detect, socialblade.read, ("username", "date", "followers")),
        Reader("x_overview", "X account overview export (account_overview_analytics.csv)",
               x_overview.detect, x_overview.read,
               ("Date", "Impressions", "Likes", "Engagements", "New follows")),
        Reader("wikimedia", "Wikimedia pageviews (REST API JSON, or its items as CSV)",
               wikimedia.detect, wikimedia.read, wikimedia.FIELDS, sniff=wikimedia.sniff,
               load=wikimedia.load),
        Reader("long", "generic long table: unit, date, one column per metric",
               generic.detect_long, generic.read_long, ("unit", "date")),
        Reader("wide", "generic wide table: date, one column per unit",
               generic.detect_wide, generic.read_wide, ("date",)),
    ]
    return {r.name: r for r in readers}


READERS: dict[str, Reader] = _registry()
FORMATS: tuple[str, ...] = tuple(READERS)


def header_names(path: str | Path, columns: dict[str, str] | None = None,
                 label: str | None = None) -> HeaderNames:
    """What detection sees of a file: its snake_case headers, file name and JSON path."""
    path = Path(path)
    header = _parse.header_of(path, label)
    names = {snake((columns or {}).get(h, h)) for h in header}
    json_path = None
    if _parse.kind_of(path) == "json":
        json_path = _parse.json_records(path, label)[1]
    file_name = (label or str(path)).rsplit(":", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    return HeaderNames.of(names, file_name=file_name, json_path=json_path, raw=header)


def detect_format(path: str | Path, columns: dict[str, str] | None = None,
                  label: str | None = None) -> str:
    """The reader name for a file, decided from its header (first match in registry order)."""
    path = Path(path)
    shown = label or path
    for reader in READERS.values():
        if reader.sniff is not None and reader.sniff(path):
            return reader.name
    names = header_names(path, columns, label)
    if names <= {"name", "handle"} and "handle" in names:
        raise InputError(
            shown, "is a list of handles (Name,Handle), not account data",
            f"pass it as --groups-file LABEL={names.file_name} to attach group labels", line=1)
    for reader in READERS.values():
        if reader.detect(names):
            return reader.name
    raise InputError(
        shown, f"could not tell the format from its header ({', '.join(names.raw)}); "
        f"{explain(names)}",
        f"pass --format with one of {', '.join(FORMATS)}, or rename columns with "
        "--column SOURCE=TARGET (a long table needs 'unit' and 'date')",
        line=1 if _parse.kind_of(path) not in _parse.NO_LINES else None)


def explain(names: set[str], shown: int = 2) -> str:
    """The layouts nearest to a header, and the key columns each lacks."""
    scored = []
    for reader in READERS.values():
        if not reader.columns:
            continue
        missing = [c for c in reader.columns if snake(c) not in names]
        have = len(reader.columns) - len(missing)
        if missing and have:
            scored.append((-have, len(missing), reader.name, missing))
    scored.sort()
    near = [f"{name} (missing {', '.join(missing)})" for _, _, name, missing in scored[:shown]]
    if not near:
        return "it shares no key column with any layout butfor reads"
    return "the nearest layouts are " + " and ".join(near)


def read(path: str | Path, format: str = "auto", **options) -> ReadResult:
    """Read one file, zip or folder (see :func:`read_files`)."""
    return read_files([path], format=format, **options)


def read_files(paths: Sequence[str | Path], format: str = "auto", *,
               unit: str | None = None, timezone: str | None = None,
               metric: str | None = None, columns: dict[str, str] | None = None,
               year: int | None = None, dates: str | None = None) -> ReadResult:
    """Read several files into one long frame, each file with its own or the given format.

    A zip or a folder stands for the data files in it, each read by its own
    reader (files left out are named in the report's remarks). Files of one
    format are read together, so post-level readers can remove posts that
    appear in several overlapping exports. ``dates`` (``START:END``) is the
    plausible window every date must lie in (see :mod:`butfor.readers._sense`).
    """
    if not paths:
        raise InputError(None, "no input files were given", "name at least one export file")
    opts = ReadOptions(unit=unit, timezone=_parse.check_timezone(timezone), metric=metric,
                       columns=dict(columns or {}), year=_check_year(year),
                       date_window=_sense.parse_window(dates))
    if format != "auto" and format not in READERS:
        raise InputError(None, f"--format '{format}' is not a reader butfor knows",
                         f"use one of {', '.join(FORMATS)}, or auto")
    if not any(Path(p).is_dir() or is_zip(Path(p)) for p in paths):
        return _read_members(paths, format, opts, None)  # nothing to unpack
    with tempfile.TemporaryDirectory(prefix="butfor-members-") as workdir:
        return _read_members(paths, format, opts, Path(workdir))


def _check_column_sources(columns: dict[str, str], headers: set[str]) -> None:
    """A --column whose SOURCE no file has would be ignored without a word: refuse it."""
    for source, target in columns.items():
        if source not in headers:
            near = difflib.get_close_matches(source, sorted(headers), n=1, cutoff=0.6)
            hint = f"did you mean '{near[0]}'?" if near else "check the header's spelling"
            raise InputError(None, f"--column '{source}={target}': no file read has a column "
                             f"'{source}'", f"name a header as the file writes it ({hint})")


def _check_year(year: int | None) -> int | None:
    if year is not None and not 1900 <= int(year) <= 2100:
        raise InputError(None, f"--year {year} is not a plausible year",
                         "give the four-digit year of the export's latest date")
    return year


def _read_members(paths: Sequence[str | Path], format: str, opts: ReadOptions,
                  workdir: Path | None) -> ReadResult:
    report = IngestReport()
    expansion = expand([Path(p) for p in paths], workdir)
    by_format: dict[str, list[Member]] = {}
    for m in expansion.members:
        name = format if format != "auto" else detect_format(m.path, opts.columns, m.label)
        by_format.setdefault(name, []).append(m)
    parts, unit_parts, tables_all = [], [], []
    headers: set[str] = set()  # every header read, to check each --column names one
    for name, members in by_format.items():
        tables = [_load(name, m, report) for m in members]
        for t, m in zip(tables, members, strict=True):
            t.container = m.container
            t.date_window = opts.date_window
            headers.update(str(c) for c in t.frame.columns)
            if opts.columns:
                t.frame = t.frame.rename(columns=opts.columns)
        frame, units = READERS[name].read(tables, report, opts)
        frame = frame.copy()
        frame["_table"] = frame["_table"] + len(tables_all)
        tables_all.extend(tables)
        parts.append(frame)
        unit_parts.append(units)
    report.remarks.extend(expansion.skipped)
    _check_column_sources(opts.columns, headers)
    frame = pd.concat(parts, ignore_index=True, sort=False)
    frame = _combine(frame, tables_all, report)
    for m in [c for c in frame.columns if c not in ("unit", "date", *BOOKKEEPING)]:
        if frame[m].isna().all():  # kept, so the column is visible, but said
            report.remarks.append(f"metric '{m}' has no values in any file read: it is kept "
                                  "as missing on every day")
    _sense.flag_jumps(frame, tables_all, report)
    rounded = _sense.flag_rounded(frame, tables_all, report)
    report.checks.append(_sense.statement(opts.date_window))
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
    if rounded:
        units["subscribers_rounded"] = units["unit"].isin(rounded)
    units = units[["unit", "display_name", "group",
                   *[c for c in units.columns if c not in ("unit", "display_name", "group")]]]
    metrics = [c for c in frame.columns if c not in ("unit", "date", *BOOKKEEPING)]
    out = sort_stable(frame[["unit", "date", *metrics]], ["unit", "date"])
    return ReadResult(out.reset_index(drop=True), units, report)


def _load(name: str, member: Member, report: IngestReport) -> Table:
    """Load one member with its reader's own loader (if it has one) or the table loader."""
    own = READERS[name].load
    if own is None:
        return load_table(member.path, report, name, label=member.label)
    table = own(member.path, report, name)
    if member.label:  # a zip member: name it as the user knows it, not by its unpacked path
        for note in report.notes:
            if note.file == str(member.path):
                note.file = member.label
        table.label = table.source.file = member.label
    return table


def _combine(frame: pd.DataFrame, tables: list[Table], report: IngestReport) -> pd.DataFrame:
    """One row per (unit, date): agreeing rows merge, repeats are dropped, conflicts raise."""
    key = ["unit", "date"]
    frame = sort_stable(frame, ["_table", "_line"]).reset_index(drop=True)
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
                tb.name,
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


__all__ = ["FORMATS", "READERS", "HeaderNames", "ReadOptions", "ReadResult", "Reader",
           "detect_format", "explain", "header_names", "read", "read_files"]
