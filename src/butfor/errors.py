"""One exception tree and one warning base for the whole package.

::

    ButforError                  every error butfor raises on purpose
    ├── InputError               a file the user gave us is malformed
    ├── CaseError                the case file is invalid
    ├── DataError                the data cannot answer the question asked
    ├── EstimationError          a method could not fit
    └── FetchError               a fetch asked for could not be done (offline, no token, ...)

    ButforWarning                fixable problems, repaired with a warning
    └── AssumptionWarning        an assumption check failed; carries a remedy

The CLI catches ``ButforError``, prints ``str(error)`` (one sentence that
names the file, the line, the column and the fix) and exits with code 2.
"""

from __future__ import annotations

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
