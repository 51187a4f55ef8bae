"""The IngestReport: every input row accounted for.

A reader reads rows and, for each, either keeps it (perhaps after a repair,
such as stripping a thousands separator) or drops it with a reason. Post-level
readers fold many rows into one account-day; those rows count as kept and
carry an ``aggregated`` note. A value kept but worth a second look (a jump
by orders of magnitude, a count rounded by the platform) carries a
``flagged`` note. The invariant, checked by :meth:`check`, is

    rows_read == rows_kept + rows_dropped      for every source file

Notes are grouped by (file, action, reason, column) with a count and the first
few line numbers, so a million repaired rows stay a one-line entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from butfor.errors import ButforError

Action = Literal["repaired", "dropped", "aggregated", "filled", "flagged"]
_LINES_KEPT_PER_NOTE = 10


@dataclass
class Note:
    """One kind of thing that happened to some rows of one file."""

    file: str
    action: Action
    reason: str
    column: str | None = None
    count: int = 0
    lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "action": self.action,
            "reason": self.reason,
            "column": self.column,
            "count": self.count,
            "first_lines": list(self.lines),
        }


@dataclass
class SourceSummary:
    """What happened to one input file."""

    file: str
    sha256: str
    format: str
    rows_read: int = 0
    rows_kept: int = 0
    rows_dropped: int = 0
    rows_repaired: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class IngestReport:
    """Rows read, kept, repaired and dropped, each with reason, file and line."""

    sources: list[SourceSummary] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    cells_filled: int = 0  # (unit, date) rows added as explicit missing values
    remarks: list[str] = field(default_factory=list)  # findings about no row (e.g. unit in no group)
    checks: list[str] = field(default_factory=list)  # the sense checks applied, with their limits

    # -- recording -------------------------------------------------------
    def add_source(self, file: str, sha256: str, format: str) -> SourceSummary:
        source = SourceSummary(file=file, sha256=sha256, format=format)
        self.sources.append(source)
        return source

    def note(
        self,
        file: str,
        action: Action,
        reason: str,
        lines: list[int] | range | None = None,
        *,
        column: str | None = None,
        count: int | None = None,
    ) -> None:
        """Record that ``count`` rows (or the rows at ``lines``) met ``action``."""
        lines = list(lines) if lines is not None else []
        n = count if count is not None else len(lines)
        if n == 0:
            return
        for existing in self.notes:
            if (existing.file, existing.action, existing.reason, existing.column) == (
                file,
                action,
                reason,
                column,
            ):
                existing.count += n
                room = _LINES_KEPT_PER_NOTE - len(existing.lines)
                existing.lines.extend(lines[: max(room, 0)])
                return
        self.notes.append(
            Note(file, action, reason, column, n, lines[:_LINES_KEPT_PER_NOTE])
        )

    def merge(self, other: IngestReport) -> IngestReport:
        merged = IngestReport()
        merged.sources = [*self.sources, *other.sources]
        merged.cells_filled = self.cells_filled + other.cells_filled
        merged.remarks = [*self.remarks, *other.remarks]
        merged.checks = list(dict.fromkeys([*self.checks, *other.checks]))
        for note in [*self.notes, *other.notes]:
            merged.note(
                note.file, note.action, note.reason, note.lines, column=note.column,
                count=note.count,
            )
        return merged

    # -- reading ---------------------------------------------------------
    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.sources)

    @property
    def rows_kept(self) -> int:
        return sum(s.rows_kept for s in self.sources)

    @property
    def rows_dropped(self) -> int:
        return sum(s.rows_dropped for s in self.sources)

    @property
    def rows_repaired(self) -> int:
        return sum(s.rows_repaired for s in self.sources)

    def check(self) -> None:
        """Raise if any file's rows are not all accounted for."""
        for s in self.sources:
            if s.rows_read != s.rows_kept + s.rows_dropped:
                raise ButforError(
                    f"{s.file}: {s.rows_read} rows read but {s.rows_kept} kept and "
                    f"{s.rows_dropped} dropped; this is a bug in butfor's reader, please report it."
                )

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "rows_repaired": self.rows_repaired,
            "cells_filled": self.cells_filled,
            "sources": [s.to_dict() for s in self.sources],
            "notes": [n.to_dict() for n in self.notes],
            "remarks": list(self.remarks),
            "checks": list(self.checks),
        }

    @classmethod
    def from_dict(cls, d: dict) -> IngestReport:
        report = cls(cells_filled=d.get("cells_filled", 0), remarks=list(d.get("remarks", [])),
                     checks=list(d.get("checks", [])))
        report.sources = [SourceSummary(**s) for s in d.get("sources", [])]
        for n in d.get("notes", []):
            report.notes.append(
                Note(n["file"], n["action"], n["reason"], n.get("column"), n["count"],
                     list(n.get("first_lines", [])))
            )
        return report
