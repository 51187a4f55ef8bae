"""The power-curve figure: how often the method detects a known change, by its size.

Drawn for each analysis whose power a verdict read (the verdict's
``figures.analysis``), from the curve the analysis carries (``power``:
effects, power, alpha, how, mde_fell, mde_rose), so the reader sees the
smallest change these data could have shown beside the verdict that leans on it.
Pure data here; :func:`butfor.report.scenes.power` makes it a scene.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from butfor.report import fmt


@dataclass(frozen=True)
class PowerPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    effects: np.ndarray  # signed relative changes
    power: np.ndarray
    target: float
    alpha: float
    mde_fell: float | None
    mde_rose: float | None
    smallest_effect: float | None
    how: str
    kind: str = "power"


def _pct(x: float) -> str:
    return f"{100 * abs(x):.1f}%"


def power_plots(results: dict) -> list[PowerPlot]:
    """One curve per analysis a verdict read its power from, in the analyses' order."""
    read: dict[str, float | None] = {}
    for v in results.get("verdicts") or []:
        f = v.get("figures") if isinstance(v.get("figures"), dict) else {}
        if f.get("analysis") and "mde" in f:
            read.setdefault(str(f["analysis"]), f.get("smallest_effect"))
    plots = []
    for a in results.get("analyses") or []:
        if str(a.get("id")) in read:
            plot = power_plot(a, read[str(a.get("id"))])
            if plot is not None:
                plots.append(plot)
    return plots


def power_plot(analysis: dict, smallest_effect: float | None = None) -> PowerPlot | None:
    curve = analysis.get("power")
    if not isinstance(curve, dict):
        return None
    effects = np.asarray(curve.get("effects") or [], dtype=float)
    power = np.asarray(curve.get("power") or [], dtype=float)
    if effects.size == 0 or effects.shape != power.shape:
        return None
    order = np.argsort(effects)
    effects, power = effects[order], power[order]
    target = float(curve.get("target", 0.8))
    alpha = float(curve.get("alpha", 0.05))
    fell, rose = curve.get("mde_fell"), curve.get("mde_rose")
    largest = float(np.abs(effects).max())
    what = str(analysis.get("title") or analysis.get("method") or "the method")

    def side(x: float | None, way: str) -> str:
        return f"a {way} of {_pct(x)}" if fmt.is_number(x) else f"no {way} up to {_pct(largest)}"

    title = (f"{what}: detects {side(fell, 'fall')} and {side(rose, 'rise')} with "
             f"{target:.0%} power")
    how = str(curve.get("how") or "")
    alt = (f"Power curve: the share of runs ({how}) in which the method reports a known "
           f"change, against the size of the change, at the {alpha:g} level; the dashed "
           f"line marks {target:.0%} power. {title}.")
    slug = re.sub(r"[^a-z0-9]+", "-", str(analysis.get("id", "")).lower()).strip("-")
    return PowerPlot(id=f"fig-{slug}-power", analysis_id=str(analysis.get("id")),
                     title=title, alt=alt, effects=effects, power=power, target=target,
                     alpha=alpha, mde_fell=fell if fmt.is_number(fell) else None,
                     mde_rose=rose if fmt.is_number(rose) else None,
                     smallest_effect=smallest_effect, how=how)
