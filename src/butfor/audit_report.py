"""The audit report: one self-contained HTML page with inline SVG figures.

Three figures (matplotlib, Agg backend, deterministic SVG): the distribution of
per-account effects by group, the most affected accounts with their intervals,
and each group's mean gap over event time. Tables: the group effects and the
group-disproportion regression. Reads only the audit's output tables.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd


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


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    if frame.empty:
        return "<p>(none)</p>"

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if not math.isfinite(v) else f"{v:.{digits}g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_audit_report(path: str | Path, *, summary: dict, accounts: pd.DataFrame,
                       groups: pd.DataFrame, disproportion: pd.DataFrame,
                       group_time: pd.DataFrame, top: pd.DataFrame) -> Path:
    """Write the HTML report; the same tables give the same bytes."""
    path = Path(path)
    s = summary
    cal = s["calibration"]
    lines = [
        f"<p>{s['n_accounts']:,} accounts audited ({s['n_estimated']:,} with an estimate). "
        f"{s['n_flagged_lost']:,} lost and {s['n_flagged_gained']:,} gained reach, flagged by "
        f"Benjamini-Hochberg at a false-discovery rate of {s['settings']['alpha']:g}.</p>",
        f"<p>Effect of each account: {html.escape(s['estimand'])}.</p>",
        f"<p>Calibration: platform-typical lag-1 autocorrelation {cal['platform_rho1']:.3f}, "
        f"decay {cal['platform_phi']:.3f}; placebo-in-time pseudo-events rejected at 5% in "
        f"{100 * (cal['placebo_size_at_5pct'] if cal['placebo_size_at_5pct'] is not None else float('nan')):.1f}% "
        f"of cases; standard errors inflated by {cal['se_inflation']:.3f}.</p>",
    ]
    if s.get("wald"):
        w = s["wald"]
        lines.append(f"<p>Joint test that no group differs from {html.escape(str(s['base_group']))}: "
                     f"F({w['df1']}, {w['df2']}) = {w['statistic']:.3f}, p = {w['p_value']:.3g}.</p>")
    figs = _figures(accounts, group_time, top)
    show_top = top[["unit", "group", "effect", "lower", "upper", "p_value", "q_value", "flags"]]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>butfor audit</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:85%}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}th{background:#f3f3f3}</style></head><body>",
        "<h1>Platform audit</h1>", *lines,
        "<h2>Group disproportion (two-way fixed effects, clustered by account)</h2>",
        _table(disproportion),
        "<h2>Group effects (mean of per-account effects)</h2>", _table(groups),
    ]
    for title, svg in figs:
        parts += [f"<h2>{html.escape(title)}</h2>", svg]
    parts += ["<h2>Most affected accounts</h2>", _table(show_top.head(50)), "</body></html>"]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
