"""Plot data to scenes: what each figure of the report shows, renderer-free.

One function per plot type (:mod:`butfor.report.plottypes`, the power curve and
the damages' tornado), each giving a :class:`~butfor.report.scene.Scene` with the
figure's marks, axes, legends and event lines. The SVG writer and the matplotlib
renderer draw these scenes; nothing here imports either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from butfor.report import fmt
from butfor.report import ticks as tk
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
from butfor.report.powerplot import PowerPlot
from butfor.report.scene import (
    Axis,
    Band,
    ErrorBars,
    HLine,
    Key,
    Line,
    Mark,
    Markers,
    Panel,
    Rect,
    Scene,
    Span,
    Text,
    VLine,
)

INK = "#1f1f1f"
BLUE = "#1f5fa8"
BAND = "#a9c4e6"
RED = "#b3261e"
GREY = "#8a9099"
LIGHT = "#e9ebee"
EVENT = "#5b6470"
SCENARIO_COLOURS = ("#1f5fa8", "#d08a00", "#3b8a4a", "#7b4fa0", "#5b6470")

EXPECTED_DASH = (10.0, 4.0)
EVENT_DASH = (6.0, 4.5)


def scene(plot: Plot | SensitivityPlot) -> Scene:
    """The scene of one figure."""
    return _BUILDERS[type(plot)](plot)


# ---------------------------------------------------------------------------
# helpers


def _y_ticks(height: float) -> int:
    """How many y ticks a panel this many pixels high holds readably."""
    return int(max(3, min(8, round(height / 38))))


def _y_axis(values: list, label: str, height: float, *, include: tuple[float, ...] = ()
            ) -> Axis:
    lo, hi = tk.limits([*values, np.asarray(include, dtype=float)])
    return tk.number_axis(lo, hi, label, most=_y_ticks(height))


def _date_x(dates: np.ndarray) -> tuple[np.ndarray, Axis]:
    x = tk.days(dates)
    lo, hi = tk.limits([x], margin=0.02)
    return x, tk.date_axis(lo, hi)


def _events(events: tuple[EventMark, ...], *, label: bool = True) -> list[Mark]:
    return [VLine(float(tk.days(np.array([e.day]))[0]), EVENT, 1.5, EVENT_DASH,
                  label=f"{e.name} ({fmt.date(e.date)})" if label else "")
            for e in events]


def _level(level: float) -> str:
    return f"{round(100 * level)}% band"


# ---------------------------------------------------------------------------
# one builder per figure kind


def counterfactual(p: CounterfactualPlot) -> Scene:
    x, xaxis = _date_x(p.dates)
    height = 290.0
    marks: list[Mark] = [Band(x, p.lower, p.upper, BAND, 0.6)]
    legend = [Key(_level(p.level), "patch", BAND, opacity=0.6)]
    if p.weekly is None:
        marks += [Line(x, p.counterfactual, BLUE, 2.1, EXPECTED_DASH),
                  Line(x, p.observed, INK, 1.7)]
        legend += [Key("expected without the event", "line", BLUE, 2.1, EXPECTED_DASH),
                   Key(f"observed ({p.subject})", "line", INK, 1.7)]
    else:  # the days faint, their weekly means drawn over them (a step per week)
        w = p.weekly
        wx = tk.days(w.dates)
        marks += [Line(x, p.counterfactual, BLUE, 1.1, EXPECTED_DASH, 0.5),
                  Line(x, p.observed, INK, 1.0, opacity=0.35),
                  Line(wx, w.counterfactual, BLUE, 2.8, EXPECTED_DASH, step=True),
                  Line(wx, w.observed, INK, 2.8, step=True)]
        legend += [Key("expected without the event (weekly mean)", "line", BLUE, 2.8,
                       EXPECTED_DASH),
                   Key(f"observed ({p.subject}, weekly mean)", "line", INK, 2.8)]
    marks += _events(p.events)
    values = [p.lower, p.upper, p.observed, p.counterfactual]
    panel = Panel(xaxis, _y_axis(values, p.ylabel, height), tuple(marks), tuple(legend))
    return Scene(p.id, p.title, (panel,), height)


def effect(p: EffectPlot) -> Scene:
    x, xaxis = _date_x(p.dates)
    level = _level(p.level)
    two = p.cumulative is not None
    height = 380.0 if two else 240.0
    each = height / 2 if two else height
    top = Panel(
        xaxis,
        _y_axis([p.pointwise_lower, p.pointwise_upper, p.pointwise], p.ylabel, each,
                include=(0.0,)),
        (Band(x, p.pointwise_lower, p.pointwise_upper, BAND, 0.6),
         Line(x, p.pointwise, INK, 1.5), HLine(0.0, GREY, 1.4), *_events(p.events)),
        (Key(level, "patch", BAND, opacity=0.6), Key("observed − expected", "line", INK, 1.5)),
        x_ticks_shown=not two)
    cumulative = p.cumulative
    if not two or cumulative is None:
        return Scene(p.id, p.title, (top,), height)
    post = ~np.isnan(cumulative)
    marks: list[Mark] = []
    legend: list[Key] = []
    values: list = [cumulative[post]]
    if p.cumulative_lower is not None and p.cumulative_upper is not None:
        marks.append(Band(x[post], p.cumulative_lower[post], p.cumulative_upper[post], BAND,
                          0.6))
        legend.append(Key(level, "patch", BAND, opacity=0.6))
        values += [p.cumulative_lower[post], p.cumulative_upper[post]]
    marks.append(Line(x[post], cumulative[post], INK, 1.9))
    legend.append(Key("running total since the event", "line", INK, 1.9))
    if p.total is not None and post.any():
        est, lo, hi = p.total
        last = np.array([x[post][-1]])
        marks += [ErrorBars(last, np.array([lo]), np.array([hi]), BLUE, 1.9, cap=11.0),
                  Markers(last, np.array([est]), (BLUE,), 5.6)]
        legend.append(Key(f"total with its {round(100 * p.level)}% interval", "errorbar",
                          BLUE, 1.9))
        values.append(np.array([lo, hi]))
    marks += [HLine(0.0, GREY, 1.4), *_events(p.events, label=False)]
    bottom = Panel(xaxis, _y_axis(values, p.cumulative_ylabel, each, include=(0.0,)),
                   tuple(marks), tuple(legend))
    return Scene(p.id, p.title, (top, bottom), height)


def placebo(p: PlaceboPlot) -> Scene:
    values = p.values[~np.isnan(p.values)]
    n = len(values) + 1
    if n > 40:
        edges = np.histogram_bin_edges(np.append(values, p.subject_value), bins=30)
        counts, _ = np.histogram(values, bins=edges)
        height = 240.0
        bars = tuple(Rect(float(a), float(b), 0.0, float(c), GREY, edge="#ffffff")
                     for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True) if c > 0)
        lo, hi = tk.limits([edges])
        panel = Panel(
            tk.number_axis(lo, hi, p.xlabel, most=9),
            tk.number_axis(0.0, float(counts.max()) * 1.05 or 1.0, "number of peer accounts",
                           most=_y_ticks(height)),
            (*bars, VLine(p.subject_value, RED, 2.8)),
            (Key(f"{len(values)} peers, each treated as if it were the subject", "patch", GREY),
             Key(p.subject, "line", RED, 2.8)))
        return Scene(p.id, p.title, (panel,), height)
    units = list(p.units) if len(p.units) == len(p.values) else [
        f"peer {i + 1}" for i in range(len(p.values))]
    rows = [(float(v), u, False) for v, u in zip(p.values, units, strict=True)
            if not np.isnan(v)]
    rows.append((p.subject_value, p.subject, True))
    rows.sort(key=lambda r: (r[0], r[1]))
    height = max(120.0, 22.0 * n + 20.0)
    xs = np.array([r[0] for r in rows])
    base = 0.0 if xs.min() >= 0 else float(xs.min())
    y = np.arange(len(rows), dtype=float)
    stems = tuple(Line(np.array([base, v]), np.array([i, i], dtype=float), LIGHT, 2.8)
                  for i, v in enumerate(xs))
    dots = Markers(xs, y, tuple(RED if r[2] else GREY for r in rows),
                   sizes=tuple(9.4 if r[2] else 6.5 for r in rows))
    subject = frozenset(i for i, r in enumerate(rows) if r[2])
    yaxis = tk.category_axis([r[1] for r in rows], "account", small=True,
                             colours={i: RED for i in subject}, bold=subject)
    lo, hi = tk.limits([xs, np.array([base])])
    panel = Panel(tk.number_axis(lo, hi, p.xlabel, most=9), yaxis, (*stems, dots))
    return Scene(p.id, p.title, (panel,), height)


def event_time(p: EventTimePlot) -> Scene:
    height = 260.0
    lo_edge = float(np.nanmin(p.periods)) - 0.5
    hi_edge = float(np.nanmax(p.periods)) + 0.5
    marks: list[Mark] = [Span(lo_edge, -0.5, LIGHT), HLine(0.0, GREY, 1.4),
                         VLine(-0.5, EVENT, 1.5, EVENT_DASH,
                               label=(f"{p.event.name} ({fmt.date(p.event.date)})"
                                      if p.event is not None else ""))]
    legend = [Key("before the event", "patch", LIGHT)]
    pre = p.periods < 0
    dense = len(p.periods) > 30
    ref = (p.periods == p.reference) if p.reference is not None else np.zeros(
        len(p.periods), dtype=bool)
    x = p.periods.astype(float)
    for mask, colour, label in ((pre & ~ref, GREY, "estimate, before"),
                                (~pre & ~ref, BLUE, "estimate, after")):
        if mask.any():
            lo = np.where(np.isnan(p.lower[mask]), p.estimates[mask], p.lower[mask])
            hi = np.where(np.isnan(p.upper[mask]), p.estimates[mask], p.upper[mask])
            width = 1.25 if dense else 1.7
            marks += [ErrorBars(x[mask], lo, hi, colour, width, cap=0.0 if dense else 7.0),
                      Markers(x[mask], p.estimates[mask], (colour,), 3.5 if dense else 5.6)]
            legend.append(Key(f"{label} (95% interval)", "errorbar", colour, width))
    if ref.any():
        marks.append(Markers(x[ref], np.zeros(int(ref.sum())), (INK,), 8.3, hollow=True))
        legend.append(Key(f"reference ({p.reference}, fixed at 0)", "marker", INK))
    yaxis = _y_axis([p.lower, p.upper, p.estimates], p.ylabel, height, include=(0.0,))
    xaxis = tk.number_axis(lo_edge, hi_edge, p.xlabel, most=12, grid=True)
    return Scene(p.id, p.title, (Panel(xaxis, yaxis, tuple(marks), tuple(legend)),), height)


def groups(p: GroupsPlot) -> Scene:
    height = 260.0
    marks: list[Mark] = []
    legend = []
    values = [p.means[label] for label in p.labels]
    if p.stages:
        x = np.arange(len(p.stages), dtype=float)
        xaxis = tk.category_axis(list(p.stages), "period", pad=0.4)
        for i, label in enumerate(p.labels):
            colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
            marks += [Line(x, p.means[label], colour, 2.5), Markers(x, p.means[label],
                                                                   (colour,), 8.3)]
            legend.append(Key(label, "line", colour, 2.5))
    else:
        x, xaxis = _date_x(p.dates)
        for i, label in enumerate(p.labels):
            colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
            marks.append(Line(x, p.means[label], colour, 1.9))
            legend.append(Key(label, "line", colour, 1.9))
        marks += _events(p.events)
    panel = Panel(xaxis, _y_axis(values, p.ylabel, height), tuple(marks), tuple(legend))
    return Scene(p.id, p.title, (panel,), height)


def changepoint(p: ChangepointPlot) -> Scene:
    height = 260.0
    x, xaxis = _date_x(p.dates)
    marks: list[Mark] = [Line(x, p.series, INK, 1.4, opacity=0.85)]
    legend = [Key("observed", "line", INK, 1.4, opacity=0.85)]
    values = [p.series]
    if p.fitted is not None:
        marks.append(Line(x, p.fitted, BLUE, 2.5))
        legend.append(Key("fitted segments", "line", BLUE, 2.5))
        values.append(p.fitted)
    for d in p.breaks:
        marks.append(VLine(float(tk.days(np.array([d]))[0]), RED, 1.1, opacity=0.5))
    if p.breaks:
        legend.append(Key("other changes", "line", RED, 1.1, opacity=0.5))
    if p.date is not None:
        if p.lower_date is not None and p.upper_date is not None:
            lo, hi = tk.days(np.array([p.lower_date, p.upper_date]))
            marks.append(Span(float(lo), float(hi), RED, 0.12))
            legend.append(Key("likely range", "patch", RED, opacity=0.12))
        marks.append(VLine(float(tk.days(np.array([p.date]))[0]), RED, 2.5))
        legend.append(Key(f"change ({fmt.date(str(p.date))})", "line", RED, 2.5))
    marks += _events(p.events)
    panel = Panel(xaxis, _y_axis(values, p.ylabel, height), tuple(marks), tuple(legend))
    return Scene(p.id, p.title, (panel,), height)


def damages(p: DamagesPlot) -> Scene:
    height = 250.0
    top_edge = max(float(s.edges[-1]) for s in p.scenarios)
    low_edge = min(float(s.edges[0]) for s in p.scenarios)
    marks: list[Mark] = []
    legend = []
    shares = []
    for i, s in enumerate(p.scenarios):
        total = float(np.sum(s.counts)) or 1.0
        share = np.asarray(s.counts, dtype=float) / total
        shares.append(share)
        colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
        # the histogram's outline, down to zero at both ends
        xs = np.concatenate([[s.edges[0]], np.repeat(s.edges, 2)[1:-1], [s.edges[-1]]])
        ys = np.concatenate([[0.0], np.repeat(share, 2), [0.0]])
        marks.append(Line(xs.astype(float), ys, colour, 2.2))
        legend.append(Key(f"{s.name} (median {fmt.money(s.q50, p.currency)})", "line",
                          colour, 2.2))
        if s.q50 is not None:
            marks.append(VLine(float(s.q50), colour, 1.25, (1.25, 2.0)))
    marks.append(VLine(0.0, GREY, 1.1))
    xvalues: list = [np.array([low_edge, top_edge, 0.0])]
    if p.amount_claimed is not None:
        claimed = fmt.money(p.amount_claimed, p.currency)
        span = top_edge - min(low_edge, 0)
        if p.amount_claimed <= top_edge + 0.5 * span:
            marks.append(VLine(p.amount_claimed, RED, 2.8))
            legend.append(Key(f"amount claimed ({claimed})", "line", RED, 2.8))
            xvalues.append(np.array([p.amount_claimed]))
        else:
            times = p.amount_claimed / top_edge if top_edge > 0 else float("nan")
            note = f"amount claimed: {claimed} →"
            if np.isfinite(times):
                note += f"\noff the scale, {fmt.number(times, 2)}× the largest draw"
            marks.append(Text(0.99, 0.97, note, RED, "end", "top", frac=True, size=12.5,
                              bold=True))
    lo, hi = tk.limits(xvalues)
    xaxis = tk.number_axis(lo, hi, f"damages, {p.currency} (present value)", most=8,
                           text=_money(p.currency))
    ytop = max((float(s.max()) for s in shares if s.size), default=1.0)
    yaxis = tk.number_axis(0.0, 1.08 * ytop or 1.0, "share of simulated draws",
                           most=_y_ticks(height))
    panel = Panel(xaxis, yaxis, tuple(marks), tuple(legend))
    return Scene(p.id, p.title, (panel,), height)


def _money(currency: str) -> Callable[[float, float], str]:
    return lambda v, _step: fmt.money_short(v, currency)


def sensitivity(p: SensitivityPlot) -> Scene:
    rows = p.rows[::-1]
    height = max(90.0, 32.0 * len(rows) + 20.0)
    marks: list[Mark] = []
    for i, (_name, at_low, at_high) in enumerate(rows):
        bars = ((at_low, SCENARIO_COLOURS[0]), (at_high, SCENARIO_COLOURS[1]))
        # the longer bar first, so that one on the same side as the other stays in sight
        for value, colour in sorted(bars, key=lambda b: -abs(b[0] - p.median)):
            marks.append(Rect(min(p.median, value), max(p.median, value), i - 0.3, i + 0.3,
                              colour))
    marks.append(VLine(p.median, GREY, 1.4))
    lo, hi = tk.limits([np.array([p.median] + [v for r in rows for v in r[1:]])])
    xaxis = tk.number_axis(lo, hi, f"median damages, {p.currency}", most=8,
                           text=_money(p.currency))
    yaxis = tk.category_axis([r[0] for r in rows], pad=0.6)
    legend = (Key("assumption at its low value", "patch", SCENARIO_COLOURS[0]),
              Key("assumption at its high value", "patch", SCENARIO_COLOURS[1]))
    return Scene(p.id, p.title, (Panel(xaxis, yaxis, tuple(marks), legend),), height)


def power(p: PowerPlot) -> Scene:
    height = 210.0
    x = 100 * p.effects
    marks: list[Mark] = []
    if p.smallest_effect is not None:
        s = 100 * p.smallest_effect
        marks.append(Span(-s, s, LIGHT, 0.7))
    for sign in (-1, 1):
        keep = np.sign(p.effects) == sign
        if keep.any():
            marks.append(Line(x[keep], p.power[keep], BLUE, 2.2))
    marks += [HLine(p.target, GREY, 1.4, (5.6, 4.2)), HLine(p.alpha, LIGHT, 1.4)]
    for mde, sign in ((p.mde_fell, -1), (p.mde_rose, 1)):
        if mde is not None:
            at = 100 * sign * mde
            marks += [Markers(np.array([at]), np.array([p.target]), (INK,), 5.6),
                      Text(at, p.target, f"{'−' if sign < 0 else '+'}{100 * mde:.1f}%", INK,
                           "middle", dy=8.0, size=11.5)]
    legend = [Key("power against a known change", "line", BLUE, 2.2),
              Key(f"{p.target:.0%} power", "line", GREY, 1.4, (5.6, 4.2))]
    if p.smallest_effect is not None:
        legend.append(Key(f"smaller than the effect that matters "
                          f"({100 * p.smallest_effect:.0f}%)", "patch", LIGHT, opacity=0.7))
    lo, hi = tk.limits([x])
    xaxis = tk.number_axis(lo, hi, "known relative change injected (%)", most=9)
    yaxis = tk.number_axis(0.0, 1.02, "share detected", most=6)
    return Scene(p.id, p.title, (Panel(xaxis, yaxis, tuple(marks), tuple(legend)),), height)


_BUILDERS: dict[type, Callable[[Any], Scene]] = {
    CounterfactualPlot: counterfactual,
    EffectPlot: effect,
    PlaceboPlot: placebo,
    EventTimePlot: event_time,
    GroupsPlot: groups,
    ChangepointPlot: changepoint,
    DamagesPlot: damages,
    PowerPlot: power,
    SensitivityPlot: sensitivity,
}
