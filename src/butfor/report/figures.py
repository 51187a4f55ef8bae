"""Drawing: plot data to a scene (:mod:`butfor.report.scenes`), then to SVG or matplotlib.

The report's figures are SVG written by butfor itself (:mod:`butfor.report.svgwriter`):
the same plot data give the same bytes, and no matplotlib is imported. PNG files (when
asked for) and the notebook's ``.plot()`` draw the same scene with matplotlib
(:mod:`butfor.report.mplscene`).
"""

from __future__ import annotations

from butfor.report.damages_plots import SensitivityPlot
from butfor.report.plottypes import Plot
from butfor.report.scenes import scene
from butfor.report.svgwriter import write_svg


def render_svg(plot: Plot | SensitivityPlot) -> str:
    """The SVG text of one figure (no XML declaration, no creation date)."""
    return write_svg(scene(plot))


def draw(plot: Plot | SensitivityPlot):
    """One figure as a matplotlib Figure, in the report's style (for notebooks)."""
    from butfor.report.mplscene import figure

    return figure(scene(plot))


def render(plot: Plot | SensitivityPlot, *, png: bool = False) -> tuple[str, bytes | None]:
    """One figure's SVG text and (when asked) its PNG bytes, from the same scene.

    The PNG is for people who paste figures into a filing or a slide; it is drawn by
    matplotlib at 150 dpi with no software tag or date, so its bytes repeat too.
    """
    s = scene(plot)
    raster = None
    if png:
        from butfor.report.mplscene import png as to_png

        raster = to_png(s)
    return write_svg(s), raster


__all__ = ["draw", "render", "render_svg"]
