"""The fixed sets of strings the command line's options take, as enums for typer.

An option typed with one of these lists its choices in ``--help`` and typer
refuses any other value (exit 2, the choices named) before a command runs.
The values are written out here, not imported from the modules that own them,
so ``butfor --help`` does not import pandas; ``tests/test_cli_choices.py``
checks each against its owner (the reader registry, :mod:`butfor.frequency`,
:mod:`butfor.audit.settings`, :mod:`butfor.connectors.wikimedia`).
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Format(StrEnum):
    """``butfor ingest --format``: a reader of :data:`butfor.readers.FORMATS`, or auto."""

    auto = "auto"
    youtube = "youtube"
    instagram = "instagram"
    tiktok = "tiktok"
    trends = "trends"
    socialblade_api = "socialblade_api"
    x_legacy = "x_legacy"
    x_content = "x_content"
    posts = "posts"
    socialblade = "socialblade"
    x_overview = "x_overview"
    wikimedia = "wikimedia"
    long = "long"
    wide = "wide"


class Frequency(StrEnum):
    """``butfor ingest --frequency``: auto (from the dates) or one of frequency.NAMES."""

    auto = "auto"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


class Reference(StrEnum):
    """``butfor audit --reference`` (audit.settings.REFERENCES)."""

    platform = "platform"
    group = "group"
    none = "none"


class Transform(StrEnum):
    """``butfor audit --transform`` (audit.settings.TRANSFORMS)."""

    log1p = "log1p"
    identity = "identity"


class FdrMethod(StrEnum):
    """``butfor audit --fdr-method`` (audit.settings.FDR_METHODS)."""

    auto = "auto"
    bh = "bh"
    by = "by"


class Access(StrEnum):
    """``butfor fetch wikipedia --access`` (connectors.wikimedia.ACCESS)."""

    all_access = "all-access"
    desktop = "desktop"
    mobile_web = "mobile-web"
    mobile_app = "mobile-app"


class Agent(StrEnum):
    """``butfor fetch wikipedia --agent`` (connectors.wikimedia.AGENTS)."""

    all_agents = "all-agents"
    user = "user"
    spider = "spider"
    automated = "automated"


class Granularity(StrEnum):
    """``butfor fetch wikipedia --granularity`` (connectors.wikimedia.GRANULARITIES)."""

    daily = "daily"
    monthly = "monthly"


def value(choice: Enum | str | None) -> str | None:
    """The plain string a command passes on (the library takes strings, not enums)."""
    return choice.value if isinstance(choice, Enum) else choice


__all__ = ["Access", "Agent", "FdrMethod", "Format", "Frequency", "Granularity", "Reference",
           "Transform", "value"]
