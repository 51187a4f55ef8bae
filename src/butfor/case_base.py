"""The base of every case-file section (frozen, unknown keys refused), and a key's complaint."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyProblem(ValueError):
    """A validator's complaint about one key, with its place (``("claims", 2, "event")``)."""

    def __init__(self, loc: tuple, message: str, fix: str = "correct the value") -> None:
        super().__init__(message)
        self.loc = loc
        self.fix = fix
