"""What to audit: the settings of one audit, checked before anything is read."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Literal

from butfor.errors import InputError

Reference = Literal["platform", "group", "none"]
Transform = Literal["log1p", "identity"]
FdrMethod = Literal["auto", "bh", "by"]
REFERENCES: tuple[str, ...] = ("platform", "group", "none")
TRANSFORMS: tuple[str, ...] = ("log1p", "identity")
FDR_METHODS: tuple[str, ...] = ("auto", "bh", "by")
PROCEDURES = {"bh": "Benjamini-Hochberg",  # in the report and the CLI's headline
              "by": "Benjamini-Yekutieli, valid under any dependence between accounts"}
NO_GROUP = "(none)"  # the group name of accounts without a group
FORMAT_VERSION = 1  # of the resume manifest (audit.json) and the partition files


@dataclass(frozen=True)
class AuditSpec:
    """What to audit. Only stores settings; :meth:`check` validates them."""

    metric: str = "impressions"
    event: dt.date | None = None  # one date for every account ...
    event_column: str | None = None  # ... or a per-account date column
    group_column: str | None = "group"
    controls: tuple[str, ...] = ()  # off-platform control metrics
    reference: Reference = "platform"
    reference_group: str | None = None  # compare every account with this group
    base_group: str | None = None  # the disproportion test's comparison group
    pre_days: int | None = None  # default: all days before the event
    post_days: int | None = None  # default: all days from the event on
    transform: Transform = "log1p"
    alpha: float = 0.05  # false-discovery rate for flagging accounts
    # "bh" (Benjamini-Hochberg), "by" (Benjamini-Yekutieli, any dependence) or
    # "auto": bh when a reference or a control removes the movement all accounts
    # share, by when nothing does (see butfor.audit.statistics.fdr_procedure)
    fdr_method: FdrMethod = "auto"
    level: float = 0.95  # level of every interval the audit writes
    n_placebo: int = 4
    min_days: int = 14
    top: int = 100

    def check(self) -> None:
        def bad(name, value, allowed):
            raise InputError(None, f"the audit setting '{name}' must be {allowed}; got {value!r}",
                             "change it and run again")

        if (self.event is None) == (self.event_column is None):
            bad("event", self.event, "one date (--event) or a per-account date column "
                "(--event-column), not both and not neither")
        if self.reference not in REFERENCES:
            bad("reference", self.reference, f"one of {', '.join(REFERENCES)}")
        if self.transform not in TRANSFORMS:
            bad("transform", self.transform, f"one of {', '.join(TRANSFORMS)}")
        if self.fdr_method not in FDR_METHODS:
            bad("fdr_method", self.fdr_method, f"one of {', '.join(FDR_METHODS)}")
        if not 0 < self.alpha < 1:
            bad("alpha", self.alpha, "a number between 0 and 1")
        if not 0 < self.level < 1:
            bad("level", self.level, "a number between 0 and 1")
        for name in ("pre_days", "post_days"):
            v = getattr(self, name)
            if v is not None and v < 1:
                bad(name, v, "a positive number of days")
        if self.reference == "group" and not self.group_column:
            bad("reference", self.reference, "'platform' or 'none' when no group column is given")
        if self.reference_group is not None and not self.group_column:
            bad("reference_group", self.reference_group, "unset when no group column is given")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["event"] = None if self.event is None else self.event.isoformat()
        d["controls"] = list(self.controls)
        return d
