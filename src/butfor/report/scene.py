"""A figure as a scene: what is drawn, in data coordinates, for either renderer.

A scene is a width, panels stacked top to bottom (each with its share of the
height, its two axes and the marks drawn in it, and the legend above it), and a
title kept for the SVG's ``<title>`` (the report prints the heading itself).
Axes are resolved here already: their limits and their ticks with the tick
text, so the SVG writer (:mod:`butfor.report.svgwriter`) and the matplotlib
renderer (:mod:`butfor.report.mplscene`) draw the same axes. Dates are days
since 1970-01-01. Colours are ``#rrggbb``; line widths and sizes are in the
scene's pixels (the SVG's user units; matplotlib draws one as 0.75 pt).

:mod:`butfor.report.scenes` builds scenes from plot data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Dash = tuple[float, ...] | None  # on/off lengths in pixels; None: solid


@dataclass(frozen=True)
class Tick:
    value: float
    text: str  # may hold a newline: a second line (a date tick's year)
    colour: str | None = None
    bold: bool = False


@dataclass(frozen=True)
class Axis:
    lo: float
    hi: float
    ticks: tuple[Tick, ...]
    label: str = ""
    grid: bool = True
    small: bool = False  # tick text a size smaller (many account names)


@dataclass(frozen=True, eq=False)
class Line:
    x: np.ndarray
    y: np.ndarray
    colour: str
    width: float = 1.5
    dash: Dash = None
    opacity: float = 1.0
    step: bool = False  # a step at each x, holding y until the next x


@dataclass(frozen=True, eq=False)
class Band:
    """The area between ``lo`` and ``hi`` along ``x`` (NaN breaks it)."""

    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    colour: str
    opacity: float = 0.6


@dataclass(frozen=True)
class Span:
    """A vertical strip from ``x0`` to ``x1``, the panel's full height."""

    x0: float
    x1: float
    colour: str
    opacity: float = 1.0


@dataclass(frozen=True)
class Rect:
    x0: float
    x1: float
    y0: float
    y1: float
    colour: str
    edge: str | None = None


@dataclass(frozen=True, eq=False)
class Markers:
    x: np.ndarray
    y: np.ndarray
    colours: tuple[str, ...]  # one, or one per point
    size: float = 6.0  # diameter
    hollow: bool = False  # white inside, the colour as its ring
    sizes: tuple[float, ...] = ()  # one per point, overriding ``size``


@dataclass(frozen=True, eq=False)
class ErrorBars:
    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    colour: str
    width: float = 1.5
    cap: float = 0.0  # cap width in pixels; 0: none


@dataclass(frozen=True)
class VLine:
    x: float
    colour: str
    width: float = 1.5
    dash: Dash = None
    opacity: float = 1.0
    label: str = ""  # written at the top of the panel beside the line


@dataclass(frozen=True)
class HLine:
    y: float
    colour: str
    width: float = 1.3
    dash: Dash = None


@dataclass(frozen=True)
class Text:
    """Text at data coordinates ``(x, y)``, or at fractions of the panel when ``frac``;
    ``dy`` moves it up by that many pixels."""

    x: float
    y: float
    text: str  # may hold newlines
    colour: str
    anchor: Literal["start", "middle", "end"] = "start"
    valign: Literal["top", "baseline"] = "baseline"
    frac: bool = False
    dy: float = 0.0
    size: float = 12.0
    bold: bool = False


Mark = Line | Band | Span | Rect | Markers | ErrorBars | VLine | HLine | Text


@dataclass(frozen=True)
class Key:
    """One legend entry: a sample of the mark and its text."""

    text: str
    kind: Literal["line", "patch", "marker", "errorbar"]
    colour: str
    width: float = 1.5
    dash: Dash = None
    opacity: float = 1.0


@dataclass(frozen=True)
class Panel:
    x: Axis
    y: Axis
    marks: tuple[Mark, ...]
    legend: tuple[Key, ...] = ()
    ratio: float = 1.0  # share of the panels' height
    x_ticks_shown: bool = True  # the x ticks' text (only the lowest of stacked panels)


@dataclass(frozen=True)
class Scene:
    id: str
    title: str
    panels: tuple[Panel, ...]
    height: float  # the panels' total height, in pixels, before margins and legends
    width: float = 840.0


#: font sizes (pixels) of the scene's text: tick text, axis labels, legend, event labels
TICK = 12.5
TICK_SMALL = 11.0
LABEL = 13.0
LEGEND = 12.0
EVENT = 11.5
