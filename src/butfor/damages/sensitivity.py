"""How far the damages move with each assumption, and with the method: nothing refitted.

One-way (tornado): the headline scenario's median with one assumption set to
its low and then its high value, every other assumption as stated (drawn as
usual), on the very same counterfactual draws and seed. The low and high are
the stated range; where none is stated, a conventional one, named in the
row (rates ±25%, elasticity 0.5 to 1.5, cost ratio +0.3, discount and
interest rates 0 to twice the stated one, horizon ×0.5 to ×1.5, half-life
×0.5 to ×2). The distribution per method prices each method's own
counterfactual draws for the first priced event, over that analysis' own
window.
"""

from __future__ import annotations

import numpy as np

from butfor.case_damages import ContractPricing, CpmPricing, Damages, RateCardPricing
from butfor.damages.pricing import damages_from_case
from butfor.damages.result import DamagesResult

RATE_SPAN = 0.25


def _headline_only(d: Damages, result: DamagesResult) -> Damages:
    head = next(p for p in d.persistence if p.label() == result.primary.name)
    return d.model_copy(update={"persistence": [head], "headline": None})


def _median(d: Damages, effects: dict, seed: int, series: dict | None) -> float:
    return damages_from_case(d, effects, seed=seed, series=series).scenarios[0].median


def _with_pricing(d: Damages, i: int, **update) -> Damages:
    pricing = list(d.pricing)
    pricing[i] = pricing[i].model_copy(update=update)
    return d.model_copy(update={"pricing": pricing})


def _variants(d: Damages) -> list[tuple[str, str, tuple[float, float], tuple[Damages, Damages]]]:
    """(assumption, basis, (low, high), (case at low, case at high)) for each assumption."""
    out = []
    for i, p in enumerate(d.pricing):
        if isinstance(p, ContractPricing):
            continue
        label = p.label()
        key = "rate" if isinstance(p, CpmPricing) else "dollars_per_thousand"
        fixed = {f"{key}_low": None, f"{key}_high": None}
        if isinstance(p, RateCardPricing):
            fixed["uncertainty"] = 0.0
        span = p.rate_range()
        basis = "stated range" if span else f"±{RATE_SPAN:.0%} (no range stated)"
        lo, hi = span or (p.central_rate * (1 - RATE_SPAN), p.central_rate * (1 + RATE_SPAN))
        out.append((f"{label}: rate", basis, (lo, hi),
                    (_with_pricing(d, i, **{key: lo}, **fixed),
                     _with_pricing(d, i, **{key: hi}, **fixed))))
        span = p.elasticity_range()
        lo, hi = span or (0.5, 1.5)
        none = {"elasticity_low": None, "elasticity_high": None}
        out.append((f"{label}: fee-versus-reach elasticity",
                    "stated range" if span else "0.5 to 1.5 (no range stated)", (lo, hi),
                    (_with_pricing(d, i, elasticity=lo, **none),
                     _with_pricing(d, i, elasticity=hi, **none))))
        span = p.cost_range()
        lo, hi = span or (p.cost_ratio, min(p.cost_ratio + 0.3, 0.95))
        none = {"cost_ratio_low": None, "cost_ratio_high": None}
        out.append((f"{label}: avoided-cost ratio",
                    "stated range" if span else "+0.3 (no range stated)", (lo, hi),
                    (_with_pricing(d, i, cost_ratio=lo, **none),
                     _with_pricing(d, i, cost_ratio=hi, **none))))
    r = d.discount_rate
    hi = 2 * r if r > 0 else 0.05
    out.append(("discount rate", "0 to twice the stated rate" if r > 0 else "0 to 5%",
                (0.0, hi), (d.model_copy(update={"discount_rate": 0.0}),
                            d.model_copy(update={"discount_rate": hi}))))
    if d.interest.kind != "none":
        ir = d.interest.rate
        out.append(("prejudgment interest rate", "0 to twice the stated rate", (0.0, 2 * ir),
                    tuple(d.model_copy(update={"interest": d.interest.model_copy(
                        update={"rate": x})}) for x in (0.0, 2 * ir))))
    (head,) = d.persistence
    if head.kind != "none":
        lo, hi = max(1, round(head.horizon_days * 0.5)), round(head.horizon_days * 1.5)
        out.append(("horizon (days)", "×0.5 to ×1.5", (lo, hi),
                    tuple(d.model_copy(update={"persistence": [head.model_copy(
                        update={"horizon_days": x, "horizon": None})]}) for x in (lo, hi))))
    if head.kind == "half_life":
        lo, hi = head.half_life_days * 0.5, head.half_life_days * 2
        out.append(("half-life (days)", "×0.5 to ×2", (lo, hi),
                    tuple(d.model_copy(update={"persistence": [head.model_copy(
                        update={"half_life_days": x, "half_life": None})]})
                    for x in (lo, hi))))
    return out


def one_way(d: Damages, effects: dict, result: DamagesResult, *, seed: int,
            series: dict | None = None) -> dict:
    """The tornado table: the headline median at each assumption's low and high."""
    base = _headline_only(d, result)
    rows = []
    for name, basis, (lo, hi), (at_lo, at_hi) in _variants(base):
        m_lo = _median(at_lo, effects, seed, series)
        m_hi = _median(at_hi, effects, seed, series)
        rows.append({"assumption": name, "basis": basis, "low": float(lo), "high": float(hi),
                     "median_at_low": m_lo, "median_at_high": m_hi,
                     "swing": abs(m_hi - m_lo)})
    rows.sort(key=lambda r: -r["swing"])
    return {"scenario": result.primary.name, "median": result.primary.median, "rows": rows}


def by_method(case, d: Damages, effects: dict, analyses: list, draws: dict,
              result: DamagesResult, *, seed: int, series: dict | None, find,
              date: str) -> list[dict]:
    """The headline scenario's damages priced on each method's own counterfactual draws."""
    metric = case.outcome.metric
    if metric not in effects:
        return []
    base = _headline_only(d, result)
    out = []
    for method in ("sts", "prepost", "sdid", "synthetic_control"):
        effect = find(analyses, draws, method, metric, case.subject.unit, date)
        if effect is None:
            continue
        priced = damages_from_case(base, {**effects, metric: effect}, seed=seed,
                                   series=series)
        s = priced.scenarios[0]
        dates = np.asarray(effect.dates).astype("datetime64[D]")
        out.append({"method": method, "window_start": str(dates[effect.event_index]),
                    "window_end": str(dates[-1]), "median": s.median,
                    "q05": s.quantile(0.05), "q95": s.quantile(0.95),
                    "histogram": s.to_dict()["histogram"]})
    return out
