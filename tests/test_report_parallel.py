"""Figures drawn here and in a pool worker are the figures drawn one by one, byte for byte.

Reference: butfor.report.figures.render called on each plot in turn in this process
(the drawing the report did before the worker existed); the figures are those of the
report tests' small case as `butfor run` wrote it (tests/report_case.py).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from butfor.report import parallel
from butfor.report.figures import render
from butfor.report.plotdata import figures_for


@pytest.fixture(scope="module")
def plots(report_case_output) -> list:
    results = json.loads((report_case_output / "results.json").read_text(encoding="utf-8"))
    found = figures_for(results)
    assert len(found) >= parallel.MIN_FIGURES  # else the worker would not be used
    return found


@pytest.fixture(scope="module")
def alone(plots) -> list:
    return [render(p, png=True) for p in plots]


def test_two_processes_give_the_bytes_of_one(plots, alone, monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    assert parallel.render_all(plots, png=True) == alone


def test_figures_drawn_early_by_the_run_helper_are_the_figures_drawn_late(plots, alone,
                                                                         monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    with parallel.run_helper():
        parallel.warm_figures()
        parallel.predraw(plots[:4], png=True)  # drawn in the worker, back first
        parallel.predraw(plots[-1:], png=False)  # not what the report asks for: called off
        helper = parallel._HELPER.get()
        helper.drawn[next(iter(helper.drawn))].result()  # one drawn before the report asks
        assert parallel.render_all(plots, png=True) == alone
        assert helper.drawn == {}


def _where(item: int) -> tuple[int, int]:
    time.sleep(0.2)  # long beside the worker's start-up share, so both ends are reached
    return item, os.getpid()


def _die(item: int) -> None:
    os._exit(3)


def test_two_items_are_one_here_and_one_there_and_the_helper_stays_open(monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    with parallel.run_helper():
        pool = parallel._HELPER.get().pool
        got = parallel.share(_where, _where, [0, 1], then=parallel.IMPORT_FIGURES)
        again = parallel.share(_where, _where, [0, 1])
        assert parallel._HELPER.get().pool is pool
    for done in (got, again):
        assert [item for item, _ in done] == [0, 1]
        assert done[0][1] == os.getpid() != done[1][1]  # the worker is not given both


def test_the_worker_takes_the_back_of_the_list_and_the_order_is_kept():
    # here from the front, the worker from the back: each process's items are one run
    got = parallel.share(_where, _where, list(range(12)))
    assert [item for item, _ in got] == list(range(12))
    pids = [pid for _, pid in got]
    assert pids[0] == os.getpid() and pids[-1] != os.getpid()
    cut = pids.index(pids[-1])
    assert set(pids[:cut]) == {os.getpid()} and set(pids[cut:]) == {pids[-1]}


def test_a_worker_that_dies_leaves_every_item_done_here():
    got = parallel.share(_where, _die, list(range(8)))
    assert got == [(j, os.getpid()) for j in range(8)]


def test_an_error_raised_by_an_item_is_raised_here():
    def here(item):
        if item == 5:
            raise ValueError("bad item")
        return item

    with pytest.raises(ValueError, match="bad item"):
        parallel.share(here, _die, list(range(8)))


class _NoWorker:
    """A pool that cannot start its worker (as in a daemonic process)."""

    def submit(self, *args, **kwargs):
        raise AssertionError("daemonic processes are not allowed to have children")

    def shutdown(self, **kwargs) -> None:
        pass


def test_a_run_helper_that_cannot_start_leaves_everything_done_here(plots, alone, monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_spawned_pool", _NoWorker)
    with parallel.run_helper():
        parallel.warm_figures()
        parallel.predraw(plots, png=True)
        assert parallel.share(_where, _where, [0, 1, 2, 3, 4], then=parallel.IMPORT_FIGURES) \
            == [(i, os.getpid()) for i in range(5)]
        assert parallel.render_all(plots, png=True) == alone
