"""The case's candidate changes, asked of the subject's series: which one does the break follow?

Every event of the case with one date is a candidate (a registry event spans
the range its sources give). The subject's outcome is taken on the case's
scale, with what its off-platform controls explain taken out (as for the
change-point dating), so that a swing in attention the controls share is not
read as a break.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.analyses.changepoint import adjust_for_controls
from butfor.analyses.outcome import subject_outcome
from butfor.methods.attribution import ChangeAttribution
from butfor.methods.changepoint import remove_weekly


def candidate_changes(case) -> dict:
    """name -> (first day, last day or None) for every singly dated event."""
    return {e.name: (e.date, getattr(e, "registry_date_end", None))
            for e in case.events if e.date is not None}


def settings_for(frequency: str) -> dict:
    """The estimator's day settings for the panel's periods (daily data: its defaults).

    The lag is at least one period (a change shows by the next period's value),
    the stretch either side at least 12 periods (the estimator needs 20 values
    around the candidates, 7 before them) and the pseudo-dates one period apart.
    """
    if frequency == "D":
        return {"weekly": True}
    days = freq.DAYS_PER_PERIOD[frequency]
    return {"lag_days": max(14, math.ceil(days)), "half_window_days": max(90, math.ceil(12 * days)),
            "placebo_step_days": max(1, round(days)), "weekly": False}


def _on_the_grid(candidates: dict, dates: pd.DatetimeIndex) -> dict:
    """Each candidate's first day moved back to the start of its period (the date that holds it)."""
    def start(day):
        before = dates[dates <= pd.Timestamp(day)]
        return before[-1].date() if len(before) else day

    return {name: (start(a), b) for name, (a, b) in candidates.items()}


def _without_season(z: pd.Series, frequency: str) -> pd.Series:
    """The year's season taken out of monthly and quarterly data (three whole cycles observed)."""
    period = freq.SEASON.get(frequency)
    ok = z.notna().to_numpy()
    if period is None or ok.sum() < 3 * period:
        return z
    phase = np.mod(freq.ordinal(z.index[ok], frequency), period)
    out = z.copy()
    out[ok] = remove_weekly(z.to_numpy()[ok], phase, period)
    return out


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """One attribution analysis for the case's outcome metric (none with fewer than two events)."""
    del seed  # deterministic: nothing is drawn
    candidates = candidate_changes(case)
    if len(candidates) < 2:
        return []
    metric = case.outcome.metric
    subject = case.subject.unit
    z = subject_outcome(case, panel)
    first = min(pd.Timestamp(a) for a, _ in candidates.values())
    z, adjusted_for = adjust_for_controls(z, case, panel, first)
    if panel.frequency != "D":
        candidates = _on_the_grid(candidates, panel.dates)
        z = _without_season(z, panel.frequency)
    result = ChangeAttribution(**settings_for(panel.frequency)).fit(z, candidates)
    who = case.subject.display_name or subject
    return [{
        "id": f"attribution:{metric}",
        "method": "attribution",
        "title": f"Which change does the break in {who}'s {metric} point to?",
        "metric": metric,
        "description": (
            "Ranks the case's candidate changes by the share of the break's probability "
            "each one owns (a change owns the days from its date to "
            f"{result.lag_days} days after it), and measures each break's strength against "
            "dates before the first change where nothing happened. Two changes closer than "
            "that lag cannot be told apart by their timing alone."
        ),
        "attribution": result.to_dict(),
        "adjusted_for": adjusted_for,
        "candidates": {name: {"date": str(a), "date_end": None if b is None else str(b),
                              "registry": next((e.registry for e in case.events
                                                if e.name == name), None)}
                       for name, (a, b) in candidates.items()},
        "sentence": result.sentence(),
        "n_observed": int(np.isfinite(z.to_numpy()).sum()),
    }]
