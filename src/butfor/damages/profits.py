"""From lost revenue to lost profit: mitigation found elsewhere, and what each figure rests on.

Avoided costs are applied per income stream in :mod:`butfor.damages.pricing`
(lost profit = lost revenue × (1 − cost ratio), the ratio drawn per draw).
Here: mitigation as dated amounts or as an off-platform series priced, each
valued to the valuation date like the losses and counted only within a
scenario's horizon; and :func:`assumptions_of`, the table of every assumption
with its source that the exhibit prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from butfor.case_damages import ContractPricing, Damages, Mitigation, RateCardPricing
from butfor.damages.arithmetic import draw_values
from butfor.errors import DataError


@dataclass(frozen=True)
class MitigationSeries:
    """The data behind a mitigation of kind "series": the unit's dates and values."""

    dates: np.ndarray  # datetime64[D]
    values: np.ndarray  # the metric's own units (pageviews, views on another platform)
    unit: str = ""
    metric: str = ""


def _offsets(dates: np.ndarray, valuation: dt.date) -> np.ndarray:
    return (np.asarray(dates).astype("datetime64[D]")
            - np.datetime64(valuation, "D")).astype(int)


def mitigation_weights(m: Mitigation, event_date: dt.date, data_end: dt.date,
                       valuation: dt.date, series: dict[str, MitigationSeries]
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """(days from the valuation date, units per day, central value) of one mitigation entry.

    Each draw's mitigation on a day is value × units: for an amount, value is
    the total and units 1 / number of days (spread evenly, both ends
    included); for a series, value is the rate per thousand and units the
    day's rise above the pre-event baseline / 1000 (a day below it gives 0).
    """
    start = m.start or event_date
    if m.kind == "amount":
        end = m.end or data_end
        days = np.arange((start - valuation).days, (end - valuation).days + 1)
        return days, np.full(days.size, 1.0 / days.size), float(m.amount or 0.0)
    s = series.get(m.name)
    if s is None:
        raise DataError(f"mitigation {m.name!r} prices the series {m.metric!r}, which is not "
                        "in the data for that unit; ingest it or give the mitigation as an "
                        "'amount'")
    dates = np.asarray(s.dates).astype("datetime64[D]")
    values = np.asarray(s.values, dtype=float)
    first = np.datetime64(start, "D")
    # a date stands for its period up to the next date: a month before the event is in
    # the baseline when any of its days are (on daily data: the baseline_days before)
    ends = np.append(dates[1:], dates[-1:] + (dates[-1] - dates[-2] if dates.size > 1 else 1))
    before = (dates < first) & (ends > first - m.baseline_days)
    if not np.isfinite(values[before]).any():
        raise DataError(f"mitigation {m.name!r}: the series {m.metric!r} has no values in the "
                        f"{m.baseline_days} days before {start} to set its baseline; lower "
                        "'baseline_days' or give the mitigation as an 'amount'")
    baseline = float(np.nanmean(values[before]))
    end = np.datetime64(m.end or data_end, "D")
    inside = (dates >= first) & (dates <= end)
    rise = np.nan_to_num(np.maximum(values[inside] - baseline, 0.0), nan=0.0)
    return _offsets(dates[inside], valuation), rise / 1000.0, float(m.rate or 0.0)


def mitigation_draws(d: Damages, rng: np.random.Generator, n: int, event_date: dt.date,
                     data_end: dt.date, valuation: dt.date,
                     series: dict[str, MitigationSeries],
                     factors: Callable[[np.ndarray], np.ndarray],
                     parameters: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Present value of the mitigation per draw, one array (n,) per persistence scenario.

    An amount dated after the data end counts only within the scenario's
    horizon (none for "to the end of the data"). The single-amount form
    (``mitigation = 5000``) is in dollars at the valuation date, in every scenario.
    """
    out = [np.full(n, d.mitigation_at_valuation) for _ in d.persistence]
    last = (data_end - valuation).days
    for m in d.mitigation_entries:
        days, units, central = mitigation_weights(m, event_date, data_end, valuation, series)
        value = draw_values(rng, central, m.value_range(), m.distribution, n)
        if m.value_range() is not None:
            parameters[f"mitigation: {m.name}: {'amount' if m.kind == 'amount' else 'rate'}"] = value
        weighted = units * factors(days)
        for k, p in enumerate(d.persistence):
            horizon = p.days_after(data_end)
            out[k] = out[k] + value * float(weighted[days <= last + horizon].sum())
    return out


def _row(name: str, value, source: str, low=None, high=None, distribution=None,
         note: str = "") -> dict:
    return {"name": name, "value": value, "low": low, "high": high,
            "distribution": distribution if low is not None else None,
            "source": source, "note": note}


def assumptions_of(d: Damages, valuation: dt.date, valuation_rule: str) -> list[dict]:
    """Every assumption the damages rest on, with its range and its source ("" if none given)."""
    rows = []
    for p in d.pricing:
        label = p.label()
        if isinstance(p, ContractPricing):
            for c in p.contracts:
                rows.append(_row(f"{label}: {c.name}: value per term", c.value, c.source,
                                 c.value_low, c.value_high, p.distribution))
                rows.append(_row(f"{label}: {c.name}: renewal probability",
                                 c.renewal_probability, c.source))
        else:
            lo_hi = p.rate_range() or (None, None)
            unit = "per thousand " + p.metric if not isinstance(p, RateCardPricing) else \
                f"per thousand {p.metric} per sponsored post, {p.posts_per_month:g} a month"
            rows.append(_row(f"{label}: rate ({unit})", p.central_rate, p.source, *lo_hi,
                             p.distribution))
            el = p.elasticity_range() or (None, None)
            rows.append(_row(f"{label}: fee-versus-reach elasticity", p.elasticity,
                             p.elasticity_source, *el, p.distribution,
                             "1 = fees proportional to reach (the default)"))
        cr = p.cost_range() or (None, None)
        rows.append(_row(f"{label}: avoided-cost ratio", p.cost_ratio, p.cost_source, *cr,
                         p.distribution, "share of lost revenue that would have been spent"))
    for s in d.persistence:
        rows.append(_row(f"persistence: {s.label()}", s.kind, s.source,
                         note=s.override_reason or ""))
    rows.append(_row("discount rate (future losses)", d.discount_rate, d.discount_source,
                     note=d.discounting))
    if d.interest.kind != "none":
        rows.append(_row(f"prejudgment interest ({d.interest.kind})", d.interest.rate,
                         d.interest.source))
    elif d.past_losses == "compounded":
        rows.append(_row("prejudgment interest (compounded at the discount rate)",
                         d.discount_rate, d.discount_source))
    for m in d.mitigation_entries:
        lo_hi = m.value_range() or (None, None)
        what = "amount" if m.kind == "amount" else f"rate per thousand {m.metric}"
        rows.append(_row(f"mitigation: {m.name} ({what})",
                         m.amount if m.kind == "amount" else m.rate, m.source, *lo_hi,
                         m.distribution))
    rows.append(_row("valuation date", valuation.isoformat(), valuation_rule))
    return rows
