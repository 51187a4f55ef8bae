"""Cell parsing shared by every reader: tables, numbers, dates, timestamps, post ids.

Each quirk of real exports gets one deliberate treatment here, and every
treatment either leaves a note in the :class:`~butfor.ingest_report.IngestReport`
or raises an :class:`~butfor.errors.InputError` naming file, line and column:

========================  ==================================================
quirk                     treatment
========================  ==================================================
byte-order mark           removed; note ``repaired`` on line 1
``-`` (or an en dash)     read as a missing value; note ``repaired``
``15,000``                thousands separators removed; note ``repaired``
``1.23457E+18`` post id   recovered from the permalink (note ``repaired``);
                          an error when there is no permalink to recover from
empty line                row dropped; note ``dropped``
anything else non-numeric error (file, line, column, the value, the fix)
negative count            error
empty file / header only  error
unparseable dates         error naming the first bad cell
mixed date formats        error naming the first cell in the other format
day/month ambiguity       error when every date reads both ways differently
========================  ==================================================

Dates without a year (TikTok's ``23 August``) fail here with a message that
says so; the TikTok reader resolves their year first (see ``readers/tiktok.py``).
Values that parse but cannot be true are the sense checks of ``_sense.py``;
reading a file into a :class:`Table` is ``_table.py``.

Parsing itself is pandas' (``read_csv``, ``to_numeric``, ``to_datetime``);
this module only decides what each outcome means. Line numbers are as a text
editor shows them: the header is line 1, and a quoted cell holding line
breaks moves every later row down accordingly.
"""

from __future__ import annotations

import re
import zoneinfo

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers import _sense
from butfor.readers._table import (  # re-exported: readers import them from here
    NO_LINES,
    Kind,
    Table,
    header_of,
    json_records,
    kind_of,
    load_table,
    sha256_of,
    snake,
)

__all__ = ["NO_LINES", "Kind", "Table", "header_of", "json_records", "kind_of", "load_table",
           "sha256_of", "snake"]  # the rest is used by name


def shown_cell(value: object, limit: int = 40) -> str:
    """A cell as an error quotes it: cut short, so a runaway cell does not flood the message."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------
# canonical metric names
#
# Every reader maps its columns to these snake_case names. A header is first
# made snake_case ("New follows" -> new_follows, "Create Post" -> create_post),
# then renamed by ALIASES. Names not listed pass through in snake_case.
ALIASES: dict[str, str] = {
    "tweets": "posts",
    "create_post": "posts",
    "create_posts": "posts",
    "statuses": "posts",
    "retweets": "reposts",
    "follows": "new_follows",
    "new_followers": "new_follows",
    "unfollowers": "unfollows",
    "user_profile_clicks": "profile_visits",
    "profile_clicks": "profile_visits",
    "profile_views": "profile_visits",
    "favorites": "likes",
    "video_views": "video_views",
    "views": "views",
}
KNOWN_METRICS = frozenset(
    {
        "followers", "following", "posts", "impressions", "likes", "engagements",
        "bookmarks", "shares", "new_follows", "unfollows", "replies", "reposts",
        "profile_visits", "video_views", "media_views", "media_engagements", "pageviews",
        "views", "quotes", "detail_expands", "url_clicks", "hashtag_clicks",
        "permalink_clicks", "app_opens", "app_installs", "email_tweet", "dial_phone",
        "comments", "saves", "reach",
    }
)


def canonical(name: str) -> str:
    """The canonical metric name of a column header (see :data:`ALIASES`)."""
    s = snake(name)
    return ALIASES.get(s, s)


# ---------------------------------------------------------------------------
# numbers
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DASHES = frozenset({"-", "\u2013", "\u2014"})


def numbers(table: Table, column: str, report: IngestReport, *, count: bool = True) -> np.ndarray:
    """A column as float64: ``-`` and empty cells missing, thousands separators removed.

    ``count=True`` (the default) rejects negative values: followers, likes and
    impressions cannot be negative.
    """
    s = table.frame[column]
    if pd.api.types.is_bool_dtype(s.dtype):
        raise table.error("holds true/false values, not numbers", "write numbers",
                          row=0, column=column)
    if pd.api.types.is_numeric_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = table.text(column)
        values, dash, empty, thousands = _number_cells(text)
        bad = np.isnan(values) & ~(dash | empty)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise table.error(
                f"'{shown_cell(text.iloc[row])}' is not a number",
                "write a plain number there (or leave the cell empty if the value is unknown)",
                row=row, column=column)
        if dash.any():
            rows = np.flatnonzero(dash)
            report.note(table.name, "repaired", "'-' read as a missing value",
                        table.lines[rows].tolist(), column=column)
            table.mark_repaired(rows)
        if thousands.any():
            rows = np.flatnonzero(thousands)
            report.note(table.name, "repaired", "thousands separators removed (15,000 -> 15000)",
                        table.lines[rows].tolist(), column=column)
            table.mark_repaired(rows)
    if not np.all(np.isfinite(values) | np.isnan(values)):
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise table.error("the value is infinite", "write a finite number", row=row,
                          column=column)
    _sense.check_ceiling(table, column, values)
    if count:
        negative = values < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise table.error(
                f"the count {_show(values[row])} is negative",
                "counts cannot be below zero; correct the value or leave the cell empty",
                row=row, column=column)
    return values


# Up to this many cells a column is read cell by cell in Python; longer ones through
# pandas' string methods. Both give the same values and flags (tests/test_small_files.py);
# the split is speed only: each pandas call costs 50-200 us whatever the length, which is
# most of the time of a small export, while the Python loop costs about 1 us a cell.
SMALL_COLUMN = 2048


def _number_cells(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(values, dash, empty, thousands) of stripped text cells: NaN where not a number."""
    if len(text) <= SMALL_COLUMN:
        cells = text.tolist()
        n = len(cells)
        dash = np.fromiter((c in _DASHES for c in cells), dtype=bool, count=n)
        empty = np.fromiter((c == "" for c in cells), dtype=bool, count=n)
        thousands = np.fromiter((_THOUSANDS.match(c) is not None for c in cells),
                                dtype=bool, count=n)
        clean = np.array([None if d or e else c.replace(",", "") if t else c
                          for c, d, e, t in zip(cells, dash, empty, thousands, strict=True)],
                         dtype=object)
        values = np.asarray(pd.to_numeric(clean, errors="coerce"), dtype="float64")
        return values, dash, empty, thousands
    dash = text.isin(_DASHES).to_numpy()
    empty = (text == "").to_numpy()
    thousands = text.str.match(_THOUSANDS).to_numpy(dtype=bool)
    clean = text.where(~thousands, text.str.replace(",", "", regex=False))
    clean = clean.where(~(dash | empty), None)
    values = pd.to_numeric(clean, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return values, dash, empty, thousands


def _show(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------------------
# dates
# (strptime format, how a user would recognise it). Order matters: the first
# format that reads every cell wins, except that month/day and day/month must
# agree (see days()).
DAY_FORMATS: list[tuple[str, str]] = [
    ("%Y-%m-%d", "YYYY-MM-DD"),
    ("%Y/%m/%d", "YYYY/MM/DD"),
    ("%m/%d/%Y", "MM/DD/YYYY"),
    ("%d/%m/%Y", "DD/MM/YYYY"),
    ("%d.%m.%Y", "DD.MM.YYYY"),
    ("%a, %b %d, %Y", "Tue, Aug 25, 2026"),
    ("%b %d, %Y", "Aug 25, 2026"),
    ("%d %b %Y", "25 Aug 2026"),
    ("%Y-%m-%d %H:%M:%S", "YYYY-MM-DD 00:00:00"),
    ("%Y-%m-%dT%H:%M:%S", "YYYY-MM-DDT00:00:00"),
    ("%Y-%m-%dT%H:%M:%SZ", "YYYY-MM-DDT00:00:00Z"),
    ("%Y%m%d", "YYYYMMDD"),
]
_NO_YEAR = re.compile(r"^\d{1,2} [A-Za-z]+$|^[A-Za-z]+ \d{1,2}$")


def days(table: Table, column: str) -> np.ndarray:
    """A column of calendar days as ``datetime64[ns]`` (midnight, no time zone)."""
    s = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        parsed = pd.to_datetime(s)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        missing = parsed.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise table.error("the date is empty", "fill in the date or remove the row",
                              row=row, column=column)
        _check_midnight(table, column, parsed)
        return _sense.checked_days(table, column, parsed)
    text = table.text(column)
    empty = (text == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise table.error("the date is empty", "fill in the date or remove the row", row=row,
                          column=column)
    periods = _period_dates(text)
    if periods is not None:
        return _sense.checked_days(table, column, periods)
    # only a format that reads the first date can read them all: try those first
    first = pd.Series([text.iloc[0]])
    parsed: dict[str, pd.Series] = {}
    for fmt, _ in DAY_FORMATS:
        if pd.to_datetime(first, format=fmt, errors="coerce").notna().iloc[0]:
            parsed[fmt] = pd.to_datetime(text, format=fmt, errors="coerce")
            if parsed[fmt].notna().all() and fmt != "%m/%d/%Y":
                break  # %m/%d/%Y goes on to check %d/%m/%Y for ambiguity
    full = [fmt for fmt, _ in DAY_FORMATS if fmt in parsed and parsed[fmt].notna().all()]
    if not full:
        parsed = {fmt: pd.to_datetime(text, format=fmt, errors="coerce")
                  for fmt, _ in DAY_FORMATS}
        ok = {fmt: p.notna().to_numpy() for fmt, p in parsed.items()}
        readable = np.logical_or.reduce(list(ok.values()))
        if not readable.all():
            row = int(np.flatnonzero(~readable)[0])
            value = text.iloc[row]
            if _NO_YEAR.match(value):
                raise table.error(
                    f"the date '{value}' has no year, which butfor does not infer yet",
                    "write dates with their year, as YYYY-MM-DD", row=row, column=column)
            raise table.error(f"'{shown_cell(value)}' is not a date butfor can read",
                              "write dates as YYYY-MM-DD", row=row, column=column)
        first_fmt = next(fmt for fmt, _ in DAY_FORMATS if ok[fmt][0])
        row = int(np.flatnonzero(~ok[first_fmt])[0])
        label = dict(DAY_FORMATS)
        other = next(fmt for fmt, _ in DAY_FORMATS if ok[fmt][row])
        raise table.error(
            f"the date '{text.iloc[row]}' is written as {label[other]} but the first date "
            f"('{text.iloc[0]}') as {label[first_fmt]}",
            "write every date in one format, preferably YYYY-MM-DD", row=row, column=column)
    chosen = full[0]
    if chosen == "%m/%d/%Y" and "%d/%m/%Y" in full:
        differ = (parsed["%m/%d/%Y"] != parsed["%d/%m/%Y"]).to_numpy()
        if differ.any():
            row = int(np.flatnonzero(differ)[0])
            raise table.error(
                f"the dates (such as '{text.iloc[row]}') read both as month/day and as "
                "day/month, and nothing in the file tells which",
                "write dates as YYYY-MM-DD", row=row, column=column)
    result = parsed[chosen]
    _check_midnight(table, column, result)
    return _sense.checked_days(table, column, result)


# dates that name a period, each read as its first day: a year ("1970", or "1970.0" as a
# spreadsheet writes it), a month ("1970-01") or a quarter ("1970Q1", "1970-Q1")
_YEAR = re.compile(r"^\d{4}(?:\.0*)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")


_PERIOD_GATES = (_YEAR, _MONTH, _QUARTER)  # pandas matches these with Python's re too


def _period_dates(text: pd.Series) -> pd.Series | None:
    """Every cell as the first day of the period it names, or None if one names no period."""
    cells = text.tolist()
    if not any(all(gate.match(c) for c in cells) for gate in _PERIOD_GATES):
        # the usual case (days written out), in Python: one cell rules each pattern out
        return None
    if text.str.fullmatch(_YEAR).all():
        years = text.str.slice(0, 4)
        return pd.to_datetime(years + "-01-01", format="%Y-%m-%d")
    month = text.str.extract(_MONTH)
    if month.notna().all().all():
        months = month[1].astype(int)
        if months.between(1, 12).all():
            return pd.to_datetime(month[0] + "-" + months.map("{:02d}".format) + "-01",
                                  format="%Y-%m-%d")
    quarter = text.str.extract(_QUARTER)
    if quarter.notna().all().all():
        first_month = (quarter[1].astype(int) - 1) * 3 + 1
        return pd.to_datetime(quarter[0] + "-" + first_month.map("{:02d}".format) + "-01",
                              format="%Y-%m-%d")
    return None


def _check_midnight(table: Table, column: str, parsed: pd.Series) -> None:
    timed = (parsed != parsed.dt.normalize()).to_numpy()
    if timed.any():
        row = int(np.flatnonzero(timed)[0])
        raise table.error(
            "the date has a time of day, but this format holds one row per day",
            "write plain dates (YYYY-MM-DD), or read per-post files with a post-level format",
            row=row, column=column)


# ---------------------------------------------------------------------------
# timestamps (post-level files)
_HAS_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\s(?:UTC|GMT))$", re.IGNORECASE)


def check_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(None, f"--timezone '{name}' is not a time zone name",
                         "use an IANA name such as UTC, Europe/Berlin or America/New_York") \
            from None
    return name


def local_days(table: Table, column: str, timezone: str | None,
               report: IngestReport) -> tuple[np.ndarray, str]:
    """The calendar day of each timestamp in ``timezone``; returns (days, zone used).

    Timestamps that carry an offset are converted to ``timezone`` (UTC when
    none is given, with a note). Timestamps without one are read as local
    times in ``timezone``; without ``timezone`` that is an error, because the
    day a post belongs to depends on it.
    """
    timezone = check_timezone(timezone)
    s = table.frame[column]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        parsed = pd.to_datetime(s)
        zoned = getattr(parsed.dt, "tz", None) is not None
        text = parsed.astype(str)
    else:
        text = table.text(column)
        empty = (text == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise table.error("the timestamp is empty", "fill it in or remove the row",
                              row=row, column=column)
        has = text.str.contains(_HAS_ZONE).to_numpy(dtype=bool)
        if has.any() and not has.all():
            row = int(np.flatnonzero(~has)[0])
            raise table.error(
                f"the timestamp '{text.iloc[row]}' has no time zone but others in the file do",
                "give every timestamp the same form, with its UTC offset", row=row,
                column=column)
        zoned = bool(has.all())
        cleaned = text.str.replace(r"\s(?:UTC|GMT)$", "+0000", regex=True, case=False)
        parsed = _parse_timestamps(table, column, cleaned, utc=zoned)
        if not zoned and parsed.dt.tz is not None:
            # the parser found an offset the zone pattern does not know (ISO 8601's "Z" or
            # "+01:00" joined to the time): the stamps are zoned after all
            zoned = True
    if zoned:
        if timezone is None:
            timezone = "UTC"
            report.note(table.name, "aggregated",
                        "no --timezone given: posts assigned to days in UTC",
                        [int(table.lines[0])] if table.has_lines else [1],
                        column=column, count=1)
        local = parsed.dt.tz_convert(timezone)
    else:
        if timezone is None:
            raise table.error(
                f"the timestamps (such as '{text.iloc[0]}') have no time zone, so the day each "
                "post belongs to is unknown",
                "pass --timezone with the zone they were written in (e.g. --timezone UTC)",
                row=0, column=column)
        # an ambiguous wall time (the repeated hour when clocks go back) lies on the same
        # day either way, so it is read as standard time; a skipped one moves forward
        local = parsed.dt.tz_localize(timezone, ambiguous=np.zeros(len(parsed), dtype=bool),
                                      nonexistent="shift_forward")
    day = local.dt.tz_localize(None).dt.normalize()
    return _sense.checked_days(table, column, day), timezone


def _parse_timestamps(table: Table, column: str, text: pd.Series, *, utc: bool) -> pd.Series:
    for fmt in ("%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M",
                "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "ISO8601"):
        try:
            parsed = pd.to_datetime(text, format=fmt, utc=utc, errors="coerce")
        except ValueError:
            continue
        if parsed.notna().all():
            return parsed
    parsed = pd.to_datetime(text, format="ISO8601", utc=utc, errors="coerce")
    row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
    raise table.error(f"'{shown_cell(text.iloc[row])}' is not a timestamp butfor can read",
                      "write timestamps as YYYY-MM-DD HH:MM +0000 (ISO 8601)", row=row,
                      column=column)


# ---------------------------------------------------------------------------
# post ids
_MANGLED = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
_STATUS = re.compile(r"/status(?:es)?/(\d+)")
_HANDLE = re.compile(r"(?:twitter|x)\.com/([A-Za-z0-9_]+)/status", re.IGNORECASE)


def post_ids(table: Table, id_column: str, link_column: str | None,
             report: IngestReport) -> pd.Series:
    """Exact post ids as strings, recovering spreadsheet-mangled ones from the permalink."""
    ids = table.text(id_column)
    ids = ids.str.replace(r"\.0$", "", regex=True)  # 123.0 from a float column
    links = table.text(link_column) if link_column is not None else None
    from_link = links.str.extract(_STATUS, expand=False) if links is not None else None
    mangled = ids.str.match(_MANGLED).to_numpy(dtype=bool)
    empty = (ids == "").to_numpy()
    broken = mangled | empty
    if broken.any():
        recovered = (from_link.notna().to_numpy() if from_link is not None
                     else np.zeros(len(ids), dtype=bool))
        lost = broken & ~recovered
        if lost.any():
            row = int(np.flatnonzero(lost)[0])
            if empty[row]:
                raise table.error("the post id is empty and there is no permalink to take it from",
                                  "fill in the post id or remove the row", row=row,
                                  column=id_column)
            raise table.error(
                f"the post id '{ids.iloc[row]}' was rounded by a spreadsheet program and the "
                "row has no permalink to recover it from",
                "export the file again and open it without saving it from a spreadsheet "
                "(or format the id column as text)", row=row, column=id_column)
        rows = np.flatnonzero(mangled)
        for row in rows:  # a rounded id must agree with the permalink's id
            exact, rounded = int(from_link.iloc[row]), float(ids.iloc[row])
            if abs(exact - rounded) > 1e-5 * exact:
                raise table.error(
                    f"the post id '{ids.iloc[row]}' does not match the permalink's id {exact}",
                    "export the file again", row=int(row), column=id_column)
        if len(rows):
            report.note(table.name, "repaired",
                        "post id rounded by a spreadsheet (1.23457E+18) recovered from the "
                        "permalink", table.lines[rows].tolist(), column=id_column)
        rows_empty = np.flatnonzero(empty)
        if len(rows_empty):
            report.note(table.name, "repaired", "empty post id taken from the permalink",
                        table.lines[rows_empty].tolist(), column=id_column)
        table.mark_repaired(np.flatnonzero(broken))
        ids = ids.where(~broken, from_link)
    bad = ~ids.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise table.error(f"'{ids.iloc[row]}' is not a post id (digits only)",
                          "write the post id as digits", row=row, column=id_column)
    return ids


def handles_from_links(table: Table, link_column: str | None) -> pd.Series | None:
    """The account handle in each permalink (``twitter.com/<handle>/status/...``)."""
    if link_column is None:
        return None
    return table.text(link_column).str.extract(_HANDLE, expand=False)


# ---------------------------------------------------------------------------
# building a reader's output
def metric_values(table: Table, columns: list[str], report: IngestReport,
                  names: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Read ``columns`` as count metrics under canonical names (or ``names[col]``)."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        name = (names or {}).get(col) or canonical(col)
        if name in out:
            raise InputError(
                table.name, f"the columns '{table.metric_columns[name]}' and '{col}' both hold "
                f"the metric '{name}'", "remove or rename one of them",
                line=1 if table.has_lines else None, column=col)
        table.metric_columns[name] = col
        out[name] = _sense.whole_counts(table, col, name, numbers(table, col, report), report)
    return out


def part(table_index: int, table: Table, unit, date: np.ndarray,
         metrics: dict[str, np.ndarray]) -> pd.DataFrame:
    """A reader's rows for one table, with the bookkeeping columns the registry needs."""
    frame = pd.DataFrame({"unit": unit, "date": date})
    for name, values in metrics.items():
        frame[name] = values
    frame["_table"] = table_index
    frame["_line"] = table.lines
    frame["_rows"] = 1
    return frame


def unit_ids(table: Table, column: str) -> pd.Series:
    """Unit ids as written (a leading '@' removed); an empty one is an error."""
    ids = table.text(column).str.lstrip("@")
    empty = (ids == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise table.error("the account name is empty", "fill it in or remove the row",
                          row=row, column=column)
    return ids
