"""Fetched controls of a case (``[[controls.fetched]]``), added to its panel.

``butfor run CASE --fetch`` fetches each series (or takes it from the
cache); plain ``butfor run CASE`` takes it from the cache only and never goes
online, so a series not fetched before is an error naming the fix. Either
way the cached response is read by the Wikimedia reader, its rows are
accounted for in the run's IngestReport, and its hash is in the provenance.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from rich.console import Console

from butfor.connectors.http import HttpClient
from butfor.connectors.wikimedia import PageviewsRequest, cached_pageviews, fetch_one
from butfor.errors import DataError
from butfor.ingest_report import IngestReport
from butfor.panel import Panel
from butfor.readers import read_files


def pageviews_requests(case, panel: Panel) -> list[PageviewsRequest]:
    """One request per fetched control; the range defaults to the panel's dates."""
    first: dt.date = panel.dates.min().date()
    last: dt.date = panel.dates.max().date()
    return [PageviewsRequest(f.article, f.start or first, f.end or last, f.project, f.access,
                             f.agent, "daily") for f in case.controls.fetched]


def add_fetched_controls(case, panel: Panel, report: IngestReport, *, fetch: bool,
                         cache_dir: Path, case_file: Path, refresh: bool = False,
                         console: Console | None = None) -> tuple[Panel, IngestReport]:
    """The panel with every fetched control series added, and the merged report."""
    requests = pageviews_requests(case, panel)
    clash = sorted({r.unit for r in requests} & set(panel.unit_ids))
    if clash:
        raise DataError(f"{case_file}: the fetched control {clash[0]!r} is also in the case's "
                        "data; leave it out of one of them")
    paths = []
    with HttpClient(cache_dir=cache_dir, refresh=refresh) as client:
        for r in requests:
            if fetch:
                fetched = fetch_one(client, r)
            else:
                fetched = cached_pageviews(client, r)
                if fetched is None:
                    raise DataError(
                        f"{case_file}: the control '{r.unit}' (pageviews, {r.start} to {r.end}) "
                        f"has not been fetched, and butfor goes online only when asked; run "
                        f"'butfor run {case_file} --fetch' (or 'butfor fetch wikipedia "
                        f"{r.title} --project {r.project} --start {r.start} --end {r.end}')")
            paths.append(fetched.path)
        made = client.requests_made
    if console is not None and requests:
        console.print(f"Controls: {len(requests)} Wikimedia series "
                      f"({made} request(s) made, {len(requests) - made} from the cache)."
                      + client.replay_note(), markup=False, soft_wrap=True)
    result = read_files(paths, format="wikimedia")
    _name_by_origin(result.report, paths)
    data = pd.concat([panel.data, result.frame], ignore_index=True, sort=False)
    units = pd.concat([panel.units, result.units], ignore_index=True, sort=False)
    merged = report.merge(result.report)
    return Panel.from_frame(data, units, frequency=panel.frequency, report=merged), merged


def _name_by_origin(report: IngestReport, paths: list[Path]) -> None:
    """Name each fetched file by the URL it came from and when, so provenance says so."""
    labels = {}
    for path in paths:
        meta_path = path.with_suffix(".request.json")
        if meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            how = (f"replayed from the cassette {meta['replayed_from']}"
                   if meta.get("replayed_from") else "fetched")
            labels[str(path)] = f"{meta['url']} ({how} {meta['fetched_at']}, cached as {path})"
    for source in report.sources:
        source.file = labels.get(source.file, source.file)
    for note in report.notes:
        note.file = labels.get(note.file, note.file)
