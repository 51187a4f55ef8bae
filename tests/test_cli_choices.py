"""Options that take one of a fixed set of strings are enums: listed in --help, refused by typer.

Reference: each enum's values are the tuple of the module that owns the choice (the reader
registry, butfor.frequency, butfor.audit.settings, butfor.connectors.wikimedia); a wrong
value is refused before the command runs, exit 2, naming the allowed values.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from butfor import choices
from butfor.cli import app


def _values(enum) -> tuple[str, ...]:
    return tuple(c.value for c in enum)


def test_each_enum_is_its_owners_set_of_values():
    from butfor import frequency
    from butfor.audit import settings
    from butfor.connectors import wikimedia
    from butfor.readers import FORMATS

    assert _values(choices.Format) == ("auto", *FORMATS)
    assert _values(choices.Frequency) == ("auto", *frequency.NAMES.values())
    assert _values(choices.Reference) == settings.REFERENCES
    assert _values(choices.Transform) == settings.TRANSFORMS
    assert _values(choices.FdrMethod) == settings.FDR_METHODS
    assert set(_values(choices.Access)) == set(wikimedia.ACCESS)
    assert set(_values(choices.Agent)) == set(wikimedia.AGENTS)
    assert _values(choices.Granularity) == wikimedia.GRANULARITIES


CASES = [
    (["ingest", "x.csv"], "--format", choices.Format),
    (["ingest", "x.csv"], "--frequency", choices.Frequency),
    (["audit"], "--reference", choices.Reference),
    (["audit"], "--transform", choices.Transform),
    (["audit"], "--fdr-method", choices.FdrMethod),
    (["fetch", "wikipedia", "A", "--start", "2022-01-01", "--end", "2022-01-02"], "--access",
     choices.Access),
    (["fetch", "wikipedia", "A", "--start", "2022-01-01", "--end", "2022-01-02"], "--agent",
     choices.Agent),
    (["fetch", "wikipedia", "A", "--start", "2022-01-01", "--end", "2022-01-02"],
     "--granularity", choices.Granularity),
]


def _flat(text: str) -> str:
    """The output without rich's box drawing and line breaks (help wraps the choices)."""
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


@pytest.mark.parametrize(("command", "option", "enum"), CASES,
                         ids=[f"{c[0]} {o}" for c, o, _ in CASES])
def test_a_wrong_choice_is_refused_with_the_choices_named(command, option, enum, tmp_path):
    done = CliRunner().invoke(app, [*command, option, "nope", "--store",
                                    str(tmp_path / "s.duckdb")])
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    flat = _flat(done.output)
    assert f"Invalidvaluefor'{option}'" in flat
    for c in enum:
        assert f"'{c.value}'" in flat
    assert not (tmp_path / "s.duckdb").exists()  # refused before the command ran


@pytest.mark.parametrize(("command", "option", "enum"), CASES,
                         ids=[f"{c[0]} {o}" for c, o, _ in CASES])
def test_help_lists_the_choices(command, option, enum):
    words = [w for w in command if not w.startswith("-") and "." not in w and w[0].islower()
             and not w[0].isdigit()]
    # wide enough that rich does not cut the list of choices short with "..."
    done = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "400"})
    assert done.exit_code == 0, done.output
    assert "<" + "|".join(c.value for c in enum) + ">" in _flat(done.output)
