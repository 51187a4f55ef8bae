"""The case's structural time series: the subject's own forecast, its controls, its error rate.

:func:`sts_inputs` reads what is fitted from the case (the subject's series,
its controls, the settings); it is shared with ``butfor power``
(:mod:`butfor.power_command`), so both fit the very same series with the very
same settings. :func:`analyses_for_case` fits
:class:`butfor.methods.sts.StructuralTimeSeries` and writes the analysis
records the pipeline collects.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.analyses.case_inputs import event_windows
from butfor.errors import AssumptionWarning, DataError
from butfor.methods.sts import METHOD, ConstantSeriesError, StructuralTimeSeries


# ---------------------------------------------------------------------------
# what is fitted
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
        if opts.expected_model_size is not None:
            settings["expected_model_size"] = opts.expected_model_size
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


# ---------------------------------------------------------------------------
# the pipeline's entry point
def _left_out(subject: str, metric: str, label: str, names: list[str], reason: str) -> dict:
    """An analysis that could not be fitted, saying why, with no effect for claims to read."""
    return {
        "id": f"sts:{metric}",
        "method": METHOD,
        "title": f"Structural time-series forecast of {subject}'s {label}",
        "metric": metric,
        "event": names[0],
        "events": names,
        "description": f"Not fitted: {reason}.",
        "left_out": reason,
        "warnings": [reason],
    }


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """One STS analysis of the subject's outcome: one fit, one post-period per event.

    What is fitted is built by :func:`sts_inputs`.
    The pseudo-events that measure the known error rate also give the power
    curve (:mod:`butfor.methods.sts_pseudo`), at no extra fit.
    Assumption warnings are recorded in the analysis (``warnings``), not raised.
    """
    from butfor.methods.sts_pseudo import sts_pseudo_event_check

    inputs = sts_inputs(case, panel, seed=seed)
    subject, metric, label = inputs.subject, inputs.metric, inputs.label
    X, dates, periods, names = inputs.X, inputs.dates, inputs.periods, inputs.names
    n_pseudo, y_values = inputs.pseudo_events, inputs.y
    model = StructuralTimeSeries(**inputs.settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AssumptionWarning)
        try:
            result = model.fit(y_values, X, dates=dates, post_periods=periods, unit=subject,
                               metric=label)
        except ConstantSeriesError as err:  # the other methods still run; claims skip this
            return [_left_out(subject, metric, label, names, str(err))]
    notes = [*inputs.notes, *(str(w.message) for w in caught
                              if issubclass(w.category, AssumptionWarning))]
    for w in caught:  # anything else is not ours to swallow
        if not issubclass(w.category, AssumptionWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    check = None
    if n_pseudo > 0:
        power = getattr(case, "power", None)
        try:
            check = sts_pseudo_event_check(model, y_values, X, dates=dates,
                                           event_index=periods[0][0], n_events=n_pseudo,
                                           n_draws=250, chains=5,
                                           effects=power.effects if power else None)
        except DataError as err:  # too short a pre-period for pseudo-events
            notes.append(f"no false-positive check: {err}")
    effects = [p.to_dict(include_draws=True) for p in result.paths]  # the pipeline takes them
    for k, (eff, name) in enumerate(zip(effects, names, strict=True)):
        eff["diagnostics"]["event"] = name
        band = result.cumulative_effect(k)
        eff["cumulative_effect"] = {key: band[key] for key in ("point", "lower", "upper")}
    n_controls = len(result.control_names)
    controls_text = (f"{n_controls} control series ({', '.join(result.control_names)})"
                     if n_controls else "no control series")
    analysis = {
        "id": f"sts:{metric}",
        "method": METHOD,
        "title": f"Structural time-series forecast of {subject}'s {label}",
        "metric": metric,
        "event": names[0],
        "events": names,
        "description": (
            f"Forecasts what {subject}'s {label} would have been after each event from its own "
            f"pre-event level, {inputs.season} and {controls_text}, fitted before the first "
            "event. It is fooled if the series would have changed course anyway at that time "
            "(a trend break unrelated to the event), or if a control was itself moved by the "
            "event."
        ),
        "effect": effects[0],
        "effects": effects,
        "controls": {
            "names": list(result.control_names),
            "inclusion_probability": result.inclusion_probability,
            "coefficient_standardised": result.coefficients,
            "check": None if result.control_check is None else result.control_check.to_dict(),
        },
        "convergence": result.diagnostics,
        "warnings": notes,
        "settings": result.settings,
    }
    if check is not None:
        analysis["false_positive"] = check.false_positive.to_dict()
        if inputs.relative_effects:  # a relative change of day-on-day growth means nothing
            analysis["power"] = check.power.to_dict()
    return [analysis]
