"""A method's false-positive rate on this very data: pseudo-events where nothing happened.

A court asks for a method's known error rate. The honest way to measure it
for one series is to pretend the event happened earlier, on pre-period dates
where nothing happened, run the same method with a post-period of the same
length, and count how often it reports an effect. The post-periods of the
pseudo-events lie wholly before the real event, so the real effect cannot
leak in; each pseudo-event is fitted only on the days before it.

The check is method-agnostic: it takes a function that fits the method with
a given pseudo-event and returns its :class:`~butfor.results.EffectSummary`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from butfor.errors import DataError
from butfor.results import EffectSummary

FitAt = Callable[[int, int], EffectSummary]
"""``fit_at(pseudo_event_index, post_length)``: fit on days before the index, summarise
the ``post_length`` days from it."""


@dataclass(frozen=True)
class FalsePositiveResult:
    """How often the method found an "effect" at pseudo-events where nothing happened."""

    event_indices: np.ndarray  # pseudo-event positions in the series
    post_length: int
    p_values: np.ndarray
    flagged: np.ndarray  # bool: the method would have reported an effect
    alpha: float
    level: float  # of the interval on the rate

    @property
    def n_events(self) -> int:
        return int(self.event_indices.size)

    @property
    def n_flagged(self) -> int:
        return int(self.flagged.sum())

    @property
    def rate(self) -> float:
        return self.n_flagged / self.n_events

    @property
    def interval(self) -> tuple[float, float]:
        """Clopper-Pearson interval for the rate (exact binomial)."""
        return clopper_pearson(self.n_flagged, self.n_events, self.level)

    def sentence(self) -> str:
        lo, hi = self.interval
        return (
            f"At {self.n_events} pseudo-events placed before the real one, where nothing "
            f"happened, the method reported an effect (p < {self.alpha:g}) {self.n_flagged} "
            f"times ({self.rate:.0%}; {self.level:.0%} interval {lo:.0%} to {hi:.0%}); the "
            f"nominal rate is {self.alpha:.0%}."
        )

    def to_dict(self) -> dict:
        lo, hi = self.interval
        return {
            "n_events": self.n_events,
            "runs": self.n_events,
            "n_flagged": self.n_flagged,
            "rate": self.rate,
            "rate_lower": lo,
            "rate_upper": hi,
            "alpha": self.alpha,
            "post_length": self.post_length,
            "event_indices": self.event_indices,
            "p_values": self.p_values,
            "sentence": self.sentence(),
        }


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes in n trials (Clopper & Pearson 1934)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    # the beta quantiles as scipy.stats.beta.ppf(q, a, b) gives them (the same bits,
    # tests/test_false_positive.py), without importing scipy.stats: a second of start-up
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, a))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - a))
    return lo, hi


def pseudo_event_indices(
    event_index: int, post_length: int, *, n_events: int = 12, min_fit: int = 56,
    unit: str = "day",
) -> np.ndarray:
    """Evenly spaced pseudo-event positions whose post-periods end before ``event_index``.

    Each leaves at least ``min_fit`` periods (``unit``: days, months) to fit on.
    Fewer than ``n_events`` are returned when the pre-period is short (distinct
    positions only).
    """
    first, last = min_fit, event_index - post_length
    if last < first:
        raise DataError(
            f"the pre-period ({event_index} {unit}s) is too short for pseudo-events: each "
            f"needs {min_fit} {unit}s to fit on and {post_length} {unit}s after it; shorten "
            "the pseudo post-period or lengthen the pre-period"
        )
    return np.unique(np.linspace(first, last, n_events).round().astype(int))


def false_positive_rate(
    fit_at: FitAt,
    event_index: int,
    post_length: int,
    *,
    n_events: int = 12,
    min_fit: int = 56,
    alpha: float = 0.05,
    level: float = 0.95,
) -> FalsePositiveResult:
    """Run ``fit_at`` at pseudo-events in the pre-period and count the "effects" it finds."""
    indices = pseudo_event_indices(event_index, post_length, n_events=n_events,
                                   min_fit=min_fit)
    p_values = np.empty(indices.size)
    for i, k in enumerate(indices):
        summary = fit_at(int(k), post_length)
        p_values[i] = np.nan if summary.p_value is None else summary.p_value
    flagged = np.nan_to_num(p_values, nan=1.0) < alpha
    return FalsePositiveResult(indices, post_length, p_values, flagged, alpha, level)
