"""Figures drawn here and in a helper process are the figures drawn one by one, byte for byte.

Reference: butfor.report.figures.render called on each plot in turn in this process
(the drawing the report did before the helper existed); the fixture is the report
tests' simulated case (tests/report_fixture.py).
"""

from __future__ import annotations

import pickle

import pytest

from butfor.report import parallel
from butfor.report.figures import render
from butfor.report.plotdata import figures_for
from report_fixture import make_results


@pytest.fixture(scope="module")
def plots() -> list:
    found = figures_for(make_results())
    assert len(found) >= parallel.MIN_FIGURES  # else the helper would not be used
    return found


@pytest.fixture(scope="module")
def alone(plots) -> list:
    return [render(p, png=True) for p in plots]


def test_two_processes_give_the_bytes_of_one(plots, alone, monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    assert parallel.render_all(plots, png=True) == alone


def test_the_helper_draws_from_the_back_until_it_meets_a_claimed_figure(plots, alone,
                                                                       tmp_path):
    for j in range(3):  # as if this process had drawn the first three
        assert parallel._claim(tmp_path, j)
    parallel._child(tmp_path, plots, True)
    done = sorted(int(f.stem) for f in tmp_path.glob("*.pickle"))
    assert done == list(range(3, len(plots)))
    for j in done:
        assert pickle.loads((tmp_path / f"{j}.pickle").read_bytes()) == (j, *alone[j])
    assert not parallel._claim(tmp_path, 3)  # each figure is claimed once


def test_a_helper_that_fails_leaves_every_figure_drawn_here(plots, alone, monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_CHILD", "import sys; sys.exit(3)")
    assert parallel.render_all(plots, png=True) == alone
