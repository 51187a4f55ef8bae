"""Placebo inference: how large an "effect" looks on units where nothing happened.

Synthetic control and SDID compare one unit with a weighted set of others;
the comparison's own error is measured by running it on units that were not
treated. Three statistics serve here:

- the root mean squared prediction error (RMSPE) of a unit's gap
  (observed − synthetic) over a set of periods;
- the post/pre RMSPE ratio of Abadie, Diamond & Hainmueller (2010), which
  puts a unit with a poor pre-period fit on the same footing as a unit with a
  good one: a large post-period gap counts only relative to the pre-period
  gap;
- the permutation p-value: the share of all units (the treated one
  included) whose statistic is at least the treated unit's, and its rank.

The functions are pure numpy; :class:`PlaceboTest` is the record a method
puts into its analysis (``"placebo"``), which the claims read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PlaceboTest",
    "permutation_p_value",
    "permutation_rank",
    "placebo_draws",
    "post_pre_ratio",
    "rmspe",
]


def rmspe(gaps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Root mean squared gap over the periods in ``mask``; ``gaps`` is (T,) or (T, U).

    Missing gaps (NaN) are left out of the mean.
    """
    g = np.asarray(gaps, dtype=float)[np.asarray(mask, dtype=bool)]
    ok = ~np.isnan(g)
    n = ok.sum(axis=0)
    total = np.where(ok, g, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.where(n > 0, total.sum(axis=0) / np.maximum(n, 1), np.nan))


def post_pre_ratio(gaps: np.ndarray, post: np.ndarray, pre: np.ndarray | None = None
                   ) -> np.ndarray:
    """Post-period RMSPE over pre-period RMSPE (ADH 2010); pre defaults to ``~post``."""
    post = np.asarray(post, dtype=bool)
    pre = ~post if pre is None else np.asarray(pre, dtype=bool)
    pre_r = rmspe(gaps, pre)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pre_r > 0, rmspe(gaps, post) / pre_r, np.inf)


def permutation_p_value(subject: float, placebos: np.ndarray) -> float:
    """Share of all units, the subject included, whose statistic is at least the subject's.

    With n placebo units the smallest attainable value is 1/(n + 1).
    """
    placebos = np.asarray(placebos, dtype=float)
    placebos = placebos[~np.isnan(placebos)]
    return float((1 + np.sum(placebos >= subject)) / (1 + placebos.size))


def permutation_rank(subject: float, placebos: np.ndarray) -> int:
    """1 when the subject's statistic exceeds every placebo's."""
    placebos = np.asarray(placebos, dtype=float)
    return int(1 + np.sum(placebos[~np.isnan(placebos)] > subject))


def placebo_draws(counterfactual: np.ndarray, placebo_gaps: np.ndarray,
                  scale: np.ndarray | None = None) -> np.ndarray:
    """Counterfactual draws: the counterfactual plus each placebo unit's gap.

    ``counterfactual`` is (T,), ``placebo_gaps`` (T, U); ``scale`` (U,)
    multiplies each placebo's gap (for instance the subject's pre-period RMSPE
    over the placebo's, so that every placebo speaks at the subject's fit
    quality). Returns (U, T). A placebo gap is what the comparison produces
    when nothing happened, so these draws spread the counterfactual by the
    comparison's own error.
    """
    gaps = np.asarray(placebo_gaps, dtype=float)
    if scale is not None:
        gaps = gaps * np.asarray(scale, dtype=float)[None, :]
    return np.asarray(counterfactual, dtype=float)[None, :] + gaps.T


@dataclass(frozen=True)
class PlaceboTest:
    """A placebo-in-space test as an analysis reports it (``analysis["placebo"]``).

    ``values`` are the placebo units' statistics, ``subject_value`` the
    subject's; ``p_value`` and ``rank`` compare ``abs`` of them when
    ``two_sided`` (the sign then only says the direction of the change).
    """

    units: tuple[str, ...]
    statistic: str
    values: np.ndarray
    subject_value: float
    two_sided: bool = True

    @property
    def p_value(self) -> float:
        if self.two_sided:
            return permutation_p_value(abs(self.subject_value), np.abs(self.values))
        return permutation_p_value(self.subject_value, self.values)

    @property
    def rank(self) -> int:
        if self.two_sided:
            return permutation_rank(abs(self.subject_value), np.abs(self.values))
        return permutation_rank(self.subject_value, self.values)

    def to_dict(self) -> dict:
        return {
            "units": list(self.units),
            "statistic": self.statistic,
            "values": np.asarray(self.values, dtype=float),
            "subject_value": float(self.subject_value),
            "p_value": self.p_value,
            "rank": self.rank,
        }
