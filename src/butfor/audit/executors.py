"""Where the audit's partitions run: this process, a process pool, or a Dask cluster.

Every backend runs the same function on the same inputs (:func:`butfor.audit.passes.task`
for the two passes, :func:`butfor.audit_sim.simulate_partition` to write a
simulated platform); the driver combines their files in partition order, so
every backend gives identical results. Each call returns a small record of
where and how long it ran and the peak memory of the process it ran in
(:func:`measured`), which the audit keeps in ``run.json``.
"""

from __future__ import annotations

import functools
import os
import resource
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Backend = Literal["local", "dask"]
# run(fn, items, progress, shared=None, name="task") -> fn(item[, shared]) for each item, in order
RunMap = Callable[..., list]


@dataclass(frozen=True)
class Executor:
    """Where partitions run: this process, a local process pool, or a Dask cluster."""

    backend: Backend = "local"
    workers: int = 1
    scheduler: str | None = None  # Dask scheduler address; "local" starts a LocalCluster
    client: Any = field(default=None, compare=False)  # an existing dask.distributed.Client
    pool: Any = field(default=None, compare=False)  # an existing ProcessPoolExecutor

    @property
    def uses_dask(self) -> bool:
        return self.backend == "dask" or self.client is not None or bool(self.scheduler)

    @contextmanager
    def started(self) -> Iterator[Executor]:
        """This executor with its workers running, to share between several steps."""
        if self.client is not None or self.pool is not None:
            yield self
        elif self.uses_dask:
            with self._dask_client() as client:
                yield replace(self, client=client)
        elif self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
                yield replace(self, pool=pool)
        else:
            yield self

    @contextmanager
    def session(self) -> Iterator[RunMap]:
        """Start the workers (unless already started); yields the function that runs a step."""
        with self.started() as ex:
            if ex.client is not None:
                yield functools.partial(_run_dask, ex.client)
            elif ex.pool is not None:
                yield functools.partial(_run_pool, ex.pool)
            else:
                yield _run_serial

    def describe(self) -> dict:
        """What ran the audit, for run.json (with a live Dask client: its workers)."""
        d: dict[str, Any] = {"backend": "dask" if self.uses_dask else "local",
                             "workers": self.workers}
        if self.client is not None:
            info = self.client.scheduler_info()
            d.update(scheduler=info.get("address"), workers=len(info.get("workers", {})),
                     worker_memory_limit={a: w.get("memory_limit")
                                          for a, w in sorted(info.get("workers", {}).items())})
        return d

    @contextmanager
    def _dask_client(self):
        from dask.distributed import Client, LocalCluster

        if self.scheduler and self.scheduler != "local":
            with Client(self.scheduler) as client:
                yield client
            return
        # separate worker processes, one thread each, talking over loopback only; the
        # scheduler serves HTTP even without a dashboard, on 8787 unless told: a port of
        # the machine's choosing on loopback, so two clusters (two audits, parallel tests)
        # never collide and nothing listens beyond this machine
        with LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
            yield client


def measured(fn: Callable, *args) -> dict:
    """Run ``fn(*args)``; its value with the time it took and this process's memory.

    ``peak_rss`` is the process's peak resident memory so far (``ru_maxrss``):
    in a worker process, the most that worker has held at any time.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn(*args)
    rss = _current_rss()
    return {"value": value, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss": rss}


def _current_rss() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _call(fn, item, shared):
    return measured(fn, item) if shared is None else measured(fn, item, shared)


def _run_serial(fn, items: Sequence, progress, shared=None, name: str = "task") -> list:
    out = []
    for item in items:
        out.append(_call(fn, item, shared))
        progress()
    return out


def _run_pool(pool, fn, items: Sequence, progress, shared=None, name: str = "task") -> list:
    from concurrent.futures import as_completed

    futures = {pool.submit(_call, fn, item, shared): i for i, item in enumerate(items)}
    out: list = [None] * len(items)
    for f in as_completed(futures):
        out[futures[f]] = f.result()
        progress()
    return out


def _run_dask(client, fn, items: Sequence, progress, shared=None, name: str = "task") -> list:
    from dask.distributed import as_completed

    if not items:
        return []
    shared_f = client.scatter(shared, broadcast=True) if shared is not None else None
    token = uuid.uuid4().hex[:8]
    futures = [client.submit(_call, fn, item, shared_f, pure=False,
                             key=f"butfor-{name}-{i:05d}-{token}") for i, item in enumerate(items)]
    index = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * len(items)
    for f in as_completed(futures):
        out[index[f.key]] = f.result()
        progress()
    return out
