"""The typed analysis records that results.json's ``analyses`` hold, one model per kind.

:data:`AnalysisRecord` is the union of every kind, told apart by ``method``;
:func:`parse_analysis` reads one from its dict (as a method's case adapter
writes it, or as results.json holds it) and ``record.to_dict()`` gives the
same dict back, key for key. Claims, verdicts, damages and the report read
these records' attributes; the JSON schema of results.json is generated from
them (:mod:`butfor.records.schema`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from butfor.records.kinds import (
    Analysis,
    AttributionAnalysis,
    BeforeAfterAnalysis,
    ChangepointAnalysis,
    EventStudyAnalysis,
    GroupDisproportionAnalysis,
    PeerEffectsAnalysis,
    PrepostAnalysis,
    SdidAnalysis,
    StsAnalysis,
    SunAbrahamAnalysis,
    SyntheticControlAnalysis,
)
from butfor.records.parts import (
    Coefficient,
    EffectPath,
    FalsePositive,
    Flag,
    Placebo,
    Power,
    Pretrend,
    Record,
    Summary,
)

#: every analysis kind, by its ``method``
KINDS: dict[str, type[Analysis]] = {
    "sts": StsAnalysis,
    "peer_effects": PeerEffectsAnalysis,
    "synthetic_control": SyntheticControlAnalysis,
    "sdid": SdidAnalysis,
    "event_study": EventStudyAnalysis,
    "group_disproportion": GroupDisproportionAnalysis,
    "sun_abraham": SunAbrahamAnalysis,
    "before_after": BeforeAfterAnalysis,
    "changepoint": ChangepointAnalysis,
    "prepost": PrepostAnalysis,
    "attribution": AttributionAnalysis,
}

AnalysisRecord = Annotated[
    StsAnalysis | PeerEffectsAnalysis | SyntheticControlAnalysis | SdidAnalysis
    | EventStudyAnalysis | GroupDisproportionAnalysis | SunAbrahamAnalysis | BeforeAfterAnalysis
    | ChangepointAnalysis | PrepostAnalysis | AttributionAnalysis,
    Field(discriminator="method"),
]

_ADAPTER: TypeAdapter = TypeAdapter(AnalysisRecord)


def parse_analysis(d: dict[str, Any] | Analysis) -> Analysis:
    """The typed record of one analysis dict (a record is returned as it is)."""
    if isinstance(d, Analysis):
        return d
    return _ADAPTER.validate_python(d)


def parse_analyses(items: list) -> list[Analysis]:
    return [parse_analysis(a) for a in items]


def read_analyses(items: list) -> list[Analysis]:
    """Records of analyses given as records, or as dicts a case adapter or results.json holds.

    An adapter's own dicts carry numpy arrays, NaN and the counterfactual draws: they
    are read as results.json would hold them (the draws left out, floats at 12 digits,
    NaN as None), the very figures the pipeline's records have.
    """
    from butfor.results import to_jsonable

    out = []
    for a in items:
        if isinstance(a, Analysis):
            out.append(a)
            continue
        plain = {k: v for k, v in a.items()}
        for key in ("effect", "effects"):
            paths = plain.get(key)
            if isinstance(paths, dict):
                plain[key] = {k: v for k, v in paths.items() if k != "draws"}
            elif isinstance(paths, list):
                plain[key] = [{k: v for k, v in e.items() if k != "draws"}
                              if isinstance(e, dict) else e for e in paths]
        out.append(parse_analysis(to_jsonable(plain)))
    return out


def replace_fields(record: Analysis, **fields: Any) -> Analysis:
    """A copy of ``record`` with ``fields`` set (validated as the kind's own fields)."""
    return parse_analysis({**record.to_dict(), **{k: _plain(v) for k, v in fields.items()}})


def _plain(v: Any) -> Any:
    return v.to_dict() if isinstance(v, Record) else v


__all__ = [
    "KINDS", "Analysis", "AnalysisRecord", "AttributionAnalysis", "BeforeAfterAnalysis",
    "ChangepointAnalysis", "Coefficient", "EffectPath", "EventStudyAnalysis", "FalsePositive",
    "Flag", "GroupDisproportionAnalysis", "PeerEffectsAnalysis", "Placebo", "Power",
    "PrepostAnalysis", "Pretrend", "Record", "SdidAnalysis", "StsAnalysis", "Summary",
    "SunAbrahamAnalysis", "SyntheticControlAnalysis", "parse_analyses", "parse_analysis",
    "read_analyses", "replace_fields",
]
