"""Work shared with one spawned worker from both ends of a list (butfor.parallel.share).

Reference: the same items done one by one in this process; each item reports the
process that did it, so the test sees which end took it.
"""

from __future__ import annotations

import os
import time

import pytest

from butfor import parallel


def _where(item: int) -> tuple[int, int]:
    time.sleep(0.2)  # long beside the worker's start-up share, so both ends are reached
    return item, os.getpid()


def _die(item: int) -> None:
    os._exit(3)


def test_two_items_are_one_here_and_one_there_and_the_helper_stays_open(monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    with parallel.run_helper():
        pool = parallel._HELPER.get().pool
        got = parallel.share(_where, _where, [0, 1])
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


def test_a_run_helper_that_cannot_start_leaves_everything_done_here(monkeypatch):
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_spawned_pool", _NoWorker)
    with parallel.run_helper():
        parallel.warm(_where, 0)
        assert parallel.share(_where, _where, [0, 1, 2, 3, 4]) \
            == [(i, os.getpid()) for i in range(5)]
