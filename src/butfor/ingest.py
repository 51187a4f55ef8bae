"""Ingest: files -> Panel + IngestReport -> store, and the ``ingest`` / ``data`` commands.

::

    panel, report = ingest_files(["conservative-follows.csv", "liberal-follows.csv"],
                                 groups_files=["conservative=conservative-list.csv",
                                               "liberal=liberal-list.csv"])

Group labels come from ``group`` (every unit read) and from list files
``LABEL=FILE`` with a ``Handle`` column (``Name`` optional). Handles match
unit ids without regard to letter case or a leading ``@``. A listed handle
with no data is dropped with a note on its line; a unit in no list is named
in the report's remarks; a unit listed under two labels is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.console import Console

from butfor import frequency as freq
from butfor.errors import DataError, InputError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.readers import read_files
from butfor.readers._parse import Table, load_table

DATASET = "default"
# formats whose rows may be weeks, months, quarters or years (the others are daily exports),
# so the panel's frequency is detected from their dates
PERIODIC_FORMATS = frozenset({"long", "wide", "trends", "wikimedia"})


def ingest_files(
    paths: Sequence[str | Path],
    format: str = "auto",
    unit: str | None = None,
    group: str | None = None,
    groups_files: Sequence[str] = (),
    timezone: str | None = None,
    *,
    metric: str | None = None,
    columns: dict[str, str] | None = None,
    year: int | None = None,
    dates: str | None = None,
    frequency: str = "auto",
) -> tuple[Panel, IngestReport]:
    """Read export files (zips and folders opened) into one Panel, every row accounted for.

    ``year`` is the year of the latest date for exports whose dates have none
    (TikTok); ``dates`` (``START:END``) the plausible window of every date;
    ``frequency`` the panel's (``auto``: detected from the dates, see
    :mod:`butfor.frequency`).
    """
    stated = freq.code(frequency)  # check arguments before reading
    lists = [_split_groups_arg(arg) for arg in groups_files]  # check arguments before reading
    result = read_files(paths, format=format, unit=unit, timezone=timezone, metric=metric,
                        columns=columns, year=year, dates=dates)
    report = result.report
    units = result.units.copy()
    if "group" not in units:
        units["group"] = None
    units["group"] = units["group"].astype(object)
    if group is not None:
        units["group"] = group
    if lists:
        units = _attach_groups(units, lists, report)
    formats = {s.format for s in report.sources if s.format != "group_list"}
    if stated is None and not formats <= PERIODIC_FORMATS:
        stated = "D"  # a platform's daily export is daily, however sparse its days
    frame, frequency_code = _on_own_grid(result.frame, stated, report)
    panel = Panel.from_frame(frame, units, frequency=frequency_code, report=report)
    report.check()
    return panel, report


def _on_own_grid(frame: pd.DataFrame, stated: str | None,
                 report: IngestReport) -> tuple[pd.DataFrame, str]:
    """The frame's dates on the panel's frequency: detected, or stated and checked.

    A stated monthly, quarterly or annual frequency reads each date as its
    period's first day (said in the report); two rows of a unit in one period
    are refused, since butfor does not guess how to aggregate them.
    """
    if stated is None:
        found = freq.infer(frame["date"])
        if found != "D":
            report.remarks.append(f"the dates are {freq.NAMES[found]}, so the panel holds one "
                                  f"row per unit and {freq.PERIOD[found]} ([data] frequency "
                                  "or --frequency to state another)")
        return frame, found
    dates = freq.to_period_start(frame["date"], stated)
    moved = int((dates != frame["date"]).sum())
    if moved:
        frame = frame.assign(date=dates)
        clash = frame.duplicated(["unit", "date"], keep=False)
        if clash.any():
            first = frame.loc[clash].iloc[0]
            period = freq.PERIOD[stated]
            raise DataError(
                f"unit {first['unit']!r} has more than one row in the {period} starting "
                f"{first['date']:%Y-%m-%d}, but the frequency is {freq.NAMES[stated]}; "
                f"aggregate the data to one row per {period}, or state a finer frequency")
        report.remarks.append(f"{moved:,} dates read as the first day of their "
                              f"{freq.PERIOD[stated]} (the panel is {freq.NAMES[stated]})")
    return frame, stated


def _split_groups_arg(arg: str) -> tuple[str, Path]:
    label, sep, file = str(arg).partition("=")
    if not sep or not label.strip() or not file.strip():
        raise InputError(None, f"--groups-file '{arg}' is not LABEL=FILE",
                         "write it as --groups-file conservative=conservative-list.csv")
    return label.strip(), Path(file.strip())


def _attach_groups(units: pd.DataFrame, lists: list[tuple[str, Path]],
                   report: IngestReport) -> pd.DataFrame:
    by_key: dict[str, list[int]] = {}
    for i, u in enumerate(units["unit"]):
        by_key.setdefault(_handle_key(u), []).append(i)
    assigned: dict[int, tuple[str, Table, int]] = {}
    for label, path in lists:
        table = load_table(path, report, "group_list")
        col = table.require("handle", "username", "unit",
                            fix="give the list a 'Handle' column (Name,Handle)")
        handles = table.text(col)
        unknown, repeated, seen = [], [], set()
        for row, handle in enumerate(handles):
            key = _handle_key(handle)
            if key == "":
                raise table.error("the handle is empty", "fill it in or remove the row",
                                  row=row, column=col)
            if key in seen:
                repeated.append(row)
                continue
            seen.add(key)
            matches = by_key.get(key, [])
            if not matches:
                unknown.append(row)
            for i in matches:
                if i in assigned and assigned[i][0] != label:
                    other_label, other_table, other_row = assigned[i]
                    raise table.error(
                        f"the handle '{handle}' is also in group '{other_label}' "
                        f"({other_table.name} line {other_table.line(other_row)})",
                        "list each account in one group only", row=row, column=col)
                assigned[i] = (label, table, row)
        if repeated:
            report.note(table.name, "dropped", "handle listed twice in this list",
                        table.lines[repeated].tolist(), column=col)
            table.source.rows_dropped += len(repeated)
        if unknown:
            names = ", ".join(handles.iloc[unknown].tolist()[:5])
            report.note(table.name, "dropped",
                        f"handle with no data in the files read (e.g. {names})",
                        table.lines[unknown].tolist(), column=col)
            table.source.rows_dropped += len(unknown)
        table.source.rows_kept = table.source.rows_read - table.source.rows_dropped
    units = units.copy()
    for i, (label, _, _) in assigned.items():
        units.loc[units.index[i], "group"] = label
    ungrouped = units.loc[units["group"].isna(), "unit"].tolist()
    if ungrouped:
        shown = ", ".join(ungrouped[:10]) + (" ..." if len(ungrouped) > 10 else "")
        report.remarks.append(
            f"{len(ungrouped)} unit(s) are in no group list and have no group: {shown}")
    return units


def _handle_key(handle: str) -> str:
    return str(handle).strip().lstrip("@").casefold()


# ---------------------------------------------------------------------------
# commands
def ingest_command(
    files: Sequence[Path],
    *,
    format: str = "auto",
    unit: str | None = None,
    group: str | None = None,
    groups_files: Sequence[str] = (),
    timezone: str | None = None,
    store_path: Path,
    console: Console,
    metric: str | None = None,
    columns: Sequence[str] = (),
    year: int | None = None,
    dates: str | None = None,
    frequency: str = "auto",
) -> Panel:
    """``butfor ingest``: read, store (merging into the dataset 'default'), summarise."""
    from butfor.store import Store

    mapping = dict(_split_column_arg(c) for c in columns)
    panel, report = ingest_files(files, format=format, unit=unit, group=group,
                                 groups_files=groups_files, timezone=timezone, metric=metric,
                                 columns=mapping, year=year, dates=dates, frequency=frequency)
    store = Store(store_path)
    written = store.write_panel(panel, report, name=DATASET, mode="merge")
    print_ingest_summary(panel, report, console)
    stored = next(d for d in store.list_datasets() if d["name"] == DATASET)
    replaced = written["replaced"]
    console.print(
        f"Stored in {store.path} as dataset '{DATASET}' (now {stored['units']} units, "
        f"{stored['first']} to {stored['last']})"
        + (f"; {replaced} stored values replaced by the new files" if replaced else "")
        + ". See it with 'butfor data'.")
    return panel


def _split_column_arg(arg: str) -> tuple[str, str]:
    source, sep, target = str(arg).partition("=")
    if not sep or not source.strip():
        raise InputError(None, f"--column '{arg}' is not SOURCE=TARGET",
                         "write it as --column account=unit")
    return source.strip(), target.strip()


def print_ingest_summary(panel: Panel, report: IngestReport, console: Console) -> None:
    data = [s for s in report.sources if s.format != "group_list"]
    lists = [s for s in report.sources if s.format == "group_list"]
    formats = sorted({s.format for s in data})
    console.print(
        f"Read {len(data)} file(s) ({', '.join(formats)}): "
        f"{sum(s.rows_read for s in data):,} rows read, {sum(s.rows_kept for s in data):,} kept, "
        f"{sum(s.rows_repaired for s in data):,} repaired, "
        f"{sum(s.rows_dropped for s in data):,} dropped.")
    dates = panel.dates
    span = (f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d} "
            f"({freq.describe(panel.frequency, len(dates))})" if len(dates) else "no dates")
    console.print(
        f"Panel ({freq.NAMES[panel.frequency]}): {len(panel.unit_ids)} units, {span}, metrics "
        f"{', '.join(panel.metrics)}; {report.cells_filled:,} unit-{freq.PERIOD[panel.frequency]}s "
        "with no row are explicit missing values.")
    groups = panel.groups()
    if groups:
        listed = (f" from {len(lists)} list(s) of {sum(s.rows_read for s in lists):,} handles, "
                  f"{sum(s.rows_kept for s in lists):,} matched" if lists else "")
        console.print("Groups: " + ", ".join(f"{g} {len(u)}" for g, u in groups.items())
                      + f"{listed}.")
    for n in report.notes:
        column = f" [{n.column}]" if n.column else ""
        lines = ", ".join(str(x) for x in n.lines[:5])
        at = f" (lines {lines}{', ...' if n.count > len(n.lines[:5]) else ''})" if lines else ""
        console.print(f"  {Path(n.file).name}: {n.action} {n.count:,}{column}: {n.reason}{at}",
                      markup=False, soft_wrap=True)
    for remark in report.remarks:
        console.print(f"Note: {remark}", markup=False, soft_wrap=True)
    for check in report.checks:
        console.print(f"Sense checks: {check}.", markup=False, soft_wrap=True)


def data_command(*, store_path: Path, export: Path | None, console: Console) -> None:
    """``butfor data``: list stored datasets (and results); ``--export DIR`` writes Parquet."""
    from rich.table import Table as RichTable

    from butfor.store import Store

    store = Store(store_path)
    datasets = store.list_datasets()
    if not datasets:
        console.print(f"Nothing stored at {store.path} yet; add data with 'butfor ingest FILE...'.")
        return
    table = RichTable(title=f"Datasets in {store.path}", header_style="bold")
    for col in ("dataset", "frequency", "units", "rows", "first", "last", "metrics", "groups"):
        table.add_column(col, overflow="fold")
    for d in datasets:
        groups = ", ".join(f"{g} ({n})" for g, n in d["groups"].items()) or "-"
        table.add_row(d["name"], str(d["frequency"]), f"{d['units']:,}", f"{d['rows']:,}",
                      str(d["first"]),
                      str(d["last"]), ", ".join(d["metrics"]), groups)
    console.print(table)
    results = store.list_results()
    if results:
        console.print("Results: " + ", ".join(name for name, _ in results))
    if export is not None:
        for d in datasets:
            for path in store.export_parquet(d["name"], export):
                console.print(f"wrote {path}")


__all__ = ["data_command", "ingest_command", "ingest_files"]
