"""Shared fixtures: where the real data is, and how big slow checks run."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run slow statistical checks at full size (CI runs them smaller)",
    )


@pytest.fixture(scope="session")
def slow_size(request: pytest.FixtureRequest):
    """Pick a size for a slow check: ``slow_size(ci=40, full=200)``."""
    full = request.config.getoption("--full")

    def pick(*, ci: int, full_size: int) -> int:
        return full_size if full else ci

    return pick


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder beside the project; skip when a machine lacks it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA
