"""Where the audit's partitions run: this process, a process pool, or a Dask cluster.

Every backend runs the same function (:func:`butfor.audit.passes.task`) on
the same inputs; the driver combines their files in partition order, so every
backend gives identical results.
"""

from __future__ import annotations

import functools
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from butfor.audit.passes import task

Backend = Literal["local", "dask"]


@dataclass(frozen=True)
class Executor:
    """Where partitions run: this process, a local process pool, or a Dask cluster."""

    backend: Backend = "local"
    workers: int = 1
    scheduler: str | None = None  # Dask scheduler address; "local" starts a LocalCluster
    client: Any = field(default=None, compare=False)  # an existing dask.distributed.Client

    @contextmanager
    def session(self):
        """Start the workers once for both passes; yields a function that runs one pass."""
        if self.backend == "dask" or self.client is not None or self.scheduler:
            with self._dask_client() as client:
                yield functools.partial(_run_dask, client)
        elif self.workers <= 1:
            yield _run_serial
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
                yield functools.partial(_run_pool, pool)

    @contextmanager
    def _dask_client(self):
        from dask.distributed import Client, LocalCluster

        if self.client is not None:
            yield self.client
            return
        if self.scheduler and self.scheduler != "local":
            with Client(self.scheduler) as client:
                yield client
            return
        # the scheduler serves HTTP even without a dashboard, on 8787 unless told: a port of
        # the machine's choosing on loopback, so two clusters (two audits, parallel tests)
        # never collide and nothing listens beyond this machine
        with LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
            yield client


def _run_serial(stage, parts, plan, out, shared, progress) -> None:
    for part in parts:
        task(stage, part, plan, out, shared)
        progress()


def _run_pool(pool, stage, parts, plan, out, shared, progress) -> None:
    from concurrent.futures import as_completed

    futures = [pool.submit(task, stage, p, plan, out, shared) for p in parts]
    for f in as_completed(futures):
        f.result()
        progress()


def _run_dask(client, stage, parts, plan, out, shared, progress) -> None:
    from dask.distributed import as_completed

    if not parts:
        return
    shared_f = client.scatter(shared, broadcast=True) if shared else None
    token = uuid.uuid4().hex[:8]
    futures = [client.submit(task, stage, p, plan, out, shared_f, pure=False,
                             key=f"butfor-audit-{stage}-{p.pid:05d}-{token}") for p in parts]
    for f in as_completed(futures):
        f.result()
        progress()
