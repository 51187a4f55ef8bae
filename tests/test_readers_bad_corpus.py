"""The malformed corpus in tests/data/bad/: each input gives its one-sentence error, exit 2.

tests/data/bad/MANIFEST.toml maps every file (or folder) there to the message
its `butfor ingest` must print; this test runs each through the command line
and checks the exit code, that no traceback shows, the file, line and column
named, and the message fragment. Line numbers were counted by hand in the files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from butfor.cli import app

BAD = Path(__file__).parent / "data" / "bad"
ENTRIES = tomllib.loads((BAD / "MANIFEST.toml").read_text(encoding="utf-8"))["bad"]


def test_corpus_has_thirty_files_each_with_an_entry():
    on_disk = {p.name for p in BAD.iterdir() if p.name != "MANIFEST.toml"}
    listed = [e["file"] for e in ENTRIES]
    assert len(listed) == len(set(listed)) >= 30
    assert on_disk == set(listed)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_bad_file_gives_its_sentence(entry, tmp_path):
    store = tmp_path / "store.duckdb"
    path = BAD / entry["file"]
    result = CliRunner().invoke(app, ["ingest", str(path), *entry.get("args", []),
                                      "--store", str(store)])
    message = result.output.strip()
    assert result.exit_code == 2, message
    assert "Traceback" not in message and "\n" not in message, message
    assert message.startswith(f"error: {path}") and message.endswith("."), message
    assert entry["says"] in message, message
    if "line" in entry:
        assert f"line {entry['line']}" in message, message
    else:
        assert ", line " not in message, message
    if "column" in entry:
        assert f"column '{entry['column']}'" in message, message
    assert not store.exists()  # nothing stored
