"""The ``[data]`` section: where the panel comes from and how to read it.

Files are read as ``butfor ingest`` reads them, with the same settings::

    [data]
    files = ["smoking.csv"]
    frequency = "annual"                 # auto (from the dates), daily, weekly, ...
    columns = { state = "unit", year = "date" }   # header -> unit, date or a metric

or the panel is read from a store that ``butfor ingest`` filled (``store``,
``dataset``); a stated ``frequency`` is then checked against the stored one.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from butfor.case_base import Section
from butfor.frequency import FrequencyName


class DataSection(Section):
    """Where the panel comes from: files to ingest, or a store already filled."""

    files: list[str] = Field(default_factory=list)
    format: str = "auto"
    store: str | None = None
    dataset: str = "default"  # the stored panel to read when no files are given
    unit: str | None = None  # unit id for single-account exports
    timezone: str | None = None  # for post-level exports
    groups_files: dict[str, str] = Field(default_factory=dict)  # label -> list file
    # the panel's frequency; auto detects it from the dates (butfor.frequency)
    frequency: FrequencyName = "auto"
    # header as written -> what it holds: "unit", "date" or a metric name ("" leaves it out)
    columns: dict[str, str] = Field(default_factory=dict)
    metric: str | None = None  # the metric a wide file's unit columns hold
    year: int | None = Field(default=None, ge=1900, le=2100)  # for dates without a year
    dates: str | None = None  # START:END, the plausible window of every date

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from butfor.readers import FORMATS

        if value != "auto" and value not in FORMATS:
            raise ValueError(f"'{value}' is not a format butfor reads; use auto or one of "
                             f"{', '.join(FORMATS)}")
        return value

    @field_validator("columns")
    @classmethod
    def _sources_named(cls, value: dict[str, str]) -> dict[str, str]:
        for source in value:
            if not str(source).strip():
                raise ValueError("a column mapping needs the header as written on the left, "
                                 "e.g. columns = { state = \"unit\" }")
        return value
