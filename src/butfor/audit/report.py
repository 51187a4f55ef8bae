"""The audit report: one self-contained HTML page with inline SVG figures.

Three figures (matplotlib, Agg backend, deterministic SVG): the distribution of
per-account effects by group, the most affected accounts with their intervals,
and each group's mean gap over event time. Tables: the group effects and the
group-disproportion regression. Reads only the audit's result; the page is
``templates/audit.html.j2`` (Jinja, autoescaped, like the case report), filled
with text already formatted here.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from butfor.audit.result import AuditResult
from butfor.audit.settings import PROCEDURES


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figures(accounts: pd.DataFrame, group_time: pd.DataFrame, top: pd.DataFrame) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = []
    with plt.rc_context({"svg.hashsalt": "butfor-audit", "svg.fonttype": "none",
                         "font.size": 9}):
        est = accounts[np.isfinite(accounts["effect"])]
        groups = sorted(est["group"].unique())
        fig, ax = plt.subplots(figsize=(7, 3.2))
        if len(est):
            lo, hi = np.quantile(est["effect"], [0.001, 0.999])
            bins = np.linspace(lo, hi if hi > lo else lo + 1e-9, 60)
            for g in groups:
                ax.hist(est.loc[est["group"] == g, "effect"].clip(lo, hi), bins=bins,
                        histtype="step", density=True, label=f"{g} (n={int((est['group'] == g).sum()):,})")
            ax.axvline(0, color="0.5", lw=0.8)
            ax.legend(frameon=False)
        ax.set_xlabel("effect on the log scale (observed minus counterfactual)")
        ax.set_ylabel("density")
        ax.set_title("Per-account effects by group")
        out.append(("Distribution of effects by group", _svg(fig)))
        plt.close(fig)

        shown = top.head(25).iloc[::-1]
        fig, ax = plt.subplots(figsize=(7, max(2.0, 0.22 * len(shown) + 0.8)))
        if len(shown):
            ypos = np.arange(len(shown))
            ax.errorbar(shown["effect"], ypos,
                        xerr=[shown["effect"] - shown["lower"], shown["upper"] - shown["effect"]],
                        fmt="o", ms=3, lw=0.8, color="C3")
            ax.set_yticks(ypos, [f"{u} ({g})" for u, g in zip(shown["unit"], shown["group"],
                                                              strict=True)])
            ax.axvline(0, color="0.5", lw=0.8)
        else:
            ax.text(0.5, 0.5, "no account flagged", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_yticks([])
        ax.set_xlabel("effect on the log scale, with interval")
        ax.set_title("Most affected accounts (flagged after false-discovery control)")
        out.append(("Top accounts", _svg(fig)))
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(7, 3.2))
        for g, sub in group_time.groupby("group", sort=True):
            sub = sub[sub["n"] > 0]
            ax.plot(sub["event_day"], sub["mean_gap"], lw=1, label=str(g))
        ax.axvline(0, color="0.5", lw=0.8, ls="--")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("days from the event")
        ax.set_ylabel("mean gap (log scale)")
        ax.set_title("Group effects over time")
        if len(group_time):
            ax.legend(frameon=False)
        out.append(("Group effects over time", _svg(fig)))
        plt.close(fig)
    return out


def _table(frame: pd.DataFrame, digits: int = 4) -> dict | None:
    """A table as its header and rows of formatted cells (None when empty)."""
    if frame.empty:
        return None

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if not math.isfinite(v) else f"{v:.{digits}g}"
        return str(v)

    return {"columns": [str(c) for c in frame.columns],
            "rows": [[cell(v) for v in row] for row in frame.itertuples(index=False)]}


def _percent(share: float | None) -> str:
    return f"{100 * (share if share is not None else float('nan')):.1f}"


def build_view(result: AuditResult) -> dict:
    """The template's values: every number already formatted, every figure drawn."""
    s = result.summary
    cal = s.calibration
    top = result.top
    view = {
        "n_accounts": f"{s.n_accounts:,}", "n_estimated": f"{s.n_estimated:,}",
        "n_lost": f"{s.n_flagged_lost:,}", "n_gained": f"{s.n_flagged_gained:,}",
        "alpha": f"{s.settings.alpha:g}", "estimand": s.estimand,
        "procedure": PROCEDURES[s.fdr_procedure],
        "centres": "; ".join(f"{k} {c:+.4f} (se {cal.reference_centre_se.get(k) or 0:.4f})"
                             for k, c in cal.reference_centre.items() if c is not None),
        "rho1": f"{cal.platform_rho1:.3f}", "phi": f"{cal.platform_phi:.3f}",
        "placebo_size": _percent(cal.placebo_size_at_5pct),
        "inflation": f"{cal.se_inflation:.3f}",
        "wald": None, "base_group": str(s.base_group),
        "disproportion": _table(result.disproportion), "groups": _table(result.groups),
        "figures": _figures(result.accounts, result.group_time, top),
        "top": _table(top[["unit", "group", "effect", "lower", "upper", "p_value", "q_value",
                           "flags"]].head(50)),
    }
    if s.wald is not None:
        w = s.wald
        view["wald"] = {"df1": w.df1, "df2": w.df2, "statistic": f"{w.statistic:.3f}",
                        "p_value": f"{w.p_value:.3g}"}
    return view


def render_audit_report(result: AuditResult) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("butfor.audit", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("audit.html.j2").render(**build_view(result))


def write_audit_report(path: str | Path, result: AuditResult) -> Path:
    """Write the HTML report; the same result gives the same bytes."""
    path = Path(path)
    path.write_text(render_audit_report(result), encoding="utf-8")
    return path
