"""One exception tree and one warning base for the whole package.

::

    ButforError                  every error butfor raises on purpose
    ├── InputError               a file the user gave us is malformed
    ├── CaseError                the case file is invalid
    ├── DataError                the data cannot answer the question asked
    │   └── ParameterError       ... with a method's own parameter (named; analyses/ names
    │                            the case file's key for it)
    ├── EstimationError          a method could not fit
    └── FetchError               a fetch asked for could not be done (offline, no token, ...)

    ButforWarning                fixable problems, repaired with a warning
    └── AssumptionWarning        an assumption check failed; carries a remedy

The CLI catches ``ButforError``, prints ``str(error)`` (one sentence that
names the file, the line, the column and the fix) and exits with code 2.
"""

from __future__ import annotations

import re
from pathlib import Path


class ButforError(Exception):
    """Base of every error butfor raises on purpose."""


class InputError(ButforError):
    """A malformed input file: says where (file, line, column) and how to fix it.

    ``line`` is the 1-based line in the file as a text editor shows it (the
    header is line 1), or None when the problem is the whole file.
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        self.line = line
        self.column = column
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        place = ", ".join(where)
        prefix = f"{place}: " if place else ""
        # one sentence on one line, whatever the file held: a line break or other control
        # character inside an echoed cell (a quoted field can hold one) is shown escaped
        return _one_line(f"{prefix}{self.problem}; {self.fix}.")


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CaseError(InputError):
    """The case file is invalid (unknown key, wrong type, impossible value)."""


class DataError(ButforError):
    """The data cannot answer the question (subject missing, event outside the data)."""


class ParameterError(DataError):
    """A method cannot answer with one of its own parameters as given, on this data.

    ``methods/`` never reads the case, so the sentence names the method's own
    parameters: ``problem`` and ``fix`` may hold ``{name}`` for a parameter
    ``name`` (``{family}``, ``{peers}``, ...), written as the bare name in the
    method's own sentence (``str(err)``). ``parameter`` is the one at fault and
    ``suggest`` the value that would work, if one would. The layer that read the
    case (:mod:`butfor.analyses.case_terms`) writes the same sentence with the case
    file's keys for those names (:meth:`render`), and names the file and line.
    """

    def __init__(self, owner: str, parameter: str, problem: str, fix: str, *,
                 suggest: object = None) -> None:
        self.owner, self.parameter = owner, parameter
        self.problem, self.fix, self.suggest = problem, fix, suggest
        super().__init__("; ".join(self.render()))

    def names(self) -> list[str]:
        """The parameter names the sentence refers to (its ``{name}`` fields)."""
        return sorted({m.group(1) for text in (self.problem, self.fix)
                       for m in _NAME.finditer(text)})

    def render(self, words: dict[str, str] | None = None) -> tuple[str, str]:
        """(problem, fix) with each ``{name}`` written as ``words[name]`` (default: name)."""
        said = dict(words or {})

        def word(m: re.Match) -> str:
            return said.get(m.group(1), m.group(1))

        return _NAME.sub(word, self.problem), _NAME.sub(word, self.fix)

    def __reduce__(self):  # picklable across processes, with its fields
        return (_parameter_error, (self.owner, self.parameter, self.problem, self.fix,
                                   self.suggest))


_NAME = re.compile(r"\{([a-z][a-z_]*)\}")  # a parameter's place in a ParameterError's sentence


def _parameter_error(owner, parameter, problem, fix, suggest) -> ParameterError:
    return ParameterError(owner, parameter, problem, fix, suggest=suggest)


class EstimationError(ButforError):
    """A method could not fit the data it was given."""


class FetchError(ButforError):
    """A network fetch the user asked for failed: says which service, why, and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message if message.endswith(".") else f"{message}.")


class ButforWarning(UserWarning):
    """Base of every warning butfor issues."""


class AssumptionWarning(ButforWarning):
    """An assumption check failed; the message says what to do about it."""
