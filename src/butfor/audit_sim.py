"""A fast simulated platform for the audit, with known per-account truth.

The demo simulator (:mod:`butfor.simulate`) tells one account's story in
detail; this one makes many accounts quickly, block by block, straight into
Parquet partitions, so that a 100,000-account panel fits in bounded memory and
the audit can be checked against what was injected.

Each account's log reach is its own level, plus a platform-wide attention
process, plus its own AR(1) attention process, plus day-to-day noise. After the
event date every account's log reach shifts by the platform shock, the
accounts of some groups by an extra group shock, and a random share of
accounts (``affected_share``, per group if wanted) by an individual shock drawn
around ``affected_effect``. An off-platform series (``pageviews``) follows the
same attention but none of the shocks, so it can serve as a control.

Truth (``truth.parquet``): per account its group, whether it was individually
affected, the individual shock and the total injected log shift over the post
period. Everything is drawn from generators seeded by ``(seed, block)``, so the
same config and seed give the same files.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.signal import lfilter


@dataclass(frozen=True)
class AuditSimConfig:
    """Settings of the simulated platform (log-scale shocks)."""

    n_accounts: int = 10_000
    days: int = 365
    start: dt.date = dt.date(2022, 1, 1)
    event_day: int = 250  # index of the event date in the calendar
    groups: tuple[str, ...] = ("left", "right")
    group_shares: tuple[float, ...] = (0.5, 0.5)
    platform_shock: float = -0.08
    group_shocks: dict[str, float] = field(default_factory=lambda: {"left": -0.05})
    affected_share: dict[str, float] | float = 0.1
    affected_effect: float = -0.4
    affected_effect_sd: float = 0.1
    attention_ar: float = 0.9
    attention_sd: float = 0.05
    common_sd: float = 0.04
    noise_sd: float = 0.12
    pageview_noise_sd: float = 0.10
    staggered_days: int = 0  # > 0: each account's event falls up to this many days later
    missing_share: float = 0.0  # share of account-days set missing at random
    accounts_per_partition: int = 2_000

    @property
    def event_date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.event_day)


def simulate_audit_panel(config: AuditSimConfig, out: str | Path, seed: int = 0, *,
                         run=None, bar=None, log=None) -> Path:
    """Write the panel as ``out/panel/part-XXXXX.parquet`` + ``units.parquet``, and ``out/truth.parquet``.

    Returns the panel folder, ready for ``butfor audit --parquet``. Each
    partition is simulated and written by one call of :func:`simulate_partition`
    (seeded by ``(seed, partition)``), so the panel is never held whole in
    memory, and ``run`` (an executor's step runner,
    :meth:`butfor.audit.Executor.session`) can write the partitions on other
    processes; the files are the same wherever they are written. The truth and
    the unit table (one row per account) are then gathered file by file.
    """
    from butfor.audit.executors import _run_serial

    cfg = config
    out = Path(out)
    panel_dir = out / "panel"
    panel_dir.mkdir(parents=True, exist_ok=True)
    truth_dir = out / ".truth"
    truth_dir.mkdir(exist_ok=True)
    n_blocks = -(-cfg.n_accounts // cfg.accounts_per_partition)
    blocks = list(range(n_blocks))
    if bar is not None:
        from butfor.progress import stage

        tick = stage(bar, "simulating partitions", n_blocks)
    else:
        def tick() -> None:
            return None
    records = (run or _run_serial)(partial(simulate_partition, cfg, seed, str(out)), blocks,
                                   tick, name="simulate")
    if log is not None:
        log.record("simulate", blocks, records)
    unit_cols = ["unit", "group"] + (["event_date"] if cfg.staggered_days else [])
    _gather([truth_dir / f"part-{b:05d}.parquet" for b in blocks],
            {out / "truth.parquet": None, panel_dir / "units.parquet": unit_cols})
    shutil.rmtree(truth_dir)
    return panel_dir


def simulate_partition(cfg: AuditSimConfig, seed: int, out: str, b: int) -> int:
    """Simulate partition ``b`` and write it (and its accounts' truth); returns its accounts."""
    out_p = Path(out)
    T = cfg.days
    dates = pd.date_range(pd.Timestamp(cfg.start), periods=T, freq="D").to_numpy()
    crng = np.random.default_rng([seed, 0x5EED])
    common = lfilter([1.0], [1.0, -0.95], crng.normal(0.0, cfg.common_sd, T))
    shares = np.asarray(cfg.group_shares, dtype=float)
    shares = shares / shares.sum()
    lo = b * cfg.accounts_per_partition
    hi = min(cfg.n_accounts, lo + cfg.accounts_per_partition)
    table, truth = _block(cfg, seed, b, lo, hi, dates, common, shares)
    _write_atomic(pa.Table.from_pandas(truth, preserve_index=False),
                  out_p / ".truth" / f"part-{b:05d}.parquet")
    _write_atomic(table, out_p / "panel" / f"part-{b:05d}.parquet")
    return hi - lo


def _gather(files: list[Path], targets: dict[Path, list[str] | None]) -> None:
    """Concatenate the per-partition truth files into each target (some columns), file by file."""
    writers: dict[Path, pq.ParquetWriter] = {}
    tmps = {t: t.with_name(f".{t.name}.{uuid.uuid4().hex}.tmp") for t in targets}
    try:
        for f in files:
            table = pq.read_table(f)
            for target, cols in targets.items():
                part = table if cols is None else table.select(cols)
                if target not in writers:
                    writers[target] = pq.ParquetWriter(tmps[target], part.schema)
                writers[target].write_table(part)
    finally:
        for w in writers.values():
            w.close()
    for target, tmp in tmps.items():
        os.replace(tmp, target)


def _block(cfg: AuditSimConfig, seed: int, b: int, lo: int, hi: int, dates: np.ndarray,
           common: np.ndarray, shares: np.ndarray) -> tuple[pa.Table, pd.DataFrame]:
    rng = np.random.default_rng([seed, b])
    n, T = hi - lo, len(dates)
    units = np.array([f"acct{i:07d}" for i in range(lo, hi)], dtype=object)
    gidx = rng.choice(len(cfg.groups), size=n, p=shares)
    groups = np.asarray(cfg.groups, dtype=object)[gidx]
    level = rng.normal(8.0, 1.0, n)
    phi = cfg.attention_ar
    x0 = rng.normal(0.0, cfg.attention_sd / np.sqrt(1.0 - phi**2), n)
    own = lfilter([1.0], [1.0, -phi], rng.normal(0.0, cfg.attention_sd, (n, T)), axis=1,
                  zi=(phi * x0)[:, None])[0]
    attention = own + common[None, :]
    noise = rng.normal(0.0, cfg.noise_sd, (n, T))
    pv_noise = rng.normal(0.0, cfg.pageview_noise_sd, (n, T))
    if isinstance(cfg.affected_share, dict):
        share = np.array([cfg.affected_share.get(g, 0.0) for g in cfg.groups])[gidx]
    else:
        share = np.full(n, float(cfg.affected_share))
    affected = rng.random(n) < share
    individual = np.where(affected, rng.normal(cfg.affected_effect, cfg.affected_effect_sd, n), 0.0)
    group_extra = np.array([cfg.group_shocks.get(g, 0.0) for g in cfg.groups])[gidx]
    shift = cfg.platform_shock + group_extra + individual
    event = np.full(n, cfg.event_day)
    if cfg.staggered_days:
        event = event + rng.integers(0, cfg.staggered_days + 1, n)
    post = np.arange(T)[None, :] >= event[:, None]
    log_reach = level[:, None] + attention + noise + post * shift[:, None]
    impressions = np.round(np.expm1(log_reach))
    pv_level = level - 3.0 + rng.normal(0.0, 0.5, n)
    pageviews = np.round(np.expm1(pv_level[:, None] + attention + pv_noise))
    # a count is never negative: expm1 of a log level below log(0.5) rounds to -1 (about
    # once in four million account-days of pageviews, which log1p then refused)
    pageviews[pageviews < 0] = 0.0
    impressions[impressions < 0] = 0.0
    if cfg.missing_share > 0:
        miss = rng.random((n, T)) < cfg.missing_share
        impressions[miss] = np.nan
    # each unit string once, repeated by index inside Arrow: the pandas frame's
    # 1.5 million Python strings per partition were most of the simulation's time
    unit_col = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(n, dtype=np.int32), T)),
        pa.array(units.astype(str), type=pa.large_string())).cast(pa.large_string())
    frame = pa.table({
        "unit": unit_col,
        "date": pa.array(np.tile(dates, n)),
        "impressions": impressions.ravel(),
        "pageviews": pageviews.ravel(),
    })
    truth = pd.DataFrame({
        "unit": units,
        "group": groups,
        "affected": affected,
        "individual_effect": individual,
        "true_effect": shift,
    })
    if cfg.staggered_days:
        truth["event_date"] = dates[event]
    return frame, truth


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def true_estimand(truth: pd.DataFrame, reference: str = "platform",
                  reference_group: str | None = None) -> np.ndarray:
    """Each account's true audit effect: its injected log shift minus its reference's typical one.

    The audit measures an account against its reference accounts (all accounts
    for ``"platform"``, its own group for ``"group"``, the members of
    ``reference_group``, nothing for ``"none"``) and centres the result on the
    reference's typical account, which the hit accounts do not move
    (:func:`butfor.methods.kernels.accounts.typical_effect`). So the true
    effect is the account's shift minus the mean shift of the reference's
    accounts that were not individually hit: exactly zero for an untouched
    account of the group reference. The attention processes and noise are no
    part of it: they are what the reference and the controls remove. Exact
    when every account is observed every day (``missing_share = 0``) and the
    untouched accounts' shifts are symmetric about their mean (one value, or
    two groups of equal size, as here).
    """
    shift = truth["true_effect"].to_numpy(float)
    if reference == "none":  # the audit uses no reference path at all then
        return shift.copy()
    untouched = ~truth["affected"].to_numpy(bool)
    if reference_group is not None:
        key = np.zeros(len(truth), dtype=np.int64)
        centre_rows = untouched & (truth["group"] == reference_group).to_numpy()
    elif reference == "group":
        key = pd.factorize(truth["group"])[0]
        centre_rows = untouched
    else:
        key = np.zeros(len(truth), dtype=np.int64)
        centre_rows = untouched
    centre = pd.Series(shift[centre_rows]).groupby(key[centre_rows]).mean()
    return shift - centre.reindex(key).to_numpy()
