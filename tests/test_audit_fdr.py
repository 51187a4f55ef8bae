"""The audit's false-discovery control, measured over seeds of the simulated platform.

A flag says "this account lost (or gained) reach relative to its reference".
It is a false discovery when the account's true audit effect
(:func:`butfor.audit_sim.true_estimand`, from the injected shifts) is zero or
has the other sign (the directional false-discovery rate, since every flag
states a direction). In the cells where every account that was not
individually hit has a true effect of exactly zero (the group reference; the
platform reference without a group shock; no reference without any shock) a
flag on an account the truth file marks unaffected is false, whatever the
audit's estimand: those cells check the audit against the simulator alone.

FDR is the mean over seeds of the false-discovery proportion (0 when nothing
is flagged); its Monte-Carlo standard error is the standard deviation of the
proportion over seeds divided by the square root of the number of seeds.
``benchmarks/audit_fdr.py`` runs the same study at 50 seeds and writes the
table in benchmarks/README.md and docs/verdict-policy.md.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from butfor.audit import AuditSpec, run_audit
from butfor.audit_sim import AuditSimConfig, simulate_audit_panel, true_estimand
from butfor.cli import app

REFERENCES = ("platform", "group", "none")
BASE = AuditSimConfig()  # the platform `butfor audit --simulate N` makes
# Scenarios of the simulated platform (log-scale shifts after the event):
# "default" is --simulate's (platform -0.08, group "left" -0.05 more, 10% of
# accounts hit by about -0.4); "no group shock" drops the group's extra shift;
# "no shocks" keeps only the individual hits; "45% hit" is the default with
# close to half of every group hit (the typical-account centre's limit).
SCENARIOS = {
    "default": {},
    "no group shock": {"group_shocks": {}},
    "no shocks": {"platform_shock": 0.0, "group_shocks": {}},
    "45% hit": {"affected_share": 0.45},
}


def exact_nulls(scenario: str, reference: str) -> bool:
    """Whether every account not individually hit has a true effect of exactly zero."""
    s = SCENARIOS[scenario]
    no_group = s.get("group_shocks", BASE.group_shocks) == {}
    no_platform = s.get("platform_shock", BASE.platform_shock) == 0.0
    return {"group": True, "platform": no_group, "none": no_group and no_platform}[reference]


def fdr_study(n_accounts: int, seeds, work: Path, cells: dict | None = None,
              alpha: float = 0.05) -> pd.DataFrame:
    """One row per (scenario, reference, seed): flags, false-discovery proportions, power.

    ``cells`` maps each scenario to the references to audit it with (default:
    every scenario with every reference).
    """
    cells = cells or {s: REFERENCES for s in SCENARIOS}
    rows = []
    for scenario, references in cells.items():
        cfg = replace(BASE, n_accounts=n_accounts, accounts_per_partition=max(n_accounts // 2, 1),
                      **SCENARIOS[scenario])
        for seed in seeds:
            d = work / f"sim-{seed}"
            panel = simulate_audit_panel(cfg, d, seed=seed)
            truth = pd.read_parquet(d / "truth.parquet")
            for ref in references:
                spec = AuditSpec(event=cfg.event_date, reference=ref, alpha=alpha)
                res = run_audit(panel, spec, d / f"out-{ref}", report=False)
                rows.append({"scenario": scenario, "reference": ref, "seed": seed,
                             **false_discoveries(res.result.accounts, truth, ref)})
            shutil.rmtree(d)
    return pd.DataFrame(rows)


def false_discoveries(accounts: pd.DataFrame, truth: pd.DataFrame, reference: str) -> dict:
    """False-discovery proportions of one audit against the simulator's truth."""
    t = truth.set_index("unit").loc[accounts["unit"]].reset_index()
    effect = true_estimand(t, reference)
    effect = np.where(np.abs(effect) < 1e-9, 0.0, effect)  # identical shifts: exactly zero
    flagged = accounts["flagged"].to_numpy(bool)
    claimed = np.where(accounts["direction"].to_numpy() == "lost", -1.0, 1.0)
    n = int(flagged.sum())
    false = flagged & (np.sign(effect) != claimed)
    unaffected = flagged & ~t["affected"].to_numpy(bool)
    hit = t["affected"].to_numpy(bool)
    return {"n_flagged": n, "fdp": false.sum() / max(n, 1),
            "fdp_unaffected": unaffected.sum() / max(n, 1),
            "power": float((flagged & hit & (claimed < 0)).sum() / max(hit.sum(), 1))}


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """FDR (mean FDP) with its Monte-Carlo standard error, per scenario and reference."""
    def mc_se(x):
        return float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")

    g = rows.groupby(["scenario", "reference"], sort=False)
    out = g.agg(seeds=("seed", "count"), flagged=("n_flagged", "mean"), fdr=("fdp", "mean"),
                fdr_se=("fdp", mc_se), fdr_unaffected=("fdp_unaffected", "mean"),
                fdr_unaffected_se=("fdp_unaffected", mc_se), power=("power", "mean"))
    out = out.reset_index()
    out["exact_nulls"] = [exact_nulls(s, r)
                          for s, r in zip(out["scenario"], out["reference"], strict=True)]
    return out


@pytest.mark.slow
def test_fdr_holds_for_every_reference(tmp_path, slow_size):
    # Simulation with known truth (butfor.audit_sim), seeds 0.. . Measured on this
    # code at CI size (1000 accounts, 10 seeds): FDR 0.040 (MC se 0.005) for the
    # group reference, 0.043 (0.006) for the platform reference without shocks,
    # 0.004 (0.002) for the platform reference of the default platform, 0.000
    # without a reference (Benjamini-Yekutieli there); among unaffected accounts
    # without a reference 0.067 (0.037), not a null there (they carry the
    # platform shock), the shared attention shock making the proportion swing
    # from seed to seed. At full size (2000 accounts, 50 seeds) the MC se is
    # about 0.002 with a reference (docs/audit.md has the table). Before the
    # typical-account centre the group reference's FDR among unaffected accounts
    # was 0.114 (0.004) at 50 seeds: the hit accounts pulled the reference mean
    # down and every untouched account looked like it gained.
    alpha = 0.05
    n = slow_size(ci=1000, full_size=2000)
    seeds = range(slow_size(ci=10, full_size=50))
    # "no shocks" with the group reference is "default" again (the reference takes
    # out every shift shared within a group), so it is left out here
    cells = {"default": REFERENCES, "no shocks": ("platform", "none")}
    table = summarise(fdr_study(n, seeds, tmp_path, cells, alpha=alpha))
    for row in table.itertuples():
        where = (row.scenario, row.reference, row.fdr, row.fdr_se)
        # at most nominal plus two Monte-Carlo standard errors
        assert row.fdr <= alpha + 2 * row.fdr_se, where
        if row.exact_nulls:  # the simulator's own truth: unaffected accounts are nulls
            assert row.fdr_unaffected <= alpha + 2 * row.fdr_unaffected_se, where
        assert row.power > 0.3, where  # control bought by flagging nothing would pass too


@pytest.mark.slow  # about 8 s: the issue's own command, at its size in CI too
def test_cli_simulate_flags_against_its_truth_file(tmp_path):
    # Simulation with known truth: `butfor audit --simulate` writes the truth file
    # beside the panel; the accounts it flags are compared with it. With the group
    # reference every unaffected account is a null, so one seed's false-discovery
    # proportion among them is checked loosely (a single proportion of ~180 flags,
    # binomial sd ~0.016 at 0.05): at most 0.10. Before the robust centre it was
    # 0.114 at 2000 accounts, seed 0.
    out = tmp_path / "a"
    r = CliRunner().invoke(app, ["audit", "--simulate", "2000", "--reference", "group",
                                 "--event", BASE.event_date.isoformat(), "--out", str(out),
                                 "--no-progress", "--seed", "0"])
    assert r.exit_code == 0, r.output
    accounts = pd.read_parquet(out / "accounts.parquet")
    truth = pd.read_parquet(out / "simulated" / "truth.parquet")
    fd = false_discoveries(accounts, truth, "group")
    assert fd["n_flagged"] > 100, fd
    assert fd["fdp_unaffected"] <= 0.10, fd
    assert fd["fdp"] == fd["fdp_unaffected"] or fd["fdp"] <= 0.10, fd


def test_procedure_follows_the_dependence_and_the_setting(tmp_path):
    # Hand-checkable rule (butfor.audit.statistics.fdr_procedure): auto is BH when
    # a reference or a control removes the shared movement, BY when nothing does;
    # an explicit bh/by is used as given, recorded in summary.json, and BY never
    # flags more than BH on the same p-values (its threshold is stricter).
    from butfor.audit.statistics import fdr_procedure

    def spec(**kw):
        return AuditSpec(event=BASE.event_date, **kw).to_dict()

    assert fdr_procedure(spec()) == "bh"
    assert fdr_procedure(spec(reference="group")) == "bh"
    assert fdr_procedure(spec(reference="none")) == "by"
    assert fdr_procedure(spec(reference="none", controls=("pageviews",))) == "bh"
    assert fdr_procedure(spec(reference="none", fdr_method="bh")) == "bh"
    assert fdr_procedure(spec(fdr_method="by")) == "by"

    cfg = replace(BASE, n_accounts=400, days=120, event_day=80, accounts_per_partition=200)
    panel = simulate_audit_panel(cfg, tmp_path / "sim", seed=2)
    runs = {m: run_audit(panel, AuditSpec(event=cfg.event_date, fdr_method=m),
                         tmp_path / m, report=False) for m in ("bh", "by")}
    assert runs["bh"].summary["fdr_procedure"] == "bh"
    assert runs["by"].summary["fdr_procedure"] == "by"
    bh, by = (runs[m].result.accounts["flagged"] for m in ("bh", "by"))
    assert (by <= bh).all() and bh.sum() > by.sum() > 0


def test_cli_refuses_an_unknown_procedure(tmp_path):
    r = CliRunner().invoke(app, ["audit", "--simulate", "100", "--fdr-method", "holm",
                                 "--out", str(tmp_path / "a"), "--no-progress"])
    assert r.exit_code == 2, r.output
    # an enum option (butfor.choices.FdrMethod): typer refuses it and names the choices
    flat = " ".join(r.output.replace("│", " ").split())
    assert "--fdr-method" in flat and "'holm' is not one of 'auto', 'bh', 'by'" in flat
    assert "Traceback" not in r.output
