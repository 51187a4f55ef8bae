"""Damages from the case: each income stream's lost profit, projected, valued, mitigated.

:func:`damages_from_case` reads the case's ``[damages]`` section and the
subject's effect paths and returns a frozen :class:`DamagesResult`; the
arithmetic is in :mod:`butfor.damages.arithmetic`, mitigation and sources in
:mod:`butfor.damages.profits`, horizons and the headline in
:mod:`butfor.damages.projection`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.case_damages import (
    ContractPricing,
    CpmPricing,
    Damages,
    Persistence,
    RateCardPricing,
    parse_length,
)
from butfor.damages.arithmetic import (
    anchor_amount,
    contract_cashflows,
    draw_indices,
    draw_values,
    lost_at_elasticity,
    persistence_factors,
    price_cpm,
    price_rate_card,
    renewal_chain,
    value_factors,
)
from butfor.damages.profits import MitigationSeries, assumptions_of, mitigation_draws
from butfor.damages.projection import check_horizons, choose_headline
from butfor.damages.result import ComponentDamages, DamagesResult, ScenarioDamages
from butfor.errors import AssumptionWarning, ButforWarning, DataError
from butfor.results import EffectPath

DEFAULT_DRAWS = 4000  # at least this many damages draws, unless the case says 'draws'


@dataclass(frozen=True)
class _Path:
    """One metric's post period, aligned to the damages draws."""

    metric: str
    dates: np.ndarray  # datetime64[D], post period
    observed: np.ndarray  # (n_post,)
    counterfactual: np.ndarray  # (n_draws, n_post)
    period_days: np.ndarray  # (n_post,) the days each date stands for: 1, 7, a month's own
    frequency: str  # the series' own: D (or any constant step of days), W, M, Q, Y
    event_date: dt.date
    last_date: dt.date  # the last day the data cover: the last period's last day


def _to_date(x: np.datetime64) -> dt.date:
    return np.datetime64(x, "D").astype(dt.date)


def _periods(dates: np.ndarray, metric: str) -> tuple[str, np.ndarray]:
    """The series' frequency and the days each date stands for, from the dates.

    Monthly, quarterly and annual dates are the first day of their period
    (:mod:`butfor.frequency`), so a date stands for its own month's 28 to 31
    days; otherwise the dates are one constant step of days apart.
    """
    if dates.size < 2:
        return "D", np.ones(dates.size, dtype=int)
    f = freq.infer(dates)
    if f in ("M", "Q", "Y"):
        if (np.diff(freq.ordinal(dates, f)) != 1).any():
            raise DataError(f"the {metric!r} effect skips {freq.NAMES[f]} dates; damages "
                            "need every period of the series, with missing values as NaN")
        start = pd.DatetimeIndex(dates)
        end = pd.DatetimeIndex([freq.shift(d, 1, f) for d in start])
        return f, np.asarray((end - start).days, dtype=int)
    steps = np.unique(np.diff(dates).astype("timedelta64[D]").astype(int))
    if steps.size != 1 or steps[0] <= 0:
        raise DataError(
            f"the {metric!r} effect has irregular dates (steps of {sorted(steps.tolist())} "
            "days); damages need a series on one frequency's grid (daily, weekly, monthly, "
            "quarterly or annual) with missing dates as NaN"
        )
    return ("W" if steps[0] == 7 else "D"), np.full(dates.size, int(steps[0]))


def _align(path: EffectPath, metric: str, n_draws: int, indices: dict[int, np.ndarray],
           notes: list[str]) -> tuple[_Path, dict]:
    if path.diagnostics.get("transform") not in (None, "none"):
        raise DataError(
            f"the {metric!r} effect is on a transformed scale "
            f"({path.diagnostics['transform']!r}); damages need it in the metric's own units"
        )
    dates = np.asarray(path.dates).astype("datetime64[D]")
    e = int(path.event_index)
    if not 0 <= e < dates.size:
        raise DataError(f"the {metric!r} effect has no post period (event_index {e})")
    post_dates = dates[e:]
    observed = np.asarray(path.observed, dtype=float)[e:]
    if path.draws is None:
        cf = np.asarray(path.counterfactual, dtype=float)[e:][None, :]
        warnings.warn(
            f"the {metric!r} effect from {path.method!r} has no counterfactual draws, so its "
            "uncertainty does not reach the damages; use a method that gives draws "
            "(structural time series, or placebo draws) for an honest range",
            AssumptionWarning, stacklevel=3,
        )
        notes.append(f"The {metric} effect ({path.method}) has no draws: its point "
                     "counterfactual is used in every draw.")
    else:
        cf = np.atleast_2d(np.asarray(path.draws, dtype=float))
    if cf.shape[1] != post_dates.size:
        raise DataError(
            f"the {metric!r} effect has draws for {cf.shape[1]} dates but a post period of "
            f"{post_dates.size}; draws must have shape (n_draws, n_post)"
        )
    if np.isnan(cf).any():
        raise DataError(f"the {metric!r} effect has missing (NaN) counterfactual draws; "
                        "refit the method or drop the draws that failed")
    n_in = cf.shape[0]
    if n_in == 1:
        cf = np.repeat(cf, n_draws, axis=0)
    elif n_in != n_draws:
        cf = cf[indices[n_in]]
        k, extra = divmod(n_draws, n_in)
        uses = f"{k} times" if not extra else f"{k} or {k + 1} times"
        notes.append(f"The {metric} effect's {n_in} draws are spread evenly over the "
                     f"{n_draws} damages draws (each used {uses}).")
    missing = int(np.isnan(observed).sum())
    if missing:
        warnings.warn(
            f"{missing} post-period date(s) of {metric!r} have no observed value; they add "
            "nothing to the damages (fill them in the data to count them)",
            ButforWarning, stacklevel=3,
        )
        notes.append(f"{missing} post-period date(s) of {metric} without an observed value "
                     "add nothing.")
    frequency, days = _periods(dates, metric)
    post_days = days[e:]
    last = _to_date(post_dates[-1]) + dt.timedelta(days=int(post_days[-1]) - 1)
    aligned = _Path(metric, post_dates, observed, cf, post_days, frequency,
                    _to_date(post_dates[0]), last)
    constant = bool((post_days == post_days[0]).all())
    info = {"metric": metric, "method": path.method, "unit": path.unit,
            "draws_in": n_in if path.draws is not None else 0,
            "post_dates": int(post_dates.size), "missing_observed": missing,
            "frequency": frequency, "step_days": int(post_days[0]) if constant else None}
    return aligned, info


def days_between(dates: np.ndarray, valuation: dt.date) -> np.ndarray:
    return (np.asarray(dates).astype("datetime64[D]")
            - np.datetime64(valuation, "D")).astype(int)


def excluded_dates(dates: np.ndarray, d: Damages) -> np.ndarray:
    """True on the dates of a period the case attributes to another cause."""
    day = np.asarray(dates).astype("datetime64[D]")
    out = np.zeros(day.size, dtype=bool)
    for period in d.exclude:
        out |= (day >= np.datetime64(period.start, "D")) & (day <= np.datetime64(period.end, "D"))
    return out


def _factors(days: np.ndarray, d: Damages) -> np.ndarray:
    return value_factors(days, d.discount_rate, d.discounting, d.past_losses, d.interest.kind,
                         d.interest.rate)


def _flow_component(pricing: CpmPricing | RateCardPricing, path: _Path, rate: np.ndarray,
                    elasticity: np.ndarray, cost: np.ndarray, scenarios: list[Persistence],
                    d: Damages, valuation: dt.date, notes: list[str]) -> list[ComponentDamages]:
    """A priced flow (CPM or rate card): data period, then one projection per scenario.

    Revenue is priced, valued and projected; the profit is revenue × (1 − cost
    ratio) draw by draw, the rest is the avoided cost.
    """
    lost = lost_at_elasticity(path.observed, path.counterfactual, elasticity)
    if isinstance(pricing, CpmPricing):
        dollars = price_cpm(lost, rate)
    else:
        dollars = price_rate_card(lost, rate, pricing.posts_per_month, path.period_days)
    excluded = excluded_dates(path.dates, d)
    if excluded.any():
        dollars = np.where(excluded[None, :], np.nan, dollars)  # another cause: adds nothing
    disc = _factors(days_between(path.dates, valuation), d)
    filled = np.nan_to_num(dollars, nan=0.0)
    pv_data = filled @ disc
    nominal_data = filled.sum(axis=1)
    n_last = anchor_periods(d, path)
    # per day: the projection runs day by day, so a month's loss is its days' losses
    anchor, used = anchor_amount(dollars, n_last, path.period_days)
    if used < n_last and any(p.kind != "none" for p in scenarios):
        notes.append(f"The projection of {pricing.label()} starts from the mean of {used} "
                     f"date(s), fewer than the {n_last} that anchor_days asks for.")
    keep = 1.0 - cost
    out = []
    for p in scenarios:
        n_days = p.days_after(path.last_date)
        factors = persistence_factors(p.kind, n_days, 1, p.half_life_days)
        ahead = (path.last_date - valuation).days + np.arange(1, n_days + 1)
        pdisc = _factors(ahead, d)
        pv_after = anchor * float(factors @ pdisc)
        out.append(ComponentDamages(
            name=pricing.label(), kind=pricing.kind, metric=pricing.metric,
            to_data_end=pv_data * keep, after_data_end=pv_after * keep,
            nominal_to_data_end=nominal_data * keep,
            nominal_after_data_end=anchor * factors.sum() * keep,
            stream=pricing.stream_name(), avoided_costs=(pv_data + pv_after) * cost,
        ))
    return out


def anchor_periods(d: Damages, path: _Path) -> int:
    """How many of the last dates anchor the projection: ``anchor`` in the series' own
    periods when it is stated in them, else the whole periods within ``anchor_days``
    (at least one; a nominal month of 30.44 days counts whole at 30)."""
    if d.anchor is not None:
        n, unit = parse_length(d.anchor, "anchor")
        if unit == path.frequency:
            return int(n)
    step = float(np.mean(path.period_days))
    return max(int(d.anchor_days / step + 0.05), 1)


def _contract_components(pricing: ContractPricing, rng: np.random.Generator, n: int,
                         event_date: dt.date | None, data_end: dt.date, d: Damages,
                         valuation: dt.date, parameters: dict) -> list[ComponentDamages]:
    out = []
    for c in pricing.contracts:
        start = c.start or event_date
        if start is None:
            raise DataError(f"contract {c.name!r} has no 'start' and there is no effect to "
                            "take the event date from; give the contract a 'start' date")
        bounds = None if c.value_low is None else (c.value_low, c.value_high)
        value = draw_values(rng, c.value, bounds, pricing.distribution, n)
        active = renewal_chain(rng, c.renewal_probability, c.terms, n)  # (n, terms)
        offsets, term, share = contract_cashflows(c.term_lengths(start), c.terms, c.schedule)
        days = (start - valuation).days + offsets
        disc = _factors(days, d)
        before = days <= (data_end - valuation).days
        lost = active * value[:, None]  # (n, terms) value lost per term

        def per_term(weights: np.ndarray, term: np.ndarray = term,
                     terms: int = c.terms) -> np.ndarray:
            return np.bincount(term, weights=weights, minlength=terms)

        out.append(ComponentDamages(
            name=f"{pricing.label()}: {c.name}", kind="contract", metric=None,
            to_data_end=lost @ per_term(share * disc * before),
            after_data_end=lost @ per_term(share * disc * ~before),
            nominal_to_data_end=lost @ per_term(share * before),
            nominal_after_data_end=lost @ per_term(share * ~before),
            stream=pricing.stream_name(),
        ))
        if bounds is not None:
            parameters[f"{pricing.label()}: {c.name}: value"] = value
    cost = draw_values(rng, pricing.cost_ratio, pricing.cost_range(), pricing.distribution, n)
    if pricing.cost_range() is not None:
        parameters[f"{pricing.label()}: cost ratio"] = cost
    if np.any(cost > 0):
        out = [ComponentDamages(
            name=c.name, kind=c.kind, metric=c.metric, to_data_end=c.to_data_end * (1 - cost),
            after_data_end=c.after_data_end * (1 - cost),
            nominal_to_data_end=c.nominal_to_data_end * (1 - cost),
            nominal_after_data_end=c.nominal_after_data_end * (1 - cost), stream=c.stream,
            avoided_costs=c.total * cost) for c in out]
    return out


def _flow_draws(pricing: CpmPricing | RateCardPricing, rng: np.random.Generator, n: int,
                parameters: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate, elasticity and cost ratio per draw, in that order from the entry's generator."""
    out = []
    for name, central, bounds in [
        ("rate", pricing.central_rate, pricing.rate_range()),
        ("elasticity", pricing.elasticity, pricing.elasticity_range()),
        ("cost ratio", pricing.cost_ratio, pricing.cost_range()),
    ]:
        x = draw_values(rng, central, bounds, pricing.distribution, n)
        if bounds is not None:
            parameters[f"{pricing.label()}: {name}"] = x
        out.append(x)
    return out[0], out[1], out[2]


def damages_from_case(case_damages: Damages, effects: dict[str, EffectPath], *, seed: int,
                      series: dict[str, MitigationSeries] | None = None) -> DamagesResult:
    """Price, project and value the subject's lost profit as the case's [damages] says.

    ``effects`` maps a metric name ("impressions", "followers", ...) to the
    subject's :class:`~butfor.results.EffectPath` for it, in the metric's own
    units; ``series`` maps each mitigation entry of kind "series" to its data.
    The same inputs and seed give the same result.
    """
    d = case_damages
    flows = [p for p in d.pricing if not isinstance(p, ContractPricing)]
    needed = sorted({p.metric for p in flows})
    for metric in needed:
        if metric not in effects:
            have = ", ".join(sorted(effects)) or "none"
            raise DataError(
                f"damages price the {metric!r} effect but no analysis estimated it (effects "
                f"available: {have}); add an analysis of {metric!r} or change the pricing metric"
            )
    counts = sorted({np.atleast_2d(effects[m].draws).shape[0] for m in needed
                     if effects[m].draws is not None})
    n = d.draws or max([*counts, DEFAULT_DRAWS])
    children = np.random.SeedSequence(seed).spawn(len(d.pricing) + 2)
    rngs = [np.random.default_rng(s) for s in children]
    # effects with the same number of draws share one index vector, so draws that came
    # from one joint model stay paired
    indices = {k: draw_indices(k, n, rngs[len(d.pricing)]) for k in counts if k not in (1, n)}

    notes: list[str] = []
    paths, inputs = {}, []
    for metric in needed:
        paths[metric], info = _align(effects[metric], metric, n, indices, notes)
        inputs.append(info)
    used = list(paths.values())
    event_date = min((p.event_date for p in used), default=None)
    data_end = max((p.last_date for p in used), default=None)
    valuation = d.valuation_date or data_end
    valuation_rule = ("stated in the case file" if d.valuation_date is not None
                      else "the last date of the data, as no valuation_date is stated")
    if valuation is None:
        dates = [c.start for p in d.pricing if isinstance(p, ContractPricing)
                 for c in p.contracts if c.start is not None]
        if not dates:
            raise DataError("damages from contracts alone need a 'valuation_date' or a "
                            "'start' for each contract")
        valuation = min(dates)
        valuation_rule = "the first contract's start, as no valuation_date is stated"
    data_end = data_end or valuation
    event_date = event_date or valuation
    observed_days = max(((p.last_date - p.event_date).days + 1 for p in used), default=0)
    horizon_warnings = check_horizons(d, observed_days) if used else []

    parameters: dict[str, np.ndarray] = {}
    by_scenario: list[list[ComponentDamages]] = [[] for _ in d.persistence]
    for i, pricing in enumerate(d.pricing):
        if isinstance(pricing, ContractPricing):
            comps = _contract_components(pricing, rngs[i], n, event_date if used else None,
                                         data_end, d, valuation, parameters)
            for row in by_scenario:
                row.extend(comps)
            continue
        rate, elasticity, cost = _flow_draws(pricing, rngs[i], n, parameters)
        comps = _flow_component(pricing, paths[pricing.metric], rate, elasticity, cost,
                                d.persistence, d, valuation, notes)
        for row, comp in zip(by_scenario, comps, strict=True):
            row.append(comp)

    mitigated = mitigation_draws(d, rngs[-1], n, event_date, data_end, valuation, series or {},
                                 lambda days: _factors(days, d), parameters)
    scenarios = []
    for p, comps, mit in zip(d.persistence, by_scenario, mitigated, strict=True):
        total = sum((c.total for c in comps), start=np.zeros(n)) - mit
        scenarios.append(ScenarioDamages(
            name=p.label(), persistence=p.model_dump(), draws=total, components=tuple(comps),
            mitigation_draws=mit, amount_claimed=d.amount_claimed,
        ))
    for period in d.exclude:
        notes.append(f"Losses from {period.start} to {period.end} are left out: the case "
                     f"attributes them to {period.cause}.")
    if any(math.isnan(s.mean) for s in scenarios):
        raise DataError("damages came out undefined (NaN); check the effect draws for NaN")
    headline, rule = choose_headline(scenarios, d.headline)
    assumptions = assumptions_of(d, valuation, valuation_rule)
    unsourced = [a["name"] for a in assumptions if not a["source"]]
    if unsourced:
        notes.append(f"{len(unsourced)} assumption(s) have no stated source: "
                     f"{', '.join(unsourced)}.")
    return DamagesResult(
        currency=d.currency, valuation_date=valuation, event_date=event_date,
        data_end=data_end, discount_rate=d.discount_rate, discounting=d.discounting,
        past_losses=d.past_losses, mitigation=d.mitigation_at_valuation,
        amount_claimed=d.amount_claimed, anchor_days=d.anchor_days, n_draws=n, seed=seed,
        scenarios=tuple(scenarios), inputs=tuple(inputs), parameters=parameters,
        notes=tuple(notes), headline=headline, headline_rule=rule,
        valuation_rule=valuation_rule, interest=d.interest.model_dump(),
        assumptions=tuple(assumptions), warnings=tuple(horizon_warnings),
    )
