"""The case's change-point datings: when did the level, and the trend, of the series change?

Reads the case (the subject's outcome on its scale, its off-platform controls,
the dated events), fits :class:`butfor.methods.changepoint.ChangePoint` once
per model and writes the analysis records the pipeline collects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.analyses.outcome import subject_outcome
from butfor.methods.changepoint import ChangePoint, ChangePointResult
from butfor.methods.changepoint_before import before_event


def analyses_for_case(case, panel, *, seed: int) -> list[dict]:
    """Date changes in the subject's outcome, in level and in trend, against each event."""
    del seed  # deterministic: nothing is drawn
    metric = case.outcome.metric
    subject = case.subject.unit
    z = subject_outcome(case, panel)
    daily = panel.frequency == "D"
    period = freq.PERIOD[panel.frequency]
    # the year's season of monthly and quarterly data, removed as the week is from daily
    # data, when three whole cycles are observed (as the structural time series asks)
    season = None if daily else freq.SEASON.get(panel.frequency)
    if season and int(z.notna().sum()) < 3 * season:
        season = None
    dated = [(e.name, pd.Timestamp(e.date)) for e in case.events if e.date is not None]
    first_event = dated[0][1] if dated else None
    z, adjusted_for = adjust_for_controls(z, case, panel, first_event)
    who = case.subject.display_name or subject
    out = []
    for model in ("level", "slope"):
        res = ChangePoint(model=model, weekly=daily, frequency=panel.frequency,
                          season=season).fit(z, first_event)
        if model == "level" and first_event is not None:
            # did a decline begin before the event, with the event's own change left to it,
            # and could this data have shown one? (not_preexisting and the timing gate)
            before = [before_event(z, res.values, first_event, tolerance, panel.frequency,
                                   direction=direction, min_size=res.diagnostics["min_size"],
                                   log_scale=case.outcome.transform in ("log", "log1p"))
                      for tolerance, direction in _timing_questions(case)]
        onset = res.onset
        by_event = {name: None if onset is None else int((onset - d).days) for name, d in dated}
        by_period = {name: None if onset is None else
                     freq.periods_between(d, onset, panel.frequency) for name, d in dated}
        out.append({
            "id": f"changepoint:{metric}:{model}",
            "method": "changepoint",
            "title": f"When did the {'level' if model == 'level' else 'trend'} of {who}'s "
                     f"{metric} change?",
            "metric": metric,
            "description": (
                f"Finds the dates where the {'level' if model == 'level' else 'trend'} of the "
                "subject's series changed (penalised segmentation, BIC penalty) and, for the "
                f"change nearest the event, the probability of each {period} being its start. "
                f"{period.capitalize()}-to-{period} wandering of attention that is not a real "
                "change, or several changes close together, would fool it."
            ),
            "changepoint": res.to_dict(),
            "adjusted_for": adjusted_for,
            **({"before_event": before} if model == "level" and first_event is not None else {}),
            "days_from_events": by_event,
            "periods_from_events": by_period,  # in the panel's own periods
            "sentence": _sentence_all(res, f"{who}'s {metric}"),
        })
    return out


def _timing_questions(case) -> list[tuple[int, str]]:
    """(tolerance in days, direction) of every claim a timing check serves; 14 days, fell if none."""
    kinds = ("not_preexisting", "declined_after", "beyond_platform_trend", "targeted")
    asked = {(c.tolerance_days, c.direction) for c in case.claims if c.kind in kinds}
    return sorted(asked) or [(14, "fell")]


def adjust_for_controls(z: pd.Series, case, panel, first_event: pd.Timestamp | None
                         ) -> tuple[pd.Series, list[str]]:
    """Take out what the off-platform controls explain, so only the subject's own changes stay.

    An account's attention wanders (news, seasons, a viral week) and moves its
    series in slow swings that a segmentation reads as changes. Off-platform
    series of the same account (``[controls]``) share those swings but not the
    platform's changes, so the subject's series less its fitted dependence on
    them (least squares on the days before the first event, intercept kept) keeps
    the platform-side changes and drops the shared wander. Without controls the
    series is used as it is.
    """
    metric = case.outcome.metric
    control_metric = case.controls.metric
    units = list(case.controls.units) or ([case.subject.unit] if control_metric else [])
    control_metric = control_metric or metric
    columns, names = [], []
    for unit in units:
        if unit == case.subject.unit and control_metric == metric:
            continue  # the subject's own outcome is never its own control
        x = panel.series(unit, control_metric).reindex(z.index).to_numpy(dtype=float)
        if case.outcome.transform == "log1p":
            x = np.log1p(np.clip(x, 0, None))
        columns.append(x)
        names.append(f"{unit}:{control_metric}")
    if not columns:
        return z, []
    X = np.column_stack(columns)
    fit_rows = np.isfinite(z.to_numpy()) & np.all(np.isfinite(X), axis=1)
    if first_event is not None:
        fit_rows &= np.asarray(z.index < first_event)
    if fit_rows.sum() < X.shape[1] + 10:
        return z, []
    design = np.column_stack([np.ones(fit_rows.sum()), X[fit_rows]])
    beta, *_ = np.linalg.lstsq(design, z.to_numpy()[fit_rows], rcond=None)
    centred = X - np.nanmean(X[fit_rows], axis=0)
    return z - centred @ beta[1:], names


def _sentence_all(res: ChangePointResult, what: str) -> str:
    text = res.sentence(what)
    if len(res.changes) > 1:
        listed = ", ".join(
            f"{c['date']:%Y-%m-%d}" + ("" if res.event_date is None else " ({:+d} {}s)".format(
                freq.periods_between(res.event_date, c["date"], res.frequency),
                freq.PERIOD[res.frequency]))
            for c in res.changes)
        text += f" Changes were detected on {len(res.changes)} dates: {listed}."
    return text
