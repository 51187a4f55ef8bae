"""A scene written as SVG text, directly: no matplotlib, the same bytes every run.

The panels go where :mod:`butfor.report.layout` puts them; event labels take the
first row at the top of their panel where they overlap no other label (and sit
left of their line where the right edge is near). Numbers are written with two decimals at most, elements in
the scene's order, so the same scene gives the same bytes. Text stays text, in
DejaVu Sans or the reader's sans-serif.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import numpy as np

from butfor.report.layout import (
    EVENT_ROW,
    KEY_SAMPLE,
    LINE_GAP,
    PAD,
    TICK_LENGTH,
    Box,
    Placed,
    event_labels,
    layout,
    lines,
    tick_size,
    x_area,
)
from butfor.report.scene import (
    EVENT,
    LABEL,
    LEGEND,
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
from butfor.report.textwidth import ASCENT, DESCENT

FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif"
SPINE = "#6b7280"
TICK_INK = "#4b5563"
GRID = "#e5e7eb"
INK = "#1f1f1f"


def _n(v: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, no negative zero."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []

    def add(self, text: str) -> None:
        self.out.append(text)

    def text(self, x: float, y: float, text: str, *, size: float, fill: str,
             anchor: str = "start", bold: bool = False, extra: str = "") -> None:
        weight = ' font-weight="bold"' if bold else ""
        rows = lines(text)
        if len(rows) == 1:
            self.add(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{fill}" '
                     f'text-anchor="{anchor}"{weight}{extra}>{escape(text)}</text>')
            return
        spans = "".join(f'<tspan x="{_n(x)}" dy="{_n(0 if i == 0 else size * LINE_GAP)}">'
                        f'{escape(line)}</tspan>' for i, line in enumerate(rows))
        self.add(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{fill}" '
                 f'text-anchor="{anchor}"{weight}{extra}>{spans}</text>')


def _stroke(colour: str, width: float, dash, opacity: float) -> str:
    out = f'stroke="{colour}" stroke-width="{_n(width)}"'
    if dash:
        out += f' stroke-dasharray="{" ".join(_n(d) for d in dash)}"'
    if opacity < 1:
        out += f' stroke-opacity="{_n(opacity)}"'
    return out


def _runs(*arrays: np.ndarray) -> list[slice]:
    """The runs of indices where every array is finite."""
    ok = np.logical_and.reduce([np.isfinite(np.asarray(a, dtype=float)) for a in arrays])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    return "M" + " L".join(f"{_n(a)} {_n(b)}" for a, b in zip(xs, ys, strict=True))


def _line(w: _Writer, box: Box, m: Line) -> None:
    x, y = np.asarray(m.x, dtype=float), np.asarray(m.y, dtype=float)
    if m.step and len(x) > 1:  # hold each value until the next x
        x = np.repeat(x, 2)[1:]
        y = np.repeat(y, 2)[:-1]
    parts = [_path(box.px(x[r]), box.py(y[r])) for r in _runs(x, y) if r.stop - r.start > 1]
    if parts:
        w.add(f'<path d="{" ".join(parts)}" fill="none" '
              f'{_stroke(m.colour, m.width, m.dash, m.opacity)} stroke-linejoin="round"/>')


def _band(w: _Writer, box: Box, m: Band) -> None:
    x = np.asarray(m.x, dtype=float)
    parts = []
    for r in _runs(x, m.lo, m.hi):
        xs = np.concatenate([x[r], x[r][::-1]])
        ys = np.concatenate([np.asarray(m.hi, dtype=float)[r], np.asarray(m.lo, dtype=float)[r][::-1]])
        parts.append(_path(box.px(xs), box.py(ys)) + " Z")
    if parts:
        w.add(f'<path d="{" ".join(parts)}" fill="{m.colour}" fill-opacity="{_n(m.opacity)}" '
              f'stroke="none"/>')


def _mark(w: _Writer, box: Box, m) -> None:
    bottom, right = box.top + box.height, box.left + box.width
    if isinstance(m, Line):
        _line(w, box, m)
    elif isinstance(m, Band):
        _band(w, box, m)
    elif isinstance(m, Span):
        a, b = sorted((float(box.px(m.x0)), float(box.px(m.x1))))
        a, b = max(a, box.left), min(b, right)
        if b > a:
            op = f' fill-opacity="{_n(m.opacity)}"' if m.opacity < 1 else ""
            w.add(f'<rect x="{_n(a)}" y="{_n(box.top)}" width="{_n(b - a)}" '
                  f'height="{_n(box.height)}" fill="{m.colour}"{op}/>')
    elif isinstance(m, Rect):
        xa, xb = sorted((float(box.px(m.x0)), float(box.px(m.x1))))
        ya, yb = sorted((float(box.py(m.y0)), float(box.py(m.y1))))
        edge = f' stroke="{m.edge}" stroke-width="0.7"' if m.edge else ""
        w.add(f'<rect x="{_n(xa)}" y="{_n(ya)}" width="{_n(xb - xa)}" height="{_n(yb - ya)}" '
              f'fill="{m.colour}"{edge}/>')
    elif isinstance(m, Markers):
        xs, ys = box.px(m.x), box.py(m.y)
        for i, (cx, cy) in enumerate(zip(xs, ys, strict=True)):
            if not (np.isfinite(cx) and np.isfinite(cy)):
                continue
            colour = m.colours[i] if len(m.colours) > 1 else m.colours[0]
            r = (m.sizes[i] if m.sizes else m.size) / 2
            paint = (f'fill="#ffffff" stroke="{colour}" stroke-width="1.4"' if m.hollow
                     else f'fill="{colour}"')
            w.add(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" {paint}/>')
    elif isinstance(m, ErrorBars):
        xs, lo, hi = box.px(m.x), box.py(m.lo), box.py(m.hi)
        half = m.cap / 2
        segs = []
        for cx, a, b in zip(xs, lo, hi, strict=True):
            if not (np.isfinite(cx) and np.isfinite(a) and np.isfinite(b)):
                continue
            segs.append(f"M{_n(cx)} {_n(a)} V{_n(b)}")
            if half:
                segs.append(f"M{_n(cx - half)} {_n(a)} H{_n(cx + half)} "
                            f"M{_n(cx - half)} {_n(b)} H{_n(cx + half)}")
        if segs:
            w.add(f'<path d="{" ".join(segs)}" fill="none" '
                  f'{_stroke(m.colour, m.width, None, 1.0)}/>')
    elif isinstance(m, HLine):
        y = float(box.py(m.y))
        if box.top <= y <= bottom:
            w.add(f'<path d="M{_n(box.left)} {_n(y)} H{_n(right)}" '
                  f'{_stroke(m.colour, m.width, m.dash, 1.0)}/>')
    elif isinstance(m, VLine):
        x = float(box.px(m.x))
        if box.left <= x <= right:
            w.add(f'<path d="M{_n(x)} {_n(box.top)} V{_n(bottom)}" '
                  f'{_stroke(m.colour, m.width, m.dash, m.opacity)}/>')
    elif isinstance(m, Text):
        if m.frac:
            x = box.left + m.x * box.width
            y = box.top + (1 - m.y) * box.height
        else:
            x, y = float(box.px(m.x)), float(box.py(m.y))
        y -= m.dy
        if m.valign == "top":
            y += ASCENT * m.size
        w.text(x, y, m.text, size=m.size, fill=m.colour, anchor=m.anchor, bold=m.bold)


def _event_labels(w: _Writer, box: Box, lines: list[VLine]) -> None:
    """Each labelled line's text at the top of the panel, where the layout puts it."""
    for label in event_labels(box, lines):
        w.add(f'<rect x="{_n(label.x0)}" y="{_n(label.top)}" width="{_n(label.x1 - label.x0)}" '
              f'height="{_n(EVENT_ROW - 1)}" fill="#ffffff" fill-opacity="0.8"/>')
        w.text(label.x, label.top + 1 + ASCENT * EVENT, label.line.label, size=EVENT,
               fill=label.line.colour, anchor=label.anchor)


def _key(w: _Writer, x: float, y: float, key: Key) -> None:
    """One legend entry; ``y`` is the row's middle."""
    if key.kind == "line":
        w.add(f'<path d="M{_n(x)} {_n(y)} H{_n(x + KEY_SAMPLE)}" '
              f'{_stroke(key.colour, key.width, key.dash, key.opacity)}/>')
    elif key.kind == "patch":
        op = f' fill-opacity="{_n(key.opacity)}"' if key.opacity < 1 else ""
        w.add(f'<rect x="{_n(x + 3)}" y="{_n(y - 5.5)}" width="{_n(KEY_SAMPLE - 6)}" '
              f'height="11" fill="{key.colour}"{op}/>')
    elif key.kind == "marker":
        w.add(f'<circle cx="{_n(x + KEY_SAMPLE / 2)}" cy="{_n(y)}" r="4" fill="#ffffff" '
              f'stroke="{key.colour}" stroke-width="1.4"/>')
    else:  # errorbar: the bar and its estimate
        mid = x + KEY_SAMPLE / 2
        w.add(f'<path d="M{_n(mid)} {_n(y - 6)} V{_n(y + 6)}" '
              f'{_stroke(key.colour, key.width, None, 1.0)}/>')
        w.add(f'<circle cx="{_n(mid)}" cy="{_n(y)}" r="2.8" fill="{key.colour}"/>')
    w.text(x + KEY_SAMPLE + 6, y + 0.35 * LEGEND, key.text, size=LEGEND, fill=INK)


def _axes(w: _Writer, placed: Placed, clip: str) -> None:
    box, panel, xticks = placed.box, placed.panel, placed.xticks
    bottom, right = box.top + box.height, box.left + box.width
    yticks = [t for t in panel.y.ticks if panel.y.lo - 1e-9 <= t.value <= panel.y.hi + 1e-9]
    grid = []
    if panel.x.grid:
        grid += [f"M{_n(float(box.px(t.value)))} {_n(box.top)} V{_n(bottom)}" for t in xticks]
    if panel.y.grid:
        grid += [f"M{_n(box.left)} {_n(float(box.py(t.value)))} H{_n(right)}" for t in yticks]
    if grid:
        w.add(f'<path d="{" ".join(grid)}" stroke="{GRID}" stroke-width="1.1" fill="none"/>')
    w.add(f'<g clip-path="url(#{clip})">')
    for m in panel.marks:
        _mark(w, box, m)
    w.add("</g>")
    w.add(f'<path d="M{_n(box.left)} {_n(box.top)} V{_n(bottom)} H{_n(right)}" '
          f'stroke="{SPINE}" stroke-width="1.1" fill="none"/>')
    marks = [f"M{_n(float(box.px(t.value)))} {_n(bottom)} v{_n(TICK_LENGTH)}" for t in xticks]
    marks += [f"M{_n(box.left)} {_n(float(box.py(t.value)))} h{_n(-TICK_LENGTH)}" for t in yticks]
    w.add(f'<path d="{" ".join(marks)}" stroke="{TICK_INK}" stroke-width="1.1" fill="none"/>')
    ysize = tick_size(panel.y)
    for t in yticks:
        w.text(box.left - TICK_LENGTH - 3, float(box.py(t.value)) + 0.35 * ysize, t.text,
               size=ysize, fill=t.colour or TICK_INK, anchor="end", bold=t.bold)
    if panel.x_ticks_shown:
        xsize = tick_size(panel.x)
        for t in xticks:
            w.text(float(box.px(t.value)), bottom + TICK_LENGTH + 3 + ASCENT * xsize, t.text,
                   size=xsize, fill=t.colour or TICK_INK, anchor="middle", bold=t.bold)
    _event_labels(w, box, [m for m in panel.marks if isinstance(m, VLine) and m.label])


def write_svg(scene: Scene) -> str:
    """The scene as an SVG document (no XML declaration)."""
    placed = layout(scene)
    width, full = placed.width, placed.height
    w = _Writer()
    w.add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(full)}" '
          f'viewBox="0 0 {_n(width)} {_n(full)}" font-family={quoteattr(FONT)}>')
    w.add(f"<title>{escape(scene.title)}</title>")
    w.add("<defs>" + "".join(
        f'<clipPath id="{_clip_id(scene, i)}"><rect x="{_n(p.box.left)}" y="{_n(p.box.top)}" '
        f'width="{_n(p.box.width)}" height="{_n(p.box.height)}"/></clipPath>'
        for i, p in enumerate(placed.panels)) + "</defs>")
    w.add(f'<rect width="{_n(width)}" height="{_n(full)}" fill="#ffffff"/>')
    for i, p in enumerate(placed.panels):
        box = p.box
        for middle, row in p.legend:
            for key, dx in row:
                _key(w, box.left + dx, middle, key)
        _axes(w, p, _clip_id(scene, i))
        if p.ylabel:
            cx = PAD + ASCENT * LABEL
            cy = box.top + box.height / 2
            w.text(0, 0, p.ylabel, size=LABEL, fill=INK, anchor="middle",
                   extra=f' transform="translate({_n(cx)} {_n(cy)}) rotate(-90)"')
        if p.panel.x_ticks_shown and p.panel.x.label:
            w.text(box.left + box.width / 2, box.top + box.height + x_area(p.panel) - 4
                   - DESCENT * LABEL, p.panel.x.label, size=LABEL, fill=INK, anchor="middle")
    w.add("</svg>")
    return "\n".join(w.out) + "\n"


def _clip_id(scene: Scene, i: int) -> str:
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in scene.id)
    return f"{kept or 'figure'}-plot{i}"
