"""Tables: one input file's rows as read, with the line each came from.

:func:`load_table` reads CSV (after a Google Trends preamble, if any),
Parquet, JSON lines or one JSON document (an API response whose records sit
under ``items``, ``data.daily``, ...) into a :class:`Table`, and registers the
file in the IngestReport. Every failure is an InputError naming the file:
missing, a folder, empty, header only, not UTF-8 (UTF-16 said so), NUL bytes,
semicolons instead of commas, a ragged row, an unclosed quote, a column twice.
Line numbers are as a text editor shows them: the header is line 1 (after
any preamble), and a quoted cell holding line breaks moves every later row
down accordingly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport, SourceSummary

Kind = Literal["csv", "parquet", "jsonl", "json"]
NO_LINES: frozenset[str] = frozenset({"parquet", "json"})  # kinds whose rows have no line
_STR = pd.Series([], dtype=str).dtype  # what astype(str) gives (pandas 3: Arrow-backed strings)


def snake(name: str) -> str:
    """``"Profile visits"`` -> ``profile_visits``; ``"Watch Time (ms)"`` -> ``watch_time_ms``."""
    out = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip().lower()).strip("_")
    return out


def sort_stable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame.sort_values(columns, kind="stable")``, skipped when the rows are in order.

    A reader's rows usually are (one file, by date), and pandas' sort costs a
    millisecond even on five rows. The check is conservative: a missing value, or
    values numpy cannot compare, means the sort runs.
    """
    if len(frame) > 1:
        try:
            later = np.ones(len(frame) - 1, dtype=bool)  # row i+1 sorts after row i
            for col in reversed(columns):
                v = frame[col].to_numpy()
                if v.dtype == object:
                    v = frame[col].to_numpy(dtype=object)
                later = (v[1:] > v[:-1]) | ((v[1:] == v[:-1]) & later)
            if bool(np.all(later)):
                return frame
        except TypeError:  # None beside a string, or mixed types: let pandas sort
            pass
        return frame.sort_values(columns, kind="stable")
    return frame


# ---------------------------------------------------------------------------
# files
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def kind_of(path: Path) -> Kind:
    """CSV, Parquet, JSON lines or one JSON document, from the first bytes (not the name).

    A file whose first line is a whole JSON object is JSON lines; any other
    file starting with ``{`` or ``[`` is one JSON document (an API response).
    """
    head = _head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        try:
            return "jsonl" if isinstance(json.loads(first), dict) else "json"
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "json"
    return "csv"


def header_of(path: Path, label: str | None = None) -> list[str]:
    """The column names of a file, without reading its rows (for format detection).

    ``label`` is how messages name the file (a zip member's ``export.zip:Table data.csv``).
    """
    path = Path(path)
    shown = label or path
    _check_exists(path, shown)
    kind = kind_of(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return [str(c) for c in pq.read_schema(path).names]
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise InputError(shown, f"is not a readable Parquet file ({_first_line(err)})",
                             "export it again") from None
    if kind == "json":
        records, _, _ = json_records(path, shown)
        return [str(k) for k in records[0]]
    if kind == "jsonl":
        try:
            with open(path, encoding="utf-8-sig") as fh:
                first = fh.readline()
            return [str(k) for k in json.loads(first)]
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            raise InputError(shown, "is not valid JSON lines", "write one JSON object per line",
                             line=1) from None
    head = _head(path)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise _empty(shown)
    _check_text(head, shown)
    try:
        raw = pd.read_csv(path, header=None, nrows=1, dtype=str, encoding="utf-8-sig",
                          keep_default_na=False, skiprows=len(preamble_of(head)))
    except pd.errors.EmptyDataError:
        raise _empty(shown) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise _csv_error(shown, err) from None
    header = [str(c).strip() for c in raw.iloc[0].tolist()]
    if len(header) == 1 and "\t" in header[0]:
        raise InputError(
            shown, "has its columns separated by tabs, not commas",
            "save it again as CSV with commas between the columns (in a spreadsheet: "
            "'CSV UTF-8 (comma delimited)')", line=1)
    if len(header) == 1 and header[0].count(";") >= 1:
        raise InputError(
            shown, "has its columns separated by semicolons, not commas",
            "save it again as CSV with commas between the columns (in a spreadsheet: "
            "'CSV UTF-8 (comma delimited)')", line=1)
    return header


# JSON documents (API responses): where their records are, in the order tried
JSON_RECORD_PATHS = ("items", "data.daily", "daily", "data", "records", "rows")


def json_records(path: Path, label: str | Path | None = None) -> tuple[list[dict], str, object]:
    """The list of records in a JSON document: (records, their path such as 'items', document)."""
    shown = label or path
    try:
        with open(path, encoding="utf-8-sig") as fh:
            document = json.load(fh)
    except UnicodeDecodeError:
        raise InputError(shown, "is not UTF-8 text", "save it as UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise InputError(shown, f"is not valid JSON ({err.msg})",
                         "download or export it again (the file is damaged or incomplete)",
                         line=err.lineno) from None
    except RecursionError:
        raise InputError(shown, "is JSON nested too deeply to read",
                         "download or export it again") from None
    found = _find_records(document)
    if found is None:
        raise InputError(shown, "is JSON but holds no list of records (such as 'items')",
                         "give butfor the API response or export as it was downloaded")
    where, records = found
    if not records:
        raise InputError(shown, f"is JSON whose list of records '{where or '[]'}' is empty",
                         "download a range that has data, or leave the file out")
    return records, where, document


def _find_records(document: object) -> tuple[str, list[dict]] | None:
    def is_records(value: object) -> bool:
        return isinstance(value, list) and all(isinstance(r, dict) for r in value) and (
            bool(value) or True)

    if is_records(document):
        return "", document  # type: ignore[return-value]
    if not isinstance(document, dict):
        return None
    for where in JSON_RECORD_PATHS:
        value: object = document
        for key in where.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list) and is_records(value):
            return where, value
    return None


_PREAMBLE = re.compile(r"^\ufeff?Category: ")


def preamble_of(head: bytes) -> list[str]:
    """Lines before the header: Google Trends' ``Category: All categories`` and a blank line."""
    try:
        lines = head.decode("utf-8-sig", errors="replace").splitlines()
    except ValueError:
        return []
    if not lines or not _PREAMBLE.match(lines[0]):
        return []
    n = 1
    while n < len(lines) and not lines[n].strip():
        n += 1
    return lines[:n]


def _check_text(head: bytes, shown) -> None:
    """Refuse UTF-16 and binary files with a sentence, before pandas meets them."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(shown, "is UTF-16 text, not UTF-8",
                         "save it again as 'CSV UTF-8' (or convert it with iconv -f UTF-16 "
                         "-t UTF-8)")
    if b"\x00" in head:
        raise InputError(shown, "is not a text file (it holds NUL bytes)",
                         "give butfor the CSV, Parquet or JSON export itself")


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@dataclass
class Table:
    """The rows of one input file, with the line each row came from.

    ``frame`` holds the cells as read: strings for CSV (nothing converted yet,
    so ids and dates stay exactly as written), typed values for Parquet and
    JSON lines. Column names are stripped of spaces and of a byte-order mark.
    """

    path: Path
    kind: Kind
    frame: pd.DataFrame
    lines: np.ndarray
    sha256: str
    bom: bool = False
    source: SourceSummary | None = None
    repaired_rows: set[int] = field(default_factory=set)
    # canonical metric -> the header it was read from (for messages)
    metric_columns: dict[str, str] = field(default_factory=dict)
    label: str | None = None  # how messages name it (a zip member: 'export.zip:Totals.csv')
    document: object = None  # a JSON document's whole content (readers take context from it)
    date_window: tuple[pd.Timestamp, pd.Timestamp] | None = None  # plausible dates (sense)
    container: str | None = None  # the zip or folder the file came from
    preamble: list[str] = field(default_factory=list)  # lines before the header (Trends)

    @property
    def name(self) -> str:
        return self.label or str(self.path)

    @property
    def file_name(self) -> str:
        """The file's own name (a zip member's name inside the zip)."""
        return self.name.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if self.label else self.path.name

    @property
    def has_lines(self) -> bool:
        return self.kind not in NO_LINES

    def line(self, row: int) -> int | None:
        """The line of row ``row`` (0-based position), or None for Parquet and JSON."""
        return int(self.lines[row]) if self.has_lines else None

    def line_of(self, line: int) -> int | None:
        """A recorded ``_line`` value as an editor line (None for Parquet and JSON rows)."""
        return int(line) if self.has_lines else None

    def error(self, problem: str, fix: str, *, row: int | None = None,
              column: str | None = None) -> InputError:
        if row is not None and not self.has_lines:
            problem = f"record {row + 1}: {problem}"
        return InputError(self.name, problem, fix,
                          line=self.line(row) if row is not None else None, column=column)

    def find(self, *names: str) -> str | None:
        """The actual column whose header matches one of ``names`` (case-insensitive)."""
        wanted = {snake(n) for n in names}
        for col in self.frame.columns:
            if snake(col) in wanted:
                return col
        return None

    def require(self, *names: str, fix: str | None = None) -> str:
        col = self.find(*names)
        if col is None:
            have = ", ".join(str(c) for c in self.frame.columns)
            raise InputError(
                self.name,
                f"has no column '{names[0]}' (its columns are: {have})",
                fix or f"add a '{names[0]}' column or pass --format with the right reader",
                line=1 if self.has_lines else None,
                column=names[0],
            )
        return col

    def text(self, column: str) -> pd.Series:
        """A column as stripped strings ('' for missing)."""
        s = self.frame[column]
        if s.dtype == _STR and not s.hasnans:  # a CSV's cells: already strings, none missing
            return s.str.strip()
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            return s.fillna("").astype(str).str.strip()
        return s.astype(object).where(s.notna(), "").astype(str).str.strip()

    def mark_repaired(self, rows) -> None:
        self.repaired_rows.update(int(r) for r in rows)


def load_table(path: Path, report: IngestReport, format_name: str,
               label: str | None = None) -> Table:
    """Read a file into a :class:`Table` and register it as a source in ``report``.

    Raises InputError for a missing, empty, header-only or malformed file.
    Empty rows are dropped here (a note in the report). ``label`` names the
    file in messages and in the report (a zip member's ``export.zip:Totals.csv``).
    """
    path = Path(path)
    shown = label or str(path)
    _check_exists(path, shown)
    kind = kind_of(path)
    header = header_of(path, shown)  # raises for empty / unreadable files
    _check_header(shown, header, kind)
    bom = _head(path).startswith(b"\xef\xbb\xbf")
    document = None
    preamble: list[str] = []
    if kind == "csv":
        preamble = preamble_of(_head(path))
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                                skip_blank_lines=False, encoding="utf-8-sig",
                                skiprows=len(preamble))
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
            raise _csv_error(shown, err, offset=len(preamble)) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        embedded = np.zeros(len(frame), dtype=np.int64)
        if _may_hold_line_breaks(path):  # only a quoted cell can hold one
            for col in frame.columns:
                embedded += frame[col].str.count("\n").to_numpy(dtype=np.int64)
        lines = (2 + len(preamble) + np.arange(len(frame))
                 + np.concatenate([[0], np.cumsum(embedded)[:-1]]))
    elif kind == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise InputError(shown, f"is not a readable Parquet file ({_first_line(err)})",
                             "export it again") from None
        lines = np.arange(1, len(frame) + 1)
    elif kind == "json":
        records, _, document = json_records(path, shown)
        frame = _records_frame(records, shown)
        lines = np.arange(1, len(frame) + 1)
    else:
        frame, lines = _read_jsonl(path, shown)
    frame = frame.reset_index(drop=True)
    table = Table(path=path, kind=kind, frame=frame, lines=np.asarray(lines, dtype=np.int64),
                  sha256=sha256_of(path), bom=bom, label=label, document=document,
                  preamble=preamble)
    table.source = report.add_source(shown, table.sha256, format_name)
    table.source.rows_read = len(frame)
    if bom:
        report.note(shown, "repaired", "byte-order mark at the start of the file removed",
                    [1], count=1)
    if kind == "csv" and len(frame):
        empty = (frame == "").all(axis=1).to_numpy()
        if empty.any():
            report.note(shown, "dropped", "empty row (no values)", table.lines[empty].tolist())
            table.source.rows_dropped += int(empty.sum())
            keep = ~empty
            table.frame = frame[keep].reset_index(drop=True)
            table.lines = table.lines[keep]
    if len(table.frame) == 0:
        if table.source.rows_read:
            raise InputError(shown, "has no data rows, only empty ones", "add the data rows",
                             line=2)
        raise InputError(shown, "has a header but no data rows",
                         "export the file again with its data, or leave it out", line=1)
    return table


def _may_hold_line_breaks(path: Path) -> bool:
    """False when the file has no quote character, so no cell can hold a line break."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            if b'"' in chunk:
                return True
    return False


def _records_frame(records: list[dict], shown: str) -> pd.DataFrame:
    """JSON records as a frame; nested values are not cells butfor can read."""
    for number, record in enumerate(records, start=1):
        for key, value in record.items():
            if isinstance(value, dict | list):
                raise InputError(shown, f"record {number}: the value of '{key}' is a nested "
                                 "JSON object or list, not a number or text",
                                 "give butfor the API response as downloaded", column=str(key))
    return pd.DataFrame.from_records(records)


def _read_jsonl(path: Path, shown: str) -> tuple[pd.DataFrame, np.ndarray]:
    records, lines = [], []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            numbered = list(enumerate(fh, start=1))
    except UnicodeDecodeError:
        raise InputError(shown, "is not UTF-8 text", "save it as UTF-8 JSON lines") from None
    for number, text in numbered:
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            msg = getattr(err, "msg", "nested too deeply")
            raise InputError(shown, f"is not valid JSON ({msg})",
                             "write one JSON object per line", line=number) from None
        if not isinstance(value, dict):
            raise InputError(shown, "holds a JSON value that is not an object",
                             "write one JSON object per line", line=number)
        records.append(value)
        lines.append(number)
    return _records_frame(records, shown), np.asarray(lines, dtype=np.int64)


def _check_exists(path: Path, shown=None) -> None:
    shown = shown or path
    if not path.exists():
        raise InputError(shown, "does not exist", "check the path")
    if path.is_dir():
        raise InputError(shown, "is a folder, not a file", "name the export files inside it")


def _check_header(path, header: list[str], kind: Kind) -> None:
    seen: dict[str, int] = {}
    for name in header:
        key = snake(name)
        if name == "" or name.lower().startswith("unnamed"):
            continue
        if key in seen:
            raise InputError(path, f"has the column '{name}' twice",
                             "rename or remove one of them",
                             line=1 if kind not in NO_LINES else None, column=name)
        seen[key] = 1


def _empty(path) -> InputError:
    return InputError(path, "is empty", "export the file again, or leave it out")


def _csv_error(path, err: Exception, offset: int = 0) -> InputError:
    if isinstance(err, UnicodeDecodeError):
        return InputError(path, "is not UTF-8 text", "save it as UTF-8 CSV")
    message = str(err)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if match:
        want, line, saw = (int(g) for g in match.groups())
        return InputError(path, f"has {saw} cells on this row but {want} in the header",
                          "quote cells that contain commas, or remove the extra cells",
                          line=line + offset)
    match = re.search(r"EOF inside string starting at row (\d+)", message)
    if match:
        return InputError(path, "has a quote (\") that is never closed",
                          "close the quote or remove it",
                          line=int(match.group(1)) + 1 + offset)
    return InputError(path, f"is not a readable CSV file ({_first_line(err)})",
                      "check its layout")
