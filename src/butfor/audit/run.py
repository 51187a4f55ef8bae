"""Running an audit: plan, both passes on the chosen backend, statistics, files.

:func:`run_audit` is the library entry point (resumable: finished partitions
are never redone); :func:`audit_command` is what ``butfor audit`` does.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from butfor.audit.executors import Executor
from butfor.audit.files import intact, save_npz, write_text
from butfor.audit.partitions import discover_partitions, stage_from_store
from butfor.audit.passes import combine_stage1, single_thread, task
from butfor.audit.plan import check_manifest, make_plan
from butfor.audit.result import AuditResult
from butfor.audit.runlog import RunLog
from butfor.audit.settings import PROCEDURES, AuditSpec
from butfor.audit.statistics import audit_statistics
from butfor.audit.writing import summary_json, write_audit
from butfor.errors import InputError
from butfor.progress import progress_bar, stage
from butfor.results import dumps


@dataclass(frozen=True)
class AuditOutputs:
    """Where an audit wrote its results, the result itself and the headline figures."""

    out: Path
    accounts: Path
    groups: Path
    disproportion: Path
    group_time: Path
    top_accounts: Path
    summary: dict  # summary.json as written
    report: Path | None
    partitions_run: int  # partitions computed in this run (the rest were already done)
    partitions_total: int
    result: AuditResult
    seconds: float  # wall time of this run (also in run.json; never in summary.json)


def run_audit(source: str | Path, spec: AuditSpec, out: str | Path, *,
              executor: Executor | None = None, progress: bool = False, seed: int = 0,
              report: bool = True, store: str | Path | None = None,
              audit_name: str = "audit", log: RunLog | None = None) -> AuditOutputs:
    """Run (or resume) an audit of the Parquet panel in ``source``; write results under ``out``.

    ``seed`` is recorded for provenance; the audit itself draws no random numbers.
    With ``store``, the final tables are also written into that DuckDB store
    (tables ``audit_accounts``, ``audit_groups``, ``audit_disproportion``,
    ``audit_group_time``, ``audit_top``, keyed by ``audit_name``). ``run.json``
    records this run's costs (:class:`~butfor.audit.runlog.RunLog`; ``log``
    carries steps timed before, such as the simulation).
    """
    t0 = time.perf_counter()
    spec.check()
    executor = executor or Executor()
    log = log or RunLog()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with log.stage("plan"):
        parts = discover_partitions(source)
        plan = make_plan(Path(source), parts, spec)
        check_manifest(out, plan, parts, seed)
    for sub in ("stage1", "stage2", "partitions"):
        (out / sub).mkdir(exist_ok=True)
        for stale in (out / sub).glob(".*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)

    ran = 0
    with progress_bar(disable=not progress) as bar, executor.started() as ex, \
            ex.session() as run:
        log.executor = ex.describe()
        todo1 = [p for p in parts if not intact(out / "stage1" / f"part-{p.pid:05d}.npz")]
        ref_file = out / "reference.npz"
        if todo1 or not intact(ref_file):
            tick = stage(bar, "pass 1: daily totals", len(parts), len(parts) - len(todo1))
            with log.stage("pass1"):
                log.record("pass1", [p.pid for p in todo1],
                           run(functools.partial(task, 1, plan, str(out)), todo1, tick,
                               name="pass1"))
            ran = len(todo1)
            with log.stage("combine"), single_thread():
                save_npz(ref_file, **combine_stage1(out, parts, plan))
        with np.load(ref_file) as z:
            shared = {k: z[k] for k in z.files}
        todo2 = [p for p in parts
                 if not (intact(out / "partitions" / f"part-{p.pid:05d}.parquet")
                         and intact(out / "stage2" / f"part-{p.pid:05d}.npz"))]
        tick = stage(bar, "pass 2: account effects", len(parts), len(parts) - len(todo2))
        with log.stage("pass2"):
            log.record("pass2", [p.pid for p in todo2],
                       run(functools.partial(task, 2, plan, str(out)), todo2, tick,
                           shared=shared, name="pass2"))
        ran = max(ran, len(todo2))
        tick = stage(bar, "statistics and tables", 2)
        with log.stage("statistics"), single_thread():
            result = audit_statistics(out, parts, plan, shared, seed=seed, audit_name=audit_name)
        tick()
        with log.stage("write"), single_thread():
            paths = write_audit(result, out, report=report, store=store, audit_name=audit_name)
        tick()
    seconds = time.perf_counter() - t0
    write_text(out / "run.json", dumps({"seconds": round(seconds, 3), "partitions_run": ran,
                                        "partitions_total": len(parts), **log.to_dict()}))
    return AuditOutputs(out=out, summary=json.loads(summary_json(result)), result=result,
                        partitions_run=ran, partitions_total=len(parts), seconds=seconds,
                        **paths)


def audit_command(*, parquet: Path | None, store: Path | None, dataset: str | None,
                  event: str | None, event_column: str | None, metric: str,
                  group_column: str | None, control_metric: list[str], reference: str,
                  reference_group: str | None, base_group: str | None, pre_days: int | None,
                  post_days: int | None, transform: str, out: Path, scheduler: str | None,
                  workers: int, alpha: float, seed: int, console, progress: bool = True,
                  simulate: int | None = None, simulate_days: int | None = None,
                  partition_accounts: int = 2000, level: float = 0.95,
                  fdr_method: str = "auto") -> AuditOutputs:
    """What ``butfor audit`` does: resolve the source, run, print the headline."""
    executor = Executor(backend="dask" if scheduler else "local", workers=workers,
                        scheduler=scheduler)
    log = RunLog()
    if partition_accounts < 1:
        raise InputError(None, f"--partition-accounts must be at least 1; got {partition_accounts}",
                         "give a positive number of accounts (2,000 keeps a worker under 1 GB)")
    with executor.started() as ex:  # the same workers simulate (if asked) and audit
        if simulate:
            parquet, event = _simulate(ex, simulate, simulate_days, partition_accounts, out,
                                       seed, event, progress, log, console)
        return _audit(ex, log, parquet=parquet, store=store, dataset=dataset, event=event,
                      event_column=event_column, metric=metric, group_column=group_column,
                      control_metric=control_metric, reference=reference,
                      reference_group=reference_group, base_group=base_group,
                      pre_days=pre_days, post_days=post_days, transform=transform, out=out,
                      alpha=alpha, seed=seed, console=console, progress=progress, level=level,
                      fdr_method=fdr_method, partition_accounts=partition_accounts)


def _simulate(executor: Executor, n: int, days: int | None, per_partition: int, out: Path,
              seed: int, event: str | None, progress: bool, log: RunLog,
              console) -> tuple[Path, str]:
    """``--simulate``: write the platform's partitions on the audit's own workers."""
    from butfor.audit_sim import AuditSimConfig, simulate_audit_panel

    days = days or 365
    # the event 250 days into a year, and at the same share of a longer calendar
    cfg = AuditSimConfig(n_accounts=n, days=days, event_day=round(days * 250 / 365),
                         accounts_per_partition=per_partition)
    with progress_bar(disable=not progress) as bar, executor.session() as run, \
            log.stage("simulate"):
        parquet = simulate_audit_panel(cfg, out / "simulated", seed=seed, run=run, bar=bar,
                                       log=log)
    console.print(f"simulated {n:,} accounts x {days} days into {parquet} (truth: "
                  f"{out / 'simulated' / 'truth.parquet'})")
    return parquet, event or cfg.event_date.isoformat()


def _audit(executor: Executor, log: RunLog, *, parquet, store, dataset, event, event_column,
           metric, group_column, control_metric, reference, reference_group, base_group,
           pre_days, post_days, transform, out, alpha, seed, console, progress, level,
           fdr_method, partition_accounts) -> AuditOutputs:
    if (parquet is None) == (dataset is None):
        raise InputError(None, "the audit needs one panel source",
                         "give --parquet DIR, or --store FILE with --dataset NAME, or --simulate N")
    if dataset is not None:
        if store is None:
            raise InputError(None, "--dataset needs --store", "give the DuckDB store file")
        parquet = stage_from_store(store, dataset, out / "input",
                                   accounts_per_partition=partition_accounts)
    try:
        event_date = dt.date.fromisoformat(event) if event else None
    except ValueError:
        raise InputError(None, f"--event {event!r} is not a date",
                         "write it as YYYY-MM-DD") from None
    spec = AuditSpec(metric=metric, event=event_date, event_column=event_column,
                     group_column=group_column or None, controls=tuple(control_metric),
                     reference=reference, reference_group=reference_group,  # type: ignore[arg-type]
                     base_group=base_group, pre_days=pre_days, post_days=post_days,
                     transform=transform, alpha=alpha, level=level,  # type: ignore[arg-type]
                     fdr_method=fdr_method)  # type: ignore[arg-type]
    res = run_audit(parquet, spec, out, executor=executor, progress=progress, seed=seed,
                    store=store, audit_name=dataset or "audit", log=log)
    s = res.result.summary
    console.print(f"audited {s.n_accounts:,} accounts in {res.partitions_total} partitions "
                  f"({res.partitions_run} computed now); {s.n_flagged_lost:,} lost and "
                  f"{s.n_flagged_gained:,} gained reach at a false-discovery rate of "
                  f"{spec.alpha:g} ({PROCEDURES[s.fdr_procedure]})")
    for row in s.disproportion:
        console.print(f"  group {row.group} vs {row.base_group}: "
                      f"{row.coef:+.4f} (se {row.se:.4f}, p = {row.p_value:.3g})")
    console.print(f"results in {res.out} (report: {res.report})")
    return res
