"""The audit's input: a panel as Parquet partitions by account, each read as arrays.

A partition is one ``*.parquet`` file or sub-folder of a folder; every account
lives in exactly one. :func:`partition_panel` writes such a folder from a long
frame, :func:`stage_from_store` from a butfor DuckDB store (streaming inside
DuckDB), and :func:`load_block` reads one partition into ``(accounts, days)``
arrays on the audit's calendar, the same arrays on every backend.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from butfor.audit.files import checksum, write_parquet
from butfor.errors import DataError, InputError
from butfor.sql import identifier


@dataclass(frozen=True)
class Partition:
    pid: int
    paths: tuple[str, ...]


def discover_partitions(folder: str | Path) -> list[Partition]:
    """Each ``*.parquet`` file or sub-folder directly under ``folder`` is one partition.

    Names starting with ``.`` or ``_`` and ``units.parquet`` (unit attributes)
    are skipped. Every account must live in exactly one partition; the audit
    checks that at the end.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "is not a folder of Parquet files",
                         "give a folder written by partition_panel() or 'butfor audit-sim'")
    parts = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith((".", "_")) or entry.name == "units.parquet":
            continue
        if entry.is_file() and entry.suffix == ".parquet":
            paths = [entry]
        elif entry.is_dir():
            paths = sorted(p for p in entry.rglob("*.parquet")
                           if not any(s.startswith((".", "_")) for s in p.relative_to(entry).parts))
        else:
            continue
        if paths:
            parts.append(tuple(str(p.resolve()) for p in paths))
    if not parts:
        raise InputError(folder, "holds no Parquet partitions",
                         "write the panel with butfor.audit.partition_panel()")
    return [Partition(i, p) for i, p in enumerate(parts)]


def partition_panel(data: pd.DataFrame, out: str | Path, *, units: pd.DataFrame | None = None,
                    n_partitions: int | None = None, accounts_per_partition: int = 2_000) -> Path:
    """Write a long panel (unit, date, metrics...) as Parquet partitions by account hash.

    ``out/part-XXXXX.parquet`` holds the accounts whose stable hash falls in
    that partition (pandas' SipHash with its fixed key: the same account always
    lands in the same partition); ``units`` (unit, group, ...) goes to
    ``out/units.parquet``. Accepts a :class:`butfor.panel.Panel` too.
    """
    if hasattr(data, "data") and hasattr(data, "units"):
        units = data.units if units is None else units
        data = data.data
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = data.copy()
    frame["unit"] = frame["unit"].astype(str)
    ids = pd.unique(frame["unit"])
    n = n_partitions or max(1, math.ceil(len(ids) / accounts_per_partition))
    part_of = pd.Series(pd.util.hash_array(ids.astype(object)) % np.uint64(n), index=ids)
    frame["_part"] = part_of.reindex(frame["unit"]).to_numpy()
    for p, chunk in frame.groupby("_part", sort=True):
        chunk = chunk.drop(columns="_part").sort_values(["unit", "date"], kind="stable")
        write_parquet(chunk, out / f"part-{int(p):05d}.parquet")
    if units is not None:
        write_parquet(units.assign(unit=units["unit"].astype(str)), out / "units.parquet")
    return out


def stage_from_store(store: str | Path, dataset: str, out: str | Path, *,
                     accounts_per_partition: int = 2_000) -> Path:
    """Copy one dataset of a butfor DuckDB store into Parquet partitions by account hash.

    Streams inside DuckDB (bounded memory): the tidy ``observations`` table is
    pivoted to one column per metric and written with ``PARTITION_BY``. Done
    once; a completed copy (marked by ``_done``, which lists each file's size and
    SHA-256) is reused when an audit resumes, and copied again if a file no longer
    matches its entry.
    """
    import duckdb

    out = Path(out)
    if _staged_intact(out):
        return out
    store = Path(store)
    if not store.exists():
        raise InputError(store, "does not exist", "give the store written by 'butfor ingest'")
    con = duckdb.connect(str(store), read_only=True)
    try:
        con.execute("SET preserve_insertion_order = false")
        try:
            metrics = [r[0] for r in con.execute(
                "SELECT DISTINCT metric FROM observations WHERE dataset = ? ORDER BY 1",
                [dataset]).fetchall()]
            n_units = con.execute("SELECT count(DISTINCT unit) FROM observations WHERE dataset = ?",
                                  [dataset]).fetchone()[0]
        except duckdb.CatalogException as err:
            raise InputError(store, "is not a butfor store (no 'observations' table)",
                             "give the store written by 'butfor ingest'") from err
        if not metrics:
            raise InputError(store, f"has no dataset named {dataset!r}",
                             "run 'butfor data' to list the datasets")
        n = max(1, math.ceil(n_units / accounts_per_partition))
        # metric names are values (parameters) in the filter and quoted identifiers as
        # column names; the folder and the partition count are parameters too
        cols = ", ".join(f"max(value) FILTER (WHERE metric = ?) AS {identifier(m)}"
                         for m in metrics)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        tmp.mkdir(parents=True)
        con.execute(
            f"COPY (SELECT unit, CAST(date AS TIMESTAMP) AS date, {cols}, "
            "CAST(hash(unit) % CAST(? AS UBIGINT) AS INTEGER) AS part FROM observations "
            "WHERE dataset = ? GROUP BY unit, date) TO ? (FORMAT parquet, PARTITION_BY (part))",
            [*metrics, n, dataset, str(tmp)])
        con.execute(
            "COPY (SELECT unit, display_name, \"group\" FROM units WHERE dataset = ?) "
            "TO ? (FORMAT parquet)", [dataset, str(tmp / "units.parquet")])
    finally:
        con.close()
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    (tmp / "_done").write_text(json.dumps(
        {str(p.relative_to(tmp)): checksum(p) for p in files}, indent=1, sort_keys=True))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def _staged_intact(out: Path) -> bool:
    try:
        listed = json.loads((out / "_done").read_text())
        return bool(listed) and all(checksum(out / name) == entry
                                    for name, entry in listed.items())
    except (OSError, ValueError, AttributeError):
        return False


@dataclass
class Block:
    units: np.ndarray  # (n,) sorted account ids
    y: np.ndarray  # (n, T) transformed metric
    x: np.ndarray | None  # (n, p, T) transformed controls
    group: np.ndarray  # (n,) group codes, len(groups) = no group
    event: np.ndarray  # (n,) event day index


@lru_cache(maxsize=4)
def _unit_ranges(path: str, mtime_ns: int) -> tuple[list[str], list[tuple[str, str] | None]]:
    """The file's columns and each row group's (min, max) account id (None: not known)."""
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    col = schema.names.index("unit")
    kind = schema.field("unit").type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)  # ranges in str order
    ranges: list[tuple[str, str] | None] = []
    for i in range(meta.num_row_groups):
        st = meta.row_group(i).column(col).statistics
        ok = text and st is not None and st.has_min_max
        ranges.append((st.min, st.max) if ok else None)
    return schema.names, ranges


def _units_rows(path: str, columns: tuple[str, ...], units: np.ndarray) -> pd.DataFrame:
    """The rows of ``units.parquet`` for these accounts (sorted ids), indexed by account.

    Only this partition's accounts, so a worker's memory does not grow with the
    platform: row groups whose account range misses the partition's are
    skipped, the others read one at a time. Should a recorded range have
    missed an account (it never should), every row group is read instead: the
    same rows as reading the whole file.
    """
    names, ranges = _unit_ranges(path, os.stat(path).st_mtime_ns)
    have = ["unit", *(c for c in columns if c in names)]
    lo, hi = (str(units[0]), str(units[-1])) if len(units) else ("", "")
    wanted = pd.Index(units.astype(str))

    def read(groups):
        pieces = []
        pf = pq.ParquetFile(path)
        for i in groups:
            piece = pf.read_row_group(i, columns=have).to_pandas()
            piece["unit"] = piece["unit"].astype(str)
            pieces.append(piece[piece["unit"].isin(wanted)])
        frame = pd.concat(pieces, ignore_index=True) if pieces else \
            pd.DataFrame({c: pd.Series(dtype=object) for c in have})
        return frame.drop_duplicates("unit").set_index("unit")

    every = range(len(ranges))
    groups = [i for i in every if ranges[i] is None or not (ranges[i][1] < lo or ranges[i][0] > hi)]
    frame = read(groups)
    if len(groups) < len(ranges) and not wanted.isin(frame.index).all():
        frame = read(every)
    return frame


def _transform(values: np.ndarray, transform: str, path: str, column: str) -> np.ndarray:
    if transform == "identity":
        return values
    if np.nanmin(values, initial=0.0) < 0:
        raise InputError(path, f"column '{column}' has negative values, which log1p cannot take",
                         "use --transform identity or fix the data")
    return np.log1p(values)


def load_block(part: Partition, plan: dict) -> Block:
    """Read one partition into arrays; the same plan gives the same arrays on every backend."""
    spec = plan["spec"]
    metric = spec["metric"]
    controls = spec["controls"]
    gcol = spec["group_column"]
    ecol = spec["event_column"]
    start = np.datetime64(plan["start"], "D")
    T = plan["days"]
    groups = plan["groups"]
    tables = []
    for path in part.paths:
        schema = pq.read_schema(path)
        for c in ("unit", "date", metric, *controls):
            if c not in schema.names:
                raise InputError(path, f"has no column '{c}'",
                                 f"name one of {', '.join(schema.names)} or fix the partition")
        extra = [c for c in (gcol, ecol) if c and c in schema.names]
        tables.append(pq.read_table(path, columns=["unit", "date", metric, *controls, *extra]))
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    frame = table.to_pandas()
    codes, units = pd.factorize(frame["unit"].astype(str), sort=True)
    units = np.asarray(units, dtype=object)
    day = ((frame["date"].to_numpy().astype("datetime64[D]") - start).astype(np.int64))
    n = len(units)
    flat = codes.astype(np.int64) * T + day
    counts = np.bincount(flat, minlength=n * T)
    if counts.max(initial=0) > 1:
        i = int(np.argmax(counts))
        raise DataError(f"{part.paths[0]}: account {units[i // T]!r} has more than one row for "
                        f"{start + np.timedelta64(i % T, 'D')}; keep one row per account and day")

    def wide(col):
        out = np.full(n * T, np.nan)
        out[flat] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        return _transform(out.reshape(n, T), spec["transform"], part.paths[0], col)

    y = wide(metric)
    x = np.stack([wide(c) for c in controls], axis=1) if controls else None

    attrs = pd.DataFrame(index=pd.Index(units, name="unit"))
    if plan.get("units_path"):
        up = plan["units_path"]
        ut = _units_rows(up, tuple(c for c in (gcol, ecol) if c), units)
        attrs = attrs.join(ut, how="left")
    for c in (gcol, ecol):
        if c and c in frame.columns and c not in attrs.columns:
            first = frame[["unit", c]].dropna().drop_duplicates("unit").set_index("unit")[c]
            attrs[c] = first.reindex(attrs.index.astype(str))
    if gcol and gcol in attrs.columns:
        gvals = attrs[gcol].astype("string")
        codes = pd.Categorical(gvals, categories=groups).codes.astype(np.int64)
        group = np.where(codes < 0, len(groups), codes)
    else:
        group = np.full(n, len(groups), dtype=np.int64)
    if ecol:
        if ecol not in attrs.columns:
            raise InputError(plan.get("units_path") or part.paths[0], f"has no column '{ecol}'",
                             "give the per-account event dates in units.parquet or the panel")
        ev = pd.to_datetime(attrs[ecol]).to_numpy().astype("datetime64[D]")
        event = np.where(np.isnat(ev), -(10**9), (ev - start).astype(np.int64))
    else:
        event = np.full(n, plan["event_index"], dtype=np.int64)
    return Block(units=units, y=y, x=x, group=group, event=event)
