"""Power and minimum detectable effect, measured on this very data by injecting known effects.

A verdict of ``not supported`` says "had there been an effect, we would have
seen it". That is a claim about power, and it is measured, not assumed, in the
two ways the known error rate is (:mod:`butfor.inference.false_positive`):

- **pseudo-events** (the structural time series): the method is refitted at
  pre-period dates where nothing happened, with a known relative change
  injected into each pseudo post-period (the series multiplied by 1 + effect);
  the share of pseudo-events at which it reports that change (p below the
  level, sign right) is its power against that change;
- **placebo units** (rank tests among peers: the per-account comparison, the
  pre/post comparison, SDID): each peer in turn plays the subject, the known
  effect is added to its statistic (on the log scale, where these statistics
  live), and it is ranked among the other peers as the subject is. This needs
  no refit, so the curve is exact for the placebo distribution at hand.

The minimum detectable effect (MDE) is the smallest change, in each direction,
detected with 80% power; between grid points the curve is read linearly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from butfor.results import EffectSummary

TARGET = 0.8
DEFAULT_EFFECTS = (0.05, 0.1, 0.2, 0.3, 0.5)  # relative changes tried, each way


@dataclass(frozen=True)
class PowerCurve:
    """Power against each relative change in ``effects`` (signed: -0.2 is a 20% fall)."""

    effects: np.ndarray
    power: np.ndarray
    alpha: float
    runs: int  # pseudo-events or placebo units per effect
    how: str  # "at 10 pseudo-events" / "with each of 300 peers as the subject"
    target: float = TARGET

    def mde(self, sign: int) -> float | None:
        """Smallest magnitude with power >= target for changes of ``sign`` (-1 fall, +1 rise)."""
        keep = np.sign(self.effects) == sign
        size, power = np.abs(self.effects[keep]), self.power[keep]
        order = np.argsort(size)
        size, power = size[order], power[order]
        hit = np.flatnonzero(power >= self.target)
        if hit.size == 0:
            return None
        i = int(hit[0])
        if i == 0:
            return float(size[0])
        # linear between the last grid point below the target and the first at or above it
        s0, s1, p0, p1 = size[i - 1], size[i], power[i - 1], power[i]
        return float(s0 + (self.target - p0) * (s1 - s0) / (p1 - p0)) if p1 > p0 else float(s1)

    def sentence(self) -> str:
        fell, rose = self.mde(-1), self.mde(+1)

        def words(x: float | None, way: str) -> str:
            return (f"a {way} of {100 * x:.1f}%" if x is not None
                    else f"no {way} up to {100 * np.abs(self.effects).max():.0f}%")

        return (f"Measured {self.how}: the method detects {words(fell, 'fall')} and "
                f"{words(rose, 'rise')} with {self.target:.0%} power at the {self.alpha:g} level.")

    def to_dict(self) -> dict:
        return {"effects": self.effects, "power": self.power, "alpha": self.alpha,
                "runs": self.runs, "how": self.how, "target": self.target,
                "mde_fell": self.mde(-1), "mde_rose": self.mde(+1),
                "sentence": self.sentence()}


def effect_grid(sizes: Sequence[float] = DEFAULT_EFFECTS) -> np.ndarray:
    s = np.asarray(sorted(set(float(abs(x)) for x in sizes if x != 0)))
    return np.concatenate([-s[::-1], s])


# ---------------------------------------------------------------------------
# placebo units
def placebo_power(values: Sequence[float], effects: np.ndarray, *, alpha: float,
                  two_sided: bool = True) -> PowerCurve:
    """Power of the rank test when each placebo unit, given a known effect, plays the subject.

    ``values`` are the placebo units' statistics on the log scale; ``effects``
    relative changes (injected as log(1 + effect)). Unit j with the effect is
    ranked among the other n - 1 units as the subject is ranked among n: its
    p-value is (1 + #{k != j: |v_k| >= |v_j + e|}) / n.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    power = np.zeros(len(effects))
    if n >= 2:
        ref = np.sort(np.abs(v) if two_sided else v)
        for i, e in enumerate(effects):
            stat = v + np.log1p(e)
            key = np.abs(stat) if two_sided else stat
            # units at or above the injected unit's statistic, itself excluded (its own
            # original |v_j| is in ref; drop it when it counts)
            at_or_above = n - np.searchsorted(ref, key, side="left")
            self_counts = (np.abs(v) if two_sided else v) >= key
            others = at_or_above - self_counts
            p = (1 + others) / n
            right_way = np.sign(stat) == np.sign(e)
            power[i] = float(np.mean((p <= alpha + 1e-12) & right_way))
    return PowerCurve(np.asarray(effects, dtype=float), power, alpha, n,
                      f"with each of {n} peers in turn as the subject")


# ---------------------------------------------------------------------------
# pseudo-events
SummariesWithEffect = Callable[[float], list[EffectSummary]]
"""``summaries(effect)``: the method's summary at every pseudo-event, ``effect`` injected."""


def pseudo_event_power(summaries: SummariesWithEffect, effects: np.ndarray, *, alpha: float,
                       progress: Callable[[], None] | None = None) -> PowerCurve:
    """Power against each effect: the share of pseudo-events where the method reports it."""
    power = np.zeros(len(effects))
    runs = 0
    for i, e in enumerate(effects):
        found = summaries(float(e))
        runs = len(found)
        hits = [s.p_value is not None and s.p_value < alpha
                and np.sign(s.cumulative) == np.sign(e) for s in found]
        power[i] = float(np.mean(hits)) if hits else 0.0
        if progress is not None:
            progress()
    return PowerCurve(np.asarray(effects, dtype=float), power, alpha, runs,
                      f"at {runs} pseudo-events before the real one")


# ---------------------------------------------------------------------------
# what the pipeline attaches to an analysis
ADDITIVE_PLACEBO = ("peer_effects", "prepost", "sdid")  # rank statistics on the log scale
PLACEBO_GRID = tuple(round(0.01 * k, 2) for k in range(1, 61))  # 1% to 60%, each way


def placebo_power_for(analysis, *, alpha: float = 0.05,
                      effects: Sequence[float] | None = None) -> dict | None:
    """The rank test's power curve for an analysis whose placebo statistic is a log effect.

    ``analysis`` is a record (:mod:`butfor.records`) or its dict.
    """
    from butfor.records import parse_analysis

    analysis = parse_analysis(analysis)
    placebo = getattr(analysis, "placebo", None)
    if analysis.method not in ADDITIVE_PLACEBO or placebo is None:
        return None
    if analysis.method == "sdid" and "log" not in analysis.estimate.scale:
        return None  # an SDID estimate in levels is not a relative change
    values = placebo.values
    if values is None or len(values) < 2:
        return None
    curve = placebo_power(values, effect_grid(effects or PLACEBO_GRID), alpha=alpha,
                          two_sided=True)
    return curve.to_dict()
