"""Reading a case file: TOML to a validated :class:`~butfor.case.Case`, or one CaseError.

Every complaint names the file, the line, the key and the fix: an unknown key
gets the nearest valid one, a missing key the example to copy, a bad value
what was given.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from butfor.case import Case, KeyProblem
from butfor.case_damages import Pricing
from butfor.case_lines import find_line
from butfor.errors import CaseError


def load_case(path: str | Path) -> Case:
    """Read and validate a case file; raise CaseError naming the line and the fix."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.toml"))
        hint = f" (it holds {', '.join(found[:5])})" if found else ""
        raise CaseError(path, f"is a folder, not a case file{hint}",
                        "give the path of the case file (a .toml file) itself")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CaseError(path, "the case file does not exist", "check the path") from None
    except UnicodeDecodeError as err:
        raise CaseError(path, f"is not UTF-8 text (byte {err.start})",
                        "save the case file as UTF-8 (it should be a TOML text file)") from None
    except OSError as err:
        raise CaseError(path, f"cannot be read ({err.strerror})",
                        "check the path and its permissions") from None
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
    errors = err.errors()
    # a misspelt key is both unknown and, if required, missing: name the misspelling, whose
    # fix (the nearest valid name) is the one the user needs
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    problem = (first.get("ctx") or {}).get("error")
    if isinstance(problem, KeyProblem):
        column = next((str(p) for p in reversed(problem.loc) if isinstance(p, str)), None)
        return CaseError(path, str(problem), problem.fix,
                         line=find_line(text, problem.loc), column=column)
    loc = [str(p) for p in first["loc"] if not isinstance(p, int)]
    key = loc[-1] if loc else None
    dotted = ".".join(str(p) for p in first["loc"])
    line = find_line(text, first["loc"], exact=True) or _find_key_line(text, loc)
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
    named = re.match(r"'([a-z_]+)'", message)
    if named and isinstance(first.get("input"), dict) and named.group(1) in first["input"]:
        # a section's own check names the key at fault: point at that key's line (the
        # pricing tag, 'cpm', is in pydantic's path but not in the file)
        where = [p for p in first["loc"] if p not in _PRICING_TAGS]
        found = find_line(text, (*where, named.group(1)), exact=True)
        if found is not None:
            line, key = found, named.group(1)
            dotted = ".".join(str(p) for p in where)
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
    return CaseError(path, f"'{dotted}' is invalid: {message}{shown}",
                     "correct the value", line=line, column=key)


_PRICING_TAGS = ("cpm", "rate_card", "contracts")


def _valid_keys(loc: list[str]) -> list[str]:
    model: Any = Case
    for part in loc:
        field = model.model_fields.get(part)
        if field is None:
            # a tagged union (damages pricing) puts the tag in the path: pick that member
            model = _tagged_member(model, part)
            if model is None:
                return []
            continue
        model = _model_of(field.annotation)
        if model is None:
            return []
    return sorted(model.model_fields)


def _tagged_member(model: Any, tag: str) -> Any:
    """The member of ``Pricing`` whose ``kind`` is ``tag``, when ``model`` is one of them."""
    members = _models_of(Pricing)
    if model not in members:
        return None
    return next((m for m in members
                 if getattr(m.model_fields["kind"].annotation, "__args__", ()) == (tag,)), None)


def _models_of(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) or () for m in _models_of(arg)]


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
