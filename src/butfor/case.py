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
from typing import Any, Literal

from pydantic import Field, model_validator

from butfor.case_base import KeyProblem
from butfor.case_base import Section as _Section
from butfor.case_damages import Damages  # the [damages] section
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
    # "poisson": the outcome is a count, fitted with its own log link (before_after and
    # sts; see case_designs.COUNT_METHODS)
    family: Literal["gaussian", "poisson"] = "gaussian"


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
    # unset: a Beta hyperprior on the controls' inclusion probability (mean 3 controls,
    # methods/_sts_slab.py); a number m fixes it at m / K, CausalImpact's prior
    expected_model_size: float | None = Field(default=None, gt=0)


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
        for j, e in enumerate(self.damages.events if self.damages else []):
            if e not in names:
                raise KeyProblem(("damages", "events", j),
                                 f"damages price event {e!r}, which is not one of the "
                                 f"events{_nearest(e, names)}")
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
