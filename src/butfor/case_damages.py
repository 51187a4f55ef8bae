"""The case file's ``[damages]`` section: what is priced, how, and on whose word.

Every figure a damages expert would be cross-examined on carries a ``source``
(a rate card, an invoice, a published study, "assumed"), and the exhibit
lists it beside the figure; a missing source is shown as missing, not hidden.
A figure with a range is drawn afresh in every damages draw, and the stated
value must be the distribution's centre: the most likely value of a
triangular(low, stated, high), the midpoint of a uniform(low, high). The
arithmetic is in :mod:`butfor.damages`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from abc import abstractmethod
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, model_validator

from butfor import frequency as freq
from butfor.case_base import Section as _Section

RateDistribution = Literal["triangular", "uniform"]
DEFAULT_HORIZON_CEILING_DAYS = 1825  # five years: past this a projection rests on no data
DEFAULT_HORIZON_MULTIPLE = 2.0  # a warning past twice the post-event data


def _check_range(central: float, low: float | None, high: float | None, name: str,
                 distribution: RateDistribution = "triangular") -> None:
    """low and high come together, bracket the central value, and centre it."""
    if (low is None) != (high is None):
        raise ValueError(f"give both '{name}_low' and '{name}_high', or neither")
    if low is None or high is None:
        return
    if not (low <= central <= high):
        raise ValueError(
            f"'{name}_low' ({low:g}) <= '{name}' ({central:g}) <= '{name}_high' ({high:g}) "
            "must hold"
        )
    mid = (low + high) / 2
    if distribution == "uniform" and not math.isclose(central, mid, rel_tol=1e-9, abs_tol=1e-12):
        raise ValueError(
            f"'{name}' ({central:g}) is not the centre of uniform({low:g}, {high:g}), which "
            f"is {mid:g}, so the figure stated would not be the figure priced; state "
            f"'{name}' = {mid:g}, or a range centred on {central:g}, or distribution = "
            "'triangular' (the stated value is then the most likely one)"
        )


def _range(low: float | None, high: float | None) -> tuple[float, float] | None:
    return None if low is None or high is None else (float(low), float(high))


# lengths of time in words ("12 months", "26 weeks", "90 days"): the period-neutral keys
# (horizon, half_life, anchor, term), read the same whatever the panel's frequency
_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(day|week|month|quarter|year)s?\s*$", re.IGNORECASE)


def parse_length(text: object, key: str, *, whole: bool = True) -> tuple[float, str]:
    """``"12 months"`` -> (12, "M"); anything else is refused naming ``key`` and the fix."""
    match = _LENGTH.match(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0 or (
            whole and not float(match.group(1)).is_integer()):
        number = "a whole number" if whole else "a number"
        raise ValueError(f"'{key}' = {text!r} is not a length of time; write {number} above 0 "
                         "and a unit (days, weeks, months, quarters or years), such as "
                         "\"12 months\" or \"90 days\"")
    return float(match.group(1)), _UNITS[match.group(2).lower()]


def length_in_days(text: str, key: str, *, whole: bool = True) -> float:
    """A length's nominal days: a month is 365.25 / 12 days, a year 365.25 (checks, half-lives)."""
    n, unit = parse_length(text, key, whole=whole)
    return n * freq.DAYS_PER_PERIOD[unit]


def days_from(start: dt.date, text: str, key: str) -> int:
    """The calendar days from ``start`` to the same length later ("12 months": 365 or 366)."""
    n, unit = parse_length(text, key)
    return (freq.shift(pd.Timestamp(start), int(n), unit) - pd.Timestamp(start)).days


def _length_key(data: object, words: str, days: str, *, whole: bool = True,
                integer: bool = True) -> object:
    """Fill ``days`` from ``words`` (its nominal days), refusing both at once."""
    if not isinstance(data, dict) or data.get(words) is None:
        return data
    if data.get(days) is not None:
        raise ValueError(f"'{words}' and '{days}' say the same thing; give one of them")
    value = length_in_days(data[words], words, whole=whole)
    return {**data, days: max(1, round(value)) if integer else value}


class _Costs(_Section):
    """An income stream's name and its avoided incremental costs (a share of revenue)."""

    name: str | None = None
    stream: str | None = None  # income stream (default: the entry's name)
    distribution: RateDistribution = "triangular"
    # share of the lost revenue the creator would have spent earning it (production,
    # agency fees): lost profit = lost revenue × (1 − cost_ratio)
    cost_ratio: float = Field(default=0.0, ge=0, lt=1)
    cost_ratio_low: float | None = Field(default=None, ge=0, lt=1)
    cost_ratio_high: float | None = Field(default=None, ge=0, lt=1)
    cost_source: str = ""

    @model_validator(mode="after")
    def _cost_range(self) -> _Costs:
        _check_range(self.cost_ratio, self.cost_ratio_low, self.cost_ratio_high, "cost_ratio",
                     self.distribution)
        return self

    def cost_range(self) -> tuple[float, float] | None:
        return _range(self.cost_ratio_low, self.cost_ratio_high)

    @abstractmethod
    def label(self) -> str:
        """The stream's name in the exhibit; each pricing kind names itself."""

    def stream_name(self) -> str:
        return self.stream or self.label()


class _Flow(_Costs):
    """A stream priced from a reach metric; fees scale as reach^elasticity."""

    source: str = ""  # where the rate comes from
    # fees rarely scale one for one with reach: a fee quoted at the counterfactual reach
    # c is worth c × (x / c)^elasticity at reach x (1: proportional, 0: reach is irrelevant)
    elasticity: float = Field(default=1.0, ge=0, le=3)
    elasticity_low: float | None = Field(default=None, ge=0, le=3)
    elasticity_high: float | None = Field(default=None, ge=0, le=3)
    elasticity_source: str = ""

    @model_validator(mode="after")
    def _elasticity_range(self) -> _Flow:
        _check_range(self.elasticity, self.elasticity_low, self.elasticity_high, "elasticity",
                     self.distribution)
        return self

    def elasticity_range(self) -> tuple[float, float] | None:
        return _range(self.elasticity_low, self.elasticity_high)


class CpmPricing(_Flow):
    """Cost per thousand impressions (or views): lost quantity × rate / 1000.

    With ``rate_low`` and ``rate_high`` the rate is uncertain: each damages
    draw takes one rate from ``distribution``, triangular(low, rate, high) or
    uniform(low, high) (whose centre ``rate`` must be).
    """

    kind: Literal["cpm"]
    metric: str = "impressions"
    rate: float = Field(gt=0)  # dollars per thousand
    rate_low: float | None = Field(default=None, gt=0)
    rate_high: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _rate(self) -> CpmPricing:
        _check_range(self.rate, self.rate_low, self.rate_high, "rate", self.distribution)
        return self

    def label(self) -> str:
        return self.name or f"cpm ({self.metric})"

    @property
    def central_rate(self) -> float:
        return self.rate

    def rate_range(self) -> tuple[float, float] | None:
        return _range(self.rate_low, self.rate_high)


class RateCardPricing(_Flow):
    """Sponsored posts priced from the metric: dollars_per_thousand × metric / 1000 per post.

    The metric is what the rate card quotes on (followers, a level; or
    engagements per post), times ``posts_per_month`` sponsored posts (a month
    is 365/12 days). Uncertainty in the rate: ``dollars_per_thousand_low`` and
    ``_high``, or ``uncertainty`` = u as shorthand for (1 − u, 1 + u) × the
    rate; each draw takes one rate from ``distribution`` as for CPM.
    """

    kind: Literal["rate_card"]
    metric: str = "followers"
    dollars_per_thousand: float = Field(gt=0)
    dollars_per_thousand_low: float | None = Field(default=None, gt=0)
    dollars_per_thousand_high: float | None = Field(default=None, gt=0)
    posts_per_month: float = Field(gt=0)
    uncertainty: float = Field(default=0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _rate(self) -> RateCardPricing:
        if self.uncertainty > 0 and self.dollars_per_thousand_low is not None:
            raise ValueError(
                "give either 'uncertainty' or 'dollars_per_thousand_low' and "
                "'dollars_per_thousand_high', not both"
            )
        _check_range(self.dollars_per_thousand, self.dollars_per_thousand_low,
                     self.dollars_per_thousand_high, "dollars_per_thousand", self.distribution)
        return self

    def label(self) -> str:
        return self.name or f"rate card ({self.metric})"

    @property
    def central_rate(self) -> float:
        return self.dollars_per_thousand

    def rate_range(self) -> tuple[float, float] | None:
        if self.dollars_per_thousand_low is not None and self.dollars_per_thousand_high is not None:
            return (self.dollars_per_thousand_low, self.dollars_per_thousand_high)
        if self.uncertainty > 0:
            return (self.dollars_per_thousand * (1 - self.uncertainty),
                    self.dollars_per_thousand * (1 + self.uncertainty))
        return None


class Contract(_Section):
    """A lost contract: ``value`` per term, for up to ``terms`` terms of ``term_days``.

    ``term`` states the term in calendar units instead (``"1 year"``, ``"6 months"``):
    each term then runs to the same date a term later, so its days are the
    calendar's (365 or 366 for a year). ``renewal_probability`` is the chance that each term would have gone
    ahead but for the event (term k needs terms 1..k, so its chance is p^k).
    ``schedule`` says when a term pays: evenly day by day over the term
    ("spread") or in full on its first day ("start"). ``start`` defaults to
    the event date.
    """

    name: str
    value: float = Field(ge=0)
    value_low: float | None = Field(default=None, ge=0)
    value_high: float | None = Field(default=None, ge=0)
    renewal_probability: float = Field(default=1.0, ge=0, le=1)
    start: dt.date | None = None
    terms: int = Field(default=1, ge=1)
    term_days: int = Field(default=365, gt=0)
    term: str | None = None  # "1 year", "6 months": calendar terms (term_days: nominal)
    schedule: Literal["spread", "start"] = "spread"
    source: str = ""  # the contract, the offer, the correspondence

    @model_validator(mode="before")
    @classmethod
    def _term_words(cls, data: object) -> object:
        return _length_key(data, "term", "term_days")

    def term_lengths(self, start: dt.date) -> list[int]:
        """The days of each term from ``start``: ``term_days`` each, or the calendar's."""
        if self.term is None:
            return [self.term_days] * self.terms
        n, unit = parse_length(self.term, "term")
        edges = [freq.shift(pd.Timestamp(start), int(n) * k, unit) for k in range(self.terms + 1)]
        return [(b - a).days for a, b in itertools.pairwise(edges)]

    @model_validator(mode="after")
    def _range(self) -> Contract:
        _check_range(self.value, self.value_low, self.value_high, "value")
        return self


class ContractPricing(_Costs):
    kind: Literal["contracts"]
    contracts: list[Contract] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ContractPricing:
        names = [c.name for c in self.contracts]
        if len(set(names)) != len(names):
            raise ValueError("two contracts share a name; give each contract its own 'name'")
        for c in self.contracts:
            _check_range(c.value, c.value_low, c.value_high, "value", self.distribution)
        return self

    def label(self) -> str:
        return self.name or "contracts"


Pricing = Annotated[CpmPricing | RateCardPricing | ContractPricing, Field(discriminator="kind")]


class Persistence(_Section):
    """How the loss continues past the data: not at all, constant, or halving every half-life.

    ``horizon`` and ``half_life`` state the lengths in calendar units, whatever
    the panel's frequency (``"12 months"``, ``"26 weeks"``, ``"90 days"``); they
    replace ``horizon_days`` and ``half_life_days``, which are then filled with
    their nominal days (a month is 365.25 / 12 days) for the checks. A horizon in
    words runs from the day after the data end to the same date that much later.
    """

    name: str | None = None
    kind: Literal["none", "half_life", "constant"] = "none"
    half_life_days: float | None = Field(default=None, gt=0)
    horizon_days: int = Field(default=0, ge=0)
    horizon: str | None = None
    half_life: str | None = None
    source: str = ""
    # why a horizon past the ceiling ([damages] horizon_ceiling_days) is reasonable
    override_reason: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _length_words(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("horizon") is not None and \
                data.get("kind", "none") == "none":
            raise ValueError("'horizon' has no effect when kind = 'none'; remove it or set "
                             "kind = 'constant' or 'half_life'")
        data = _length_key(data, "horizon", "horizon_days")
        return _length_key(data, "half_life", "half_life_days", whole=False, integer=False)

    def days_after(self, end: dt.date) -> int:
        """Days projected after the data's last day ``end``: the horizon, in calendar days."""
        if self.kind == "none":
            return 0
        if self.horizon is None:
            return self.horizon_days
        return days_from(end + dt.timedelta(days=1), self.horizon, "horizon")

    def horizon_words(self) -> str:
        return self.horizon or f"{self.horizon_days} days"

    @model_validator(mode="after")
    def _consistent(self) -> Persistence:
        if self.kind == "half_life" and self.half_life_days is None:
            raise ValueError("a 'half_life' persistence needs 'half_life' (such as \"3 months\") "
                             "or 'half_life_days'")
        if self.kind != "half_life" and self.half_life_days is not None:
            raise ValueError(
                f"'half_life_days' has no effect when kind = {self.kind!r}; remove it or set "
                "kind = 'half_life'"
            )
        if self.kind == "none" and self.horizon_days > 0:
            raise ValueError(
                "'horizon_days' has no effect when kind = 'none'; remove it or set kind = "
                "'constant' or 'half_life'"
            )
        if self.kind != "none" and self.horizon_days == 0:
            raise ValueError(f"a {self.kind!r} persistence needs 'horizon' (such as \"12 "
                             "months\") or 'horizon_days' above 0")
        if self.override_reason is not None and not self.override_reason.strip():
            raise ValueError("'override_reason' is empty; say why the horizon is reasonable")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "none":
            return "to the end of the data"
        if self.kind == "constant":
            return f"constant for {self.horizon_words()}"
        half = self.half_life or f"{self.half_life_days:g} days"
        return f"half-life {half}, for {self.horizon_words()}"


class Interest(_Section):
    """Prejudgment interest on losses dated before the valuation date.

    ``simple``: a loss d days before the valuation date grows by 1 + rate × d / 365;
    ``compound``: by (1 + rate)^(d / 365). Losses after it are discounted at the
    discount rate, which is a separate choice.
    """

    kind: Literal["none", "simple", "compound"] = "none"
    rate: float = Field(default=0.0, ge=0, lt=1)
    source: str = ""  # the statute or the court's practice

    @model_validator(mode="after")
    def _rate_used(self) -> Interest:
        if self.kind == "none" and self.rate > 0:
            raise ValueError("an interest 'rate' has no effect when kind = 'none'; set kind = "
                             "'simple' or 'compound'")
        return self


class Mitigation(_Section):
    """Income found elsewhere, subtracted: a dated amount, or an off-platform series priced.

    ``kind = "amount"``: ``amount`` (with an optional range) earned evenly day by
    day from ``start`` to ``end``. ``kind = "series"``: each day's rise of
    ``metric`` for ``unit`` (default: the subject) above its mean over the
    ``baseline_days`` before the event, times ``rate`` per thousand; a day below
    the baseline mitigates nothing. Amounts are dated, so they get the same
    interest and discounting as the losses, and an amount after the data end
    counts only within a scenario's horizon.
    """

    name: str
    kind: Literal["amount", "series"] = "amount"
    start: dt.date | None = None  # default: the event date
    end: dt.date | None = None  # default: the end of the data
    amount: float | None = Field(default=None, ge=0)
    amount_low: float | None = Field(default=None, ge=0)
    amount_high: float | None = Field(default=None, ge=0)
    metric: str | None = None
    unit: str | None = None
    rate: float | None = Field(default=None, gt=0)
    rate_low: float | None = Field(default=None, gt=0)
    rate_high: float | None = Field(default=None, gt=0)
    baseline_days: int = Field(default=28, gt=0)
    distribution: RateDistribution = "triangular"
    source: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Mitigation:
        if self.kind == "amount":
            if self.amount is None:
                raise ValueError(f"mitigation {self.name!r} needs an 'amount'")
            if self.metric is not None or self.rate is not None:
                raise ValueError(f"mitigation {self.name!r} of kind 'amount' takes no 'metric' "
                                 "or 'rate'; set kind = 'series' to price a series")
            _check_range(self.amount, self.amount_low, self.amount_high, "amount",
                         self.distribution)
        else:
            if self.metric is None or self.rate is None:
                raise ValueError(f"mitigation {self.name!r} of kind 'series' needs a 'metric' "
                                 "and a 'rate' (dollars per thousand)")
            if self.amount is not None:
                raise ValueError(f"mitigation {self.name!r} of kind 'series' takes no "
                                 "'amount'; set kind = 'amount' for a stated sum")
            _check_range(self.rate, self.rate_low, self.rate_high, "rate", self.distribution)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"mitigation {self.name!r} ends ({self.end}) before it starts "
                             f"({self.start})")
        return self

    def value_range(self) -> tuple[float, float] | None:
        if self.kind == "amount":
            return _range(self.amount_low, self.amount_high)
        return _range(self.rate_low, self.rate_high)


NonNegative = Annotated[float, Field(ge=0)]


class ExcludedPeriod(_Section):
    """Dates whose loss the user attributes to another cause: they add nothing."""

    start: dt.date
    end: dt.date
    cause: str = Field(min_length=1)  # what else happened then

    @model_validator(mode="after")
    def _ordered(self) -> ExcludedPeriod:
        if self.end < self.start:
            raise ValueError(f"the excluded period ends ({self.end}) before it starts "
                             f"({self.start})")
        return self


# which analyses' counterfactual draws the damages price, best first: the account against
# its own past and off-platform attention, or against comparable accounts (the yardstick)
COUNTERFACTUAL_METHODS = {
    "auto": ("sts", "prepost", "sdid", "synthetic_control"),
    "before_after": ("sts", "prepost"),
    "yardstick": ("sdid", "synthetic_control", "prepost"),
}


class Damages(_Section):
    """The [damages] section. Conventions are stated in :mod:`butfor.damages`."""

    pricing: list[Pricing] = Field(default_factory=list)
    persistence: list[Persistence] = Field(default_factory=lambda: [Persistence()])
    discount_rate: float = Field(default=0.0, ge=0, lt=1)
    discount_source: str = ""
    discounting: Literal["daily", "end_of_year", "mid_year"] = "daily"
    # "compounded": interest on past losses at the discount rate (prefer [damages.interest])
    past_losses: Literal["nominal", "compounded"] = "nominal"
    interest: Interest = Field(default_factory=Interest)
    valuation_date: dt.date | None = None  # default: the last date of the data
    # dollars at the valuation date, or dated amounts and series
    mitigation: NonNegative | list[Mitigation] = 0.0
    amount_claimed: float | None = Field(default=None, ge=0)
    currency: str = "USD"
    anchor_days: int = Field(default=28, gt=0)  # days averaged for the projection's start
    anchor: str | None = None  # the same in words ("3 months"): that many of the last periods
    draws: int | None = Field(default=None, gt=0)  # default: as many as the effects carry
    # the headline scenario; default: the central one (the median of the scenarios' medians)
    headline: str | None = None
    horizon_warning_multiple: float = Field(default=DEFAULT_HORIZON_MULTIPLE, gt=0)
    horizon_ceiling_days: int = Field(default=DEFAULT_HORIZON_CEILING_DAYS, gt=0)
    method: Literal["auto", "before_after", "yardstick"] = "auto"
    # the events priced, each apportioned its part (default: every dated event)
    events: list[str] = Field(default_factory=list)
    exclude: list[ExcludedPeriod] = Field(default_factory=list)
    apportion: bool = True  # the apportionment model (one step per event) and its table
    sensitivity: bool = True  # the one-way (tornado) table

    @model_validator(mode="before")
    @classmethod
    def _anchor_words(cls, data: object) -> object:
        return _length_key(data, "anchor", "anchor_days")

    @model_validator(mode="after")
    def _complete(self) -> Damages:
        if not self.pricing:
            raise ValueError("damages need at least one [[damages.pricing]] entry")
        if not self.persistence:
            raise ValueError("damages need at least one [[damages.persistence]] scenario")
        labels = [p.label() for p in self.persistence]
        if len(set(labels)) != len(labels):
            raise ValueError("two persistence scenarios share a name; give each its own 'name'")
        names = [p.label() for p in self.pricing]
        if len(set(names)) != len(names):
            raise ValueError("two pricing entries share a name; give each its own 'name'")
        if self.headline is not None and self.headline not in labels:
            raise ValueError(f"'headline' names {self.headline!r}, which is not one of the "
                             f"persistence scenarios ({', '.join(labels)})")
        if self.past_losses == "compounded" and self.interest.kind != "none":
            raise ValueError("interest on past losses is given twice: keep [damages.interest] "
                             "and remove past_losses = 'compounded'")
        for p in self.persistence:
            if p.horizon_days > self.horizon_ceiling_days and p.override_reason is None:
                raise ValueError(
                    f"scenario {p.label()!r} projects {p.horizon_words()} past the data, "
                    f"beyond the ceiling of {self.horizon_ceiling_days} days "
                    "(horizon_ceiling_days): a projection that far rests on no data; shorten "
                    f"'{'horizon' if p.horizon else 'horizon_days'}', or give 'override_reason' "
                    "saying why it is reasonable"
                )
        if isinstance(self.mitigation, list):
            seen = [m.name for m in self.mitigation]
            if len(set(seen)) != len(seen):
                raise ValueError("two mitigation entries share a name; give each its own 'name'")
        return self

    @property
    def mitigation_entries(self) -> list[Mitigation]:
        return self.mitigation if isinstance(self.mitigation, list) else []

    @property
    def mitigation_at_valuation(self) -> float:
        """The legacy single amount, in dollars at the valuation date (0 with dated entries)."""
        return 0.0 if isinstance(self.mitigation, list) else float(self.mitigation)
