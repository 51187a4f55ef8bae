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
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from butfor.errors import CaseError, DataError

Transform = Literal["none", "log1p", "per_post"]
Scope = Literal["platform", "account"]
ClaimKind = Literal[
    "declined_after",
    "beyond_platform_trend",
    "not_preexisting",
    "targeted",
    "disproportionate",
    "income_loss",
    "claimed_amount",
]
Method = Literal["prepost", "sts", "synthetic_control", "sdid", "event_study", "changepoint"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseInfo(_Section):
    title: str = "butfor case"
    seed: int = 0
    description: str = ""


class DataSection(_Section):
    """Where the panel comes from: files to ingest, or a store already filled."""

    files: list[str] = Field(default_factory=list)
    format: str = "auto"
    store: str | None = None
    unit: str | None = None  # unit id for single-account exports
    timezone: str | None = None  # for post-level exports
    groups_files: dict[str, str] = Field(default_factory=dict)  # label -> list file


class Subject(_Section):
    unit: str
    display_name: str | None = None


class Outcome(_Section):
    metric: str
    transform: Transform = "none"
    posts_metric: str = "posts"  # denominator for transform = "per_post"


class Event(_Section):
    name: str
    date: dt.date | None = None
    dates: dict[str, dt.date] = Field(default_factory=dict)  # staggered: unit -> date
    scope: Scope = "platform"
    description: str = ""

    @model_validator(mode="after")
    def _one_kind_of_date(self) -> Event:
        if self.date is None and not self.dates:
            raise ValueError("an event needs a 'date' (or per-unit 'dates')")
        return self


class Peers(_Section):
    units: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class Controls(_Section):
    """Series the event did not touch (off-platform attention, another platform)."""

    units: list[str] = Field(default_factory=list)
    metric: str | None = None


class Groups(_Section):
    """Group labels for disproportion tests: label -> unit ids (or use unit attributes)."""

    members: dict[str, list[str]] = Field(default_factory=dict)
    compare: list[str] = Field(default_factory=list)  # [group_a, group_b]


class Window(_Section):
    start: dt.date | None = None
    end: dt.date | None = None
    pre_days: int | None = Field(default=None, gt=0)
    post_days: int | None = Field(default=None, gt=0)


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
    metric: str | None = None


class CpmPricing(_Section):
    kind: Literal["cpm"]
    metric: str = "impressions"
    rate: float = Field(gt=0)  # dollars per thousand
    rate_low: float | None = Field(default=None, gt=0)
    rate_high: float | None = Field(default=None, gt=0)


class RateCardPricing(_Section):
    kind: Literal["rate_card"]
    metric: str = "followers"
    dollars_per_thousand: float = Field(gt=0)
    posts_per_month: float = Field(gt=0)
    uncertainty: float = Field(default=0.0, ge=0, lt=1)


class Contract(_Section):
    name: str
    value: float = Field(ge=0)
    renewal_probability: float = Field(default=1.0, ge=0, le=1)
    start: dt.date | None = None


class ContractPricing(_Section):
    kind: Literal["contracts"]
    contracts: list[Contract]


Pricing = Annotated[CpmPricing | RateCardPricing | ContractPricing, Field(discriminator="kind")]


class Persistence(_Section):
    kind: Literal["none", "half_life", "constant"] = "none"
    half_life_days: float | None = Field(default=None, gt=0)
    horizon_days: int = Field(default=0, ge=0)


class Damages(_Section):
    pricing: list[Pricing] = Field(default_factory=list)
    persistence: list[Persistence] = Field(default_factory=lambda: [Persistence()])
    discount_rate: float = Field(default=0.0, ge=0, lt=1)
    valuation_date: dt.date | None = None
    mitigation: float = Field(default=0.0, ge=0)
    amount_claimed: float | None = Field(default=None, ge=0)
    currency: str = "USD"


class ReportOptions(_Section):
    title: str | None = None
    pdf: bool = False


class Case(_Section):
    case: CaseInfo = Field(default_factory=CaseInfo)
    data: DataSection = Field(default_factory=DataSection)
    subject: Subject
    outcome: Outcome
    covariates: list[str] = Field(default_factory=list)
    events: list[Event] = Field(min_length=1)
    peers: Peers = Field(default_factory=Peers)
    controls: Controls = Field(default_factory=Controls)
    groups: Groups = Field(default_factory=Groups)
    window: Window = Field(default_factory=Window)
    methods: list[Method] = Field(default_factory=lambda: ["prepost"])
    claims: list[Claim] = Field(default_factory=list)
    damages: Damages | None = None
    report: ReportOptions = Field(default_factory=ReportOptions)

    @model_validator(mode="after")
    def _names_resolve(self) -> Case:
        names = [e.name for e in self.events]
        if len(set(names)) != len(names):
            raise ValueError("two events share a name; give each event its own 'name'")
        for claim in self.claims:
            if claim.event is not None and claim.event not in names:
                raise ValueError(
                    f"claim {claim.id!r} names event {claim.event!r}, which is not one of "
                    f"the events ({', '.join(names)})"
                )
        return self

    def event(self, name: str | None = None) -> Event:
        """The named event, or the first one."""
        if name is None:
            return self.events[0]
        return next(e for e in self.events if e.name == name)

    def check_against(self, panel: Any, source: str = "case file") -> None:
        """Check that the subject, metrics and events exist in the panel's data."""
        if self.subject.unit not in set(panel.unit_ids):
            raise DataError(
                f"{source}: the subject {self.subject.unit!r} is not in the panel; "
                f"set [subject] unit to one of the ingested units (see 'butfor data')"
            )
        for metric in [self.outcome.metric, *self.covariates]:
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


# ---------------------------------------------------------------------------
# loading
def load_case(path: str | Path) -> Case:
    """Read and validate a case file; raise CaseError naming the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CaseError(path, "the case file does not exist", "check the path") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = _toml_error_line(str(err))
        raise CaseError(path, f"is not valid TOML ({err})", "fix the syntax there",
                        line=line) from None
    return parse_case(raw, text, path)


def parse_case(raw: dict, text: str = "", path: str | Path = "<case>") -> Case:
    try:
        return Case.model_validate(raw)
    except ValidationError as err:
        raise _case_error(err, raw, text, path) from None


def _case_error(err: ValidationError, raw: dict, text: str, path: str | Path) -> CaseError:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"] if not isinstance(p, int)]
    key = loc[-1] if loc else None
    dotted = ".".join(str(p) for p in first["loc"])
    line = _find_key_line(text, loc)
    if first["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        near = difflib.get_close_matches(key or "", valid, n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'?" if near else f"valid keys are {', '.join(valid)}"
        return CaseError(path, f"unknown key '{dotted}'", f"remove it or rename it ({hint})",
                         line=line, column=key)
    if first["type"] == "missing":
        return CaseError(path, f"the required key '{dotted}' is missing",
                         "add it (see examples/ for a complete case file)", line=line,
                         column=key)
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
    return CaseError(path, f"'{dotted}' is invalid: {message}{shown}",
                     "correct the value", line=line, column=key)


def _valid_keys(loc: list[str]) -> list[str]:
    model: Any = Case
    for part in loc:
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return sorted(model.model_fields)


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _find_key_line(text: str, loc: list[str]) -> int | None:
    """Best-effort line number of the key at ``loc`` in the TOML text."""
    if not text or not loc:
        return None
    lines = text.splitlines()
    start = 0
    if len(loc) > 1:
        section = re.compile(r"^\s*\[\[?\s*" + re.escape(".".join(loc[:-1])) + r"\s*\]\]?")
        for i, line in enumerate(lines):
            if section.match(line):
                start = i
                break
    key = re.compile(r"^\s*" + re.escape(loc[-1]) + r"\s*=")
    header = re.compile(r"^\s*\[\[?\s*" + re.escape(loc[-1]) + r"\s*\]\]?")
    for i in range(start, len(lines)):
        if key.match(lines[i]) or header.match(lines[i]):
            return i + 1
    return start + 1 if len(loc) > 1 else None


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
