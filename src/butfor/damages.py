"""Damages: lost reach priced, projected past the data, discounted, mitigation subtracted.

The structure is that of lost profits: what the account would have earned but
for the event, minus what it did earn, carried past the data under a stated
persistence, brought to present value at a stated date, less income found
elsewhere. Every step works draw by draw, so the uncertainty of the
counterfactual (a posterior, a bootstrap or a placebo distribution) and of the
prices carries into the dollars.

Conventions (the report repeats them):

- **Lost quantity** = counterfactual − observed on each post-period date, for
  each counterfactual draw. A negative loss (the account did better than its
  counterfactual) is kept, not clipped, so damages can be negative and their
  distribution is not pushed upwards. A date with no observed value adds
  nothing (a warning says how many).
- **Cost per thousand (CPM)**: dollars = lost impressions (or views) × rate / 1000.
- **Rate card**: a sponsored post is priced dollars_per_thousand × metric /
  1000 (followers, or engagements per post); a month is 365/12 days, so a
  date that stands for ``step_days`` days loses
  lost × dollars_per_thousand / 1000 × posts_per_month × 12 / 365 × step_days.
- **Uncertain prices**: a rate (or contract value) with a low and a high is
  drawn once per damages draw, triangular(low, stated, high) or
  uniform(low, high), and the same draw is used on every date and in every
  persistence scenario (scenarios are compared draw for draw).
- **Contracts**: term k of a contract (k = 1..terms) is lost only if it would
  have gone ahead: one Bernoulli(renewal_probability) per term per draw,
  chained, so term k is lost with probability p^k. A term pays its value
  evenly day by day over ``term_days`` ("spread") or in full on its first day
  ("start"). Contracts are stated, not projected: they are the same in every
  persistence scenario.
- **Projection**: the *anchor* is the mean lost dollars per date over the last
  ``anchor_days`` of data (dates with an observation only). The date h steps
  after the last date (h = 1 .. horizon_days / step_days) loses
  anchor × 0.5^(h × step_days / half_life_days) ("half_life") or the anchor
  itself ("constant"); "none" stops at the end of the data.
- **Discounting** at annual rate r to the valuation date (default: the last
  date of the data). A cash flow d days after it is divided by
  (1 + r)^(d / 365) ("daily"), (1 + r)^ceil(d / 365) ("end_of_year": every
  amount in year k is discounted k whole years) or (1 + r)^(ceil(d / 365) − ½)
  ("mid_year"). Amounts on or before the valuation date count at face value
  ("nominal"), or grow by (1 + r)^(days before / 365) ("compounded", interest
  on past losses at the same rate).
- **Mitigation**: income found elsewhere, in dollars at the valuation date,
  subtracted from every draw.

The arithmetic is in pure functions over numpy arrays (:func:`lost_quantity`,
:func:`price_cpm`, :func:`price_rate_card`, :func:`anchor_amount`,
:func:`persistence_factors`, :func:`discount_factors`,
:func:`contract_cashflows`, :func:`renewal_chain`, :func:`draw_values`);
:func:`damages_from_case` reads the case's ``[damages]`` section and the
effect paths and returns a frozen :class:`DamagesResult`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from butfor.case import ContractPricing, CpmPricing, Damages, Persistence, RateCardPricing
from butfor.errors import AssumptionWarning, ButforWarning, DataError
from butfor.results import EffectPath

DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12
DEFAULT_DRAWS = 4000  # at least this many damages draws, unless the case says 'draws'
QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)

Distribution = Literal["triangular", "uniform"]
Convention = Literal["daily", "end_of_year", "mid_year"]
PastLosses = Literal["nominal", "compounded"]


# ---------------------------------------------------------------------------
# pure arithmetic
def lost_quantity(observed: np.ndarray, counterfactual_draws: np.ndarray) -> np.ndarray:
    """Counterfactual − observed, shape (n_draws, n_dates); NaN where either is missing."""
    observed = np.asarray(observed, dtype=float)
    draws = np.atleast_2d(np.asarray(counterfactual_draws, dtype=float))
    if draws.shape[1] != observed.shape[0]:
        raise DataError(
            f"counterfactual draws cover {draws.shape[1]} dates but the observed series "
            f"{observed.shape[0]}; the draws must be the post period only"
        )
    return draws - observed[None, :]


def draw_values(rng: np.random.Generator, central: float, bounds: tuple[float, float] | None,
                distribution: Distribution, n: int) -> np.ndarray:
    """``n`` draws of an uncertain price: triangular(low, central, high) or uniform(low, high).

    Without bounds the price is certain and every draw is ``central``. The
    generator is used only when there are bounds.
    """
    if bounds is None:
        return np.full(n, float(central))
    low, high = float(bounds[0]), float(bounds[1])
    if low == high:
        return np.full(n, low)
    if distribution == "triangular":
        return rng.triangular(low, float(central), high, size=n)
    if distribution == "uniform":
        return rng.uniform(low, high, size=n)
    raise ValueError(f"unknown distribution {distribution!r}")


def price_cpm(lost: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Dollars per date: lost impressions (n_draws, n_dates) × rate per thousand (n_draws,)."""
    rate = np.asarray(rate, dtype=float)
    return np.asarray(lost, dtype=float) * (rate[..., None] if rate.ndim else rate) / 1000.0


def price_rate_card(lost: np.ndarray, dollars_per_thousand: np.ndarray | float,
                    posts_per_month: float, step_days: int = 1) -> np.ndarray:
    """Dollars per date from a rate card.

    A post is priced ``dollars_per_thousand`` × metric / 1000, so a gap of
    ``lost`` in the metric costs lost × dollars_per_thousand / 1000 per post;
    posts per day are posts_per_month × 12 / 365, and a date stands for
    ``step_days`` days.
    """
    rate = np.asarray(dollars_per_thousand, dtype=float)
    rate = rate[..., None] if rate.ndim else rate
    posts_per_day = posts_per_month * MONTHS_PER_YEAR / DAYS_PER_YEAR
    return np.asarray(lost, dtype=float) * rate / 1000.0 * posts_per_day * step_days


def anchor_amount(amounts: np.ndarray, n_last: int) -> tuple[np.ndarray, int]:
    """Mean of each draw's last ``n_last`` dates that have a value; returns (anchor, dates used).

    Dates with NaN are skipped; a draw with no value in the window has anchor 0.
    """
    amounts = np.atleast_2d(np.asarray(amounts, dtype=float))
    window = amounts[:, -max(int(n_last), 1):]
    ok = ~np.isnan(window)
    count = ok.sum(axis=1)
    total = np.where(ok, window, 0.0).sum(axis=1)
    anchor = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return anchor, int(count.max(initial=0))


def persistence_factors(kind: str, n_steps: int, step_days: int = 1,
                        half_life_days: float | None = None) -> np.ndarray:
    """Share of the anchor lost h steps after the data ends, h = 1..n_steps."""
    if kind == "none":
        return np.zeros(0)
    h = np.arange(1, n_steps + 1, dtype=float)
    if kind == "constant":
        return np.ones(n_steps)
    if kind == "half_life":
        if half_life_days is None or half_life_days <= 0:
            raise ValueError("a half-life persistence needs half_life_days > 0")
        return 0.5 ** (h * step_days / half_life_days)
    raise ValueError(f"unknown persistence {kind!r}")


def discount_factors(days: np.ndarray, rate: float, convention: Convention = "daily",
                     past: PastLosses = "nominal") -> np.ndarray:
    """Present-value factor for cash flows ``days`` after the valuation date (negative: before)."""
    days = np.asarray(days, dtype=float)
    growth = 1.0 + float(rate)
    ahead = np.maximum(days, 0.0)
    if convention == "daily":
        exponent = ahead / DAYS_PER_YEAR
    elif convention == "end_of_year":
        exponent = np.ceil(ahead / DAYS_PER_YEAR)
    elif convention == "mid_year":
        exponent = np.maximum(np.ceil(ahead / DAYS_PER_YEAR) - 0.5, 0.0)
    else:
        raise ValueError(f"unknown discounting convention {convention!r}")
    factor = np.where(days > 0, growth ** -exponent, 1.0)
    if past == "compounded":
        factor = np.where(days < 0, growth ** (-days / DAYS_PER_YEAR), factor)
    elif past != "nominal":
        raise ValueError(f"unknown treatment of past losses {past!r}")
    return factor


def contract_cashflows(term_days: int, terms: int,
                       schedule: Literal["spread", "start"]) -> tuple[np.ndarray, ...]:
    """Cash flows of one unit of value per term: (day offset from start, term index, share)."""
    if schedule == "spread":
        offsets = np.arange(terms * term_days)
        return offsets, offsets // term_days, np.full(offsets.size, 1.0 / term_days)
    if schedule == "start":
        term = np.arange(terms)
        return term * term_days, term, np.ones(terms)
    raise ValueError(f"unknown contract schedule {schedule!r}")


def renewal_chain(rng: np.random.Generator, probability: float, terms: int,
                  n: int) -> np.ndarray:
    """(n, terms) of 0/1: term k is lost only if terms 1..k all would have gone ahead."""
    if probability >= 1:
        return np.ones((n, terms))
    if probability <= 0:
        return np.zeros((n, terms))
    go = rng.random((n, terms)) < probability
    return np.cumprod(go, axis=1).astype(float)


# ---------------------------------------------------------------------------
# results
def _quantiles(x: np.ndarray) -> dict[str, float]:
    """Quantiles keyed by percent, as the report and the claims read them: "5", "50", "2.5"."""
    values = np.quantile(x, QUANTILES)
    return {f"{100 * q:g}": float(v) for q, v in zip(QUANTILES, values, strict=True)}


def _brief(x: np.ndarray) -> dict:
    q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
    return {"mean": float(np.mean(x)), "q05": float(q05), "median": float(q50),
            "q95": float(q95)}


@dataclass(frozen=True)
class ComponentDamages:
    """One pricing model's (or one contract's) share of the damages, draw by draw.

    ``to_data_end`` and ``after_data_end`` are present values (shape
    (n_draws,)) of the losses dated up to the last date of the data and after
    it; the ``nominal_`` arrays are the same before discounting.
    """

    name: str
    kind: str
    metric: str | None
    to_data_end: np.ndarray
    after_data_end: np.ndarray
    nominal_to_data_end: np.ndarray
    nominal_after_data_end: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.to_data_end + self.after_data_end

    def to_dict(self, include_draws: bool = False) -> dict:
        out = {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "to_data_end": _brief(self.to_data_end),
            "after_data_end": _brief(self.after_data_end),
            "total": _brief(self.total),
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
    mitigation: float
    amount_claimed: float | None

    @property
    def mean(self) -> float:
        return float(np.mean(self.draws))

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

    def to_dict(self, include_draws: bool = False, amounts: tuple[float, ...] = (),
                bins: int = 30) -> dict:
        """Summary figures; ``amounts`` adds :meth:`amount_figures` for each (claims' amounts)."""
        counts, edges = np.histogram(self.draws, bins=bins)
        claimed = self.amount_claimed
        out = {
            "name": self.name,
            "persistence": self.persistence,
            "mean": self.mean,
            "sd": self.sd,
            "quantiles": _quantiles(self.draws),
            "probability_positive": self.prob_positive,
            "lower_bound_95": self.lower_bound(0.95),
            "mitigation": self.mitigation,
            "components": [c.to_dict(include_draws) for c in self.components],
            "amount_claimed": claimed,
            "p_reaching_claim": None if claimed is None else self.prob_at_least(claimed),
            "claim_percentile": None if claimed is None else self.percentile_of(claimed),
            "amounts": [self.amount_figures(x) for x in amounts],
            "histogram": {"edges": edges, "counts": counts},
        }
        if include_draws:
            out["draws"] = self.draws
        return out


@dataclass(frozen=True)
class DamagesResult:
    """Damages under every persistence scenario; the first scenario is the headline."""

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

    @property
    def primary(self) -> ScenarioDamages:
        return self.scenarios[0]

    def scenario(self, name: str) -> ScenarioDamages:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(f"no damages scenario named {name!r}")

    def to_dict(self, include_draws: bool = False, amounts: tuple[float, ...] = ()) -> dict:
        """JSON-ready figures; draws only when asked; ``amounts`` as in ScenarioDamages."""
        params = {}
        for name, x in self.parameters.items():
            params[name] = _brief(x)
            if include_draws:
                params[name]["draws"] = x
        return {
            "currency": self.currency,
            "valuation_date": self.valuation_date,
            "event_date": self.event_date,
            "data_end": self.data_end,
            "discount_rate": self.discount_rate,
            "discounting": self.discounting,
            "past_losses": self.past_losses,
            "mitigation": self.mitigation,
            "amount_claimed": self.amount_claimed,
            "anchor_days": self.anchor_days,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "scenarios": [s.to_dict(include_draws, amounts) for s in self.scenarios],
            "inputs": list(self.inputs),
            "parameters": params,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------
# from the case file
@dataclass(frozen=True)
class _Path:
    """One metric's post period, aligned to the damages draws."""

    metric: str
    dates: np.ndarray  # datetime64[D], post period
    lost: np.ndarray  # (n_draws, n_post)
    step_days: int
    event_date: dt.date
    last_date: dt.date


def _to_date(x: np.datetime64) -> dt.date:
    return np.datetime64(x, "D").astype(dt.date)


def _step_days(dates: np.ndarray, metric: str) -> int:
    if dates.size < 2:
        return 1
    steps = np.unique(np.diff(dates).astype("timedelta64[D]").astype(int))
    if steps.size != 1 or steps[0] <= 0:
        raise DataError(
            f"the {metric!r} effect has irregular dates (steps of {sorted(steps.tolist())} "
            "days); damages need a daily or weekly series with missing dates as NaN"
        )
    return int(steps[0])


def draw_indices(n_in: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices that spread ``n`` damages draws evenly over ``n_in`` effect draws.

    Each effect draw is used n // n_in times, and n % n_in of them (chosen at
    random, without replacement) once more; the order is then shuffled. With
    n < n_in this is a sample without replacement. So a placebo distribution
    of 20 draws is represented exactly in 4000 damages draws, not resampled.
    """
    idx = np.concatenate([np.tile(np.arange(n_in), n // n_in),
                          rng.choice(n_in, n % n_in, replace=False)])
    return rng.permutation(idx)


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
    lost = lost_quantity(observed, cf)
    missing = int(np.isnan(observed).sum())
    if missing:
        warnings.warn(
            f"{missing} post-period date(s) of {metric!r} have no observed value; they add "
            "nothing to the damages (fill them in the data to count them)",
            ButforWarning, stacklevel=3,
        )
        notes.append(f"{missing} post-period date(s) of {metric} without an observed value "
                     "add nothing.")
    aligned = _Path(metric, post_dates, lost, _step_days(dates, metric),
                    _to_date(post_dates[0]), _to_date(post_dates[-1]))
    info = {"metric": metric, "method": path.method, "unit": path.unit,
            "draws_in": n_in if path.draws is not None else 0,
            "post_dates": int(post_dates.size), "missing_observed": missing,
            "step_days": aligned.step_days}
    return aligned, info


def _days_between(dates: np.ndarray, valuation: dt.date) -> np.ndarray:
    return (np.asarray(dates).astype("datetime64[D]")
            - np.datetime64(valuation, "D")).astype(int)


def _flow_component(pricing: CpmPricing | RateCardPricing, path: _Path, rate: np.ndarray,
                    scenarios: list[Persistence], d: Damages, valuation: dt.date,
                    notes: list[str]) -> list[ComponentDamages]:
    """A priced flow (CPM or rate card): data period, then one projection per scenario."""
    if isinstance(pricing, CpmPricing):
        dollars = price_cpm(path.lost, rate)
    else:
        dollars = price_rate_card(path.lost, rate, pricing.posts_per_month, path.step_days)
    disc = discount_factors(_days_between(path.dates, valuation), d.discount_rate,
                            d.discounting, d.past_losses)
    filled = np.nan_to_num(dollars, nan=0.0)
    pv_data = filled @ disc
    nominal_data = filled.sum(axis=1)
    n_last = max(d.anchor_days // path.step_days, 1)
    anchor, used = anchor_amount(dollars, n_last)
    if used < n_last and any(p.kind != "none" for p in scenarios):
        notes.append(f"The projection of {pricing.label()} starts from the mean of {used} "
                     f"date(s), fewer than the {n_last} that anchor_days asks for.")
    out = []
    for p in scenarios:
        n_steps = p.horizon_days // path.step_days if p.kind != "none" else 0
        factors = persistence_factors(p.kind, n_steps, path.step_days, p.half_life_days)
        ahead = (path.last_date - valuation).days + path.step_days * np.arange(1, n_steps + 1)
        pdisc = discount_factors(ahead, d.discount_rate, d.discounting, d.past_losses)
        out.append(ComponentDamages(
            name=pricing.label(), kind=pricing.kind, metric=pricing.metric,
            to_data_end=pv_data, after_data_end=anchor * float(factors @ pdisc),
            nominal_to_data_end=nominal_data, nominal_after_data_end=anchor * factors.sum(),
        ))
    return out


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
        offsets, term, share = contract_cashflows(c.term_days, c.terms, c.schedule)
        days = (start - valuation).days + offsets
        disc = discount_factors(days, d.discount_rate, d.discounting, d.past_losses)
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
        ))
        if bounds is not None:
            parameters[f"{pricing.label()}: {c.name}: value"] = value
    return out


def damages_from_case(case_damages: Damages, effects: dict[str, EffectPath], *,
                      seed: int) -> DamagesResult:
    """Price, project and discount the subject's lost reach as the case's [damages] says.

    ``effects`` maps a metric name ("impressions", "followers", ...) to the
    subject's :class:`~butfor.results.EffectPath` for it, in the metric's own
    units. The same inputs and seed give the same result.
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
    children = np.random.SeedSequence(seed).spawn(len(d.pricing) + 1)
    rngs = [np.random.default_rng(s) for s in children]
    # effects with the same number of draws share one index vector, so draws that came
    # from one joint model stay paired
    indices = {k: draw_indices(k, n, rngs[-1]) for k in counts if k not in (1, n)}

    notes: list[str] = []
    paths, inputs = {}, []
    for metric in needed:
        paths[metric], info = _align(effects[metric], metric, n, indices, notes)
        inputs.append(info)
    used = list(paths.values())
    event_date = min((p.event_date for p in used), default=None)
    data_end = max((p.last_date for p in used), default=None)
    valuation = d.valuation_date or data_end
    if valuation is None:
        dates = [c.start for p in d.pricing if isinstance(p, ContractPricing)
                 for c in p.contracts if c.start is not None]
        if not dates:
            raise DataError("damages from contracts alone need a 'valuation_date' or a "
                            "'start' for each contract")
        valuation = min(dates)
    data_end = data_end or valuation
    event_date = event_date or valuation

    parameters: dict[str, np.ndarray] = {}
    by_scenario: list[list[ComponentDamages]] = [[] for _ in d.persistence]
    for i, pricing in enumerate(d.pricing):
        if isinstance(pricing, ContractPricing):
            comps = _contract_components(pricing, rngs[i], n, event_date if used else None,
                                         data_end, d, valuation, parameters)
            for row in by_scenario:
                row.extend(comps)
            continue
        central = pricing.rate if isinstance(pricing, CpmPricing) else pricing.dollars_per_thousand
        bounds = pricing.rate_range()
        rate = draw_values(rngs[i], central, bounds, pricing.distribution, n)
        if bounds is not None:
            parameters[f"{pricing.label()}: rate"] = rate
        comps = _flow_component(pricing, paths[pricing.metric], rate, d.persistence, d,
                                valuation, notes)
        for row, comp in zip(by_scenario, comps, strict=True):
            row.append(comp)

    scenarios = []
    for p, comps in zip(d.persistence, by_scenario, strict=True):
        total = sum((c.total for c in comps), start=np.zeros(n)) - d.mitigation
        scenarios.append(ScenarioDamages(
            name=p.label(), persistence=p.model_dump(), draws=total, components=tuple(comps),
            mitigation=d.mitigation, amount_claimed=d.amount_claimed,
        ))
    if any(math.isnan(s.mean) for s in scenarios):
        raise DataError("damages came out undefined (NaN); check the effect draws for NaN")
    return DamagesResult(
        currency=d.currency, valuation_date=valuation, event_date=event_date,
        data_end=data_end, discount_rate=d.discount_rate, discounting=d.discounting,
        past_losses=d.past_losses, mitigation=d.mitigation, amount_claimed=d.amount_claimed,
        anchor_days=d.anchor_days, n_draws=n, seed=seed, scenarios=tuple(scenarios),
        inputs=tuple(inputs), parameters=parameters, notes=tuple(notes),
    )
