"""Platform audit: around an event, which accounts lost reach, and was one group hit harder?

``butfor audit`` estimates an effect for every account of a panel (hundreds of
thousands to millions), tests groups for disproportion and ranks the most
affected accounts under false-discovery control (Benjamini-Hochberg, or
Benjamini-Yekutieli when no reference or control removes the movement all
accounts share; measured in docs/audit.md).

The per-account estimator, in plain words (the numbers are in
:mod:`butfor.methods.kernels`): on ``log1p(metric)``, an account's counterfactual
after the event is its own pre-event level, moved by the mean change of its
reference accounts over the same days (by default every other account on the
platform, leaving the account itself out; or the rest of its group; or a named
reference group) and, when off-platform control series are given, by what
those did for this account (slope fitted on its pre-event days). The effect is
the mean gap between observed and counterfactual after the event, centred on
the reference's typical account (the biweight location of the reference
accounts' effects), so that the accounts the event hit, which are in the
reference mean too, do not make every untouched account look like it gained;
with the platform as reference it reads "how much more (or less) this account
lost than the platform's typical account". The centre's own error is added to
every account's variance. Its uncertainty comes from the account's own
pre-event residuals and their autocorrelation, floored at the platform-typical
autocorrelation and checked by pseudo-events placed in the pre-period
(placebo in time), so that p-values keep their nominal size under no effect.
What fools it: anything else that moved one account and not its reference at
the same time (a viral post, a scandal, a change of posting habits), and a
reference of which half or more were hit (then the typical account is a hit one
and effects are relative to it).

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
process, in a process pool, or on a Dask cluster (``--scheduler local`` starts
one of separate worker processes on 127.0.0.1): the same function on the
same inputs, combined in the same order, so every backend gives identical
results. There is no randomness. ``run.json`` records what a run cost: each
step, every partition's time and the peak memory of the worker that ran it
(:mod:`~butfor.audit.runlog`).

The package, one module per step: :mod:`~butfor.audit.settings` (what to
audit), :mod:`~butfor.audit.partitions` (the input, read as arrays),
:mod:`~butfor.audit.plan` (calendar, groups, resume manifest),
:mod:`~butfor.audit.passes` (the two passes per partition),
:mod:`~butfor.audit.executors` (where they run), :mod:`~butfor.audit.runlog`
(what they cost), :mod:`~butfor.audit.statistics`
(the tests once every partition is done), :mod:`~butfor.audit.result` (the
typed result and its schema), :mod:`~butfor.audit.writing` and
:mod:`~butfor.audit.report` (files, store, HTML) and :mod:`~butfor.audit.run`.
"""

from butfor.audit.executors import Executor
from butfor.audit.partitions import (
    Block,
    Partition,
    discover_partitions,
    load_block,
    partition_panel,
    stage_from_store,
)
from butfor.audit.result import AuditResult, AuditSummary, audit_schema
from butfor.audit.run import AuditOutputs, audit_command, run_audit
from butfor.audit.settings import AuditSpec

__all__ = [
    "AuditOutputs",
    "AuditResult",
    "AuditSpec",
    "AuditSummary",
    "Block",
    "Executor",
    "Partition",
    "audit_command",
    "audit_schema",
    "discover_partitions",
    "load_block",
    "partition_panel",
    "run_audit",
    "stage_from_store",
]
