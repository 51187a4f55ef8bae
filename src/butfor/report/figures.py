"""Drawing: plot data (from :mod:`butfor.report.plotdata`) to SVG text.

matplotlib is imported only here and only when a figure is drawn. Figures are
built on :class:`matplotlib.figure.Figure` directly (no pyplot, no global
backend switch), inside an ``rc_context`` that fixes the SVG id salt, keeps
text as text and leaves the date out of the metadata, so the same plot data
gives the same SVG bytes on every run.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from butfor.report import fmt
from butfor.report.damages_plots import SensitivityPlot
from butfor.report.plottypes import (
    ChangepointPlot,
    CounterfactualPlot,
    DamagesPlot,
    EffectPlot,
    EventMark,
    EventTimePlot,
    GroupsPlot,
    PlaceboPlot,
    Plot,
)
from butfor.report.powerplot import PowerPlot, draw_power

INK = "#1f1f1f"
BLUE = "#1f5fa8"
BAND = "#a9c4e6"
RED = "#b3261e"
GREY = "#8a9099"
LIGHT = "#e9ebee"
EVENT = "#5b6470"
SCENARIO_COLOURS = ["#1f5fa8", "#d08a00", "#3b8a4a", "#7b4fa0", "#5b6470"]

WIDTH = 8.4  # inches; at 100 dpi the SVG is 840 px wide


def _rc(salt: str) -> dict[str, Any]:
    return {
        "svg.hashsalt": f"butfor-{salt}",
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#6b7280",
        "axes.labelcolor": INK,
        "axes.titlesize": 10,
        "xtick.color": "#4b5563",
        "ytick.color": "#4b5563",
        "axes.grid": True,
        "grid.color": "#e5e7eb",
        "grid.linewidth": 0.8,
        "legend.frameon": False,
        "legend.fontsize": 9,
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "path.simplify": True,
        "text.parse_math": False,  # '$4 CPM' is money, not mathtext
    }


def render_svg(plot: Plot) -> str:
    """The SVG text of one figure (no XML declaration, no creation date)."""
    return render(plot, png=False)[0]


def draw(plot: Plot):
    """One figure as a matplotlib Figure, in the report's style (for notebooks)."""
    import matplotlib

    with matplotlib.rc_context(_rc(plot.id)):
        return _DRAWERS[type(plot)](plot)


def render(plot: Plot, *, png: bool = True) -> tuple[str, bytes | None]:
    """One figure drawn once, saved as SVG text and (when asked) PNG bytes.

    The PNG is for people who paste figures into a filing or a slide; it is
    written at 150 dpi with no software tag or date, so its bytes repeat too.
    """
    import matplotlib

    drawer = _DRAWERS[type(plot)]
    with matplotlib.rc_context(_rc(plot.id)):
        fig = drawer(plot)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.08,
                    metadata={"Date": None, "Creator": "butfor (matplotlib)"})
        raster = None
        if png:
            binary = io.BytesIO()
            fig.savefig(binary, format="png", dpi=150, bbox_inches="tight", pad_inches=0.08,
                        metadata={"Software": None})
            raster = binary.getvalue()
    svg = buffer.getvalue()
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    return svg, raster


# ---------------------------------------------------------------------------
# helpers


def _figure(height: float, nrows: int = 1, height_ratios: list[float] | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    if nrows == 1:
        return fig, fig.add_subplot(1, 1, 1)
    axes = fig.subplots(nrows, 1, sharex=True,
                        gridspec_kw={"height_ratios": height_ratios or [1] * nrows})
    return fig, axes


def _compact(x: float, step: float) -> str:
    """Tick text: 1.2M / 350k for large numbers, else as many decimals as the step needs."""
    a = abs(x)
    if a >= 1e9:
        text = f"{x / 1e9:.3g}B"
    elif a >= 1e6:
        text = f"{x / 1e6:.3g}M"
    elif a >= 1e4:
        text = f"{x / 1e3:.3g}k"
    else:
        decimals = 0 if step >= 1 or step <= 0 else min(6, int(np.ceil(-np.log10(step) - 1e-9)))
        text = f"{x:.{decimals}f}"
    return text.replace("-", fmt.MINUS)


def _number_axis(axis) -> None:
    from matplotlib.ticker import Formatter

    class Compact(Formatter):
        step = 1.0

        def set_locs(self, locs):
            ticks = np.sort(np.asarray(locs, dtype=float))
            self.step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0

        def __call__(self, x, pos=None):
            return _compact(float(x), self.step)

    axis.set_major_formatter(Compact())


def _date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _mark_events(ax, events: tuple[EventMark, ...], *, label: bool = True) -> None:
    """Dashed lines at the events, labelled at the top; labels near the right edge sit left
    of their line so they stay inside the axes."""
    import matplotlib.dates as mdates
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    lo, hi = ax.get_xlim()
    for i, e in enumerate(events):
        ax.axvline(e.day, color=EVENT, lw=1.1, ls=(0, (4, 3)), zorder=1)
        if not label:
            continue
        x = float(mdates.date2num(e.day))
        right = hi > lo and (x - lo) / (hi - lo) > 0.62
        text = f"{e.name} ({fmt.date(e.date)})"
        artist = ax.text(e.day, 0.98 - 0.09 * (i % 2), text + " " if right else " " + text,
                         transform=trans, ha="right" if right else "left", va="top",
                         fontsize=8.5, color=EVENT,
                         bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                               "edgecolor": "none", "alpha": 0.8})
        artist.set_in_layout(False)


def _legend_above(ax, ncol: int = 4) -> None:
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=ncol, borderaxespad=0.2,
              handlelength=2.2)


# ---------------------------------------------------------------------------
# one drawer per figure kind


def _counterfactual(p: CounterfactualPlot):
    fig, ax = _figure(3.9)
    level = f"{round(100 * p.level)}% band"
    ax.fill_between(p.dates, p.lower, p.upper, color=BAND, alpha=0.6, linewidth=0,
                    label=level, zorder=2)
    if p.weekly is None:
        ax.plot(p.dates, p.counterfactual, color=BLUE, lw=1.5, ls=(0, (5, 2)), zorder=3,
                label="expected without the event")
        ax.plot(p.dates, p.observed, color=INK, lw=1.2, zorder=4,
                label=f"observed ({p.subject})")
    else:  # the days faint, their weekly means drawn over them (a step per week)
        w = p.weekly
        ax.plot(p.dates, p.counterfactual, color=BLUE, lw=0.8, ls=(0, (5, 2)), alpha=0.5,
                zorder=3)
        ax.plot(p.dates, p.observed, color=INK, lw=0.7, alpha=0.35, zorder=4)
        ax.step(w.dates, w.counterfactual, where="post", color=BLUE, lw=2.0,
                ls=(0, (5, 2)), zorder=5, label="expected without the event (weekly mean)")
        ax.step(w.dates, w.observed, where="post", color=INK, lw=2.0, zorder=6,
                label=f"observed ({p.subject}, weekly mean)")
    _mark_events(ax, p.events)
    ax.set_ylabel(p.ylabel)
    ax.set_xlabel("date")
    _date_axis(ax)
    _number_axis(ax.yaxis)
    _legend_above(ax, ncol=3)
    return fig


def _effect(p: EffectPlot):
    level = f"{round(100 * p.level)}% band"
    if p.cumulative is None:
        fig, top = _figure(3.4)
        bottom = None
    else:
        fig, (top, bottom) = _figure(5.2, nrows=2, height_ratios=[1, 1])
    top.fill_between(p.dates, p.pointwise_lower, p.pointwise_upper, color=BAND, alpha=0.6,
                     linewidth=0, label=level)
    top.plot(p.dates, p.pointwise, color=INK, lw=1.1, label="observed − expected")
    top.axhline(0, color=GREY, lw=1)
    top.set_ylabel(p.ylabel)
    _mark_events(top, p.events)
    _legend_above(top, ncol=2)
    _number_axis(top.yaxis)
    cumulative = p.cumulative
    if bottom is None or cumulative is None:
        top.set_xlabel("date")
        _date_axis(top)
        return fig
    post = ~np.isnan(cumulative)
    if p.cumulative_lower is not None and p.cumulative_upper is not None:
        bottom.fill_between(p.dates[post], p.cumulative_lower[post], p.cumulative_upper[post],
                            color=BAND, alpha=0.6, linewidth=0, label=level)
    bottom.plot(p.dates[post], cumulative[post], color=INK, lw=1.4,
                label="running total since the event")
    if p.total is not None and post.any():
        est, lo, hi = p.total
        last = p.dates[post][-1]
        bottom.errorbar([last], [est], yerr=[[est - lo], [hi - est]], fmt="o", color=BLUE,
                        ms=4, capsize=4, lw=1.4,
                        label=f"total with its {round(100 * p.level)}% interval")
    bottom.axhline(0, color=GREY, lw=1)
    bottom.set_ylabel(p.cumulative_ylabel)
    bottom.set_xlabel("date")
    _mark_events(bottom, p.events, label=False)
    _legend_above(bottom, ncol=2)
    _date_axis(bottom)
    _number_axis(bottom.yaxis)
    return fig


def _placebo(p: PlaceboPlot):
    values = p.values[~np.isnan(p.values)]
    n = len(values) + 1
    if n <= 40:
        units = list(p.units) if len(p.units) == len(p.values) else [
            f"peer {i + 1}" for i in range(len(p.values))]
        rows = [(float(v), u, False) for v, u in zip(p.values, units, strict=True)
                if not np.isnan(v)]
        rows.append((p.subject_value, p.subject, True))
        rows.sort(key=lambda r: (r[0], r[1]))
        fig, ax = _figure(max(2.6, 0.22 * n + 1.0))
        y = np.arange(len(rows))
        colours = [RED if r[2] else GREY for r in rows]
        ax.hlines(y, 0 if min(r[0] for r in rows) >= 0 else min(r[0] for r in rows),
                  [r[0] for r in rows], color=LIGHT, lw=2, zorder=1)
        ax.scatter([r[0] for r in rows], y, c=colours, s=[46 if r[2] else 22 for r in rows],
                   zorder=3)
        ax.set_yticks(y, [r[1] for r in rows], fontsize=8)
        for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r[2]:
                tick.set_color(RED)
                tick.set_fontweight("bold")
        ax.set_ylabel("account")
        ax.grid(axis="y", visible=False)
    else:
        fig, ax = _figure(3.4)
        bins = np.histogram_bin_edges(np.append(values, p.subject_value), bins=30)
        ax.hist(values, bins=bins, color=GREY, edgecolor="white", linewidth=0.5,
                label=f"{len(values)} peers, each treated as if it were the subject")
        ax.axvline(p.subject_value, color=RED, lw=2, label=p.subject)
        ax.set_ylabel("number of peer accounts")
        _legend_above(ax, ncol=2)
    ax.set_xlabel(p.xlabel)
    return fig


def _event_time(p: EventTimePlot):
    fig, ax = _figure(3.6)
    lo_edge = float(np.nanmin(p.periods)) - 0.5
    ax.axvspan(lo_edge, -0.5, color=LIGHT, zorder=0, label="before the event")
    ax.axhline(0, color=GREY, lw=1)
    ax.axvline(-0.5, color=EVENT, lw=1.1, ls=(0, (4, 3)))
    if p.event is not None:
        ax.text(-0.45, 0.98, f" {p.event.name} ({fmt.date(p.event.date)})",
                transform=ax.get_xaxis_transform(), ha="left", va="top", fontsize=8.5,
                color=EVENT)
    pre = p.periods < 0
    dense = len(p.periods) > 30
    ref = (p.periods == p.reference) if p.reference is not None else np.zeros(len(p.periods),
                                                                              dtype=bool)
    for mask, colour, label in ((pre & ~ref, GREY, "estimate, before"),
                                (~pre & ~ref, BLUE, "estimate, after")):
        if mask.any():
            yerr = np.vstack([p.estimates[mask] - p.lower[mask], p.upper[mask] - p.estimates[mask]])
            ax.errorbar(p.periods[mask], p.estimates[mask], yerr=np.nan_to_num(yerr), fmt="o",
                        color=colour, ms=2.5 if dense else 4, capsize=0 if dense else 2.5,
                        lw=0.9 if dense else 1.2, label=f"{label} (95% interval)")
    if ref.any():
        ax.plot(p.periods[ref], np.zeros(int(ref.sum())), "o", mfc="white", mec=INK, ms=6,
                label=f"reference ({p.reference}, fixed at 0)")
    ax.set_xlabel(p.xlabel)
    ax.set_ylabel(p.ylabel)
    ax.set_xlim(lo_edge, float(np.nanmax(p.periods)) + 0.5)
    _legend_above(ax, ncol=2)
    return fig


def _groups(p: GroupsPlot):
    fig, ax = _figure(3.6)
    if p.stages:
        x = np.arange(len(p.stages))
        for i, label in enumerate(p.labels):
            colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
            ax.plot(x, p.means[label], "-o", lw=1.8, ms=6, color=colour, label=label)
        ax.set_xticks(x, list(p.stages))
        ax.set_xlim(-0.4, len(p.stages) - 0.6)
        ax.set_xlabel("period")
    else:
        for i, label in enumerate(p.labels):
            ax.plot(p.dates, p.means[label], lw=1.4, color=SCENARIO_COLOURS[i % 5], label=label)
        _mark_events(ax, p.events)
        ax.set_xlabel("date")
        _date_axis(ax)
    ax.set_ylabel(p.ylabel)
    _number_axis(ax.yaxis)
    _legend_above(ax, ncol=len(p.labels))
    return fig


def _changepoint(p: ChangepointPlot):
    fig, ax = _figure(3.6)
    ax.plot(p.dates, p.series, color=INK, lw=1.0, alpha=0.85, label="observed")
    if p.fitted is not None:
        ax.plot(p.dates, p.fitted, color=BLUE, lw=1.8, label="fitted segments")
    for i, d in enumerate(p.breaks):
        ax.axvline(d, color=RED, lw=0.8, alpha=0.5, label="other changes" if i == 0 else None)
    if p.date is not None:
        if p.lower_date is not None and p.upper_date is not None:
            ax.axvspan(p.lower_date, p.upper_date, color=RED, alpha=0.12, lw=0,
                       label="likely range")
        ax.axvline(p.date, color=RED, lw=1.8, label=f"change ({fmt.date(str(p.date))})")
    _mark_events(ax, p.events)
    ax.set_ylabel(p.ylabel)
    ax.set_xlabel("date")
    _date_axis(ax)
    _number_axis(ax.yaxis)
    _legend_above(ax, ncol=3)
    return fig


def _damages(p: DamagesPlot):
    from matplotlib.ticker import FuncFormatter

    fig, ax = _figure(3.6)
    top_edge = max(float(s.edges[-1]) for s in p.scenarios)
    low_edge = min(float(s.edges[0]) for s in p.scenarios)
    for i, s in enumerate(p.scenarios):
        total = float(np.sum(s.counts)) or 1.0
        colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
        ax.stairs(s.counts / total, s.edges, color=colour, lw=1.6, fill=False,
                  label=f"{s.name} (median {fmt.money(s.q50, p.currency)})")
        if s.q50 is not None:
            ax.axvline(s.q50, color=colour, lw=0.9, ls=":")
    ax.axvline(0, color=GREY, lw=0.8)
    if p.amount_claimed is not None:
        claimed = fmt.money(p.amount_claimed, p.currency)
        span = top_edge - min(low_edge, 0)
        if p.amount_claimed <= top_edge + 0.5 * span:
            ax.axvline(p.amount_claimed, color=RED, lw=2, label=f"amount claimed ({claimed})")
        else:
            times = p.amount_claimed / top_edge if top_edge > 0 else float("nan")
            note = f"amount claimed: {claimed} →"
            if np.isfinite(times):
                note += f"\noff the scale, {fmt.number(times, 2)}× the largest draw"
            ax.text(0.99, 0.97, note, transform=ax.transAxes, ha="right", va="top",
                    color=RED, fontsize=9, fontweight="bold")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: fmt.money_short(x, p.currency)))
    ax.set_xlabel(f"damages, {p.currency} (present value)")
    ax.set_ylabel("share of simulated draws")
    _legend_above(ax, ncol=1 if len(p.scenarios) > 2 else 2)
    return fig


def _sensitivity(p: SensitivityPlot):
    from matplotlib.ticker import FuncFormatter

    fig, ax = _figure(0.8 + 0.32 * len(p.rows))
    names = [r[0] for r in p.rows][::-1]
    for i, (_name, at_low, at_high) in enumerate(p.rows[::-1]):
        ax.barh(i, at_low - p.median, left=p.median, color=SCENARIO_COLOURS[0], height=0.6,
                label="assumption at its low value" if i == 0 else None)
        ax.barh(i, at_high - p.median, left=p.median, color=SCENARIO_COLOURS[1], height=0.6,
                label="assumption at its high value" if i == 0 else None)
    ax.axvline(p.median, color=GREY, lw=1.0)
    ax.set_yticks(range(len(names)), names)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: fmt.money_short(x, p.currency)))
    ax.set_xlabel(f"median damages, {p.currency}")
    _legend_above(ax, ncol=2)
    return fig


_DRAWERS: dict[type, Any] = {
    CounterfactualPlot: _counterfactual,
    EffectPlot: _effect,
    PlaceboPlot: _placebo,
    EventTimePlot: _event_time,
    GroupsPlot: _groups,
    ChangepointPlot: _changepoint,
    DamagesPlot: _damages,
    PowerPlot: lambda p: draw_power(p, _figure, {"blue": BLUE, "grey": GREY, "light": LIGHT,
                                                 "ink": INK}),
    SensitivityPlot: _sensitivity,
}

__all__ = ["render_svg"]
