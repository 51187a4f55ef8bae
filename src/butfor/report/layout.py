"""Where everything of a scene goes, in pixels: computed from the text it holds.

The left margin holds the widest y tick text and the y axis label (broken in two
when it is longer than its panel is high); the right margin, the half of the last
x tick's text that reaches past the plot; each panel's legend flows into as many
rows as its entries need above the panel; x ticks whose text would touch are
thinned to every second one. Text widths come from
:func:`butfor.report.textwidth.text_width`. Both renderers place their axes here,
so the SVG and the PNG of a scene have the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from butfor.report.scene import (
    EVENT,
    LABEL,
    LEGEND,
    TICK,
    TICK_SMALL,
    Axis,
    Key,
    Panel,
    Scene,
    Tick,
    VLine,
)
from butfor.report.textwidth import ASCENT, DESCENT, text_width

PAD = 8.0  # around the whole figure
TICK_LENGTH = 5.0
LINE_GAP = 1.2  # line height, in font sizes
KEY_SAMPLE = 26.0  # a legend entry's sample of its mark
KEY_GAP = 20.0  # between legend entries
LEGEND_ROW = LEGEND * 1.5
EVENT_ROW = EVENT * 1.35  # a row of event labels at the top of a panel


@dataclass(frozen=True)
class Box:
    """Where a panel's plot area sits, and its axes' mapping to pixels."""

    left: float
    top: float
    width: float
    height: float
    x: Axis
    y: Axis

    def px(self, v: np.ndarray | float) -> np.ndarray:
        span = self.x.hi - self.x.lo or 1.0
        return self.left + (np.asarray(v, dtype=float) - self.x.lo) / span * self.width

    def py(self, v: np.ndarray | float) -> np.ndarray:
        span = self.y.hi - self.y.lo or 1.0
        return self.top + self.height - (np.asarray(v, dtype=float) - self.y.lo) / span * \
            self.height


def lines(text: str) -> list[str]:
    return text.split("\n")


def width(text: str, size: float, bold: bool = False) -> float:
    return max(text_width(line, size, bold=bold) for line in lines(text))


def label_lines(text: str, length: float) -> str:
    """A y axis label, broken into lines no longer than its panel is high: two lines of
    about the same length where that is enough (broken at the space nearest the middle),
    else as many as the words need."""
    if text_width(text, LABEL) <= length or " " not in text:
        return text
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    best = min(spaces, key=lambda i: abs(text_width(text[:i], LABEL)
                                         - text_width(text[i + 1:], LABEL)))
    halves = [text[:best], text[best + 1:]]
    if max(text_width(h, LABEL) for h in halves) <= length:
        return "\n".join(halves)
    rows: list[str] = []
    for word in text.split(" "):
        if rows and text_width(rows[-1] + " " + word, LABEL) <= length:
            rows[-1] += " " + word
        else:
            rows.append(word)
    return "\n".join(rows)


def tick_size(axis: Axis) -> float:
    return TICK_SMALL if axis.small else TICK


def legend_rows(keys: tuple[Key, ...], room: float) -> list[list[tuple[Key, float]]]:
    """The legend's entries in rows that fit ``room``, each with its x offset."""
    rows: list[list[tuple[Key, float]]] = []
    x = 0.0
    for key in keys:
        w = KEY_SAMPLE + 6 + text_width(key.text, LEGEND)
        if not rows or (x > 0 and x + w > room):
            rows.append([])
            x = 0.0
        rows[-1].append((key, x))
        x += w + KEY_GAP
    return rows


def shown_ticks(axis: Axis, box_width: float) -> list[Tick]:
    """The x ticks inside the axis whose text does not touch its neighbour's; every
    second one (then every fourth...) when some would."""
    inside = [t for t in axis.ticks if axis.lo - 1e-9 <= t.value <= axis.hi + 1e-9]
    span = axis.hi - axis.lo or 1.0
    size = tick_size(axis)
    every = 1
    while every < len(inside):
        kept = inside[::every]
        xs = [(t.value - axis.lo) / span * box_width for t in kept]
        ws = [width(t.text, size) for t in kept]
        if all(xs[i + 1] - xs[i] >= (ws[i] + ws[i + 1]) / 2 + 8 for i in range(len(kept) - 1)):
            return kept
        every *= 2
    return inside[:1]


def x_area(panel: Panel) -> float:
    """The height below a panel's plot area: its x ticks' text and its axis label."""
    if not panel.x_ticks_shown:
        return 6.0
    size = tick_size(panel.x)
    rows = max((len(lines(t.text)) for t in panel.x.ticks), default=1)
    area = TICK_LENGTH + 3 + (ASCENT + DESCENT) * size + (rows - 1) * size * LINE_GAP
    if panel.x.label:
        area += 6 + (ASCENT + DESCENT) * LABEL
    return area + 4


@dataclass(frozen=True)
class EventLabel:
    """Where an event line's label goes: its text's anchor ``x`` (start or end), the white
    box behind it from ``x0`` to ``x1``, and the top of its row."""

    line: VLine
    x: float
    anchor: str
    x0: float
    x1: float
    top: float


def event_labels(box: Box, lines: list[VLine]) -> list[EventLabel]:
    """Each labelled line's text at the top of the panel, right of the line (left where
    the panel's right edge is too near), in the first row where it overlaps no other."""
    taken: list[list[tuple[float, float]]] = []
    right = box.left + box.width
    out = []
    for m in sorted(lines, key=lambda m: m.x):
        x = float(box.px(m.x))
        if not box.left <= x <= right:
            continue
        w = text_width(m.label, EVENT)
        if x + 5 + w <= right - 2 or x - 5 - w < box.left:
            a, b, anchor, tx = x + 4, x + 6 + w, "start", x + 5
        else:
            a, b, anchor, tx = x - 6 - w, x - 4, "end", x - 5
        row = 0
        while row < len(taken) and any(a < hi + 6 and lo < b + 6 for lo, hi in taken[row]):
            row += 1
        if row == len(taken):
            taken.append([])
        taken[row].append((a, b))
        out.append(EventLabel(m, tx, anchor, a, b, box.top + 3 + row * EVENT_ROW))
    return out


@dataclass(frozen=True)
class Placed:
    """One panel, placed: its plot area, its legend rows (each row's middle and its
    entries with their x offsets from the plot's left edge), its y label's text and
    the x ticks shown."""

    box: Box
    panel: Panel
    legend: list[tuple[float, list[tuple[Key, float]]]]
    ylabel: str
    xticks: list[Tick]


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    panels: list[Placed]


def layout(scene: Scene) -> Layout:
    """The scene's panels placed, and the whole figure's height."""
    full_width = scene.width
    total = sum(p.ratio for p in scene.panels) or 1.0
    ylabels = [label_lines(p.y.label, scene.height * p.ratio / total + 10) if p.y.label
               else "" for p in scene.panels]
    ylines = max((len(lines(t)) for t in ylabels if t), default=0)
    ytick = max((width(t.text, tick_size(p.y), t.bold) for p in scene.panels
                 for t in p.y.ticks), default=0.0)
    left = PAD + (LABEL * (ASCENT + DESCENT + (ylines - 1) * LINE_GAP) + 6 if ylines else 0) \
        + ytick + TICK_LENGTH + 4
    # the last x tick's text may reach past the plot's right edge
    right = PAD + 6
    for p in scene.panels:
        plot_width = full_width - left - right
        for t in shown_ticks(p.x, plot_width) if p.x_ticks_shown else []:
            at = (t.value - p.x.lo) / ((p.x.hi - p.x.lo) or 1.0) * plot_width
            right = max(right, PAD + width(t.text, tick_size(p.x)) / 2 - (plot_width - at))
    plot_width = full_width - left - right
    placed = []
    y = PAD
    for p, ylabel in zip(scene.panels, ylabels, strict=True):
        rows = legend_rows(p.legend, plot_width)
        legend = [(y + (i + 0.5) * LEGEND_ROW, row) for i, row in enumerate(rows)]
        y += len(rows) * LEGEND_ROW + (4 if rows else 0)
        height = scene.height * p.ratio / total
        placed.append(Placed(Box(left, y, plot_width, height, p.x, p.y), p, legend, ylabel,
                             shown_ticks(p.x, plot_width)))
        y += height + x_area(p)
    return Layout(full_width, y + PAD - 4, placed)
