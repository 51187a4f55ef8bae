"""A scene drawn with matplotlib: the notebook's ``.plot()`` Figure and the PNG files.

The same scene as the SVG writer's (:mod:`butfor.report.scene`): its limits, its ticks
and their text, its marks and legends, drawn on a :class:`matplotlib.figure.Figure`
built directly (no pyplot, no global backend), each panel's axes where
:mod:`butfor.report.layout` puts them (no layout engine, no tight bounding box: both
cost more than the drawing). Scene pixels are drawn at 100 dpi, so the figure is as
wide in inches as the scene in hundreds of pixels, and a width of one pixel is
0.72 pt. matplotlib is imported only when this module draws.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from butfor.report.layout import Placed, event_labels, layout
from butfor.report.scene import (
    EVENT,
    LABEL,
    LEGEND,
    TICK,
    TICK_SMALL,
    Band,
    ErrorBars,
    HLine,
    Key,
    Line,
    Markers,
    Rect,
    Scene,
    Span,
    Text,
    VLine,
)

PT = 0.72  # points per scene pixel at 100 dpi
DPI = 100


def _rc() -> dict[str, Any]:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
        "font.size": LABEL * PT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#6b7280",
        "axes.labelcolor": "#1f1f1f",
        "xtick.color": "#4b5563",
        "ytick.color": "#4b5563",
        "xtick.labelsize": TICK * PT,
        "ytick.labelsize": TICK * PT,
        "grid.color": "#e5e7eb",
        "grid.linewidth": 0.8,
        "legend.frameon": False,
        "legend.fontsize": LEGEND * PT,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "path.simplify": True,
        "text.parse_math": False,  # '$4 CPM' is money, not mathtext
    }


def figure(scene: Scene):
    """The scene as a matplotlib Figure."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        return _figure(scene)


def png(scene: Scene, dpi: int = 150) -> bytes:
    """The scene as PNG bytes (no software tag or date, so the bytes repeat)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig = _figure(scene)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()


def _dash(dash) -> Any:
    return "-" if not dash else (0, tuple(d * PT for d in dash))


def _figure(scene: Scene):
    from matplotlib.figure import Figure

    placed = layout(scene)
    w, h = placed.width, placed.height
    fig = Figure(figsize=(w / DPI, h / DPI))
    for p in placed.panels:
        b = p.box
        ax = fig.add_axes((b.left / w, 1 - (b.top + b.height) / h, b.width / w, b.height / h))
        _panel(ax, p)
    return fig


def _panel(ax, placed: Placed) -> None:
    from matplotlib.transforms import blended_transform_factory

    panel = placed.panel
    ax.set_xlim(panel.x.lo, panel.x.hi)
    ax.set_ylim(panel.y.lo, panel.y.hi)
    for which, axis in (("x", panel.x), ("y", panel.y)):
        ticks = placed.xticks if which == "x" else [
            t for t in axis.ticks if axis.lo - 1e-9 <= t.value <= axis.hi + 1e-9]
        size = (TICK_SMALL if axis.small else TICK) * PT
        setter = ax.set_xticks if which == "x" else ax.set_yticks
        shown = which == "y" or panel.x_ticks_shown
        setter([t.value for t in ticks], [t.text for t in ticks] if shown else [],
               fontsize=size)
        labels = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
        for label, t in zip(labels, ticks, strict=False):
            if t.colour:
                label.set_color(t.colour)
            if t.bold:
                label.set_fontweight("bold")
        ax.grid(axis.grid, axis=which)
    if placed.ylabel:
        ax.set_ylabel(placed.ylabel)
    if panel.x.label and panel.x_ticks_shown:
        ax.set_xlabel(panel.x.label)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for z, m in enumerate(panel.marks, start=2):
        if isinstance(m, Line):
            x, y = np.asarray(m.x, dtype=float), np.asarray(m.y, dtype=float)
            if m.step:
                ax.step(x, y, where="post", color=m.colour, lw=m.width * PT, ls=_dash(m.dash),
                        alpha=m.opacity, zorder=z)
            else:
                ax.plot(x, y, color=m.colour, lw=m.width * PT, ls=_dash(m.dash),
                        alpha=m.opacity, zorder=z)
        elif isinstance(m, Band):
            ax.fill_between(m.x, m.lo, m.hi, color=m.colour, alpha=m.opacity, linewidth=0,
                            zorder=z)
        elif isinstance(m, Span):
            ax.axvspan(m.x0, m.x1, color=m.colour, alpha=m.opacity, lw=0, zorder=0)
        elif isinstance(m, Rect):
            ax.bar(m.x0, m.y1 - m.y0, width=m.x1 - m.x0, bottom=m.y0, align="edge",
                   color=m.colour, edgecolor=m.edge or "none", linewidth=0.5, zorder=z)
        elif isinstance(m, Markers):
            sizes = [(s * PT) ** 2 for s in (m.sizes or (m.size,) * len(m.x))]
            if m.hollow:
                ax.scatter(m.x, m.y, s=sizes, facecolors="white", edgecolors=m.colours[0],
                           zorder=z + 10)
            else:
                ax.scatter(m.x, m.y, s=sizes, c=list(m.colours) if len(m.colours) > 1
                           else m.colours[0], zorder=z + 10)
        elif isinstance(m, ErrorBars):
            ax.vlines(m.x, m.lo, m.hi, color=m.colour, lw=m.width * PT, zorder=z)
            if m.cap:
                for edge in (m.lo, m.hi):
                    ax.plot(m.x, edge, ls="none", marker="_", ms=m.cap * PT, color=m.colour,
                            mew=m.width * PT, zorder=z)
        elif isinstance(m, HLine):
            ax.axhline(m.y, color=m.colour, lw=m.width * PT, ls=_dash(m.dash), zorder=1)
        elif isinstance(m, VLine):
            ax.axvline(m.x, color=m.colour, lw=m.width * PT, ls=_dash(m.dash), alpha=m.opacity,
                       zorder=1)
        elif isinstance(m, Text):
            ax.annotate(m.text, (m.x, m.y), xycoords=ax.transAxes if m.frac else "data",
                        textcoords="offset points", xytext=(0, m.dy * PT),
                        ha={"start": "left", "middle": "center", "end": "right"}[m.anchor],
                        va="top" if m.valign == "top" else "baseline", fontsize=m.size * PT,
                        color=m.colour, fontweight="bold" if m.bold else "normal")
    lines = [m for m in panel.marks if isinstance(m, VLine) and m.label]
    for label in event_labels(placed.box, lines):  # where the SVG writer puts them
        ax.annotate(label.line.label, (label.line.x, 1.0), xycoords=trans,
                    xytext=((label.x - float(placed.box.px(label.line.x))) * PT,
                            -(label.top + 1 - placed.box.top) * PT),
                    textcoords="offset points", ha="left" if label.anchor == "start" else "right",
                    va="top", fontsize=EVENT * PT, color=label.line.colour,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.8})
    if panel.legend:
        ax.legend(handles=[_handle(k) for k in panel.legend], loc="lower left",
                  bbox_to_anchor=(0, 1.0), ncol=len(placed.legend[0][1]), borderaxespad=0.2,
                  handlelength=2.2, borderpad=0.1)


def _handle(key: Key):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if key.kind == "patch":
        return Patch(color=key.colour, alpha=key.opacity, lw=0, label=key.text)
    if key.kind == "marker":
        return Line2D([], [], ls="none", marker="o", mfc="white", mec=key.colour, ms=6,
                      label=key.text)
    if key.kind == "errorbar":
        return Line2D([], [], ls="none", marker="o", color=key.colour, ms=4, label=key.text)
    return Line2D([], [], color=key.colour, lw=key.width * PT, ls=_dash(key.dash),
                  alpha=key.opacity, label=key.text)
