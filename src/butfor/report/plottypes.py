"""The figure data types: the arrays each figure draws, its title and its alt text."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from butfor.report.plotcontext import (
    EventMark,
)
from butfor.report.powerplot import PowerPlot

# ---------------------------------------------------------------------------
# figure data


@dataclass(frozen=True)
class CounterfactualPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    dates: np.ndarray
    observed: np.ndarray
    counterfactual: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    event_index: int
    events: tuple[EventMark, ...]
    ylabel: str
    level: float
    subject: str
    kind: str = "counterfactual"
    # daily data: the same two series averaged over whole weeks counted from the event
    # (no week straddles it), drawn over the days so a fall shows through the day-to-day
    # noise; None for other frequencies and short series
    weekly: WeeklyView | None = None


@dataclass(frozen=True)
class WeeklyView:
    """Week-by-week means of a daily series and its counterfactual (NaN days left out)."""

    dates: np.ndarray  # each week's first day
    observed: np.ndarray
    counterfactual: np.ndarray


@dataclass(frozen=True)
class EffectPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    dates: np.ndarray
    pointwise: np.ndarray
    pointwise_lower: np.ndarray
    pointwise_upper: np.ndarray
    cumulative: np.ndarray | None  # NaN before the event; None for a stock such as followers
    cumulative_lower: np.ndarray | None
    cumulative_upper: np.ndarray | None
    total: tuple[float, float, float] | None  # (estimate, lower, upper) of the whole post period
    event_index: int
    events: tuple[EventMark, ...]
    ylabel: str
    cumulative_ylabel: str
    level: float
    kind: str = "effect"


@dataclass(frozen=True)
class PlaceboPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    units: tuple[str, ...]
    values: np.ndarray
    subject: str
    subject_value: float
    statistic: str
    xlabel: str
    p_value: float | None
    rank: int | None
    kind: str = "placebo"


@dataclass(frozen=True)
class EventTimePlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    periods: np.ndarray
    estimates: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    reference: int | None  # None: measured from the pre-event average
    pretrend_p: float | None
    event: EventMark | None
    xlabel: str
    ylabel: str
    kind: str = "event_time"


@dataclass(frozen=True)
class GroupsPlot:
    """Group means over time (``dates``), or before and after the event (``stages``)."""

    id: str
    analysis_id: str
    title: str
    alt: str
    labels: tuple[str, ...]
    dates: np.ndarray  # empty when the means are for ``stages``
    means: dict[str, np.ndarray] = field(hash=False)
    events: tuple[EventMark, ...] = ()
    ylabel: str = ""
    stages: tuple[str, ...] = ()
    kind: str = "groups"


@dataclass(frozen=True)
class ChangepointPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    dates: np.ndarray
    series: np.ndarray
    date: np.datetime64 | None  # None: no change found
    lower_date: np.datetime64 | None
    upper_date: np.datetime64 | None
    events: tuple[EventMark, ...]
    ylabel: str
    fitted: np.ndarray | None = None
    breaks: tuple[np.datetime64, ...] = ()
    kind: str = "changepoint"


@dataclass(frozen=True)
class DamagesScenario:
    name: str
    edges: np.ndarray
    counts: np.ndarray
    q5: float | None
    q50: float | None
    q95: float | None
    p_reaching_claim: float | None


@dataclass(frozen=True)
class DamagesPlot:
    id: str
    analysis_id: str
    title: str
    alt: str
    currency: str
    scenarios: tuple[DamagesScenario, ...]
    amount_claimed: float | None
    kind: str = "damages"


Plot = (CounterfactualPlot | EffectPlot | PlaceboPlot | EventTimePlot | GroupsPlot
        | ChangepointPlot | DamagesPlot | PowerPlot)
