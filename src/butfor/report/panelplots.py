"""Figure data for the panel analyses: event time, two groups, the change point.

See :mod:`butfor.report.plotdata` for the keys each reads.
"""

from __future__ import annotations

import numpy as np

from butfor.report import fmt
from butfor.report.plotcontext import (
    Context,
    as_dates,
    event_for,
    event_phrase,
    floats,
    is_stock,
    marks_alt,
    marks_within,
    metric_words,
    nearest_event,
    per_period,
    period_of,
    slug,
    the,
)
from butfor.report.plottypes import (
    ChangepointPlot,
    EventTimePlot,
    GroupsPlot,
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
    periods = floats(et.get("relative_periods"))
    estimates = floats(et.get("estimates"))
    lower, upper = floats(et.get("lower")), floats(et.get("upper"))
    if len(periods) == 0 or not (len(periods) == len(estimates) == len(lower) == len(upper)):
        return None
    ref_raw = et.get("reference", -1)
    reference = int(ref_raw) if fmt.is_number(ref_raw) else None
    pretrend_p = et.get("pretrend_p")
    period = str(et.get("period") or _analysis_period(analysis, ctx))
    scale = et.get("scale") or ("log" if ctx.transform in ("log", "log1p") else "level")
    metric = str(analysis.get("metric") or ctx.metric)
    event = event_for(analysis, ctx)
    where = event_phrase(event)
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
        return period_of(as_dates(effect["dates"]))
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
    dates = as_dates(g.get("dates")) if not stages else np.array([], dtype="datetime64[D]")
    means_raw = g.get("means") or {}
    width = len(stages) if stages else len(dates)
    if len(labels) < 2 or width == 0:
        return None
    means = {lab: floats(means_raw.get(lab)) for lab in labels}
    if any(len(m) != width for m in means.values()):
        return None
    scale = g.get("scale") or ("log" if ctx.transform in ("log", "log1p") else "level")
    metric = str(analysis.get("metric") or ctx.metric)
    event = event_for(analysis, ctx)
    where = event_phrase(event)
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
               f"{fmt.date(str(dates[-1]))}{marks_alt(marks_within(ctx, dates))}. {title}.")
    # a log scale in words: its numbers are logs, but a gap between them reads as a ratio
    ylabel = (f"group mean of {metric_words(metric)}, log scale (a gap of 0.1 ≈ 10%)"
              if scale == "log" else f"group mean of {metric_words(metric)}")
    return GroupsPlot(
        id=f"fig-{slug(str(analysis['id']))}-groups", analysis_id=str(analysis["id"]),
        title=title, alt=alt, labels=labels, dates=dates, means=means,
        events=marks_within(ctx, dates), ylabel=ylabel,
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
    dates = as_dates(cp["dates"])
    series = floats(cp["series"])
    if len(dates) == 0 or len(series) != len(dates):
        return None
    fitted = floats(cp["fitted"]) if cp["fitted"] is not None else None
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
        event = nearest_event(ctx, str(date))
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
    per = "" if is_stock(raw_metric) else per_period(period)
    ylabel = (f"{metric}{per}, log scale (a step of 0.1 ≈ 10%)" if scale == "log"
              else f"{metric}{per}")
    alt = (f"Line chart of {ctx.subject}'s {metric}{per}"
           + (" with the fitted segments" if fitted is not None else "")
           + (", the detected change date as a solid red line and its likely range shaded"
              if date is not None else "")
           + f"{marks_alt(marks_within(ctx, dates))}. {title}.")
    return ChangepointPlot(
        id=f"fig-{slug(str(analysis['id']))}-changepoint", analysis_id=str(analysis["id"]),
        title=title, alt=alt, dates=dates, series=series, date=date, lower_date=lo,
        upper_date=hi, events=marks_within(ctx, dates), ylabel=ylabel, fitted=fitted,
        breaks=breaks,
    )
