"""What the structural time series fits for a case: the subject's series, controls and settings.

Shared by the pipeline's analysis (:func:`butfor.analyses.sts.analyses_for_case`)
and by ``butfor power`` (:mod:`butfor.power_command`), so both fit the very
same series with the very same settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import DataError


@dataclass(frozen=True)
class StsInputs:
    subject: str
    metric: str
    label: str  # the series in words: "impressions", "impressions per posts"
    y: np.ndarray
    X: pd.DataFrame | None
    dates: pd.DatetimeIndex
    periods: list[tuple[int, int]]  # [start, stop) per event
    names: list[str]  # the events, in the periods' order
    settings: dict[str, Any]  # StructuralTimeSeries keyword arguments
    pseudo_events: int  # for the known error rate (0: none)
    relative_effects: bool  # a relative change of this series means something (power)
    season: str = "weekly pattern"  # the season fitted, in words: "12-month season", "no season"
    notes: tuple[str, ...] = ()  # what was decided for the user (a season left out), for the report


def sts_inputs(case, panel, *, seed: int) -> StsInputs:
    """The subject's outcome, its controls and the model settings, as the case asks.

    Controls are ``[controls] units`` (default: the subject itself) on
    ``[controls] metric`` (default: the outcome metric); the subject's own
    outcome is never its own control. ``log1p`` applies to the outcome and
    the controls alike; ``per_post`` divides the outcome by the posts metric;
    ``pct_change`` models day-on-day growth. ``[sts]`` holds the settings.
    """
    from butfor.analyses.case_inputs import event_windows

    opts = getattr(case, "sts", None)
    subject = case.subject.unit
    metric = case.outcome.metric
    transform = case.outcome.transform
    windows = event_windows(case, panel)
    if not windows:
        raise DataError("the structural time series needs an event with a single date")
    start = windows[0][1]
    end = max(w[3] for w in windows)
    y_series = panel.series(subject, metric).loc[start:end]
    model_transform = "none"
    label = metric
    if transform == "per_post":
        posts = panel.series(subject, case.outcome.posts_metric).loc[start:end]
        y_series = y_series / posts.where(posts > 0)
        label = f"{metric} per {case.outcome.posts_metric}"
    elif transform == "pct_change":
        full = panel.series(subject, metric)
        y_series = (full / full.shift(1).where(full.shift(1) > 0) - 1).loc[start:end]
        label = f"day-on-day change in {metric}"
    elif transform == "log1p":
        model_transform = "log1p"
    counting = getattr(case.outcome, "family", "gaussian") == "poisson"

    control_metric = case.controls.metric or metric
    control_units = list(case.controls.units)
    if not control_units and control_metric != metric:
        control_units = [subject]
    controls = {}
    for unit in control_units:
        if unit == subject and control_metric == metric:
            raise DataError(
                f"the subject {subject!r} cannot be its own control on {metric!r}; list other "
                "series in [controls] units, or set [controls] metric to an off-platform metric"
            )
        series = panel.series(unit, control_metric).loc[start:end]
        # a log-scale model (log1p, or a count's log rate) regresses on the controls' logs
        if (model_transform == "log1p" or counting) and (series.dropna() >= 0).all():
            series = np.log1p(series)
        controls[f"{unit}:{control_metric}"] = series.to_numpy(dtype=float)
    X = pd.DataFrame(controls, index=y_series.index) if controls else None

    dates = y_series.index
    periods = []
    names = []
    for name, _lo, date, hi in windows:
        a = int(dates.searchsorted(pd.Timestamp(date)))
        b = int(dates.searchsorted(pd.Timestamp(hi), side="right"))
        periods.append((a, b))
        names.append(name)
    season, period, notes = _default_season(panel.frequency, y_series.to_numpy(dtype=float),
                                            periods[0][0] if periods else 0)
    settings: dict[str, Any] = {"seasonal_period": period, "transform": model_transform,
                                "seed": seed}
    if counting:  # a Poisson observation on a latent log rate (methods/_sts_counts.py)
        settings["family"] = "poisson"
    n_pseudo = 10
    if opts is not None:
        if opts.seasonal_period is not None:  # the user's own choice: no default, no note
            period = opts.seasonal_period if opts.seasonal_period > 1 else None
            settings["seasonal_period"] = period
            season = f"{period}-{freq.PERIOD[panel.frequency]} season" if period else "no season"
            notes = ()
        settings |= {"trend": opts.trend, "n_draws": opts.n_draws,
                     "prior_level_sd": opts.prior_level_sd,
                     "check_controls": opts.check_controls}
        n_pseudo = opts.pseudo_events
    if counting:
        # the latent log rates mix more slowly than the Gaussian model's states: at 1,000
        # draws after 40 burn-in, split R-hat ran 1.04-1.19 on simulated counts; at 3,000
        # after 200 it ran 1.01-1.09 (8 series each)
        settings["burn"] = max(settings.get("burn", 40), 200)
        settings["n_draws"] = max(settings.get("n_draws", 1000), 3000)
        notes = (*notes, "the count model runs at least 3,000 draws after 200 burn-in "
                 "iterations: its latent log rates mix more slowly than a Gaussian series")
    return StsInputs(subject, metric, label, y_series.to_numpy(dtype=float), X, dates,
                     periods, names, settings, n_pseudo,
                     relative_effects=transform != "pct_change", season=season, notes=notes)


# a season is told apart from the level's wander only over several cycles: three, as
# the model's own minimum of observed periods before the event (sts_data.prepare)
MIN_CYCLES = 3


def _default_season(frequency: str, y: np.ndarray, first_post: int
                    ) -> tuple[str, int | None, tuple[str, ...]]:
    """The season fitted by default (in words), its period and a note when it is left out.

    The panel's frequency sets the period (:data:`butfor.frequency.SEASON`: 7
    days, 12 months, 4 quarters; none for weekly and annual data); the season
    is fitted only when the pre-period holds :data:`MIN_CYCLES` whole cycles
    of observed periods, else it is left out and a note says why.
    """
    period = freq.SEASON.get(frequency)
    if period is None:
        return "no season", None, ()
    words = freq.SEASON_WORDS[frequency]
    observed = int(np.isfinite(y[:first_post]).sum())
    if observed >= MIN_CYCLES * period:
        return words, period, ()
    note = (f"no {words} was fitted: the pre-period has {freq.describe(frequency, observed)} "
            f"observed, fewer than the {freq.describe(frequency, MIN_CYCLES * period)} "
            f"({MIN_CYCLES} whole cycles) a season needs to be told from the level's wander; "
            "lengthen the pre-period, or set [sts] seasonal_period")
    return "no season", None, (note,)
