"""What an audit produced: a frozen, typed result and the JSON schema of its summary.

:class:`AuditSummary` is ``summary.json`` (headline counts, the settings, the
calibration, the group-disproportion test); :class:`AuditResult` adds the five
tables (one row per account, per group, per disproportion coefficient, per
group and event day, and the most affected accounts). The schema
(``schemas/audit.schema.json``) is generated from :class:`AuditSummary` by
:func:`audit_schema`; a test keeps the file and the model equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE = "schemas/audit.schema.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuditSettingsRecord(_Frozen):
    """The settings as recorded (:meth:`butfor.audit.settings.AuditSpec.to_dict`)."""

    metric: str
    event: str | None = Field(description="one event date (ISO) for every account, or null")
    event_column: str | None
    group_column: str | None
    controls: list[str]
    reference: Literal["platform", "group", "none"]
    reference_group: str | None
    base_group: str | None
    pre_days: int | None
    post_days: int | None
    transform: Literal["log1p", "identity"]
    alpha: float = Field(description="false-discovery rate at which accounts are flagged")
    fdr_method: Literal["auto", "bh", "by"] = Field(
        description="false-discovery procedure asked for (auto: by the dependence)")
    level: float = Field(description="level of every interval")
    n_placebo: int
    min_days: int
    top: int


class Calendar(_Frozen):
    start: str = Field(description="first day of the panel (ISO date)")
    days: int
    n_pre: int = Field(description="days of each account's window before its event")
    n_post: int = Field(description="days of each account's window from its event on")


class Calibration(_Frozen):
    platform_rho1: float | None = Field(description="median lag-1 autocorrelation of residuals")
    platform_phi: float | None = Field(description="median autocorrelation decay of residuals")
    placebo_size_at_5pct: float | None = Field(
        description="share of placebo-in-time tests rejecting at 5% before calibration")
    se_inflation: float | None = Field(description="factor applied to every standard error")
    reference_centre: dict[str, float | None] = Field(
        description="per reference set, the typical (biweight) account's effect subtracted "
                    "from the effects measured against it (empty with no reference)")
    reference_centre_se: dict[str, float | None] = Field(
        description="standard error of each centre, added to every account's variance")


class DisproportionRow(_Frozen):
    """One group's coefficient in the two-way fixed-effects regression against the base group."""

    group: str
    base_group: str | None
    coef: float | None
    se: float | None
    t: float | None
    p_value: float | None
    lower: float | None
    upper: float | None
    n_obs: int
    n_clusters: int


class Wald(_Frozen):
    """Joint F test that no group differs from the base group."""

    statistic: float | None
    df1: int
    df2: int
    p_value: float | None


class AuditSummary(_Frozen):
    """``summary.json``: the headline of one audit."""

    audit: str = Field(description="the audit's name (the dataset's, or 'audit')")
    settings: AuditSettingsRecord
    seed: int = Field(description="recorded for provenance; the audit draws no random numbers")
    calendar: Calendar
    estimand: str = Field(description="what each account's effect measures, in words")
    n_accounts: int
    n_estimated: int
    n_flagged: int
    n_flagged_lost: int
    n_flagged_gained: int
    n_partitions: int
    groups: list[str]
    base_group: str | None
    calibration: Calibration
    fdr_procedure: Literal["bh", "by"] = Field(
        description="false-discovery procedure the flags used (bh: Benjamini-Hochberg; by: "
                    "Benjamini-Yekutieli)")
    disproportion: list[DisproportionRow]
    wald: Wald | None


@dataclass(frozen=True)
class AuditResult:
    """The summary and the five tables of one audit (the tables are what the files hold)."""

    summary: AuditSummary
    accounts: pd.DataFrame
    groups: pd.DataFrame
    disproportion: pd.DataFrame
    group_time: pd.DataFrame
    top: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem (``accounts.parquet`` and so on)."""
        return {"accounts": self.accounts, "groups": self.groups,
                "disproportion": self.disproportion, "group_time": self.group_time,
                "top_accounts": self.top}


def audit_schema() -> dict:
    """The JSON schema of ``summary.json``, generated from :class:`AuditSummary`."""
    schema = AuditSummary.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "butfor/audit.schema.json", **schema}


def load_audit_schema() -> dict:
    return json.loads(resources.files("butfor").joinpath(SCHEMA_FILE).read_text())


def validate_summary(document: dict) -> None:
    """Raise jsonschema.ValidationError if ``document`` breaks the audit summary schema."""
    import jsonschema

    jsonschema.validate(document, load_audit_schema())
