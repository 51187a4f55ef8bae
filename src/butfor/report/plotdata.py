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

import numpy as np

from butfor.report import fmt
from butfor.report.panelplots import changepoint_plot, event_time_plot, groups_plot
from butfor.report.plotcontext import (
    Context,
    as_dates,
    context,
    event_for,
    event_phrase,
    excludes_zero,
    floats,
    is_stock,
    marks_alt,
    marks_within,
    metric_words,
    number_or_none,
    per_period,
    period_of,
    slug,
    span_pct,
    unit_label,
)
from butfor.report.plottypes import (
    CounterfactualPlot,
    DamagesPlot,
    DamagesScenario,
    EffectPlot,
    PlaceboPlot,
    Plot,
    WeeklyView,
)
from butfor.report.powerplot import power_plots

# ---------------------------------------------------------------------------
# extraction


def _effect_arrays(effect: dict) -> tuple[np.ndarray, ...] | None:
    needed = ("dates", "observed", "counterfactual", "lower", "upper", "event_index")
    if not all(k in effect and effect[k] is not None for k in needed):
        return None
    dates = as_dates(effect["dates"])
    arrays = [floats(effect[k]) for k in ("observed", "counterfactual", "lower", "upper")]
    if len(dates) == 0 or any(len(a) != len(dates) for a in arrays):
        return None
    return (dates, *arrays)


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
    event = event_for(analysis, ctx, effect.get("event_date"))
    metric = metric_words(str(effect.get("metric") or analysis.get("metric") or ctx.metric))
    period = period_of(dates)
    unit_name = unit_label(effect, ctx)
    where = event_phrase(event)
    rel, lo, hi = (summary.get(k) for k in ("relative", "relative_lower", "relative_upper"))
    clear = excludes_zero(summary)
    pct_level = f"{round(100 * level)}%"
    if fmt.is_number(rel) and clear is not None:
        size = fmt.percent(abs(rel), sign=False)
        if clear and rel < 0:
            title = (f"After {where}, {unit_name}'s {metric} ran {size} below the path "
                     f"expected without it ({pct_level} interval {span_pct(lo, hi, below=True)} below)")
        elif clear and rel > 0:
            title = (f"After {where}, {unit_name}'s {metric} ran {size} above the path "
                     f"expected without it ({pct_level} interval {span_pct(lo, hi)} above)")
        else:
            title = (f"After {where}, {unit_name}'s {metric} stayed within the range expected "
                     f"without it ({fmt.percent(rel)}; {pct_level} interval "
                     f"{fmt.percent(lo)} to {fmt.percent(hi)})")
    else:
        title = f"{unit_name}'s {metric}: observed and expected without {where}"
    per = "" if is_stock(metric) else per_period(period)
    alt = (f"Line chart of {unit_name}'s {metric}{per} from {fmt.date(str(dates[0]))} to "
           f"{fmt.date(str(dates[-1]))}: the observed series as a solid dark line and the path "
           f"expected without {where} as a dashed blue line inside a shaded {pct_level} band"
           f"{marks_alt(marks_within(ctx, dates))}. {title}.")
    weekly = weekly_view(dates, observed, counterfactual, index) if period == "day" else None
    if weekly is not None:
        alt = alt.replace(" inside a shaded", ", each also averaged week by week as a thicker "
                          "line, inside a shaded", 1)
    return CounterfactualPlot(
        id=f"fig-{slug(str(analysis['id']) + part)}-counterfactual",
        analysis_id=str(analysis["id"]), title=title, alt=alt, dates=dates, observed=observed,
        counterfactual=counterfactual, lower=lower, upper=upper, event_index=index,
        events=marks_within(ctx, dates),
        ylabel=metric if is_stock(metric) else f"{metric}{per_period(period)}", level=level,
        subject=unit_name, weekly=weekly,
    )


#: fewer whole weeks than this on either side of the event and the days speak for themselves
MIN_WEEKS = 4


def weekly_view(dates: np.ndarray, observed: np.ndarray, counterfactual: np.ndarray,
                event_index: int) -> WeeklyView | None:
    """Means over whole weeks counted from the event day (week 0 is the event's first seven
    days), so no week mixes days before and after it; partial weeks at the ends are left out."""
    n = len(dates)
    week = np.floor_divide(np.arange(n) - event_index, 7)
    first, last = int(week[0]), int(week[-1])
    full = [k for k in range(first, last + 1) if np.sum(week == k) == 7]
    if sum(k < 0 for k in full) < MIN_WEEKS or sum(k >= 0 for k in full) < MIN_WEEKS:
        return None

    def mean(values: np.ndarray, k: int) -> float:
        chunk = values[week == k]
        return float(np.nanmean(chunk)) if np.isfinite(chunk).any() else np.nan

    return WeeklyView(
        dates=np.array([dates[week == k][0] for k in full]),
        observed=np.array([mean(observed, k) for k in full]),
        counterfactual=np.array([mean(counterfactual, k) for k in full]),
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
    event = event_for(analysis, ctx, effect.get("event_date"))
    period = period_of(dates)
    pct_level = f"{round(100 * level)}%"
    last = fmt.date(str(dates[-1]))
    marks = marks_within(ctx, dates)
    cumulative = cum_lower = cum_upper = None
    total = None
    if stock:
        # a running total of a stock (follower-days) means nothing to a reader: show the gap
        title = _average_title(summary, metric, event_phrase(event), ctx.subject, pct_level)
        alt = (f"Line chart of the daily gap between observed and expected {metric}, with its "
               f"{pct_level} band and zero marked{marks_alt(marks)}. {title}.")
    else:
        cumulative = np.where(post, np.nancumsum(np.where(post, pointwise, 0.0)), np.nan)
        cum_lo, cum_hi = effect.get("cumulative_lower"), effect.get("cumulative_upper")
        if (cum_lo is not None and cum_hi is not None and len(cum_lo) == len(dates)
                and len(cum_hi) == len(dates)):
            cum_lower, cum_upper = floats(cum_lo), floats(cum_hi)
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
               f"Bottom: the running total of that difference from {event_phrase(event)} on"
               f"{marks_alt(marks)}. {title}.")
    return EffectPlot(
        id=f"fig-{slug(str(analysis['id']) + part)}-effect", analysis_id=str(analysis["id"]),
        title=title, alt=alt, dates=dates, pointwise=pointwise,
        pointwise_lower=observed - upper, pointwise_upper=observed - lower,
        cumulative=cumulative, cumulative_lower=cum_lower, cumulative_upper=cum_upper,
        total=total, event_index=index, events=marks,
        ylabel=f"difference, {metric}{'' if stock else per_period(period)}",
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
    values = floats(placebo.get("values"))
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


def damages_plot(results: dict, ctx: Context) -> DamagesPlot | None:
    damages = results.get("damages")
    if not isinstance(damages, dict):
        return None
    scenarios = []
    for s in damages.get("scenarios") or []:
        hist = s.get("histogram") or {}
        edges, counts = floats(hist.get("edges")), floats(hist.get("counts"))
        if len(counts) == 0 or len(edges) != len(counts) + 1:
            continue
        q = s.get("quantiles") or {}
        scenarios.append(DamagesScenario(
            name=str(s.get("name") or f"scenario {len(scenarios) + 1}"), edges=edges,
            counts=counts, q5=number_or_none(q.get("5")), q50=number_or_none(q.get("50")), q95=number_or_none(q.get("95")),
            p_reaching_claim=number_or_none(s.get("p_reaching_claim")),
        ))
    if not scenarios:
        return None
    currency = str(damages.get("currency") or ctx.currency)
    claimed = number_or_none(damages.get("amount_claimed"))

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
