"""The damages of a run: the case's analyses and draws to priced, apportioned, tested figures.

The pipeline calls :func:`run_damages` once every analysis is done. It

1. prices the subject's loss from the first priced event to the end of the
   data: the source method (the case's ``method``: before-and-after, the
   yardstick, or the best available) is refitted with that event alone, so
   its window is not cut at the next event (the analyses' own windows are);
2. splits the damages between the events and into platform-wide and targeted
   parts with the apportionment model (:mod:`.apportionment`);
3. prices each method's own counterfactual draws, for the distribution per
   method, and runs the one-way sensitivity (:mod:`.sensitivity`), both on
   the draws already made: nothing else is refitted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from butfor.case_damages import COUNTERFACTUAL_METHODS
from butfor.damages.pricing import damages_from_case
from butfor.damages.profits import MitigationSeries
from butfor.errors import ButforError
from butfor.records import Analysis
from butfor.records import EffectPath as EffectRecord
from butfor.results import EffectPath, effect_from_dict

RunMethod = Callable[[str, object, object, int, dict], list[Analysis]]


def priced_events(case) -> list:
    """The events the damages price, by date (default: every event with one date)."""
    d = case.damages
    chosen = [case.event(n) for n in d.events] if d.events else list(case.events)
    return sorted((e for e in chosen if e.date is not None), key=lambda e: e.date)


def _priced_analysis(analyses: list[Analysis], draws: dict, method: str, metric: str,
                     unit: str, date: str) -> tuple[Analysis, EffectRecord] | None:
    """The analysis (and its effect path) that prices ``metric`` at ``date``, if any."""
    for a in analyses:
        first = getattr(a, "effect", None)
        if a.method != method or a.metric != metric or first is None:
            continue
        for effect in [first, *(getattr(a, "effects", None) or [])]:
            key = (a.id, effect.event_date)
            if effect.event_date == date and key in draws and effect.unit == unit:
                return a, effect
    return None


def _effect(analyses: list[Analysis], draws: dict, method: str, metric: str, unit: str,
            date: str) -> EffectPath | None:
    found = _priced_analysis(analyses, draws, method, metric, unit, date)
    if found is None:
        return None
    a, effect = found
    return effect_from_dict(effect.to_dict(), draws[(a.id, effect.event_date)])


def _flag_note(metric: str, analysis: Analysis) -> str | None:
    """A sentence when the analysis a metric is priced from carries an estimator's flag."""
    flags = analysis.flags or []
    if not flags:
        return None
    said = "; ".join(f"{f.name}: {f.message}" for f in flags)
    return (f"The {metric} effect is priced from {analysis.id}, which its estimator "
            f"flagged ({said}); these damages carry that doubt, and the money claims that "
            "read them are inconclusive.")


def _source(case, metric: str, analyses: list[Analysis], draws: dict, date: str) -> str | None:
    for method in COUNTERFACTUAL_METHODS[case.damages.method]:
        if _effect(analyses, draws, method, metric, case.subject.unit, date) is not None:
            return method
    return None


def _refit(case, panel, method: str, metric: str, first, seed: int,
           run_method: RunMethod) -> EffectPath | None:
    """The method refitted with the first priced event alone: its window runs to the data end."""
    outcome = case.outcome if metric == case.outcome.metric else \
        case.outcome.model_copy(update={"metric": metric, "transform": "none"})
    update = {"events": [first], "method_events": {}, "outcome": outcome}
    if method == "sts":  # only the effect is read: its false-positive check is not run
        update["sts"] = case.sts.model_copy(update={"pseudo_events": 0})
    alone = case.model_copy(update=update)
    found: dict = {}
    analyses = run_method(method, alone, panel, seed, found)
    return _effect(analyses, found, method, metric, case.subject.unit, str(first.date))


def mitigation_series(case, panel) -> dict[str, MitigationSeries]:
    out = {}
    for m in case.damages.mitigation_entries:
        if m.kind != "series":
            continue
        unit = m.unit or case.subject.unit
        if unit not in set(panel.unit_ids) or m.metric not in panel.metrics:
            continue  # damages_from_case says which series is missing
        s = panel.series(unit, m.metric)
        out[m.name] = MitigationSeries(np.asarray(s.index.values).astype("datetime64[D]"),
                                       s.to_numpy(dtype=float), unit, m.metric)
    return out


def run_damages(case, panel, analyses: list[Analysis], draws: dict, seed: int,
                run_method: RunMethod) -> dict | None:
    """The ``damages`` entry of results.json (None without a [damages] section)."""
    d = case.damages
    if d is None:
        return None
    events = priced_events(case)
    first = events[0] if events else case.events[0]
    date = str(first.date)
    metrics = sorted({p.metric for p in d.pricing if hasattr(p, "metric")})
    effects: dict[str, EffectPath] = {}
    sources: dict[str, str] = {}
    analysis_ids: dict[str, str] = {}  # metric -> the analysis its effect is priced from
    notes: list[str] = []
    for metric in metrics:
        method = _source(case, metric, analyses, draws, date)
        if method is None:
            continue
        sources[metric] = method
        analysis, _ = _priced_analysis(analyses, draws, method, metric, case.subject.unit, date)
        analysis_ids[metric] = analysis.id
        if (note := _flag_note(metric, analysis)) is not None:
            notes.append(note)
        effect = _effect(analyses, draws, method, metric, case.subject.unit, date)
        cut = len([e for e in case.events if e.date is not None]) > 1
        if cut:  # the analyses' window stops at the next event: refit it alone
            try:
                effect = _refit(case, panel, method, metric, first, seed, run_method) or effect
            except ButforError as err:
                notes.append(f"The {metric} effect could not be refitted to the end of the "
                             f"data ({err}); it is priced over its analysis' own window, "
                             "which ends before the next event.")
        effects[metric] = effect
    series = mitigation_series(case, panel)
    result = damages_from_case(d, effects, seed=seed, series=series)
    amounts = tuple(c.amount for c in case.claims if c.amount is not None)
    out = result.to_dict(amounts=amounts)
    out["notes"] = [*notes, *out["notes"]]
    out["sources"] = dict(sorted(sources.items()))
    out["source_analyses"] = dict(sorted(analysis_ids.items()))
    out["method"] = d.method
    out["event"] = first.name
    out["events_priced"] = [{"name": e.name, "date": str(e.date)} for e in events]
    if d.apportion and len(events) >= 1:
        from butfor.damages.apportion_case import apportion

        out["apportionment"] = apportion(case, panel, result, events, amounts, seed)
    if d.sensitivity:
        from butfor.damages.sensitivity import by_method, one_way

        out["sensitivity"] = one_way(d, effects, result, seed=seed, series=series)
        out["by_method"] = by_method(case, d, effects, analyses, draws, result, seed=seed,
                                     series=series, find=_effect, date=date)
    return out
