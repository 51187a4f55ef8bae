"""Several treated units with their own event dates: one synthetic control each, aligned in event time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from butfor.errors import DataError
from butfor.methods.synth import (
    SyntheticControl,
    SyntheticControlResult,
)


# ---------------------------------------------------------------------------
# several treated units, per-unit event dates
@dataclass(frozen=True)
class StaggeredResult:
    """One synthetic control per treated unit, and their average by event time."""

    fits: dict[str, SyntheticControlResult]
    event_time: np.ndarray  # periods since each unit's event
    average_gap: np.ndarray  # mean gap over treated units at each event time
    units_at: np.ndarray  # how many treated units contribute at each event time

    @property
    def average_effect(self) -> float:
        """Average post-event gap over treated units and post-event periods."""
        post = self.event_time >= 0
        weights = self.units_at[post]
        return float(np.sum(self.average_gap[post] * weights) / np.sum(weights))


class StaggeredSyntheticControl:
    """Synthetic control for several treated units with their own event dates.

    Each treated unit gets its own synthetic control from the never-treated
    donors, fitted on its own pre-period; gaps are then aligned on event time
    and averaged over units (the approach of Abadie & L'Hour 2021 and of
    Ben-Michael, Feller & Rothstein 2022 without the pooling penalty).
    """

    def __init__(self, estimator: SyntheticControl) -> None:
        self.estimator = estimator

    def fit(self, outcome: pd.DataFrame, events: dict[str, Any], *,
            donors: list[str] | None = None,
            covariates: dict[str, pd.DataFrame] | None = None,
            metric: str = "outcome") -> StaggeredResult:
        if not events:
            raise DataError("give at least one treated unit and its event date")
        treated = list(events)
        pool = [c for c in (donors if donors is not None else outcome.columns)
                if c not in events]
        fits = {u: self.estimator.fit(outcome, u, events[u], donors=pool,
                                      covariates=covariates, metric=metric) for u in treated}
        return _align(fits)


def _align(fits: dict[str, SyntheticControlResult]) -> StaggeredResult:
    offsets, gaps = [], []
    for f in fits.values():
        idx = f.observed.index
        e = int((~f.post).sum())  # periods before the unit's event (index sorted)
        offsets.append(np.arange(len(idx)) - e)
        gaps.append(f.gaps.to_numpy(dtype=float))
    lo = min(o.min() for o in offsets)
    hi = max(o.max() for o in offsets)
    event_time = np.arange(lo, hi + 1)
    total = np.zeros(event_time.size)
    count = np.zeros(event_time.size)
    for o, g in zip(offsets, gaps, strict=True):
        ok = ~np.isnan(g)
        np.add.at(total, o[ok] - lo, g[ok])
        np.add.at(count, o[ok] - lo, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)
    return StaggeredResult(fits, event_time, average, count)
