"""Hand-made analyses as typed records: only the figures a test is about, the rest left empty.

A claims test states the figures its verdict turns on (a summary, a placebo
test, a convergence figure); :func:`record` makes the typed record of that
analysis (:mod:`butfor.records`), with every other required field empty: None
where the record allows it (as a key absent from the dict read before), else
an empty string, list or mapping, zero or False. A key the kind does not have
is still refused, so a fixture cannot hold a shape no method writes.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from butfor.records import KINDS, Analysis, parse_analysis


def complete(d: dict) -> dict:
    """``d`` with every required field of its kind (``d["method"]``) filled with an empty value."""
    return _fill(KINDS[d["method"]], d)


def record(d: dict) -> Analysis:
    """The typed record of a hand-made analysis dict (see :func:`complete`)."""
    return parse_analysis(complete(d))


def _fill(model: type[BaseModel], d: dict) -> dict:
    out = dict(d)
    for name, field in model.model_fields.items():
        if name in out:
            out[name] = _fill_value(field.annotation, out[name])
        elif field.is_required():
            out[name] = _empty(field.annotation)
    return out


def _fill_value(annotation: Any, value: Any) -> Any:
    for arg in _options(annotation):
        if _is_model(arg) and isinstance(value, dict):
            return _fill(arg, value)
        if typing.get_origin(arg) is list and isinstance(value, list):
            (item,) = typing.get_args(arg) or (Any,)
            return [_fill_value(item, v) for v in value]
    return value


def _empty(annotation: Any) -> Any:
    options = _options(annotation)
    if type(None) in options:
        return None
    first = options[0]
    origin = typing.get_origin(first)
    if _is_model(first):
        return _fill(first, {})
    if origin is list or first is list:
        return []
    if origin is dict or first is dict:
        return {}
    return {str: "", bool: False, int: 0, float: 0.0}.get(first)


def _options(annotation: Any) -> tuple:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation))
    return (annotation,)


def _is_model(x: Any) -> bool:
    return isinstance(x, type) and issubclass(x, BaseModel)
