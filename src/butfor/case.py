"""The case file: a declarative description of one analysis, read from TOML.

A minimal case::

    [case]
    title = "Did the ranking change cut Ava's reach?"
    seed = 7

    [data]
    files = ["exports/account_overview_analytics.csv"]

    [subject]
    unit = "ava"

    [outcome]
    metric = "impressions"
    transform = "log1p"

    [[events]]
    name = "ranking change"
    date = "2023-04-01"

Every section rejects unknown keys, naming the key, the line it is on and the
nearest valid key. Validation happens before any data is read or any model is
fitted (:func:`load_case`), and once more against the data
(:meth:`Case.check_against`).
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from butfor.case_base import KeyProblem
from butfor.case_base import Section as _Section
from butfor.case_data import DataSection
from butfor.case_designs import BeforeAfterOptions, RegressionOptions, check_designs
from butfor.case_methods import SdidOptions, SyntheticControlOptions
from butfor.errors import DataError
from butfor.transforms import Transform  # none, log, log1p, per_post, pct_change

Scope = Literal["platform", "account"]
ClaimKind = Literal[
    "declined_after",
    "beyond_platform_trend",
    "not_preexisting",
    "targeted",
    "disproportionate",
    "income_loss",
    "claimed_amount",
    "attributed_to",
]
Method = Literal["prepost", "sts", "synthetic_control", "sdid", "event_study", "changepoint",
                 "peer_effects", "attribution", "before_after"]


class CaseInfo(_Section):
    title: str = "butfor case"
    seed: int = 0
    description: str = ""


class Subject(_Section):
    unit: str
    display_name: str | None = None


class Outcome(_Section):
    metric: str
    transform: Transform = "none"
    posts_metric: str = "posts"  # denominator for transform = "per_post"


class EventSource(_Section):
    """A public source for an event's date (filled from the registry, or the user's own)."""

    title: str
    publisher: str = ""
    url: str = ""
    published: dt.date | None = None


class Event(_Section):
    name: str
    date: dt.date | None = None
    dates: dict[str, dt.date] = Field(default_factory=dict)  # staggered: unit -> date
    scope: Scope = "platform"
    description: str = ""
    # a change from butfor's events registry ('butfor events'), instead of a date
    registry: str | None = None
    # the last day the registry's sources allow, when they give a range
    registry_date_end: dt.date | None = None
    sources: list[EventSource] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_registry(cls, raw: Any) -> Any:
        """Fill the date, description and sources of a registry event."""
        if not isinstance(raw, dict) or not raw.get("registry"):
            return raw
        from butfor.errors import ButforError
        from butfor.registry import load_registry

        try:
            change = load_registry().get(str(raw["registry"]))
        except ButforError as err:
            raise ValueError(str(err)) from None
        filled = dict(raw)
        given = filled.get("date")
        if given is not None:
            day = given if isinstance(given, dt.date) else dt.date.fromisoformat(str(given))
            if not change.date <= day <= change.last_date:
                raise ValueError(
                    f"event {raw.get('name')!r} is dated {day}, but the registry dates "
                    f"{change.id!r} {change.dated()} ({change.sources[0].publisher}); leave out 'date' "
                    "to take the registry's date, or drop 'registry'")
        else:
            filled["date"] = change.date
        if change.date_end is not None:
            filled["registry_date_end"] = change.date_end
        filled.setdefault("description", change.what)
        if not filled.get("sources"):
            filled["sources"] = [s.model_dump(mode="json") for s in change.sources]
        return filled

    @model_validator(mode="after")
    def _one_kind_of_date(self) -> Event:
        if self.date is None and not self.dates:
            raise ValueError("an event needs a 'date' (or per-unit 'dates', or 'registry')")
        return self


class Peers(_Section):
    units: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class FetchedControl(_Section):
    """A control series fetched from a public API: ``source = "wikipedia:Article_Name"``.

    ``wikipedia:`` means ``en.wikipedia``; another wiki is named by its host
    (``de.wikipedia:Artikel``). The range defaults to the panel's dates. It is
    fetched only on ``butfor run --fetch`` (and cached); without it a series
    not fetched before is an error that says so.
    """

    source: str = Field(pattern=r"^[a-z][a-z0-9.-]*:\S.*$")
    access: Literal["all-access", "desktop", "mobile-web", "mobile-app"] = "all-access"
    agent: Literal["all-agents", "user", "spider", "automated"] = "user"
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _known_source(self) -> FetchedControl:
        if not self.project.endswith(("wikipedia", "wiktionary", "wikinews", "wikiquote",
                                      "wikisource", "wikivoyage", "wikibooks", "wikiversity",
                                      "wikimedia", "wikidata")):
            raise ValueError(f"{self.source!r} is not a source butfor fetches; write "
                             "'wikipedia:Article_Name' (X and Bluesky series come in with "
                             "'butfor fetch x|bluesky' and [controls] units)")
        return self

    @property
    def project(self) -> str:
        name = self.source.split(":", 1)[0]
        return "en.wikipedia" if name == "wikipedia" else name

    @property
    def article(self) -> str:
        return self.source.split(":", 1)[1].strip().replace(" ", "_")

    @property
    def unit(self) -> str:
        """The unit id the Wikimedia reader gives the series."""
        return f"{self.project}:{self.article}"


class Controls(_Section):
    """Series the event did not touch (off-platform attention, another platform).

    ``[[controls.fetched]]`` series join ``units`` (and are never peers); their
    metric is ``pageviews``, so ``metric`` defaults to it.
    """

    units: list[str] = Field(default_factory=list)
    metric: str | None = None
    fetched: list[FetchedControl] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fetched_are_controls(self) -> Controls:
        if not self.fetched:
            return self
        if self.metric not in (None, "pageviews"):
            raise ValueError(f"fetched Wikimedia controls hold 'pageviews', not "
                             f"{self.metric!r}; set [controls] metric = \"pageviews\" or "
                             "leave it out")
        units = list(dict.fromkeys([*self.units, *(f.unit for f in self.fetched)]))
        object.__setattr__(self, "units", units)  # frozen: set once, while validating
        object.__setattr__(self, "metric", "pageviews")
        return self


class Groups(_Section):
    """Group labels for disproportion tests: label -> unit ids (or use unit attributes)."""

    members: dict[str, list[str]] = Field(default_factory=dict)
    compare: list[str] = Field(default_factory=list)  # [group_a, group_b]


class Window(_Section):
    """Narrows every event's window: by dates, by days, or by periods of the panel."""

    start: dt.date | None = None
    end: dt.date | None = None
    pre_days: int | None = Field(default=None, gt=0)
    post_days: int | None = Field(default=None, gt=0)
    # in the panel's own periods (years of annual data): the periods kept before the event
    # and from it on
    pre_periods: int | None = Field(default=None, gt=0)
    post_periods: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _days_or_periods(self) -> Window:
        for side in ("pre", "post"):
            if getattr(self, f"{side}_days") is not None and \
                    getattr(self, f"{side}_periods") is not None:
                raise ValueError(f"give '{side}_days' or '{side}_periods', not both")
        return self


class Claim(_Section):
    id: str
    kind: ClaimKind
    allegation: str
    event: str | None = None
    alpha: float = Field(default=0.05, gt=0, lt=1)
    tolerance_days: int = Field(default=14, ge=0)
    group_a: str | None = None
    group_b: str | None = None
    amount: float | None = Field(default=None, ge=0)
    metric: str | None = None  # default: [outcome] metric; the pipeline analyses it
    # which way the claim says the metric moved: reach falls, harassment and replies rise
    direction: Literal["fell", "rose", "changed"] = "fell"
    # the smallest relative change worth a claim: "not supported" needs the data to have
    # been able to detect it (default: [power] smallest_effect)
    smallest_effect: float | None = Field(default=None, gt=0, lt=10)


RateDistribution = Literal["triangular", "uniform"]


def _check_range(central: float, low: float | None, high: float | None, name: str) -> None:
    """low and high come together and bracket the central value."""
    if (low is None) != (high is None):
        raise ValueError(f"give both '{name}_low' and '{name}_high', or neither")
    if low is not None and high is not None and not (low <= central <= high):
        raise ValueError(
            f"'{name}_low' ({low:g}) <= '{name}' ({central:g}) <= '{name}_high' ({high:g}) "
            "must hold"
        )


class CpmPricing(_Section):
    """Cost per thousand impressions (or views): lost quantity × rate / 1000.

    With ``rate_low`` and ``rate_high`` the rate is uncertain: each damages
    draw takes one rate from ``distribution``, triangular(low, rate, high) or
    uniform(low, high) (the stated ``rate`` is then only reported).
    """

    kind: Literal["cpm"]
    name: str | None = None
    metric: str = "impressions"
    rate: float = Field(gt=0)  # dollars per thousand
    rate_low: float | None = Field(default=None, gt=0)
    rate_high: float | None = Field(default=None, gt=0)
    distribution: RateDistribution = "triangular"

    @model_validator(mode="after")
    def _range(self) -> CpmPricing:
        _check_range(self.rate, self.rate_low, self.rate_high, "rate")
        return self

    def label(self) -> str:
        return self.name or f"cpm ({self.metric})"

    def rate_range(self) -> tuple[float, float] | None:
        if self.rate_low is None or self.rate_high is None:
            return None
        return (self.rate_low, self.rate_high)


class RateCardPricing(_Section):
    """Sponsored posts priced from the metric: dollars_per_thousand × metric / 1000 per post.

    The metric is what the rate card quotes on (followers, a level; or
    engagements per post), times ``posts_per_month`` sponsored posts (a month
    is 365/12 days). Uncertainty in the rate: ``dollars_per_thousand_low`` and
    ``_high``, or ``uncertainty`` = u as shorthand for (1 − u, 1 + u) × the
    rate; each draw takes one rate from ``distribution`` as for CPM.
    """

    kind: Literal["rate_card"]
    name: str | None = None
    metric: str = "followers"
    dollars_per_thousand: float = Field(gt=0)
    dollars_per_thousand_low: float | None = Field(default=None, gt=0)
    dollars_per_thousand_high: float | None = Field(default=None, gt=0)
    posts_per_month: float = Field(gt=0)
    uncertainty: float = Field(default=0.0, ge=0, lt=1)
    distribution: RateDistribution = "triangular"

    @model_validator(mode="after")
    def _range(self) -> RateCardPricing:
        if self.uncertainty > 0 and self.dollars_per_thousand_low is not None:
            raise ValueError(
                "give either 'uncertainty' or 'dollars_per_thousand_low' and "
                "'dollars_per_thousand_high', not both"
            )
        _check_range(self.dollars_per_thousand, self.dollars_per_thousand_low,
                     self.dollars_per_thousand_high, "dollars_per_thousand")
        return self

    def label(self) -> str:
        return self.name or f"rate card ({self.metric})"

    def rate_range(self) -> tuple[float, float] | None:
        if self.dollars_per_thousand_low is not None and self.dollars_per_thousand_high is not None:
            return (self.dollars_per_thousand_low, self.dollars_per_thousand_high)
        if self.uncertainty > 0:
            return (self.dollars_per_thousand * (1 - self.uncertainty),
                    self.dollars_per_thousand * (1 + self.uncertainty))
        return None


class Contract(_Section):
    """A lost contract: ``value`` per term, for up to ``terms`` terms of ``term_days``.

    ``renewal_probability`` is the chance that each term would have gone
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
    schedule: Literal["spread", "start"] = "spread"

    @model_validator(mode="after")
    def _range(self) -> Contract:
        _check_range(self.value, self.value_low, self.value_high, "value")
        return self


class ContractPricing(_Section):
    kind: Literal["contracts"]
    name: str | None = None
    contracts: list[Contract] = Field(min_length=1)
    distribution: RateDistribution = "triangular"  # for contract values with a low/high

    @model_validator(mode="after")
    def _unique(self) -> ContractPricing:
        names = [c.name for c in self.contracts]
        if len(set(names)) != len(names):
            raise ValueError("two contracts share a name; give each contract its own 'name'")
        return self

    def label(self) -> str:
        return self.name or "contracts"


Pricing = Annotated[CpmPricing | RateCardPricing | ContractPricing, Field(discriminator="kind")]


class Persistence(_Section):
    """How the loss continues past the data: not at all, constant, or halving every half-life."""

    name: str | None = None
    kind: Literal["none", "half_life", "constant"] = "none"
    half_life_days: float | None = Field(default=None, gt=0)
    horizon_days: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Persistence:
        if self.kind == "half_life" and self.half_life_days is None:
            raise ValueError("a 'half_life' persistence needs 'half_life_days'")
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
            raise ValueError(f"a {self.kind!r} persistence needs 'horizon_days' above 0")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "none":
            return "to the end of the data"
        if self.kind == "constant":
            return f"constant for {self.horizon_days} days"
        return f"half-life {self.half_life_days:g} days, for {self.horizon_days} days"


class Damages(_Section):
    """The [damages] section. Conventions are stated in :mod:`butfor.damages`."""

    pricing: list[Pricing] = Field(default_factory=list)
    persistence: list[Persistence] = Field(default_factory=lambda: [Persistence()])
    discount_rate: float = Field(default=0.0, ge=0, lt=1)
    discounting: Literal["daily", "end_of_year", "mid_year"] = "daily"
    past_losses: Literal["nominal", "compounded"] = "nominal"
    valuation_date: dt.date | None = None  # default: the last date of the data
    mitigation: float = Field(default=0.0, ge=0)  # dollars at the valuation date
    amount_claimed: float | None = Field(default=None, ge=0)
    currency: str = "USD"
    anchor_days: int = Field(default=28, gt=0)  # days averaged for the projection's start
    draws: int | None = Field(default=None, gt=0)  # default: as many as the effects carry

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
        return self


class ReportOptions(_Section):
    title: str | None = None
    pdf: bool = False


class EventStudyOptions(_Section):
    """Settings of the event studies (``methods = ["event_study"]``)."""

    # peers treated in turn as the subject for the subject's placebo test; the smallest
    # attainable p-value is 1 / (n_placebo + 1)
    n_placebo: int = Field(default=30, ge=3)
    events: list[str] = Field(default_factory=list)  # which events (default: all)


class StsOptions(_Section):
    """Settings of the structural time series (``methods = ["sts"]``)."""

    trend: Literal["local_level", "local_linear_trend"] = "local_level"
    seasonal_period: int | None = Field(default=None, ge=1)  # unset: 7 for daily data; 1: none
    n_draws: int = Field(default=1000, ge=100)
    prior_level_sd: float = Field(default=0.01, gt=0, lt=1)
    check_controls: Literal["error", "warn", "off"] = "error"
    pseudo_events: int = Field(default=10, ge=0)  # 0 leaves out the false-positive check


class PowerOptions(_Section):
    """The ``[power]`` section: which known effects to inject, and the effect that matters.

    ``effects`` are relative changes (0.1 for 10%; both directions are tried);
    the default grid runs from 1% to 60% in 1% steps (then 70%, 80%, 90% for the
    structural time series). ``pseudo_events`` is how many pseudo-events
    ``butfor power`` refits the structural time series at; ``butfor run``
    reads power off the known error rate's own pseudo-events (``[sts]
    pseudo_events``), which needs no refit.
    """

    effects: list[float] | None = None
    smallest_effect: float = Field(default=0.1, gt=0, lt=10)
    pseudo_events: int = Field(default=20, ge=3)

    @model_validator(mode="after")
    def _positive(self) -> PowerOptions:
        if self.effects is not None and (not self.effects or any(
                not (0 < abs(e) < 10) for e in self.effects)):
            raise ValueError("'effects' are relative changes such as 0.1 for 10%, each "
                             "between 0 and 10 in size (both directions are tried)")
        return self


class Case(_Section):
    case: CaseInfo = Field(default_factory=CaseInfo)
    data: DataSection = Field(default_factory=DataSection)
    # optional: a panel-only case (a group comparison, a before/after) has no subject
    subject: Subject | None = None
    outcome: Outcome
    covariates: list[str] = Field(default_factory=list)
    # each covariate's scale (default log1p, as activity counts with zeros are)
    covariate_transforms: dict[str, Transform] = Field(default_factory=dict)
    events: list[Event] = Field(min_length=1)
    peers: Peers = Field(default_factory=Peers)
    controls: Controls = Field(default_factory=Controls)
    groups: Groups = Field(default_factory=Groups)
    window: Window = Field(default_factory=Window)
    methods: list[Method] = Field(default_factory=lambda: ["prepost"])
    # which events each method analyses (default: every event); every event still bounds
    # the others' windows, so leaving one out never changes another's estimate
    method_events: dict[Method, list[str]] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    damages: Damages | None = None
    report: ReportOptions = Field(default_factory=ReportOptions)
    sts: StsOptions = Field(default_factory=StsOptions)
    synthetic_control: SyntheticControlOptions = Field(default_factory=SyntheticControlOptions)
    sdid: SdidOptions = Field(default_factory=SdidOptions)
    event_study: EventStudyOptions = Field(default_factory=lambda: EventStudyOptions())
    power: PowerOptions = Field(default_factory=PowerOptions)
    regression: RegressionOptions = Field(default_factory=RegressionOptions)
    before_after: BeforeAfterOptions = Field(default_factory=BeforeAfterOptions)

    @model_validator(mode="after")
    def _designs_hold(self) -> Case:
        check_designs(self)  # covariate transforms, a subject where needed, fittable designs
        return self

    def covariate_transform(self, name: str) -> Transform:
        """The scale covariate ``name`` enters on (``covariate_transforms``, else log1p)."""
        return self.covariate_transforms.get(name, "log1p")

    @model_validator(mode="after")
    def _names_resolve(self) -> Case:
        names = [e.name for e in self.events]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise KeyProblem(("events", i, "name"),
                                 f"two events are named {name!r}; give each event its own name")
        for method, chosen in self.method_events.items():
            for j, e in enumerate(chosen):
                if e not in names:
                    raise KeyProblem(("method_events", method, j),
                                     f"event {e!r} is not one of the events{_nearest(e, names)}")
        ids = [c.id for c in self.claims]
        for i, claim in enumerate(self.claims):
            if claim.id in ids[:i]:
                raise KeyProblem(("claims", i, "id"), f"two claims have the id {claim.id!r}; "
                                 "give each claim its own id")
            if claim.event is not None and claim.event not in names:
                raise KeyProblem(("claims", i, "event"),
                                 f"claim {claim.id!r} names event {claim.event!r}, which is not "
                                 f"one of the events{_nearest(claim.event, names)}")
        return self

    def claim_metric(self, claim: Claim) -> str:
        return claim.metric or self.outcome.metric

    def smallest_effect(self, claim: Claim) -> float:
        return claim.smallest_effect if claim.smallest_effect is not None else \
            self.power.smallest_effect

    def event(self, name: str | None = None) -> Event:
        """The named event, or the first one."""
        if name is None:
            return self.events[0]
        return next(e for e in self.events if e.name == name)

    def check_against(self, panel: Any, source: str = "case file") -> None:
        """Check that the subject, metrics and events exist in the panel's data."""
        if self.subject is not None and self.subject.unit not in set(panel.unit_ids):
            raise DataError(
                f"{source}: the subject {self.subject.unit!r} is not in the panel; "
                f"set [subject] unit to one of the ingested units (see 'butfor data')"
            )
        claimed = [c.metric for c in self.claims if c.metric is not None]
        for metric in [self.outcome.metric, *self.covariates, *claimed]:
            if metric not in panel.metrics:
                raise DataError(
                    f"{source}: metric {metric!r} is not in the panel; "
                    f"choose one of {', '.join(panel.metrics)}"
                )
        first, last = panel.dates.min().date(), panel.dates.max().date()
        for event in self.events:
            for date in [event.date, *event.dates.values()]:
                if date is not None and not (first < date <= last):
                    raise DataError(
                        f"{source}: event {event.name!r} on {date} is outside the data, "
                        f"which runs from {first} to {last}; an event needs data on both sides"
                    )


def _nearest(name: str, valid: list[str]) -> str:
    near = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    listed = f" ({', '.join(valid)})" if len(valid) <= 12 else ""
    return f"; did you mean {near[0]!r}?" if near else listed


# reading the file lives beside the schema (it needs the whole Case, defined above)
from butfor.case_loading import load_case, parse_case  # noqa: E402

__all__ = ["Case", "KeyProblem", "load_case", "parse_case"]
