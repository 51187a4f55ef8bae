"""A sourced registry of dated platform changes, shipped with butfor.

An allegation names changes ("legacy verification removed"), not dates, and an
expert report must cite where each date comes from. Each platform has one TOML
file beside this module (``x.toml``), one ``[[changes]]`` table per change:
its id (``platform/slug``), title, first day (``date``) and, where the sources
leave a range open, last day (``date_end``), whether the date is when it took
effect or when it was announced, what changed, its scope, and at least one
public source (title, publisher, address, publication date). Nothing in these
files is dated from memory; where sources disagree the entry gives the range
and says why in ``note``.

A case names an entry with ``registry = "x/legacy-verification-removed"`` in
an ``[[events]]`` table instead of a ``date``; the report cites the sources.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from butfor.errors import CaseError


class Source(BaseModel):
    """One public source an entry was dated from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    url: HttpUrl
    published: dt.date | None = None


class Change(BaseModel):
    """One dated platform change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+/[a-z0-9-]+$")
    platform: str
    title: str = Field(min_length=1)
    date: dt.date
    date_end: dt.date | None = None
    date_basis: Literal["effective", "announced"] = "effective"
    kind: str
    scope: str = Field(min_length=1)
    what: str = Field(min_length=1)
    note: str = ""
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Change:
        if not self.id.startswith(self.platform + "/"):
            raise ValueError(f"{self.id}: the id must start with its platform '{self.platform}/'")
        if self.date_end is not None and self.date_end < self.date:
            raise ValueError(f"{self.id}: date_end {self.date_end} is before date {self.date}")
        return self

    @property
    def last_date(self) -> dt.date:
        """The last day the sources allow (the date itself when they give one day)."""
        return self.date_end or self.date

    def dated(self) -> str:
        """The date or range as people read it."""
        if self.date_end is None or self.date_end == self.date:
            return self.date.isoformat()
        return f"{self.date.isoformat()} to {self.date_end.isoformat()}"

    def citation(self) -> str:
        """The sources in one line, for the report and the CLI."""
        return "; ".join(
            f"{s.publisher}, \u201c{s.title}\u201d"
            + (f" ({s.published.isoformat()})" if s.published else "") + f", {s.url}"
            for s in self.sources)


class Registry(BaseModel):
    model_config = ConfigDict(frozen=True)

    changes: tuple[Change, ...]

    @model_validator(mode="after")
    def _ids_unique(self) -> Registry:
        ids = [c.id for c in self.changes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"the registry lists {dupes[0]!r} more than once")
        return self

    @property
    def platforms(self) -> list[str]:
        return sorted({c.platform for c in self.changes})

    def for_platform(self, platform: str | None = None) -> list[Change]:
        """Entries in date order, of one platform or of all."""
        chosen = [c for c in self.changes if platform in (None, c.platform)]
        return sorted(chosen, key=lambda c: (c.date, c.id))

    def get(self, change_id: str) -> Change:
        """The entry with this id, or a CaseError naming the nearest ids."""
        for change in self.changes:
            if change.id == change_id:
                return change
        ids = [c.id for c in self.changes]
        near = difflib.get_close_matches(change_id, ids, n=3, cutoff=0.4)
        hint = (f"did you mean {' or '.join(repr(n) for n in near)} ('butfor events' lists "
                "them all)" if near else "'butfor events' lists them")
        raise CaseError(None, f"the events registry has no change {change_id!r}", hint)


@cache
def load_registry() -> Registry:
    """Every platform file shipped beside this module, validated once."""
    changes: list[dict] = []
    folder = resources.files(__package__)
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            changes.extend(tomllib.loads(entry.read_text(encoding="utf-8")).get("changes", []))
    return Registry(changes=tuple(changes))
