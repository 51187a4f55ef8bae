"""Plot data: what each figure shows, pulled out of a results document.

Pure functions over the results dict (no matplotlib, no files): each
``*_plot`` returns a frozen dataclass with the arrays to draw, the title that
states the finding, and the alt text; or None when the analysis lacks that
data, so a figure is drawn exactly when its data is present.
:func:`figures_for` walks a whole results document in report order.

Keys read from an analysis (all optional apart from ``id``):

``effect``       an EffectPath dict (or ``effects``, one per event, each naming
                 its event in ``diagnostics.event``) → observed vs counterfactual; pointwise
                 and cumulative effect. Optional arrays ``cumulative_lower`` /
                 ``cumulative_upper`` draw a band round the running total.
``placebo``      {units, statistic, values, subject_value, p_value, rank}
``event_time``   {relative_periods, estimates, lower, upper, reference,
                 pretrend_p, period ("day"/"week"), scale ("level"/"log")}
``groups``       {labels, dates, means{label: [...]}, estimate, lower, upper,
                 p_value, scale}; ``estimate`` is labels[0]'s change minus
                 labels[1]'s change.
``changepoint``  {date, lower_date, upper_date, dates, series}
and from the document: ``damages`` {currency, amount_claimed, scenarios[{name,
quantiles{"5","50","95"}, mean, p_reaching_claim, histogram{edges, counts}}]}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from butfor.report import fmt
from butfor.report.powerplot import PowerPlot, power_plots

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
    from butfor.verdicts import dating_changepoint

    analyses = results.get("analyses") or []
    metrics = sorted({str(a.get("metric")) for a in analyses if a.get("method") == "changepoint"})
    out = []
    for metric in metrics:
        chosen = dating_changepoint(analyses, metric)
        if chosen is not None:
            out.append((metric, str(chosen["id"]), str(chosen["changepoint"].get("model"))))
    return tuple(out)


def _results_period(results: dict) -> str:
    """The panel's step, read from the first effect path's dates."""
    for a in results.get("analyses") or []:
        effect = a.get("effect")
        if isinstance(effect, dict) and effect.get("dates"):
            return period_of(_dates(effect["dates"]))
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


def _floats(values: object) -> np.ndarray:
    if values is None:
        return np.array([], dtype=float)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)  # type: ignore[union-attr]


def _dates(values: object) -> np.ndarray:
    return np.array([str(v)[:10] for v in (values or [])], dtype="datetime64[D]")  # type: ignore[union-attr]


def _event_for(analysis: dict, ctx: Context, date: str | None = None) -> EventMark | None:
    name = analysis.get("event")
    for e in ctx.events:
        if name is not None and e.name == name:
            return e
    if date is not None:
        for e in ctx.events:
            if e.date == date[:10]:
                return e
    return ctx.events[0] if ctx.events else None


def _marks_within(ctx: Context, dates: np.ndarray) -> tuple[EventMark, ...]:
    if len(dates) == 0:
        return ()
    lo, hi = dates.min(), dates.max()
    return tuple(e for e in ctx.events if lo <= e.day <= hi)


def _event_phrase(event: EventMark | None) -> str:
    return the(event.name) if event is not None else "the event"


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


# ---------------------------------------------------------------------------
# extraction


def _effect_arrays(effect: dict) -> tuple[np.ndarray, ...] | None:
    needed = ("dates", "observed", "counterfactual", "lower", "upper", "event_index")
    if not all(k in effect and effect[k] is not None for k in needed):
        return None
    dates = _dates(effect["dates"])
    arrays = [_floats(effect[k]) for k in ("observed", "counterfactual", "lower", "upper")]
    if len(dates) == 0 or any(len(a) != len(dates) for a in arrays):
        return None
    return (dates, *arrays)


def _per(period: str) -> str:
    return f" per {period}" if period in ("day", "week", "month") else ""


def _pick_effect(analysis: dict, effect: dict | None
                 ) -> tuple[dict, dict, tuple[np.ndarray, ...]] | None:
    """The effect to draw (default: the analysis's ``effect``) and its arrays, or None.

    A given ``effect`` is one of several (one per event): the analysis is then
    tagged with that effect's event, so the figure marks the right date.
    """
    if effect is None:
        effect = analysis.get("effect")
    else:
        analysis = {**analysis, "event": (effect.get("diagnostics") or {}).get("event")}
    if not isinstance(effect, dict):
        return None
    arrays = _effect_arrays(effect)
    if arrays is None:
        return None
    return analysis, effect, arrays


def counterfactual_plot(analysis: dict, ctx: Context, effect: dict | None = None,
                        part: str = "") -> CounterfactualPlot | None:
    """From ``effect`` (default: the analysis's ``effect``); ``part`` tells apart the figures
    of an analysis with several effects."""
    picked = _pick_effect(analysis, effect)
    if picked is None:
        return None
    analysis, effect, (dates, observed, counterfactual, lower, upper) = picked
    index = int(effect["event_index"])
    summary = effect.get("summary") or {}
    level = float(summary.get("level") or 0.95)
    event = _event_for(analysis, ctx, effect.get("event_date"))
    metric = metric_words(str(effect.get("metric") or analysis.get("metric") or ctx.metric))
    period = period_of(dates)
    unit_name = _unit_name(effect, ctx)
    where = _event_phrase(event)
    rel, lo, hi = (summary.get(k) for k in ("relative", "relative_lower", "relative_upper"))
    clear = _excludes_zero(summary)
    pct_level = f"{round(100 * level)}%"
    if fmt.is_number(rel) and clear is not None:
        size = fmt.percent(abs(rel), sign=False)
        if clear and rel < 0:
            title = (f"After {where}, {unit_name}'s {metric} ran {size} below the path "
                     f"expected without it ({pct_level} interval {_span_pct(lo, hi, below=True)} below)")
        elif clear and rel > 0:
            title = (f"After {where}, {unit_name}'s {metric} ran {size} above the path "
                     f"expected without it ({pct_level} interval {_span_pct(lo, hi)} above)")
        else:
            title = (f"After {where}, {unit_name}'s {metric} stayed within the range expected "
                     f"without it ({fmt.percent(rel)}; {pct_level} interval "
                     f"{fmt.percent(lo)} to {fmt.percent(hi)})")
    else:
        title = f"{unit_name}'s {metric}: observed and expected without {where}"
    per = "" if is_stock(metric) else _per(period)
    alt = (f"Line chart of {unit_name}'s {metric}{per} from {fmt.date(str(dates[0]))} to "
           f"{fmt.date(str(dates[-1]))}: the observed series as a solid dark line and the path "
           f"expected without {where} as a dashed blue line inside a shaded {pct_level} band"
           f"{_marks_alt(_marks_within(ctx, dates))}. {title}.")
    return CounterfactualPlot(
        id=f"fig-{slug(str(analysis['id']) + part)}-counterfactual",
        analysis_id=str(analysis["id"]), title=title, alt=alt, dates=dates, observed=observed,
        counterfactual=counterfactual, lower=lower, upper=upper, event_index=index,
        events=_marks_within(ctx, dates),
        ylabel=metric if is_stock(metric) else f"{metric}{_per(period)}", level=level,
        subject=unit_name,
    )


def effect_plot(analysis: dict, ctx: Context, effect: dict | None = None,
                part: str = "") -> EffectPlot | None:
    """From ``effect`` (default: the analysis's ``effect``); ``part`` tells apart the figures
    of an analysis with several effects."""
    picked = _pick_effect(analysis, effect)
    if picked is None:
        return None
    analysis, effect, (dates, observed, counterfactual, lower, upper) = picked
    index = int(effect["event_index"])
    summary = effect.get("summary") or {}
    level = float(summary.get("level") or 0.95)
    pointwise = observed - counterfactual
    post = np.arange(len(dates)) >= index
    raw_metric = str(effect.get("metric") or analysis.get("metric") or ctx.metric)
    metric = metric_words(raw_metric)
    stock = is_stock(raw_metric)
    event = _event_for(analysis, ctx, effect.get("event_date"))
    period = period_of(dates)
    pct_level = f"{round(100 * level)}%"
    last = fmt.date(str(dates[-1]))
    marks = _marks_within(ctx, dates)
    cumulative = cum_lower = cum_upper = None
    total = None
    if stock:
        # a running total of a stock (follower-days) means nothing to a reader: show the gap
        title = _average_title(summary, metric, _event_phrase(event), ctx.subject, pct_level)
        alt = (f"Line chart of the daily gap between observed and expected {metric}, with its "
               f"{pct_level} band and zero marked{_marks_alt(marks)}. {title}.")
    else:
        cumulative = np.where(post, np.nancumsum(np.where(post, pointwise, 0.0)), np.nan)
        cum_lo, cum_hi = effect.get("cumulative_lower"), effect.get("cumulative_upper")
        if (cum_lo is not None and cum_hi is not None and len(cum_lo) == len(dates)
                and len(cum_hi) == len(dates)):
            cum_lower, cum_upper = _floats(cum_lo), _floats(cum_hi)
        if all(fmt.is_number(summary.get(k)) for k in
               ("cumulative", "cumulative_lower", "cumulative_upper")):
            total = (float(summary["cumulative"]), float(summary["cumulative_lower"]),
                     float(summary["cumulative_upper"]))
        if total is not None:
            est, lo, hi = total
            if lo > 0 or hi < 0:
                word = "shortfall" if est < 0 else "gain"
                near, far = (abs(hi), abs(lo)) if est < 0 else (lo, hi)
                title = (f"By {last}, the cumulative {word} reached {fmt.number(abs(est))} "
                         f"{metric} ({pct_level} interval {fmt.number(near)} to "
                         f"{fmt.number(far)})")
            else:
                title = (f"By {last}, the cumulative difference is {fmt.signed(est)} {metric}, "
                         f"and its {pct_level} interval ({fmt.signed(lo)} to {fmt.signed(hi)}) "
                         f"includes no effect")
        else:
            final = float(cumulative[-1]) if len(cumulative) else float("nan")
            title = (f"By {last}, the cumulative difference from the expected path is "
                     f"{fmt.signed(final)} {metric}")
        alt = (f"Two stacked charts sharing a date axis. Top: the daily difference between "
               f"observed and expected {metric}, with its {pct_level} band, zero marked. "
               f"Bottom: the running total of that difference from {_event_phrase(event)} on"
               f"{_marks_alt(marks)}. {title}.")
    return EffectPlot(
        id=f"fig-{slug(str(analysis['id']) + part)}-effect", analysis_id=str(analysis["id"]),
        title=title, alt=alt, dates=dates, pointwise=pointwise,
        pointwise_lower=observed - upper, pointwise_upper=observed - lower,
        cumulative=cumulative, cumulative_lower=cum_lower, cumulative_upper=cum_upper,
        total=total, event_index=index, events=marks,
        ylabel=f"difference, {metric}{'' if stock else _per(period)}",
        cumulative_ylabel=f"running total, {metric}", level=level,
    )


def _average_title(summary: dict, metric: str, where: str, subject: str, pct_level: str) -> str:
    avg, lo, hi = (summary.get(k) for k in ("average", "average_lower", "average_upper"))
    if not all(fmt.is_number(x) for x in (avg, lo, hi)):
        return f"{subject}'s {metric} against the path expected without {where}"
    if hi < 0 or lo > 0:
        word = "fewer" if avg < 0 else "more"
        near, far = (abs(hi), abs(lo)) if avg < 0 else (lo, hi)
        return (f"After {where}, {subject} had on average {fmt.number(abs(avg))} {word} "
                f"{metric} than expected ({pct_level} interval {fmt.number(near)} to "
                f"{fmt.number(far)})")
    return (f"After {where}, {subject}'s {metric} differed from the expected path by "
            f"{fmt.signed(avg)} on average, and the {pct_level} interval ({fmt.signed(lo)} to "
            f"{fmt.signed(hi)}) includes no effect")


_STATISTIC_LABELS = {
    "post/pre rmspe ratio": "post/pre RMSPE ratio (gap after ÷ gap before; no unit)",
    "average log effect": "average effect, log points (−0.1 ≈ −10%)",
}


def placebo_plot(analysis: dict, ctx: Context) -> PlaceboPlot | None:
    placebo = analysis.get("placebo")
    if not isinstance(placebo, dict):
        return None
    values = _floats(placebo.get("values"))
    subject_value = placebo.get("subject_value")
    if len(values) == 0 or not fmt.is_number(subject_value):
        return None
    units = tuple(str(u) for u in placebo.get("units") or [])
    statistic = str(placebo.get("statistic") or "effect")
    metric = metric_words(str(analysis.get("metric") or ctx.metric))
    xlabel = _STATISTIC_LABELS.get(statistic.lower())
    if xlabel is None:
        xlabel = f"estimated effect, {metric}" if statistic == "effect" else statistic
    p = placebo.get("p_value")
    rank = placebo.get("rank")
    n = int(np.sum(~np.isnan(values))) + 1
    p_text = fmt.p_value(p) if fmt.is_number(p) else None
    rank_text = (f"ranked {fmt.ordinal(int(rank))} of {n} by {statistic}"
                 if fmt.is_number(rank) else f"compared by {statistic}")
    extra = f", {p_text}" if p_text else ""
    if fmt.is_number(p) and p <= 0.05:
        title = f"{ctx.subject}'s change stands out among {n - 1} peers: {rank_text}{extra}"
    elif fmt.is_number(p):
        title = (f"{ctx.subject}'s change is within the range of {n - 1} peers: "
                 f"{rank_text}{extra}")
    else:
        title = f"{ctx.subject} among {n - 1} peers: {rank_text}"
    shape = "dot plot of each account" if n <= 40 else "histogram of the peers'"
    alt = (f"A {shape} {statistic}, each peer analysed as if it had been the subject; "
           f"{ctx.subject}'s value ({fmt.number(subject_value)}) is marked in red. {title}.")
    return PlaceboPlot(
        id=f"fig-{slug(str(analysis['id']))}-placebo", analysis_id=str(analysis["id"]),
        title=title, alt=alt, units=units, values=values, subject=ctx.subject,
        subject_value=float(subject_value), statistic=statistic, xlabel=xlabel,
        p_value=float(p) if fmt.is_number(p) else None,
        rank=int(rank) if fmt.is_number(rank) else None,
    )


def _event_time_data(analysis: dict) -> dict | None:
    """Event-time coefficients in the report's shape, from ``event_time`` or an event study.

    Reads ``event_time`` (the report's keys) or, failing that, the
    ``event_study`` result of an event-study analysis (also inside
    ``group_disproportion`` and ``sun_abraham``): ``event_times``,
    ``estimate``, ``lower``, ``upper``, ``reference``, ``pretrend.p_value``,
    ``baseline``.
    """
    et = analysis.get("event_time")
    if isinstance(et, dict) and "relative_periods" in et:
        return et
    for holder in (analysis, analysis.get("group_disproportion"), analysis.get("sun_abraham")):
        es = holder.get("event_study") if isinstance(holder, dict) else None
        if isinstance(es, dict) and "event_times" in es:
            pretrend = es.get("pretrend") if isinstance(es.get("pretrend"), dict) else {}
            return {
                "relative_periods": es.get("event_times"), "estimates": es.get("estimate"),
                "lower": es.get("lower"), "upper": es.get("upper"),
                "reference": es.get("reference"),
                "pretrend_p": pretrend.get("p_value"),
                "level": es.get("level"),
            }
    return None


def event_time_plot(analysis: dict, ctx: Context) -> EventTimePlot | None:
    et = _event_time_data(analysis)
    if et is None:
        return None
    periods = _floats(et.get("relative_periods"))
    estimates = _floats(et.get("estimates"))
    lower, upper = _floats(et.get("lower")), _floats(et.get("upper"))
    if len(periods) == 0 or not (len(periods) == len(estimates) == len(lower) == len(upper)):
        return None
    ref_raw = et.get("reference", -1)
    reference = int(ref_raw) if fmt.is_number(ref_raw) else None
    pretrend_p = et.get("pretrend_p")
    period = str(et.get("period") or _analysis_period(analysis, ctx))
    scale = et.get("scale") or ("log" if ctx.transform in ("log", "log1p") else "level")
    metric = str(analysis.get("metric") or ctx.metric)
    event = _event_for(analysis, ctx)
    where = _event_phrase(event)
    post = periods >= 0
    post_est = estimates[post & ~np.isnan(estimates)]
    below = int(np.sum(upper[post] < 0))
    above = int(np.sum(lower[post] > 0))
    n_post = int(np.sum(post))
    p_text = fmt.p_value(pretrend_p)
    if fmt.is_number(pretrend_p) and pretrend_p < 0.05:
        title = (f"The estimates had already moved before {where} (pre-trend test {p_text}): "
                 f"the change may predate it")
    else:
        after = ""
        if n_post and len(post_est):
            if below > above:
                after = (f"; afterwards {below} of {n_post} {period}s "
                         f"{'sits' if below == 1 else 'sit'} clearly below zero")
            elif above > below:
                after = (f"; afterwards {above} of {n_post} {period}s "
                         f"{'sits' if above == 1 else 'sit'} clearly above zero")
            else:
                after = f"; afterwards none of {n_post} {period}s clearly differ from zero"
        pre_words = "no clear trend" if fmt.is_number(pretrend_p) else "the pre-period estimates"
        title = f"Before {where}, {pre_words} (pre-trend test {p_text}){after}"
    base = (f"{period} {reference}" if reference is not None
            else "the pre-event average")
    alt = (f"Coefficient plot: one estimate with its interval for each {period} before and "
           f"after {where}, measured from {base}; the pre-event {period}s are shaded grey and "
           f"a dashed line marks {where}. {title}.")
    unit = "log points" if scale == "log" else metric_words(metric)
    return EventTimePlot(
        id=f"fig-{slug(str(analysis['id']))}-event-time", analysis_id=str(analysis["id"]),
        title=title, alt=alt, periods=periods, estimates=estimates, lower=lower, upper=upper,
        reference=reference,
        pretrend_p=float(pretrend_p) if fmt.is_number(pretrend_p) else None,
        event=event, xlabel=f"{period}s relative to {where} ({period} 0 = first after)",
        ylabel=f"difference from {base}, {unit}",
    )


def _analysis_period(analysis: dict, ctx: Context) -> str:
    effect = analysis.get("effect")
    if isinstance(effect, dict) and effect.get("dates"):
        return period_of(_dates(effect["dates"]))
    return ctx.period


def _groups_data(analysis: dict) -> dict | None:
    """Group comparison in the report's shape, from ``groups`` or ``group_disproportion``."""
    g = analysis.get("groups")
    if isinstance(g, dict):
        return g
    gd = analysis.get("group_disproportion")
    if not isinstance(gd, dict) or not gd.get("group_a") or not gd.get("group_b"):
        return None
    labels = [str(gd["group_a"]), str(gd["group_b"])]
    means: dict[str, list] = {lab: [None, None] for lab in labels}
    for row in gd.get("group_means") or []:
        stage = {"pre": 0, "post": 1}.get(str(row.get("period")))
        if str(row.get("group")) in means and stage is not None:
            means[str(row["group"])][stage] = row.get("mean")
    effect = ((gd.get("interaction") or {}).get("effect") or {})
    return {"labels": labels, "stages": ["before", "after"], "means": means,
            "estimate": effect.get("estimate"), "lower": effect.get("lower"),
            "upper": effect.get("upper"), "p_value": effect.get("p_value")}


def groups_plot(analysis: dict, ctx: Context) -> GroupsPlot | None:
    g = _groups_data(analysis)
    if g is None:
        return None
    labels = tuple(str(x) for x in g.get("labels") or [])
    stages = tuple(str(x) for x in g.get("stages") or [])
    dates = _dates(g.get("dates")) if not stages else np.array([], dtype="datetime64[D]")
    means_raw = g.get("means") or {}
    width = len(stages) if stages else len(dates)
    if len(labels) < 2 or width == 0:
        return None
    means = {lab: _floats(means_raw.get(lab)) for lab in labels}
    if any(len(m) != width for m in means.values()):
        return None
    scale = g.get("scale") or ("log" if ctx.transform in ("log", "log1p") else "level")
    metric = str(analysis.get("metric") or ctx.metric)
    event = _event_for(analysis, ctx)
    where = _event_phrase(event)
    est, lo, hi, p = (g.get(k) for k in ("estimate", "lower", "upper", "p_value"))
    a, b = labels[0], labels[1]
    unit = "log points" if scale == "log" else metric_words(metric)
    if fmt.is_number(est) and fmt.is_number(lo) and fmt.is_number(hi):
        interval = f"95% interval {fmt.signed(lo)} to {fmt.signed(hi)}"
        if fmt.is_number(p):
            interval += f", {fmt.p_value(p)}"
        size = f"{fmt.number(abs(est))} {unit}"
        if scale == "log":
            size += f" (about {fmt.percent(abs(np.expm1(est)), sign=False)})"
        noun = metric_words(metric)
        if hi < 0 or lo > 0:
            side = "below" if hi < 0 else "above"
            title = (f"After {where}, the {a} group's {noun} moved {size} {side} the {b} "
                     f"group's ({interval})")
        else:
            title = (f"After {where}, the {a} and {b} groups moved alike: the difference, "
                     f"{fmt.signed(est)} {unit} ({interval}), includes none")
    else:
        title = f"The {a} and {b} groups before and after {where}"
    if stages:
        alt = (f"Slope chart of the mean {metric_words(metric)} of each group "
               f"({', '.join(labels)}) before and after {where}, one line per group. {title}.")
    else:
        alt = (f"Line chart of the mean {metric_words(metric)} of each group "
               f"({', '.join(labels)}) from {fmt.date(str(dates[0]))} to "
               f"{fmt.date(str(dates[-1]))}{_marks_alt(_marks_within(ctx, dates))}. {title}.")
    ylabel = (f"group mean of log(1 + {metric_words(metric)})" if scale == "log"
              else f"group mean of {metric_words(metric)}")
    return GroupsPlot(
        id=f"fig-{slug(str(analysis['id']))}-groups", analysis_id=str(analysis["id"]),
        title=title, alt=alt, labels=labels, dates=dates, means=means,
        events=_marks_within(ctx, dates), ylabel=ylabel,
        stages=tuple(f"{st} {where}" for st in stages),
    )


def _changepoint_data(analysis: dict) -> dict | None:
    """Change-point data in the report's keys (``date``/``series``) or the method's own
    (``onset``/``values``/``fitted``/``breaks``/``change``/``model``)."""
    cp = analysis.get("changepoint")
    if not isinstance(cp, dict):
        return None
    return {
        "date": cp.get("date", cp.get("onset")),
        "lower_date": cp.get("lower_date", cp.get("onset_lower")),
        "upper_date": cp.get("upper_date", cp.get("onset_upper")),
        "dates": cp.get("dates"),
        "series": cp.get("series", cp.get("values")),
        "fitted": cp.get("fitted"),
        "breaks": cp.get("breaks") or [],
        "change": cp.get("change"),
        "model": cp.get("model", "level"),
        "scale": cp.get("scale"),
    }


def _day(x: object) -> np.datetime64 | None:
    return np.datetime64(str(x)[:10], "D") if x else None


def changepoint_plot(analysis: dict, ctx: Context) -> ChangepointPlot | None:
    cp = _changepoint_data(analysis)
    if cp is None:
        return None
    dates = _dates(cp["dates"])
    series = _floats(cp["series"])
    if len(dates) == 0 or len(series) != len(dates):
        return None
    fitted = _floats(cp["fitted"]) if cp["fitted"] is not None else None
    if fitted is not None and len(fitted) != len(dates):
        fitted = None
    date, lo, hi = _day(cp["date"]), _day(cp["lower_date"]), _day(cp["upper_date"])
    breaks = tuple(d for d in (_day(x) for x in cp["breaks"]) if d is not None and d != date)
    raw_metric = str(analysis.get("metric") or ctx.metric)
    metric = metric_words(raw_metric)
    scale = cp["scale"] or ("log" if ctx.transform in ("log", "log1p") else "level")
    slope = cp["model"] == "slope"
    what = f"{ctx.subject}'s {metric}" if not slope else f"the trend of {ctx.subject}'s {metric}"
    if date is None:
        title = f"No clear change was found in {what}"
    else:
        i = int(np.searchsorted(dates, date))
        change = cp["change"]
        if not fmt.is_number(change):
            window = max(7, min(28, i, len(dates) - i))
            before = np.nanmean(series[max(0, i - window):i]) if i > 0 else np.nan
            after = np.nanmean(series[i:i + window]) if i < len(series) else np.nan
            change = after - before if np.isfinite(before) and np.isfinite(after) else None
        if slope:
            verb = "bent downward" if fmt.is_number(change) and change < 0 else (
                "bent upward" if fmt.is_number(change) else "changed")
        else:
            verb = "dropped" if fmt.is_number(change) and change < 0 else (
                "rose" if fmt.is_number(change) else "shifted")
        span = (f" (likely between {fmt.date(str(lo))} and {fmt.date(str(hi))})"
                if lo is not None and hi is not None else "")
        event = _nearest_event(ctx, str(date))
        relation = ""
        if event is not None:
            gap = fmt.days_between(event.date, str(date))
            if gap == 0:
                relation = f", on the day of {the(event.name)}"
            elif gap is not None:
                side = "after" if gap > 0 else "before"
                days = "day" if abs(gap) == 1 else "days"
                relation = f", {abs(gap)} {days} {side} {the(event.name)}"
        title = f"{what[0].upper() + what[1:]} {verb} around {fmt.date(str(date))}{span}{relation}"
        if breaks:
            title += f"; {len(breaks) + 1} changes were found in all"
    chosen = next((c for c in ctx.dating if c[0] == str(analysis.get("metric"))), None)
    if chosen is not None and chosen[1] != str(analysis["id"]):
        # the verdicts read one dating; say so on the other, so the two never disagree unseen
        title += (f" (the {chosen[2]} model fits the series better; the verdicts read its "
                  "dating, not this one)")
    period = period_of(dates)
    per = "" if is_stock(raw_metric) else _per(period)
    ylabel = f"log(1 + {metric}{per})" if scale == "log" else f"{metric}{per}"
    alt = (f"Line chart of {ctx.subject}'s {metric}{per}"
           + (" with the fitted segments" if fitted is not None else "")
           + (", the detected change date as a solid red line and its likely range shaded"
              if date is not None else "")
           + f"{_marks_alt(_marks_within(ctx, dates))}. {title}.")
    return ChangepointPlot(
        id=f"fig-{slug(str(analysis['id']))}-changepoint", analysis_id=str(analysis["id"]),
        title=title, alt=alt, dates=dates, series=series, date=date, lower_date=lo,
        upper_date=hi, events=_marks_within(ctx, dates), ylabel=ylabel, fitted=fitted,
        breaks=breaks,
    )


def damages_plot(results: dict, ctx: Context) -> DamagesPlot | None:
    damages = results.get("damages")
    if not isinstance(damages, dict):
        return None
    scenarios = []
    for s in damages.get("scenarios") or []:
        hist = s.get("histogram") or {}
        edges, counts = _floats(hist.get("edges")), _floats(hist.get("counts"))
        if len(counts) == 0 or len(edges) != len(counts) + 1:
            continue
        q = s.get("quantiles") or {}
        scenarios.append(DamagesScenario(
            name=str(s.get("name") or f"scenario {len(scenarios) + 1}"), edges=edges,
            counts=counts, q5=_num(q.get("5")), q50=_num(q.get("50")), q95=_num(q.get("95")),
            p_reaching_claim=_num(s.get("p_reaching_claim")),
        ))
    if not scenarios:
        return None
    currency = str(damages.get("currency") or ctx.currency)
    claimed = _num(damages.get("amount_claimed"))

    def m(x: float | None) -> str:
        return fmt.money(x, currency)

    first = scenarios[0]
    if len(scenarios) == 1:
        head = (f"Estimated damages: median {m(first.q50)} (90% range {m(first.q5)} to "
                f"{m(first.q95)})")
    else:
        medians = [s.q50 for s in scenarios if s.q50 is not None]
        lows = [s.q5 for s in scenarios if s.q5 is not None]
        highs = [s.q95 for s in scenarios if s.q95 is not None]
        head = (f"Estimated damages: medians from {m(min(medians))} to {m(max(medians))} across "
                f"{len(scenarios)} scenarios (90% ranges span {m(min(lows))} to {m(max(highs))})"
                if medians and lows and highs else "Estimated damages across scenarios")
    tail = ""
    if claimed is not None:
        reach = [s.p_reaching_claim for s in scenarios if s.p_reaching_claim is not None]
        if reach and max(reach) == 0:
            tail = f"; no draw reaches the {m(claimed)} claimed"
        elif reach:
            tail = (f"; the {m(claimed)} claimed is reached in at most "
                    f"{fmt.percent(max(reach), sign=False)} of draws")
        else:
            tail = f"; {m(claimed)} claimed"
    title = head + tail
    names = ", ".join(s.name for s in scenarios)
    alt = (f"Histogram of simulated damages in {currency} for each scenario ({names})"
           + (f", with the amount claimed ({m(claimed)}) marked in red" if claimed else "")
           + f". {title}.")
    return DamagesPlot(id="fig-damages", analysis_id="damages", title=title, alt=alt,
                       currency=currency, scenarios=tuple(scenarios), amount_claimed=claimed)


def figures_for(results: dict) -> list[Plot]:
    """Every figure the results can support, in report order (analysis by analysis)."""
    ctx = context(results)
    plots: list[Plot] = []
    for analysis in results.get("analyses") or []:
        effects = [e for e in analysis.get("effects") or [] if isinstance(e, dict)]
        if len(effects) > 1:  # one pair of figures per event
            for i, effect in enumerate(effects):
                for extract in (counterfactual_plot, effect_plot):
                    plot = extract(analysis, ctx, effect, f"-{i + 1}")
                    if plot is not None:
                        plots.append(plot)
            extracts: tuple = (placebo_plot, event_time_plot, groups_plot, changepoint_plot)
        else:
            extracts = (counterfactual_plot, effect_plot, placebo_plot, event_time_plot,
                        groups_plot, changepoint_plot)
        for extract in extracts:
            plot = extract(analysis, ctx)
            if plot is not None:
                plots.append(plot)
    plots += power_plots(results)  # the curves the verdicts read their power from
    dmg = damages_plot(results, ctx)
    if dmg is not None:
        plots.append(dmg)
    from butfor.report.damages_plots import sensitivity_plot  # the tornado, its own module

    tornado = sensitivity_plot(results, str((results.get("damages") or {}).get("currency")
                                            or ctx.currency))
    if tornado is not None:
        plots.append(tornado)  # type: ignore[arg-type]
    return plots


# ---------------------------------------------------------------------------
# small helpers


def _num(x: object) -> float | None:
    return float(x) if fmt.is_number(x) else None  # type: ignore[arg-type]


def _excludes_zero(summary: dict) -> bool | None:
    lo, hi = summary.get("cumulative_lower"), summary.get("cumulative_upper")
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        lo, hi = summary.get("relative_lower"), summary.get("relative_upper")
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        return None
    return bool(lo > 0 or hi < 0)


def _span_pct(lo: object, hi: object, below: bool = False) -> str:
    if not (fmt.is_number(lo) and fmt.is_number(hi)):
        return "not available"
    a, b = (abs(hi), abs(lo)) if below else (lo, hi)  # type: ignore[arg-type]
    return f"{fmt.percent(a, sign=False)} to {fmt.percent(b, sign=False)}"


def _unit_name(effect: dict, ctx: Context) -> str:
    """The subject's display name, or the effect's own unit id when it is another unit."""
    unit = effect.get("unit")
    if unit in (None, "", ctx.subject_unit):
        return ctx.subject
    return str(unit)


def _marks_alt(marks: tuple[EventMark, ...]) -> str:
    if not marks:
        return ""
    parts = [f"{the(e.name)} on {fmt.date(e.date)}" for e in marks]
    return "; dashed vertical lines mark " + " and ".join(parts)


def _nearest_event(ctx: Context, date: str) -> EventMark | None:
    best, best_gap = None, None
    for e in ctx.events:
        gap = fmt.days_between(e.date, date)
        if gap is None:
            continue
        if best_gap is None or abs(gap) < best_gap:
            best, best_gap = e, abs(gap)
    return best
