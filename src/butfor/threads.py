"""One thread for every parallel backend a run uses, so a run's bits do not follow the load.

The matrices of a case are small, where threads cost more than they save (BLAS was
50x slower multi-threaded on a loaded 2-core machine), and a reduction split over
threads adds in an order that follows the scheduler. Pinned here:

- BLAS and OpenMP through threadpoolctl (the pool numpy and scipy already loaded);
- the regression backend's own pools, read from the environment when they start:
  pyfixest's Rust demeaner (rayon) and its optional numba demeaner;
- the Dask workers the audit starts run one thread each (``Executor``).

Parallel work in butfor is across processes (the audit's partitions), never
threads inside one computation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# read by each library when its thread pool starts (rayon at its first parallel call)
POOL_ENVIRONMENT = {
    "RAYON_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def pin_environment() -> None:
    """Set the pool sizes in this process's environment (child processes inherit them)."""
    os.environ.update(POOL_ENVIRONMENT)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Every backend at one thread for the duration (BLAS restored afterwards)."""
    from threadpoolctl import threadpool_limits

    pin_environment()
    numba = sys.modules.get("numba")
    if numba is not None:  # already started with its own pool size: shrink it
        numba.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
