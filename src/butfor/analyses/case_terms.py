"""A method's own parameters, said as the case file's keys.

The estimators under ``methods/`` never read the case: when one cannot work
with a parameter it was given, it raises :class:`~butfor.errors.ParameterError`
naming that parameter (``family``, ``peers``, ``time_effects``, ...), and a
flag that suggests a frequency names the method's ``frequency``. This module,
on the case's side, writes the same sentence with the case file's keys and
fix: :func:`in_case_terms` wraps a method's case adapter, and the command that
read the file (:func:`butfor.pipeline.run_case_file`, ``butfor power``) adds
the file and the key's line (:meth:`CaseKeyError.located`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from butfor.errors import CaseError, DataError, ParameterError
from butfor.methods._flags import frequency_hint


@dataclass(frozen=True)
class CaseKey:
    """Where a method's parameter comes from in the case file, and the fix said there."""

    loc: tuple[str, ...]  # the key's place, for its line: ("outcome", "family")
    fix: Callable[[ParameterError, str], str] | None = None  # (error, method) -> the fix


#: each method parameter's case key, in the words the case file's own errors use
WORDS: dict[str, str] = {
    "family": "[outcome] family",
    "peers": "[peers]",
    "time_effects": "[regression] time_effects",
    "window": "[window]",
    "event": "event",
    "frequency": "[data] frequency",
    "candidates": "events",
    "group_a": "[before_after] comparison",
    "group_b": "[before_after] comparison",
}

KEYS: dict[str, CaseKey] = {
    "family": CaseKey(("outcome", "family")),
    "peers": CaseKey(("peers",), lambda e, method: (
        f"name more peers in [peers] (or leave {method} out of methods)")),
    "time_effects": CaseKey(("regression", "time_effects"), lambda e, method: (
        "set [regression] time_effects = false, or compare two groups with "
        "[before_after] comparison = \"groups\"")),
    "window": CaseKey(("window",), lambda e, method: "move the event date or widen [window]"),
    "frequency": CaseKey(("data", "frequency")),
    "candidates": CaseKey(("events",), lambda e, method: (
        "name two or more changes as [[events]] in the case")),
}


class CaseKeyError(CaseError, DataError):
    """A method's parameter error said as the case file's key and fix (see the module).

    Still a :class:`DataError`, as the method's error was, so what caught that
    (``butfor power``'s rows, the web app) catches this.
    """

    def __init__(self, loc: tuple[str, ...], problem: str, fix: str,
                 path: str | Path | None = None, line: int | None = None) -> None:
        self.loc = loc
        super().__init__(path, problem, fix, line=line)

    def located(self, path: str | Path, text: str) -> CaseKeyError:
        """The same sentence, naming the case file and the line of its key (if written)."""
        from butfor.case_lines import find_line

        return CaseKeyError(self.loc, self.problem, self.fix, path=path,
                            line=find_line(text, self.loc, exact=True))

    def __reduce__(self):  # picklable across processes, with its fields
        return (CaseKeyError, (self.loc, self.problem, self.fix, self.path, self.line))


def case_error(err: ParameterError, method: str) -> CaseKeyError | None:
    """``err`` in the case file's words, or None for a parameter the case does not set."""
    key = KEYS.get(err.parameter)
    if key is None:
        return None
    problem, fix = err.render(WORDS)
    if key.fix is not None:
        fix = key.fix(err, method)
    return CaseKeyError(key.loc, problem, fix)


def flags_in_case_terms(analysis: dict) -> None:
    """An analysis's flags that suggest a frequency name ``[data] frequency`` (in place)."""
    for flag in analysis.get("flags") or []:
        found = (flag.get("values") or {}).get("observed_frequency")
        if found:
            flag["message"] = flag["message"].replace(
                frequency_hint(found), frequency_hint(found, key=WORDS["frequency"]))


def in_case_terms(adapter: Callable[..., list[dict]], method: str) -> Callable[..., list[dict]]:
    """``adapter`` (a method's ``analyses_for_case``) speaking the case file's words."""

    @functools.wraps(adapter)
    def said(*args, **kwargs) -> list[dict]:
        try:
            analyses = adapter(*args, **kwargs)
        except ParameterError as err:
            translated = case_error(err, method)
            if translated is None:
                raise
            raise translated from err
        for analysis in analyses:
            flags_in_case_terms(analysis)
        return analyses

    return said


__all__ = ["KEYS", "WORDS", "CaseKey", "CaseKeyError", "case_error", "flags_in_case_terms",
           "in_case_terms"]
