"""The JSON schema of results.json, generated from the typed records.

``analyses`` is described by the records of :mod:`butfor.records` (one per
kind, told apart by ``method``); the run's other parts (verdicts, ingest,
provenance) by the fixed definitions below. ``$defs/analysis`` holds the
fields every kind shares beside the choice of kind, ``$defs/effect_path`` the
effect path, so a part of a result can be checked on its own.

Write the file after changing a record (a test keeps the two equal)::

    python -m butfor.records.schema > src/butfor/schemas/results.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

#: the parts of results.json that are not analyses
_TOP: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "butfor/results.schema.json",
    "title": "butfor results",
    "description": "What one butfor run produced. Version 1.x: fields may be added, none "
                   "removed or renamed. Generated from butfor.records (butfor.records.schema).",
    "type": "object",
    "required": ["schema_version", "case", "analyses", "verdicts", "damages", "ingest",
                 "provenance", "summary_table"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "string", "pattern": "^1\\.[0-9]+\\.[0-9]+$"},
        "case": {"type": "object"},
        "analyses": {"type": "array", "items": {"$ref": "#/$defs/analysis"}},
        "verdicts": {"type": "array", "items": {"$ref": "#/$defs/verdict"}},
        "damages": {"type": ["object", "null"]},
        "ingest": {"$ref": "#/$defs/ingest"},
        "provenance": {"$ref": "#/$defs/provenance"},
        "summary_table": {"type": "array", "items": {"type": "object"}},
    },
}

_OTHER_DEFS: dict[str, Any] = {
    "verdict": {
        "type": "object",
        "required": ["claim", "kind", "allegation", "verdict", "sentence", "figures"],
        "properties": {
            "claim": {"type": "string"}, "kind": {"type": "string"},
            "allegation": {"type": "string"},
            "verdict": {"enum": ["supported", "not supported", "inconclusive"]},
            "sentence": {"type": "string"}, "figures": {"type": "object"},
            "gates": {
                "description": "the verdict policy's gates (docs/verdict-policy.md), each with "
                               "its value and bound; one failed gate makes the verdict "
                               "inconclusive",
                "type": "array",
                "items": {"type": "object",
                          "required": ["name", "passed", "value", "bound", "reading"],
                          "properties": {
                              "name": {"enum": ["convergence", "known_error_rate", "pretrend",
                                                "pre_fit", "design", "degenerate"]},
                              "passed": {"type": "boolean"},
                              "value": {"type": ["number", "string", "null"]},
                              "bound": {"type": "string"}, "reading": {"type": "string"}}}},
        },
    },
    "ingest": {
        "type": "object",
        "required": ["rows_read", "rows_kept", "rows_dropped", "rows_repaired", "cells_filled",
                     "sources", "notes"],
        "properties": {
            **{k: {"type": "integer", "minimum": 0}
               for k in ("rows_read", "rows_kept", "rows_dropped", "rows_repaired",
                         "cells_filled")},
            "sources": {"type": "array", "items": {
                "type": "object", "required": ["file", "sha256", "format", "rows_read",
                                               "rows_kept", "rows_dropped"]}},
            "notes": {"type": "array", "items": {
                "type": "object", "required": ["file", "action", "reason", "count"]}},
        },
    },
    "provenance": {
        "type": "object",
        "required": ["butfor_version", "versions", "seed", "inputs", "command"],
        "properties": {
            "butfor_version": {"type": "string"},
            "versions": {"type": "object", "additionalProperties": {"type": "string"}},
            "seed": {"type": "integer"},
            "inputs": {"type": "array", "items": {"type": "object",
                                                  "required": ["name", "sha256"]}},
            "command": {"type": "string"},
            "case_toml": {"type": ["string", "null"]},
        },
    },
}


def results_schema() -> dict[str, Any]:
    """The schema of results.json: the analyses' part generated from the records."""
    from butfor.records import AnalysisRecord
    from butfor.records.kinds import Analysis

    generated = TypeAdapter(AnalysisRecord).json_schema(ref_template="#/$defs/{model}")
    defs = dict(generated.pop("$defs"))
    common = defs.pop("Analysis", None) or Analysis.model_json_schema(
        ref_template="#/$defs/{model}")
    common = {k: v for k, v in common.items() if k != "$defs"}
    shared = {k: v for k, v in common["properties"].items() if k != "method"}
    # the flags' item schema written out, so that the part can be checked on its own
    flags = shared["flags"]["anyOf"][0]
    shared["flags"] = {**shared["flags"], "anyOf": [{**flags, "items": defs["Flag"]},
                                                    *shared["flags"]["anyOf"][1:]]}
    analysis = {
        "description": "One analysis: the fields every kind has, and the kind's own record "
                       "(chosen by method).",
        "type": "object",
        "required": [k for k in common.get("required", []) if k != "method"] + ["method"],
        "properties": {**shared, "method": {"enum": sorted(generated["discriminator"]
                                                           ["mapping"])}},
        **generated,  # oneOf with its discriminator
    }
    return {**_TOP, "$defs": {
        **dict(sorted(defs.items())),
        "analysis": analysis,
        "effect_path": {"$ref": "#/$defs/EffectPath"},
        "summary": {"$ref": "#/$defs/Summary"},
        **_OTHER_DEFS,
    }}


def schema_text() -> str:
    """The schema as written to ``schemas/results.schema.json``."""
    return json.dumps(results_schema(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
