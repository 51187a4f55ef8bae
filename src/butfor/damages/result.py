"""The damages' frozen results: per component, per scenario, and for the case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


def quantiles(x: np.ndarray) -> dict[str, float]:
    """Quantiles keyed by percent, as the report and the claims read them: "5", "50", "2.5"."""
    values = np.quantile(x, QUANTILES)
    return {f"{100 * q:g}": float(v) for q, v in zip(QUANTILES, values, strict=True)}


def brief(x: np.ndarray) -> dict:
    q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
    return {"mean": float(np.mean(x)), "q05": float(q05), "median": float(q50),
            "q95": float(q95)}


@dataclass(frozen=True)
class ComponentDamages:
    """One pricing model's (or one contract's) share of the damages, draw by draw.

    ``to_data_end`` and ``after_data_end`` are present values (shape
    (n_draws,)) of the lost profit dated up to the last date of the data and
    after it; the ``nominal_`` arrays are the same before discounting;
    ``avoided_costs`` is the present value of the costs the lost revenue would
    have carried (revenue = profit + avoided costs).
    """

    name: str
    kind: str
    metric: str | None
    to_data_end: np.ndarray
    after_data_end: np.ndarray
    nominal_to_data_end: np.ndarray
    nominal_after_data_end: np.ndarray
    stream: str = ""
    avoided_costs: np.ndarray | None = None

    @property
    def total(self) -> np.ndarray:
        return self.to_data_end + self.after_data_end

    @property
    def revenue(self) -> np.ndarray:
        return self.total if self.avoided_costs is None else self.total + self.avoided_costs

    def to_dict(self, include_draws: bool = False) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "stream": self.stream or self.name,
            "to_data_end": brief(self.to_data_end),
            "after_data_end": brief(self.after_data_end),
            "total": brief(self.total),
            "revenue": brief(self.revenue),
            "avoided_costs_mean": float(np.mean(self.revenue - self.total)),
            "nominal_to_data_end_mean": float(np.mean(self.nominal_to_data_end)),
            "nominal_after_data_end_mean": float(np.mean(self.nominal_after_data_end)),
        }
        if include_draws:
            out["draws"] = {"to_data_end": self.to_data_end,
                            "after_data_end": self.after_data_end}
        return out


@dataclass(frozen=True)
class ScenarioDamages:
    """Damages under one persistence scenario: present value less mitigation, per draw."""

    name: str
    persistence: dict
    draws: np.ndarray
    components: tuple[ComponentDamages, ...]
    mitigation_draws: np.ndarray
    amount_claimed: float | None

    @property
    def mitigation(self) -> float:
        """Mean present value of the mitigation subtracted."""
        return float(np.mean(self.mitigation_draws))

    @property
    def mean(self) -> float:
        return float(np.mean(self.draws))

    @property
    def median(self) -> float:
        return float(np.median(self.draws))

    @property
    def sd(self) -> float:
        return float(np.std(self.draws, ddof=1)) if self.draws.size > 1 else 0.0

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        out = np.quantile(self.draws, q)
        return float(out) if np.ndim(out) == 0 else out

    def prob_at_least(self, amount: float) -> float:
        """Share of draws whose damages reach ``amount``."""
        return float(np.mean(self.draws >= amount))

    def percentile_of(self, amount: float) -> float:
        """Where ``amount`` sits: the percentage of draws below it (= 100 × (1 − P(≥ amount)))."""
        return float(100.0 * np.mean(self.draws < amount))

    @property
    def prob_positive(self) -> float:
        return float(np.mean(self.draws > 0))

    def lower_bound(self, level: float = 0.95) -> float:
        """One-sided lower bound: damages exceed it in a share ``level`` of draws."""
        return float(np.quantile(self.draws, 1 - level))

    def amount_figures(self, amount: float) -> dict:
        """The figures a 'claimed_amount' claim needs: how likely X is, where it sits."""
        return {
            "amount": float(amount),
            "p_reaching_amount": self.prob_at_least(amount),
            "draws_reaching_amount": int(np.sum(self.draws >= amount)),
            "amount_percentile": self.percentile_of(amount),
            "median": self.quantile(0.5),
            "q05": self.quantile(0.05),
            "q95": self.quantile(0.95),
        }

    def loss_figures(self, level: float = 0.95) -> dict:
        """The figures an 'income_loss' claim needs: is the lower bound above zero?"""
        bound = self.lower_bound(level)
        return {
            "level": level,
            "lower_bound": bound,
            "lower_bound_above_zero": bool(bound > 0),
            "probability_positive": self.prob_positive,
            "mean": self.mean,
            "median": self.quantile(0.5),
        }

    def streams(self) -> dict[str, np.ndarray]:
        """Lost profit per income stream (components sharing a stream added draw by draw)."""
        out: dict[str, np.ndarray] = {}
        for c in self.components:
            key = c.stream or c.name
            out[key] = out.get(key, 0.0) + c.total
        return out

    def to_dict(self, include_draws: bool = False, amounts: tuple[float, ...] = (),
                bins: int = 30) -> dict:
        """Summary figures; ``amounts`` adds :meth:`amount_figures` for each (claims' amounts)."""
        counts, edges = np.histogram(self.draws, bins=bins)
        claimed = self.amount_claimed
        revenue = sum((c.revenue for c in self.components), start=np.zeros(self.draws.size))
        profit = sum((c.total for c in self.components), start=np.zeros(self.draws.size))
        out = {
            "name": self.name,
            "persistence": self.persistence,
            "mean": self.mean,
            "sd": self.sd,
            "quantiles": quantiles(self.draws),
            "probability_positive": self.prob_positive,
            "lower_bound_95": self.lower_bound(0.95),
            "mitigation": self.mitigation,
            "mitigation_range": brief(self.mitigation_draws),
            "revenue_lost": brief(revenue),
            "avoided_costs": brief(revenue - profit),
            "profit_lost": brief(profit),
            "streams": [{"stream": k, **brief(v)} for k, v in self.streams().items()],
            "components": [c.to_dict(include_draws) for c in self.components],
            "amount_claimed": claimed,
            "p_reaching_claim": None if claimed is None else self.prob_at_least(claimed),
            "draws_reaching_claim": None if claimed is None
            else int(np.sum(self.draws >= claimed)),
            "claim_percentile": None if claimed is None else self.percentile_of(claimed),
            "amounts": [self.amount_figures(x) for x in amounts],
            "histogram": {"edges": edges, "counts": counts},
        }
        if include_draws:
            out["draws"] = self.draws
        return out


@dataclass(frozen=True)
class DamagesResult:
    """Damages under every persistence scenario; ``headline`` names the one reported first."""

    currency: str
    valuation_date: dt.date
    event_date: dt.date
    data_end: dt.date
    discount_rate: float
    discounting: str
    past_losses: str
    mitigation: float
    amount_claimed: float | None
    anchor_days: int
    n_draws: int
    seed: int
    scenarios: tuple[ScenarioDamages, ...]
    inputs: tuple[dict, ...] = ()
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    headline: str = ""
    headline_rule: str = ""
    valuation_rule: str = ""
    interest: dict = field(default_factory=dict)
    assumptions: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = ()  # what an expert must not miss (a horizon far past the data)

    @property
    def primary(self) -> ScenarioDamages:
        """The headline scenario (by the stated rule, not by its place in the case file)."""
        return self.scenario(self.headline) if self.headline else self.scenarios[0]

    def scenario(self, name: str) -> ScenarioDamages:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(f"no damages scenario named {name!r}")

    def to_dict(self, include_draws: bool = False, amounts: tuple[float, ...] = ()) -> dict:
        """JSON-ready figures; draws only when asked; ``amounts`` as in ScenarioDamages."""
        params = {}
        for name, x in self.parameters.items():
            params[name] = brief(x)
            if include_draws:
                params[name]["draws"] = x
        return {
            "currency": self.currency,
            "valuation_date": self.valuation_date,
            "valuation_rule": self.valuation_rule,
            "event_date": self.event_date,
            "data_end": self.data_end,
            "discount_rate": self.discount_rate,
            "discounting": self.discounting,
            "past_losses": self.past_losses,
            "interest": self.interest,
            "mitigation": self.mitigation,
            "amount_claimed": self.amount_claimed,
            "anchor_days": self.anchor_days,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "headline": self.primary.name,
            "headline_rule": self.headline_rule,
            "scenarios": [s.to_dict(include_draws, amounts) for s in self.scenarios],
            "assumptions": list(self.assumptions),
            "inputs": list(self.inputs),
            "parameters": params,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }
