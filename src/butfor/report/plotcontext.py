"""What every figure shares: the events to mark, the subject's name, the words for a metric.

Pure functions over the results dict (no matplotlib, no files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from butfor.report import fmt

# ---------------------------------------------------------------------------
# context shared by every figure


@dataclass(frozen=True)
class EventMark:
    name: str
    date: str  # ISO

    @property
    def day(self) -> np.datetime64:
        return np.datetime64(self.date, "D")


@dataclass(frozen=True)
class Context:
    subject: str
    subject_unit: str
    metric: str
    transform: str
    events: tuple[EventMark, ...]
    currency: str
    period: str = "period"  # the panel's step: day, week or month
    # per metric, the change-point analysis whose dating the verdicts read
    dating: tuple[tuple[str, str, str], ...] = ()  # (metric, analysis id, model)


def context(results: dict) -> Context:
    case = results.get("case") or {}
    subject = case.get("subject") or {}
    outcome = case.get("outcome") or {}
    damages_case = case.get("damages") or {}
    damages = results.get("damages") or {}
    events = []
    for e in case.get("events") or []:
        if e.get("date"):
            events.append(EventMark(str(e.get("name", "event")), str(e["date"])[:10]))
    return Context(
        subject=str(subject.get("display_name") or subject.get("unit") or "the subject"),
        subject_unit=str(subject.get("unit") or ""),
        metric=str(outcome.get("metric") or "outcome"),
        transform=str(outcome.get("transform") or "none"),
        events=tuple(events),
        currency=str(damages.get("currency") or damages_case.get("currency") or "USD"),
        period=_results_period(results),
        dating=_datings(results),
    )


def _datings(results: dict) -> tuple[tuple[str, str, str], ...]:
    from butfor.records import read_analyses
    from butfor.verdicts import dating_changepoint

    # the report draws what a document holds: a changepoint analysis without its dating
    # (a partial document) has none to mark
    analyses = read_analyses([a for a in results.get("analyses") or []
                              if a.get("method") == "changepoint"
                              and isinstance(a.get("changepoint"), dict)])
    out = []
    for metric in sorted({a.metric for a in analyses}):
        chosen = dating_changepoint(analyses, metric)
        if chosen is not None:
            out.append((metric, chosen.id, chosen.changepoint.model))
    return tuple(out)


def _results_period(results: dict) -> str:
    """The panel's step, read from the first effect path's dates."""
    for a in results.get("analyses") or []:
        effect = a.get("effect")
        if isinstance(effect, dict) and effect.get("dates"):
            return period_of(as_dates(effect["dates"]))
    return "period"


def the(name: str) -> str:
    """'ownership change' → 'the ownership change'."""
    lowered = name.lower()
    if lowered.startswith(("the ", "a ", "an ")):
        return name
    return "the " + name


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def metric_words(metric: str) -> str:
    return metric.replace("_", " ")


STOCK_METRICS = frozenset({"followers", "following", "subscribers", "members", "fans"})


def is_stock(metric: str) -> bool:
    """A level counted at a point in time (followers), not a flow per day (impressions)."""
    return metric.lower() in STOCK_METRICS


def period_of(dates: np.ndarray) -> str:
    """'day', 'week' or 'month' from the spacing of the dates ('period' if unclear)."""
    if len(dates) < 2:
        return "period"
    step = float(np.median(np.diff(dates).astype("timedelta64[D]").astype(float)))
    if step == 1:
        return "day"
    if step == 7:
        return "week"
    if 28 <= step <= 31:
        return "month"
    return "period"


def floats(values: object) -> np.ndarray:
    if values is None:
        return np.array([], dtype=float)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)  # type: ignore[union-attr]


def as_dates(values: object) -> np.ndarray:
    return np.array([str(v)[:10] for v in (values or [])], dtype="datetime64[D]")  # type: ignore[union-attr]


def event_for(analysis: dict, ctx: Context, date: str | None = None) -> EventMark | None:
    name = analysis.get("event")
    for e in ctx.events:
        if name is not None and e.name == name:
            return e
    if date is not None:
        for e in ctx.events:
            if e.date == date[:10]:
                return e
    return ctx.events[0] if ctx.events else None


def marks_within(ctx: Context, dates: np.ndarray) -> tuple[EventMark, ...]:
    if len(dates) == 0:
        return ()
    lo, hi = dates.min(), dates.max()
    return tuple(e for e in ctx.events if lo <= e.day <= hi)


def event_phrase(event: EventMark | None) -> str:
    return the(event.name) if event is not None else "the event"


# ---------------------------------------------------------------------------
# small helpers


def number_or_none(x: object) -> float | None:
    return float(x) if fmt.is_number(x) else None  # type: ignore[arg-type]


def excludes_zero(summary: dict) -> bool | None:
    lo, hi = summary.get("cumulative_lower"), summary.get("cumulative_upper")
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        lo, hi = summary.get("relative_lower"), summary.get("relative_upper")
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        return None
    return bool(lo > 0 or hi < 0)


def span_pct(lo: object, hi: object, below: bool = False) -> str:
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        return "not available"
    a, b = (abs(hi), abs(lo)) if below else (lo, hi)  # type: ignore[arg-type]
    return f"{fmt.percent(a, sign=False)} to {fmt.percent(b, sign=False)}"


def unit_label(effect: dict, ctx: Context) -> str:
    """The subject's display name, or the effect's own unit id when it is another unit."""
    unit = effect.get("unit")
    if unit in (None, "", ctx.subject_unit):
        return ctx.subject
    return str(unit)


def marks_alt(marks: tuple[EventMark, ...]) -> str:
    if not marks:
        return ""
    parts = [f"{the(e.name)} on {fmt.date(e.date)}" for e in marks]
    return "; dashed vertical lines mark " + " and ".join(parts)


def nearest_event(ctx: Context, date: str) -> EventMark | None:
    best, best_gap = None, None
    for e in ctx.events:
        gap = fmt.days_between(e.date, date)
        if gap is None:
            continue
        if best_gap is None or abs(gap) < best_gap:
            best, best_gap = e, abs(gap)
    return best


def per_period(period: str) -> str:
    return f" per {period}" if period in ("day", "week", "month") else ""
