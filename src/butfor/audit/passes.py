"""The audit's two passes, each run on one partition, and the driver's sum between them.

Pass 1 (:func:`run_stage1`) sums each partition's daily totals per group and
its regression normal equations; :func:`combine_stage1` adds them up in
partition order and solves the regression. Pass 2 (:func:`run_stage2`)
computes every account's effect (one kernel call per partition, vectorised
over its accounts), the group paths and the regression's clustered scores.
Every output is written under a temporary name and renamed, so an interrupted
audit restarts where it stopped. :func:`task` is the one function every
backend runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from butfor.audit.files import save_npz, write_parquet
from butfor.audit.partitions import Block, Partition, load_block
from butfor.audit.settings import NO_GROUP
from butfor.methods.kernels.accounts import account_effects, align_to_event, leave_one_out_reference
from butfor.methods.kernels.twfe import twfe_normal_equations, twfe_scores, twfe_solve


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
    save_npz(target, ref_sum=ref_sum, ref_count=ref_count, xtx=xtx, xty=xty,
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
    save_npz(Path(out) / "stage2" / f"part-{part.pid:05d}.npz", gap_sum=gap_sum,
              gap_count=gap_count, meat=meat, sse=np.array(sse))
    target = Path(out) / "partitions" / f"part-{part.pid:05d}.parquet"
    write_parquet(frame, target)  # written last: its presence marks the partition done
    return str(target)


def task(stage: int, plan: dict, out: str, part: Partition, shared: dict | None = None) -> str:
    """The one function every backend runs (module level, so it pickles).

    Called as ``functools.partial(task, stage, plan, out)(part[, shared])``.

    BLAS and LAPACK run single-threaded here: OpenBLAS results depend on its
    thread count in the last bits, and identical results on every backend
    need the same arithmetic everywhere.
    """
    with single_thread():
        if stage == 1:
            return run_stage1(part, plan, out)
        return run_stage2(part, plan, out, shared or {})


def single_thread():
    from butfor.threads import single_threaded

    return single_threaded()


def combine_stage1(out: Path, parts: list[Partition], plan: dict) -> dict:
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
