"""Wikimedia pageviews: the REST API's JSON response and the same items as CSV.

The per-article endpoint (``../shared/FORMATS.md``) answers::

    {"items": [{"project": "en.wikipedia", "article": "Ava_Sterling",
                "granularity": "daily", "timestamp": "2022090100",
                "access": "all-access", "agent": "user", "views": 1234}, ...]}

and the CSV download holds the same fields, one item a row
(``project,article,granularity,timestamp,access,agent,views``).

Column mapping:

=============== ==========================================================
``project``,    ``unit`` = ``project:article`` (``en.wikipedia:Ava_Sterling``),
``article``     so one article on two wikis stays two units; ``--unit`` names
                the unit instead (a file of one article only). Both are kept
                as unit attributes, display name ``Ava Sterling (en.wikipedia)``.
``access``,     unit attributes; one unit must have one access and one agent
``agent``       (two would be two different series under one name: an error).
``granularity`` ``daily`` or ``monthly`` (a unit attribute); hourly is refused.
``timestamp``   ``YYYYMMDDHH`` with hour ``00`` -> ``date``; a monthly row is the
                month's total, dated the first of the month (the report says so).
``views``       ``pageviews`` (a count).
=============== ==========================================================

A file that cannot be decoded as UTF-8, is not JSON, or is a Wikimedia
error response (``{"title": "Not found.", "detail": ...}``) gives one
sentence naming the file and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, load_table, numbers, part, sha256_of

FIELDS = ("project", "article", "granularity", "timestamp", "access", "agent", "views")
ATTRIBUTES = ("project", "article", "access", "agent", "granularity")
_TIMESTAMP = re.compile(r"^(\d{8})(\d{2})$")
_SNIFF_BYTES = 1 << 16


def detect(names: set[str]) -> bool:
    """The CSV layout: a timestamp and views per row, with the article (or JSON ``items``)."""
    return {"timestamp", "views"} <= names or names == {"items"}


def sniff(path: Path) -> bool:
    """A JSON document holding a pageviews ``items`` list (any formatting, any bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if not text.startswith("{"):
        return False
    # the items list, or the API's error document (so its message reaches the user)
    return (re.search(r'"items"\s*:\s*\[', text) is not None
            or re.search(r'HyperSwitch/errors|"uri"\s*:\s*"[^"]*/pageviews/', text) is not None)


def load(path: Path, report: IngestReport, format_name: str) -> Table:
    """A Table of the response's items (JSON), or of the CSV's rows."""
    path = Path(path)
    if not sniff(path):
        try:
            return load_table(path, report, format_name)
        except UnicodeDecodeError as err:  # the JSON lines path reads text unguarded
            raise _not_utf8(path, path.read_bytes(), err) from None
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, raw, err) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, f"is not valid JSON ({err.msg})",
                         "download it again; the file may be cut short", line=err.lineno) from None
    except RecursionError:
        raise InputError(path, "is JSON nested too deeply to be a pageviews response",
                         "pass the per-article response as the API returns it") from None
    items = _items(path, document)
    frame = pd.DataFrame.from_records(items)
    lines = _item_lines(text, len(items))
    table = Table(path=path, kind="jsonl", frame=frame.reset_index(drop=True),
                  lines=lines, sha256=sha256_of(path), bom=bom)
    table.source = report.add_source(str(path), table.sha256, format_name)
    table.source.rows_read = len(frame)
    if bom:
        report.note(str(path), "repaired", "byte-order mark at the start of the file removed",
                    [1], count=1)
    return table


def _not_utf8(path: Path, raw: bytes, err: UnicodeDecodeError) -> InputError:
    """One sentence naming the first byte that is not UTF-8, and its line."""
    try:
        raw.decode("utf-8")  # a byte-order mark is valid UTF-8: positions count from byte 1
        start = err.start
    except UnicodeDecodeError as whole:
        start = whole.start
    return InputError(path, f"is not UTF-8 text (byte {start + 1} cannot be decoded)",
                      "download it again; an intact Wikimedia response is UTF-8",
                      line=raw[:start].count(b"\n") + 1)


def _items(path: Path, document) -> list[dict]:
    if isinstance(document, dict) and "items" not in document and "detail" in document:
        title = str(document.get("title", "error")).rstrip(".")
        raise InputError(path, f"is a Wikimedia error response ({title}: {document['detail']})",
                         "check the article title, project and dates, then fetch again")
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise InputError(path, "is JSON but not a Wikimedia pageviews response (no 'items' list)",
                         "pass the per-article response as the API returns it")
    if not items:
        raise InputError(path, "has no pageviews (its 'items' list is empty)",
                         "check the dates and the article title, or leave the file out")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(path, f"item {number} of 'items' is not an object",
                             "pass the response as the API returns it")
        missing = [f for f in ("timestamp", "views") if f not in item]
        if missing:
            raise InputError(path, f"item {number} of 'items' has no '{missing[0]}'",
                             "pass the response as the API returns it")
    return items


def _item_lines(text: str, n: int) -> np.ndarray:
    """The line of each item: where its "timestamp" key is (every item has exactly one)."""
    starts = [m.start() for m in re.finditer(r'"timestamp"\s*:', text)]
    if len(starts) != n:
        return np.ones(n, dtype=np.int64)
    breaks = np.cumsum([text.count("\n", a, b) for a, b in zip([0, *starts], starts,
                                                                  strict=False)])
    return (1 + breaks).astype(np.int64)


# ---------------------------------------------------------------------------
def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts, unit_rows = [], []
    seen: dict[str, tuple[str, str, str, Table]] = {}
    for i, t in enumerate(tables):
        ts_col = t.require("timestamp")
        views_col = t.require("views")
        views = numbers(t, views_col, report)
        t.metric_columns["pageviews"] = views_col
        attrs = {name: _text_or(t, name, default) for name, default in
                 (("project", ""), ("access", "all-access"), ("agent", "all-agents"),
                  ("granularity", "daily"))}
        article_col = t.find("article")
        if article_col is None and not opts.unit:
            raise InputError(t.path, "has no column 'article', so the page is not named",
                             "add the 'article' column, or pass --unit NAME",
                             line=1 if t.kind == "csv" else None, column="article")
        article = t.text(article_col) if article_col else pd.Series([opts.unit] * len(t.frame))
        if (article == "").any():
            row = int(np.flatnonzero((article == "").to_numpy())[0])
            raise t.error("the article is empty", "fill it in or remove the row", row=row,
                          column="article")
        _check_granularity(t, attrs["granularity"])
        date = _dates(t, ts_col, attrs["granularity"])
        if opts.unit:
            unit = pd.Series([opts.unit] * len(t.frame))
        else:  # project:article, or the article alone when the file does not name the wiki
            unit = (attrs["project"] + ":").where(attrs["project"] != "", "") + article
        frame = pd.DataFrame({"unit": unit, "article": article, **attrs})
        for key, rows in frame.groupby("unit", sort=False):
            combo = tuple(rows[["access", "agent", "granularity"]].drop_duplicates()
                          .itertuples(index=False, name=None))
            prior = seen.get(key)
            kinds = set(combo) | ({prior[:3]} if prior else set())
            if len(kinds) > 1:
                a, b = sorted(kinds)[:2]
                raise InputError(
                    t.path, f"holds pageviews of '{key}' as two different series "
                    f"({'/'.join(a)} and {'/'.join(b)})",
                    "read each access, agent and granularity as its own unit (one file each, "
                    "with --unit NAME)", line=t.line(int(rows.index[0])), column="access")
            seen[key] = (*combo[0], t)
            first = rows.iloc[0]
            project, name = str(first["project"]), str(first["article"])
            unit_rows.append({
                "unit": key, "display_name": name.replace("_", " ")
                + (f" ({project})" if project else ""),
                **{a: str(first[a]) for a in ATTRIBUTES}})
        if (attrs["granularity"] == "monthly").any():
            report.note(t.name, "aggregated",
                        "monthly pageviews: each row is the month's total, dated the first "
                        "day of the month", t.lines[(attrs["granularity"] == "monthly")
                                                    .to_numpy()].tolist(), column=ts_col)
        parts.append(part(i, t, unit.to_numpy(dtype=object), date, {"pageviews": views}))
    units = pd.DataFrame(unit_rows).drop_duplicates("unit", keep="first")
    return pd.concat(parts, ignore_index=True), units.reset_index(drop=True)


def _text_or(t: Table, column: str, default: str) -> pd.Series:
    col = t.find(column)
    if col is None:
        return pd.Series([default] * len(t.frame))
    values = t.text(col)
    return values.where(values != "", default).reset_index(drop=True)


def _check_granularity(t: Table, granularity: pd.Series) -> None:
    bad = ~granularity.isin(["daily", "monthly"]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise t.error(f"the granularity '{granularity.iloc[row]}' is not daily or monthly",
                      "fetch daily or monthly pageviews (butfor does not read hourly ones)",
                      row=row, column="granularity")


def _dates(t: Table, column: str, granularity: pd.Series) -> np.ndarray:
    """``YYYYMMDD00`` -> the day; monthly rows must fall on the first of the month."""
    text = t.text(column).str.replace(r"\.0$", "", regex=True)  # 2022090100.0 from a float
    match = text.str.extract(_TIMESTAMP)
    day = pd.to_datetime(match[0], format="%Y%m%d", errors="coerce")
    bad = day.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise t.error(f"'{text.iloc[row]}' is not a Wikimedia timestamp (YYYYMMDDHH)",
                      "write it as the API does, e.g. 2022090100", row=row, column=column)
    hour = match[1].astype(int).to_numpy()
    if (hour != 0).any():
        row = int(np.flatnonzero(hour != 0)[0])
        raise t.error(f"the timestamp '{text.iloc[row]}' has an hour, so the rows are hourly",
                      "fetch daily or monthly pageviews", row=row, column=column)
    off = ((granularity == "monthly").to_numpy() & (day.dt.day != 1).to_numpy())
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise t.error(f"the monthly timestamp '{text.iloc[row]}' is not the first of a month",
                      "check the granularity column", row=row, column=column)
    return day.to_numpy(dtype="datetime64[ns]")
