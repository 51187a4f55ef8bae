"""The audit's statistics, once every partition is done: cheap, one row per account.

:func:`audit_statistics` reads the partitions' outputs and computes, in order:
each account's calibrated interval and p-value, each effect centred on the
typical account of its reference, flags at the audit's false-discovery rate
(Benjamini-Hochberg, or Benjamini-Yekutieli where the tests stay strongly
dependent), the data-quality flags, the group effects
(mean of per-account effects), the group-disproportion regression's clustered
covariance and Wald test, each group's mean gap over event time, and the most
affected accounts. Every interval is at the audit's ``level``. It writes
nothing; :mod:`butfor.audit.writing` does.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from butfor.audit.partitions import Partition
from butfor.audit.result import AuditResult, AuditSummary
from butfor.audit.settings import NO_GROUP
from butfor.errors import DataError
from butfor.methods.kernels.accounts import Inference, account_inference, typical_effect
from butfor.methods.kernels.twfe import twfe_vcov


def audit_statistics(out: Path, parts: list[Partition], plan: dict, shared: dict, *, seed: int,
                     audit_name: str) -> AuditResult:
    """Combine the partition outputs under ``out`` into the audit's result."""
    spec = plan["spec"]
    acc = _read_accounts(out, parts)
    inf = _inference(acc, spec)
    centres = _centres(acc, inf, spec)
    procedure = fdr_procedure(spec)
    table = _account_table(acc, inf, spec, centres, procedure)
    gtab = _group_table(table, plan["groups"], plan["base_group"], spec["level"])
    dis, wald = _disproportion(out, parts, plan, shared)
    gtime = _group_time(out, parts, plan, spec, centres)
    top = table[table["flagged"]].sort_values(["effect", "unit"], kind="stable").head(spec["top"])
    effect = table["effect"].to_numpy(float)
    direction = table["direction"].to_numpy()
    summary = AuditSummary(
        audit=audit_name,
        settings=spec,
        seed=seed,
        calendar={"start": plan["start"], "days": plan["days"], "n_pre": plan["n_pre"],
                  "n_post": plan["n_post"]},
        estimand=estimand(spec),
        n_accounts=len(table),
        n_estimated=int(np.isfinite(effect).sum()),
        n_flagged=int(table["flagged"].sum()),
        n_flagged_lost=int((direction == "lost").sum()),
        n_flagged_gained=int((direction == "gained").sum()),
        n_partitions=len(parts),
        groups=plan["groups"],
        base_group=plan["base_group"],
        calibration={"platform_rho1": inf.platform_rho1, "platform_phi": inf.platform_phi,
                     "placebo_size_at_5pct": inf.placebo_size, "se_inflation": inf.calibration,
                     "reference_centre": {k: c for k, (c, _) in centres.items()},
                     "reference_centre_se": {k: math.sqrt(v) for k, (_, v) in centres.items()}},
        fdr_procedure=procedure,
        disproportion=[{k: _number(v) for k, v in row.items()}
                       for row in dis.to_dict(orient="records")],
        wald=wald,
    )
    return AuditResult(summary=summary, accounts=table, groups=gtab, disproportion=dis,
                       group_time=gtime, top=top)


def _number(v):
    """numpy scalars as Python numbers (the typed summary takes plain ints and floats)."""
    return v.item() if isinstance(v, np.generic) else v


def _read_accounts(out: Path, parts: list[Partition]) -> pd.DataFrame:
    frames = [pd.read_parquet(out / "partitions" / f"part-{p.pid:05d}.parquet") for p in parts]
    acc = pd.concat(frames, ignore_index=True).sort_values("unit", kind="stable")
    acc = acc.reset_index(drop=True)
    dup = acc["unit"].duplicated(keep=False)
    if dup.any():
        u = acc.loc[dup, "unit"].iloc[0]
        where = sorted(acc.loc[acc["unit"] == u, "partition"].tolist())
        raise DataError(f"account {u!r} appears in more than one partition ({where}); every "
                        "account's rows must be in one partition (see partition_panel)")
    return acc


def _inference(acc: pd.DataFrame, spec: dict) -> Inference:
    K = spec["n_placebo"]

    def stack(prefix):
        return np.column_stack([acc[f"{prefix}_{j}"].to_numpy(float) for j in range(K)]) \
            if K else np.zeros((len(acc), 0))

    return account_inference(
        acc["effect"].to_numpy(float), acc["gamma0"].to_numpy(float), acc["rho1"].to_numpy(float),
        acc["phi"].to_numpy(float), acc["n_pre"].to_numpy(float), acc["n_post"].to_numpy(float),
        stack("placebo_tau"), stack("placebo_n1"), stack("placebo_n2"), level=spec["level"])


def fdr_procedure(spec: dict) -> str:
    """The false-discovery procedure: the setting, or the one the dependence calls for.

    Benjamini-Hochberg controls the FDR for independent or positively dependent
    tests. With a reference, the movement every account shares (platform-wide
    attention, the event's common shock) is taken out of each account before it
    is tested, and what links the tests afterwards (the reference's own noise,
    the estimated centre) is weak; BH is then measured within nominal
    (docs/audit.md). With no reference and no control nothing removes that
    shared movement: every account's effect carries the same realised shift,
    the two-sided tests are strongly dependent in a way BH's guarantee does not
    cover, so Benjamini-Yekutieli (valid under any dependence) is used.
    """
    method = spec["fdr_method"]
    if method != "auto":
        return method
    return "bh" if spec["reference"] != "none" or spec["controls"] else "by"


def _reference_sets(acc: pd.DataFrame,
                    spec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Per reference set, (accounts it centres, accounts whose effects locate its centre)."""
    if spec["reference"] == "none":  # passes.run_stage2: no reference path at all
        return None
    group = acc["group"].to_numpy()
    everyone = np.ones(len(acc), bool)
    if spec["reference_group"] is not None:
        return {spec["reference_group"]: (everyone, group == spec["reference_group"])}
    if spec["reference"] == "group":
        return {str(g): (group == g, group == g) for g in sorted(pd.unique(group))}
    return {"platform": (everyone, everyone)}


def _centres(acc: pd.DataFrame, inf: Inference, spec: dict) -> dict[str, tuple[float, float]]:
    """Each reference set's typical effect and its variance (empty with no reference).

    The scale is capped at the set's median standard error: an untouched
    account's effect varies by its own noise, however many others were hit.
    """
    sets = _reference_sets(acc, spec)
    effect = acc["effect"].to_numpy(float)
    if sets is None:
        return {}
    out = {}
    for k, (_, member) in sets.items():
        se = inf.se[member & np.isfinite(effect)]
        noise = float(np.median(se)) if se.size else None
        out[k] = typical_effect(effect[member], noise_sd=noise)
    return out


def _centred(acc: pd.DataFrame, inf: Inference, spec: dict,
             centres: dict[str, tuple[float, float]]):
    """Effects against the reference's typical account; intervals and p-values to match.

    The centre is estimated from the same accounts, so its variance is added to
    every account's variance (it is an error they all share); the degrees of
    freedom stay the account's own.
    """
    effect = acc["effect"].to_numpy(float).copy()
    var = inf.se ** 2
    sets = _reference_sets(acc, spec) or {}
    for k, (applies, _) in sets.items():
        c, v = centres[k]
        effect[applies] -= c
        var[applies] += v
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * stats.t.sf(np.abs(effect / se), inf.df)
    half = stats.t.ppf(0.5 + spec["level"] / 2.0, inf.df) * se
    return effect, se, effect - half, effect + half, p


def _account_table(acc: pd.DataFrame, inf: Inference, spec: dict,
                   centres: dict[str, tuple[float, float]], procedure: str) -> pd.DataFrame:
    effect, se, lower, upper, p = _centred(acc, inf, spec, centres)
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method=procedure)
    flagged = np.isfinite(q) & (q <= spec["alpha"])
    direction = np.where(flagged & (effect < 0), "lost", np.where(flagged, "gained", ""))

    med_rmse = float(np.nanmedian(acc["pre_rmse"])) if len(acc) else float("nan")
    z_last = inf.placebo_z[:, 0] if spec["n_placebo"] else np.full(len(acc), np.nan)
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
        "se": se, "lower": lower, "upper": upper, "p_value": p, "q_value": q,
        "flagged": flagged, "direction": direction, "n_pre": acc["n_pre"], "n_post": acc["n_post"],
        "pre_level": acc["pre_level"], "pre_rmse": acc["pre_rmse"], "phi": acc["phi"],
        "rho1": acc["rho1"], "df": inf.df,
    })
    for c in spec["controls"]:
        table[f"beta_{c}"] = acc[f"beta_{c}"]
    table["flags"] = flags.to_numpy()
    return table


def _group_table(table: pd.DataFrame, groups: list[str], base: str | None,
                 level: float) -> pd.DataFrame:
    """Mean of per-account effects by group, with a normal interval at ``level``."""
    z = float(stats.norm.ppf(0.5 + level / 2.0))
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
                     "lower": m - z * s, "upper": m + z * s,
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
    return gtab


DISPROPORTION_COLUMNS = ["group", "base_group", "coef", "se", "t", "p_value", "lower", "upper",
                         "n_obs", "n_clusters"]


def _disproportion(out: Path, parts: list[Partition], plan: dict,
                   shared: dict) -> tuple[pd.DataFrame, dict | None]:
    """The regression's coefficients with clustered errors at ``level``, and the joint F test."""
    groups, base = plan["groups"], plan["base_group"]
    k = len(plan["treat_groups"])
    rows, wald = [], None
    if k:
        meat = None
        for part in parts:
            with np.load(out / "stage2" / f"part-{part.pid:05d}.npz") as z:
                meat = z["meat"].copy() if meat is None else meat + z["meat"]
        n_obs, n_cl = int(shared["n_obs"]), int(shared["n_clusters"])
        coef = shared["coef"]
        vcov = twfe_vcov(shared["xtx"], meat, shared["keep_days"].astype(bool), k, n_obs, n_cl)
        se = np.sqrt(np.diag(vcov))
        df_t = n_cl - 1
        tcrit = stats.t.ppf(0.5 + plan["spec"]["level"] / 2.0, df_t)
        for j, gi in enumerate(plan["treat_groups"]):
            tval = coef[j] / se[j]
            rows.append({"group": groups[gi], "base_group": base, "coef": coef[j], "se": se[j],
                         "t": tval, "p_value": 2 * stats.t.sf(abs(tval), df_t),
                         "lower": coef[j] - tcrit * se[j], "upper": coef[j] + tcrit * se[j],
                         "n_obs": n_obs, "n_clusters": n_cl})
        try:
            stat = float(coef @ np.linalg.solve(vcov, coef) / k)
            wald = {"statistic": stat, "df1": k, "df2": df_t,
                    "p_value": float(stats.f.sf(stat, k, df_t))}
        except np.linalg.LinAlgError:
            wald = None
    return pd.DataFrame(rows, columns=DISPROPORTION_COLUMNS), wald


def _group_time(out: Path, parts: list[Partition], plan: dict, spec: dict,
                centres: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Each group's mean gap (observed minus counterfactual) by day from the event.

    After the event the gap is measured, like the effects, against the
    reference's typical account (its centre subtracted from the post days).
    """
    gs = gc = None
    for part in parts:
        with np.load(out / "stage2" / f"part-{part.pid:05d}.npz") as z:
            gs = z["gap_sum"].copy() if gs is None else gs + z["gap_sum"]
            gc = z["gap_count"].copy() if gc is None else gc + z["gap_count"]
    rel = np.arange(-plan["n_pre"], plan["n_post"])
    rows = []
    for gi, g in enumerate([*plan["groups"], NO_GROUP]):
        if gc[gi].sum() == 0:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(gc[gi] > 0, gs[gi] / gc[gi], np.nan)
        mean = mean - np.where(rel >= 0, _centre_of(g, spec, centres), 0.0)
        rows.append(pd.DataFrame({"group": g, "event_day": rel, "mean_gap": mean,
                                  "n": gc[gi].astype(np.int64)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["group", "event_day", "mean_gap", "n"])


def _centre_of(group: str, spec: dict, centres: dict[str, tuple[float, float]]) -> float:
    """The centre the accounts of ``group`` are measured against (0 with no reference)."""
    if not centres:
        return 0.0
    if spec["reference_group"] is not None:
        return centres[spec["reference_group"]][0]
    if spec["reference"] == "group":
        return centres.get(group, (0.0, 0.0))[0]
    return centres["platform"][0]


def estimand(spec: dict) -> str:
    """What each account's effect measures, in words (the report and summary.json say it)."""
    if spec["reference_group"]:
        ref = f"the accounts of group {spec['reference_group']!r}"
    else:
        ref = {"platform": "all other accounts on the platform",
               "group": "the other accounts of the same group",
               "none": "nothing (own pre-event level only)"}[spec["reference"]]
    ctl = f", adjusted by the account's own {', '.join(spec['controls'])}" if spec["controls"] else ""
    scale = "log1p" if spec["transform"] == "log1p" else "raw"
    typical = "" if spec["reference"] == "none" else (
        ", measured against the typical (biweight-centred) account of that reference, so "
        "that the accounts the event hit do not move the comparison")
    return (f"mean post-event gap in {scale}({spec['metric']}) between each account and its own "
            f"pre-event level moved as {ref} moved{ctl}{typical}")
