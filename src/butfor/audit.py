"""Platform audit: around an event, which accounts lost reach, and was one group hit harder?

``butfor audit`` estimates an effect for every account of a panel (hundreds of
thousands to millions), tests groups for disproportion and ranks the most
affected accounts with Benjamini-Hochberg false-discovery control.

The per-account estimator, in plain words (the numbers are in
:mod:`butfor.audit_kernels`): on ``log1p(metric)``, an account's counterfactual
after the event is its own pre-event level, moved by the mean change of its
reference accounts over the same days (by default every other account on the
platform, leaving the account itself out; or the rest of its group; or a named
reference group) and, when off-platform control series are given, by what
those did for this account (slope fitted on its pre-event days). The effect is
the mean gap between observed and counterfactual after the event; with the
platform as reference it reads "how much more (or less) this account lost than
the platform as a whole". Its uncertainty comes from the account's own
pre-event residuals and their autocorrelation, floored at the platform-typical
autocorrelation and checked by pseudo-events placed in the pre-period
(placebo in time), so that p-values keep their nominal size under no effect.
What fools it: anything else that moved one account and not its reference at
the same time (a viral post, a scandal, a change of posting habits), and
reference accounts that were themselves hit (then effects are relative).

The group-disproportion test is a two-way fixed-effects regression of
``log1p(metric)`` on ``group x post`` indicators with account and day fixed
effects and standard errors clustered by account, computed from sufficient
statistics per partition (it matches ``pyfixest.feols(..., vcov={"CRV1":
"unit"})``).

How it runs: the panel is read partition by partition (Parquet files
partitioned by account, or a DuckDB store that is first copied into such
files), in two passes. Pass 1 sums each partition's daily totals per group and
its regression normal equations; the driver adds them up in partition order.
Pass 2 computes every account's effect (one numpy kernel call per partition,
vectorised over its accounts) and the regression's clustered scores. Each
partition's output is written to a temporary name and renamed, so an
interrupted audit restarts where it stopped, never redoing a finished
partition and never losing or duplicating an account. Partitions run in this
process, in a process pool, or on a Dask cluster: the same function on the
same inputs, combined in the same order, so every backend gives identical
results. There is no randomness.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from butfor.audit_kernels import (
    account_effects,
    account_inference,
    align_to_event,
    leave_one_out_reference,
    twfe_normal_equations,
    twfe_scores,
    twfe_solve,
    twfe_vcov,
)
from butfor.errors import DataError, InputError
from butfor.sql import identifier

Reference = Literal["platform", "group", "none"]
Transform = Literal["log1p", "identity"]
Backend = Literal["local", "dask"]
REFERENCES: tuple[str, ...] = ("platform", "group", "none")
TRANSFORMS: tuple[str, ...] = ("log1p", "identity")
NO_GROUP = "(none)"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditSpec:
    """What to audit. Only stores settings; :meth:`check` validates them."""

    metric: str = "impressions"
    event: dt.date | None = None  # one date for every account ...
    event_column: str | None = None  # ... or a per-account date column
    group_column: str | None = "group"
    controls: tuple[str, ...] = ()  # off-platform control metrics
    reference: Reference = "platform"
    reference_group: str | None = None  # compare every account with this group
    base_group: str | None = None  # the disproportion test's comparison group
    pre_days: int | None = None  # default: all days before the event
    post_days: int | None = None  # default: all days from the event on
    transform: Transform = "log1p"
    alpha: float = 0.05  # false-discovery rate for flagging accounts
    level: float = 0.95  # interval level
    n_placebo: int = 4
    min_days: int = 14
    top: int = 100

    def check(self) -> None:
        def bad(name, value, allowed):
            raise InputError(None, f"the audit setting '{name}' must be {allowed}; got {value!r}",
                             "change it and run again")

        if (self.event is None) == (self.event_column is None):
            bad("event", self.event, "one date (--event) or a per-account date column "
                "(--event-column), not both and not neither")
        if self.reference not in REFERENCES:
            bad("reference", self.reference, f"one of {', '.join(REFERENCES)}")
        if self.transform not in TRANSFORMS:
            bad("transform", self.transform, f"one of {', '.join(TRANSFORMS)}")
        if not 0 < self.alpha < 1:
            bad("alpha", self.alpha, "a number between 0 and 1")
        if not 0 < self.level < 1:
            bad("level", self.level, "a number between 0 and 1")
        for name in ("pre_days", "post_days"):
            v = getattr(self, name)
            if v is not None and v < 1:
                bad(name, v, "a positive number of days")
        if self.reference == "group" and not self.group_column:
            bad("reference", self.reference, "'platform' or 'none' when no group column is given")
        if self.reference_group is not None and not self.group_column:
            bad("reference_group", self.reference_group, "unset when no group column is given")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["event"] = None if self.event is None else self.event.isoformat()
        d["controls"] = list(self.controls)
        return d


@dataclass(frozen=True)
class AuditOutputs:
    """Where an audit wrote its results, plus the headline figures."""

    out: Path
    accounts: Path
    groups: Path
    disproportion: Path
    group_time: Path
    top_accounts: Path
    summary: dict
    report: Path | None
    partitions_run: int  # partitions computed in this run (the rest were already done)
    partitions_total: int


# ---------------------------------------------------------------------------
# input: Parquet partitions
# ---------------------------------------------------------------------------

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
        _write_parquet(chunk, out / f"part-{int(p):05d}.parquet")
    if units is not None:
        _write_parquet(units.assign(unit=units["unit"].astype(str)), out / "units.parquet")
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
        {str(p.relative_to(tmp)): _checksum(p) for p in files}, indent=1, sort_keys=True))
    if out.exists():
        import shutil

        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def _staged_intact(out: Path) -> bool:
    try:
        listed = json.loads((out / "_done").read_text())
        return bool(listed) and all(_checksum(out / name) == entry
                                    for name, entry in listed.items())
    except (OSError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------------------
# one partition, loaded as (accounts, days) arrays
# ---------------------------------------------------------------------------

@dataclass
class Block:
    units: np.ndarray  # (n,) sorted account ids
    y: np.ndarray  # (n, T) transformed metric
    x: np.ndarray | None  # (n, p, T) transformed controls
    group: np.ndarray  # (n,) group codes, len(groups) = no group
    event: np.ndarray  # (n,) event day index


@lru_cache(maxsize=4)
def _units_table(path: str, mtime_ns: int, columns: tuple[str, ...]) -> pd.DataFrame:
    table = pq.read_table(path)
    have = [c for c in columns if c in table.column_names]
    frame = table.select(["unit", *have]).to_pandas()
    frame["unit"] = frame["unit"].astype(str)
    return frame.drop_duplicates("unit").set_index("unit")


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
        ut = _units_table(up, os.stat(up).st_mtime_ns, tuple(c for c in (gcol, ecol) if c))
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


# ---------------------------------------------------------------------------
# the two passes, run per partition
# ---------------------------------------------------------------------------

def _twfe_arrays(block: Block, plan: dict):
    T = plan["days"]
    n_groups = len(plan["groups"])
    days = np.arange(T)[None, :]
    ev = block.event[:, None]
    window = (days >= ev - plan["n_pre"]) & (days < ev + plan["n_post"])
    sample = np.isfinite(block.y) & window & (block.group < n_groups)[:, None]
    sample &= (sample.sum(axis=1) >= 2)[:, None]  # singleton accounts carry no information
    post = days >= ev
    treat_groups = plan["treat_groups"]
    treat = np.stack([(block.group == g)[:, None] & post for g in treat_groups], axis=1) \
        if treat_groups else np.zeros((len(block.units), 0, T), dtype=bool)
    y = np.where(sample, block.y, 0.0)
    return y, sample, treat


def run_stage1(part: Partition, plan: dict, out: str) -> str:
    """Pass 1 on one partition: daily sums per group and the regression's normal equations."""
    block = load_block(part, plan)
    G = len(plan["groups"])
    T = plan["days"]
    fin = np.isfinite(block.y)
    vals = np.where(fin, block.y, 0.0)
    ref_sum = np.zeros((G + 1, T))
    ref_count = np.zeros((G + 1, T))
    np.add.at(ref_sum, block.group, vals)
    np.add.at(ref_count, block.group, fin.astype(float))
    y, sample, treat = _twfe_arrays(block, plan)
    if treat.shape[1]:
        xtx, xty = twfe_normal_equations(y, sample, treat)
    else:
        xtx, xty = np.zeros((0, 0)), np.zeros(0)
    target = Path(out) / "stage1" / f"part-{part.pid:05d}.npz"
    _save_npz(target, ref_sum=ref_sum, ref_count=ref_count, xtx=xtx, xty=xty,
              n_obs=np.array(sample.sum()), n_clusters=np.array((sample.sum(axis=1) > 0).sum()),
              day_count=sample.sum(axis=0), n_accounts=np.array(len(block.units)))
    return str(target)


def run_stage2(part: Partition, plan: dict, out: str, shared: dict) -> str:
    """Pass 2 on one partition: every account's effect, group paths, clustered scores."""
    spec = plan["spec"]
    block = load_block(part, plan)
    G = len(plan["groups"])
    n = len(block.units)
    reference = spec["reference"]
    if reference == "none":
        ref_cal = None
    else:
        ref_sum, ref_count = shared["ref_sum"], shared["ref_count"]
        if spec["reference_group"] is not None:
            g = plan["groups"].index(spec["reference_group"])
            rows, member = np.zeros(n, np.int64), block.group == g
            ref_sum, ref_count = ref_sum[g:g + 1], ref_count[g:g + 1]
        elif reference == "group":
            rows, member = block.group, np.ones(n, bool)
        else:
            ref_sum, ref_count = ref_sum.sum(axis=0)[None], ref_count.sum(axis=0)[None]
            rows, member = np.zeros(n, np.int64), np.ones(n, bool)
        ref_cal = leave_one_out_reference(block.y, ref_sum, ref_count, rows, member)
    n_pre, n_post = plan["n_pre"], plan["n_post"]
    ya = align_to_event(block.y, block.event, n_pre, n_post)
    ra = None if ref_cal is None else align_to_event(ref_cal, block.event, n_pre, n_post)
    xa = None if block.x is None else align_to_event(block.x, block.event, n_pre, n_post)
    k = account_effects(ya, ra, xa, n_pre, n_placebo=spec["n_placebo"],
                        min_days=spec["min_days"])

    gap = k["gap"]
    fin = np.isfinite(gap)
    gap_sum = np.zeros((G + 1, gap.shape[1]))
    gap_count = np.zeros((G + 1, gap.shape[1]))
    np.add.at(gap_sum, block.group, np.where(fin, gap, 0.0))
    np.add.at(gap_count, block.group, fin.astype(float))

    if plan["treat_groups"]:
        y, sample, treat = _twfe_arrays(block, plan)
        meat, sse = twfe_scores(y, sample, treat, shared["day_effects"], shared["coef"])
    else:
        meat, sse = np.zeros((0, 0)), 0.0

    groups = np.asarray([*plan["groups"], NO_GROUP], dtype=object)
    start = np.datetime64(plan["start"], "D")
    valid_event = block.event > -(10**8)
    cols: dict[str, Any] = {
        "unit": block.units.astype(str),
        "group": groups[block.group].astype(str),
        "event_date": np.where(valid_event, start + block.event.astype("timedelta64[D]"),
                               np.datetime64("NaT")),
        "effect": k["effect"],
        "gamma0": k["gamma0"],
        "rho1": k["rho1"],
        "phi": k["phi"],
        "n_pre": k["n_pre"],
        "n_post": k["n_post"],
        "pre_level": k["pre_level"],
        "pre_rmse": k["pre_rmse"],
    }
    for j, c in enumerate(spec["controls"]):
        cols[f"beta_{c}"] = k["beta"][:, j]
    for j in range(spec["n_placebo"]):
        cols[f"placebo_tau_{j}"] = k["placebo_tau"][:, j]
        cols[f"placebo_n1_{j}"] = k["placebo_n1"][:, j]
        cols[f"placebo_n2_{j}"] = k["placebo_n2"][:, j]
    frame = pd.DataFrame(cols)
    frame["partition"] = part.pid
    _save_npz(Path(out) / "stage2" / f"part-{part.pid:05d}.npz", gap_sum=gap_sum,
              gap_count=gap_count, meat=meat, sse=np.array(sse))
    target = Path(out) / "partitions" / f"part-{part.pid:05d}.parquet"
    _write_parquet(frame, target)  # written last: its presence marks the partition done
    return str(target)


def _task(stage: int, part: Partition, plan: dict, out: str, shared: dict | None) -> str:
    """The one function every backend runs (module level, so it pickles).

    BLAS and LAPACK run single-threaded here: OpenBLAS results depend on its
    thread count in the last bits, and identical results on every backend
    need the same arithmetic everywhere.
    """
    with _single_thread():
        if stage == 1:
            return run_stage1(part, plan, out)
        return run_stage2(part, plan, out, shared or {})


def _single_thread():
    from butfor.threads import single_threaded

    return single_threaded()


# ---------------------------------------------------------------------------
# backends
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Executor:
    """Where partitions run: this process, a local process pool, or a Dask cluster."""

    backend: Backend = "local"
    workers: int = 1
    scheduler: str | None = None  # Dask scheduler address; "local" starts a LocalCluster
    client: Any = field(default=None, compare=False)  # an existing dask.distributed.Client

    @contextmanager
    def session(self):
        """Start the workers once for both passes; yields a function that runs one pass."""
        if self.backend == "dask" or self.client is not None or self.scheduler:
            with self._dask_client() as client:
                yield functools.partial(_run_dask, client)
        elif self.workers <= 1:
            yield _run_serial
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
                yield functools.partial(_run_pool, pool)

    @contextmanager
    def _dask_client(self):
        from dask.distributed import Client, LocalCluster

        if self.client is not None:
            yield self.client
            return
        if self.scheduler and self.scheduler != "local":
            with Client(self.scheduler) as client:
                yield client
            return
        with LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client


def _run_serial(stage, parts, plan, out, shared, progress) -> None:
    for part in parts:
        _task(stage, part, plan, out, shared)
        progress()


def _run_pool(pool, stage, parts, plan, out, shared, progress) -> None:
    from concurrent.futures import as_completed

    futures = [pool.submit(_task, stage, p, plan, out, shared) for p in parts]
    for f in as_completed(futures):
        f.result()
        progress()


def _run_dask(client, stage, parts, plan, out, shared, progress) -> None:
    from dask.distributed import as_completed

    if not parts:
        return
    shared_f = client.scatter(shared, broadcast=True) if shared else None
    token = uuid.uuid4().hex[:8]
    futures = [client.submit(_task, stage, p, plan, out, shared_f, pure=False,
                             key=f"butfor-audit-{stage}-{p.pid:05d}-{token}") for p in parts]
    for f in as_completed(futures):
        f.result()
        progress()


class _Progress:
    """A rich progress bar (or nothing), advanced by every backend the same way."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True))
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def stage(self, description: str, total: int, done: int) -> Callable[[], None]:
        if self._bar is None:
            return lambda: None
        task = self._bar.add_task(description, total=total, completed=done)
        return lambda: self._bar.advance(task)


# ---------------------------------------------------------------------------
# the audit
# ---------------------------------------------------------------------------

def run_audit(source: str | Path, spec: AuditSpec, out: str | Path, *,
              executor: Executor | None = None, progress: bool = False, seed: int = 0,
              report: bool = True, store: str | Path | None = None,
              audit_name: str = "audit") -> AuditOutputs:
    """Run (or resume) an audit of the Parquet panel in ``source``; write results under ``out``.

    ``seed`` is recorded for provenance; the audit itself draws no random numbers.
    With ``store``, the final tables are also written into that DuckDB store
    (tables ``audit_accounts``, ``audit_groups``, ``audit_disproportion``,
    ``audit_group_time``, ``audit_top``, keyed by ``audit_name``).
    """
    t0 = time.perf_counter()
    spec.check()
    executor = executor or Executor()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    parts = discover_partitions(source)
    plan = _make_plan(Path(source), parts, spec)
    _check_manifest(out, plan, parts, seed)
    for sub in ("stage1", "stage2", "partitions"):
        (out / sub).mkdir(exist_ok=True)
        for stale in (out / sub).glob(".*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)

    ran = 0
    with _Progress(progress) as bar, executor.session() as run_pass:
        todo1 = [p for p in parts if not _intact(out / "stage1" / f"part-{p.pid:05d}.npz")]
        ref_file = out / "reference.npz"
        if todo1 or not _intact(ref_file):
            tick = bar.stage("pass 1: daily totals", len(parts), len(parts) - len(todo1))
            run_pass(1, todo1, plan, str(out), None, tick)
            ran = len(todo1)
            with _single_thread():
                _save_npz(ref_file, **_combine_stage1(out, parts, plan))
        with np.load(ref_file) as z:
            shared = {k: z[k] for k in z.files}
        todo2 = [p for p in parts
                 if not (_intact(out / "partitions" / f"part-{p.pid:05d}.parquet")
                         and _intact(out / "stage2" / f"part-{p.pid:05d}.npz"))]
        tick = bar.stage("pass 2: account effects", len(parts), len(parts) - len(todo2))
        run_pass(2, todo2, plan, str(out), shared, tick)
        ran = max(ran, len(todo2))
    with _single_thread():
        result = finalise(out, parts, plan, shared, seed=seed, report=report,
                          seconds=time.perf_counter() - t0, store=store, audit_name=audit_name)
    return AuditOutputs(partitions_run=ran, partitions_total=len(parts), **result)


def _make_plan(source: Path, parts: list[Partition], spec: AuditSpec) -> dict:
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


def _check_manifest(out: Path, plan: dict, parts: list[Partition], seed: int) -> None:
    manifest = {"plan": plan, "input": _fingerprint(parts), "seed": seed}
    path = out / "audit.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != json.loads(json.dumps(manifest)):
            raise InputError(out, "holds an audit with other settings or other input",
                             "choose another --out folder or delete this one")
        return
    _write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def _combine_stage1(out: Path, parts: list[Partition], plan: dict) -> dict:
    acc: dict[str, np.ndarray] = {}
    for part in parts:  # fixed order: identical sums on every backend
        with np.load(out / "stage1" / f"part-{part.pid:05d}.npz") as z:
            for key in ("ref_sum", "ref_count", "xtx", "xty", "n_obs", "n_clusters", "day_count",
                        "n_accounts"):
                acc[key] = z[key].copy() if key not in acc else acc[key] + z[key]
    k = len(plan["treat_groups"])
    T = plan["days"]
    day_effects, coef = np.zeros(T), np.zeros(k)
    keep = acc["day_count"] > 0
    if k and int(acc["n_clusters"]) > 1:
        try:
            day_effects, coef = twfe_solve(acc["xtx"], acc["xty"], keep, k)
        except np.linalg.LinAlgError:
            coef = np.full(k, np.nan)
    acc.update(day_effects=day_effects, coef=coef, keep_days=keep)
    return acc


def finalise(out: Path, parts: list[Partition], plan: dict, shared: dict, *, seed: int,
             report: bool, seconds: float, store: str | Path | None, audit_name: str) -> dict:
    """Combine the partition outputs into the final tables (cheap: one row per account)."""
    from scipy.stats import false_discovery_control
    from scipy.stats import t as t_dist

    spec = plan["spec"]
    frames = [pd.read_parquet(out / "partitions" / f"part-{p.pid:05d}.parquet") for p in parts]
    acc = pd.concat(frames, ignore_index=True).sort_values("unit", kind="stable")
    acc = acc.reset_index(drop=True)
    dup = acc["unit"].duplicated(keep=False)
    if dup.any():
        u = acc.loc[dup, "unit"].iloc[0]
        where = sorted(acc.loc[acc["unit"] == u, "partition"].tolist())
        raise DataError(f"account {u!r} appears in more than one partition ({where}); every "
                        "account's rows must be in one partition (see partition_panel)")
    K = spec["n_placebo"]

    def stack(prefix):
        return np.column_stack([acc[f"{prefix}_{j}"].to_numpy(float) for j in range(K)]) \
            if K else np.zeros((len(acc), 0))

    inf = account_inference(
        acc["effect"].to_numpy(float), acc["gamma0"].to_numpy(float), acc["rho1"].to_numpy(float),
        acc["phi"].to_numpy(float), acc["n_pre"].to_numpy(float), acc["n_post"].to_numpy(float),
        stack("placebo_tau"), stack("placebo_n1"), stack("placebo_n2"), level=spec["level"])
    effect = acc["effect"].to_numpy(float)
    p = inf.p_value
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    flagged = np.isfinite(q) & (q <= spec["alpha"])
    direction = np.where(flagged & (effect < 0), "lost", np.where(flagged, "gained", ""))

    med_rmse = float(np.nanmedian(acc["pre_rmse"])) if len(acc) else float("nan")
    z_last = inf.placebo_z[:, 0] if K else np.full(len(acc), np.nan)
    flag_rules = {
        "short_pre": acc["n_pre"].to_numpy() < spec["min_days"],
        "no_post": acc["n_post"].to_numpy() < 1,
        "no_estimate": ~np.isfinite(effect),
        "noisy": acc["pre_rmse"].to_numpy(float) > 3 * med_rmse,
        "pre_trend": np.abs(np.nan_to_num(z_last)) > 3,
        "persistent": acc["phi"].to_numpy(float) >= 0.97,
    }
    flags = pd.Series("", index=acc.index, dtype=object)
    for name, hit in flag_rules.items():  # a handful of rules, each vectorised over accounts
        flags = flags.where(~hit, flags + name + ";")
    flags = flags.str.rstrip(";").astype(object)

    table = pd.DataFrame({
        "unit": acc["unit"], "group": acc["group"], "event_date": acc["event_date"],
        "effect": effect, "effect_pct": np.expm1(effect) * 100 if spec["transform"] == "log1p"
        else np.full(len(acc), np.nan),
        "se": inf.se, "lower": inf.lower, "upper": inf.upper, "p_value": p, "q_value": q,
        "flagged": flagged, "direction": direction, "n_pre": acc["n_pre"], "n_post": acc["n_post"],
        "pre_level": acc["pre_level"], "pre_rmse": acc["pre_rmse"], "phi": acc["phi"],
        "rho1": acc["rho1"], "df": inf.df,
    })
    for c in spec["controls"]:
        table[f"beta_{c}"] = acc[f"beta_{c}"]
    table["flags"] = flags.to_numpy()

    # --- groups: mean of per-account effects, and the two-way FE regression --
    groups = plan["groups"]
    base = plan["base_group"]
    rows = []
    est = table[np.isfinite(table["effect"])]
    base_stats = None
    for g in [*groups, NO_GROUP]:
        sub = est[est["group"] == g]
        if sub.empty:
            continue
        m = float(sub["effect"].mean())
        s = float(sub["effect"].std(ddof=1) / math.sqrt(len(sub))) if len(sub) > 1 else float("nan")
        rows.append({"group": g, "n_accounts": int((table["group"] == g).sum()),
                     "n_estimated": len(sub), "mean_effect": m, "se": s,
                     "lower": m - 1.96 * s, "upper": m + 1.96 * s,
                     "median_effect": float(sub["effect"].median()),
                     "n_flagged_lost": int((sub["direction"] == "lost").sum()),
                     "n_flagged_gained": int((sub["direction"] == "gained").sum()),
                     "share_flagged_lost": float((sub["direction"] == "lost").mean())})
        if g == base:
            base_stats = (m, s)
    gtab = pd.DataFrame(rows)
    if base_stats is not None and not gtab.empty:
        gtab["diff_vs_base"] = gtab["mean_effect"] - base_stats[0]
        gtab["diff_se"] = np.sqrt(gtab["se"] ** 2 + base_stats[1] ** 2)
        gtab.loc[gtab["group"] == base, ["diff_vs_base", "diff_se"]] = np.nan

    k = len(plan["treat_groups"])
    dis_rows, wald = [], None
    if k:
        meat = None
        sse = 0.0
        for part in parts:
            with np.load(out / "stage2" / f"part-{part.pid:05d}.npz") as z:
                meat = z["meat"].copy() if meat is None else meat + z["meat"]
                sse += float(z["sse"])
        n_obs, n_cl = int(shared["n_obs"]), int(shared["n_clusters"])
        coef = shared["coef"]
        vcov = twfe_vcov(shared["xtx"], meat, shared["keep_days"].astype(bool), k, n_obs, n_cl)
        se = np.sqrt(np.diag(vcov))
        df_t = n_cl - 1
        tcrit = t_dist.ppf(0.975, df_t)
        for j, gi in enumerate(plan["treat_groups"]):
            tval = coef[j] / se[j]
            dis_rows.append({"group": groups[gi], "base_group": base, "coef": coef[j], "se": se[j],
                             "t": tval, "p_value": 2 * t_dist.sf(abs(tval), df_t),
                             "lower": coef[j] - tcrit * se[j], "upper": coef[j] + tcrit * se[j],
                             "n_obs": n_obs, "n_clusters": n_cl})
        try:
            from scipy.stats import f as f_dist

            stat = float(coef @ np.linalg.solve(vcov, coef) / k)
            wald = {"statistic": stat, "df1": k, "df2": df_t, "p_value": float(f_dist.sf(stat, k, df_t))}
        except np.linalg.LinAlgError:
            wald = None
    dis = pd.DataFrame(dis_rows, columns=["group", "base_group", "coef", "se", "t", "p_value",
                                          "lower", "upper", "n_obs", "n_clusters"])

    # --- group paths over event time ---------------------------------------
    gs = gc = None
    for part in parts:
        with np.load(out / "stage2" / f"part-{part.pid:05d}.npz") as z:
            gs = z["gap_sum"].copy() if gs is None else gs + z["gap_sum"]
            gc = z["gap_count"].copy() if gc is None else gc + z["gap_count"]
    rel = np.arange(-plan["n_pre"], plan["n_post"])
    gt_rows = []
    for gi, g in enumerate([*groups, NO_GROUP]):
        if gc[gi].sum() == 0:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(gc[gi] > 0, gs[gi] / gc[gi], np.nan)
        gt_rows.append(pd.DataFrame({"group": g, "event_day": rel, "mean_gap": mean,
                                     "n": gc[gi].astype(np.int64)}))
    gtime = pd.concat(gt_rows, ignore_index=True) if gt_rows else pd.DataFrame(
        columns=["group", "event_day", "mean_gap", "n"])

    top = table[table["flagged"]].sort_values(["effect", "unit"], kind="stable").head(spec["top"])

    summary = {
        "audit": audit_name,
        "settings": spec,
        "seed": seed,
        "calendar": {"start": plan["start"], "days": plan["days"], "n_pre": plan["n_pre"],
                     "n_post": plan["n_post"]},
        "estimand": _estimand(spec),
        "n_accounts": len(table),
        "n_estimated": int(np.isfinite(effect).sum()),
        "n_flagged": int(flagged.sum()),
        "n_flagged_lost": int((direction == "lost").sum()),
        "n_flagged_gained": int((direction == "gained").sum()),
        "n_partitions": len(parts),
        "groups": groups,
        "base_group": base,
        "calibration": {"platform_rho1": inf.platform_rho1, "platform_phi": inf.platform_phi,
                        "placebo_size_at_5pct": inf.placebo_size,
                        "se_inflation": inf.calibration},
        "disproportion": dis.to_dict(orient="records"),
        "wald": wald,
        "seconds": round(seconds, 3),
    }
    paths = {
        "accounts": out / "accounts.parquet",
        "groups": out / "groups.parquet",
        "disproportion": out / "disproportion.parquet",
        "group_time": out / "group_time.parquet",
        "top_accounts": out / "top_accounts.parquet",
    }
    _write_parquet(table, paths["accounts"])
    _write_parquet(gtab, paths["groups"])
    _write_parquet(dis, paths["disproportion"])
    _write_parquet(gtime, paths["group_time"])
    _write_parquet(top, paths["top_accounts"])
    _write_text(out / "summary.json", json.dumps(_plain(summary), indent=2, sort_keys=True))
    report_path = None
    if report:
        from butfor.audit_report import write_audit_report

        report_path = write_audit_report(out / "report.html", summary=summary, accounts=table,
                                         groups=gtab, disproportion=dis, group_time=gtime,
                                         top=top)
    if store is not None:
        _write_store(Path(store), audit_name, {
            "audit_accounts": table, "audit_groups": gtab, "audit_disproportion": dis,
            "audit_group_time": gtime, "audit_top": top})
    return {"out": out, "summary": _plain(summary), "report": report_path, **paths}


def _estimand(spec: dict) -> str:
    if spec["reference_group"]:
        ref = f"the accounts of group {spec['reference_group']!r}"
    else:
        ref = {"platform": "all other accounts on the platform",
               "group": "the other accounts of the same group",
               "none": "nothing (own pre-event level only)"}[spec["reference"]]
    ctl = f", adjusted by the account's own {', '.join(spec['controls'])}" if spec["controls"] else ""
    scale = "log1p" if spec["transform"] == "log1p" else "raw"
    return (f"mean post-event gap in {scale}({spec['metric']}) between each account and its own "
            f"pre-event level moved as {ref} moved{ctl}")


def _write_store(path: Path, name: str, tables: dict[str, pd.DataFrame]) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for tname, frame in tables.items():
            f = frame.copy()
            f.insert(0, "audit", name)
            table = identifier(tname)  # one of the fixed audit_* names, quoted all the same
            con.register("_audit_frame", f)
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _audit_frame LIMIT 0")
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [tname]).fetchall()]
            if cols != list(f.columns):  # settings changed the columns: start the table anew
                con.execute(f"DROP TABLE {table}")
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM _audit_frame LIMIT 0")
            con.execute(f"DELETE FROM {table} WHERE audit = ?", [name])
            con.execute(f"INSERT INTO {table} SELECT * FROM _audit_frame")
            con.unregister("_audit_frame")
    finally:
        con.close()


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    _record(tmp, path)
    os.replace(tmp, path)


def _save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    _record(tmp, path)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# every file a pass writes gets a manifest beside it (``NAME.sum``: its size and SHA-256),
# written just before the file takes its name, so a file present always has one; a resumed
# audit trusts a file only when both agree, so a partition truncated or damaged on disk
# is computed again instead of read
def _sum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sum")


def _checksum(path: Path) -> dict:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def _record(written: Path, path: Path) -> None:
    """Record the size and checksum of ``written``, about to be renamed to ``path``."""
    _write_text(_sum_path(path), json.dumps(_checksum(written), sort_keys=True))


def _intact(path: Path) -> bool:
    """``path`` exists and matches the size and checksum recorded when it was written."""
    path = Path(path)
    try:
        recorded = json.loads(_sum_path(path).read_text())
        if path.stat().st_size != recorded.get("size"):
            return False
        return _checksum(path) == recorded
    except (OSError, ValueError):
        return False


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ---------------------------------------------------------------------------
# CLI entry point
# ---------------------------------------------------------------------------

def audit_command(*, parquet: Path | None, store: Path | None, dataset: str | None,
                  event: str | None, event_column: str | None, metric: str,
                  group_column: str | None, control_metric: list[str], reference: str,
                  reference_group: str | None, base_group: str | None, pre_days: int | None,
                  post_days: int | None, transform: str, out: Path, scheduler: str | None,
                  workers: int, alpha: float, seed: int, console, progress: bool = True,
                  simulate: int | None = None) -> AuditOutputs:
    """What ``butfor audit`` does: resolve the source, run, print the headline."""
    if simulate:
        from butfor.audit_sim import AuditSimConfig, simulate_audit_panel

        cfg = AuditSimConfig(n_accounts=simulate)
        parquet = simulate_audit_panel(cfg, out / "simulated", seed=seed)
        event = event or cfg.event_date.isoformat()
        console.print(f"simulated {simulate:,} accounts into {parquet} (truth: "
                      f"{out / 'simulated' / 'truth.parquet'})")
    if (parquet is None) == (dataset is None):
        raise InputError(None, "the audit needs one panel source",
                         "give --parquet DIR, or --store FILE with --dataset NAME, or --simulate N")
    if dataset is not None:
        if store is None:
            raise InputError(None, "--dataset needs --store", "give the DuckDB store file")
        parquet = stage_from_store(store, dataset, out / "input")
    try:
        event_date = dt.date.fromisoformat(event) if event else None
    except ValueError:
        raise InputError(None, f"--event {event!r} is not a date",
                         "write it as YYYY-MM-DD") from None
    spec = AuditSpec(metric=metric, event=event_date, event_column=event_column,
                     group_column=group_column or None, controls=tuple(control_metric),
                     reference=reference, reference_group=reference_group,  # type: ignore[arg-type]
                     base_group=base_group, pre_days=pre_days, post_days=post_days,
                     transform=transform, alpha=alpha)  # type: ignore[arg-type]
    executor = Executor(backend="dask" if scheduler else "local", workers=workers,
                        scheduler=scheduler)
    res = run_audit(parquet, spec, out, executor=executor, progress=progress, seed=seed,
                    store=store, audit_name=dataset or "audit")
    s = res.summary
    console.print(f"audited {s['n_accounts']:,} accounts in {res.partitions_total} partitions "
                  f"({res.partitions_run} computed now); {s['n_flagged_lost']:,} lost and "
                  f"{s['n_flagged_gained']:,} gained reach at a false-discovery rate of "
                  f"{spec.alpha:g}")
    for row in s["disproportion"]:
        console.print(f"  group {row['group']} vs {row['base_group']}: "
                      f"{row['coef']:+.4f} (se {row['se']:.4f}, p = {row['p_value']:.3g})")
    console.print(f"results in {res.out} (report: {res.report})")
    return res
