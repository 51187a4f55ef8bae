"""What one audit run cost: wall time per step, every partition's time and its worker's memory.

Written to ``run.json`` beside the results (never into ``summary.json``, which
stays the same for the same audit): the steps' wall times (and the driver's
CPU time in each), one record per
partition and step (seconds, CPU seconds, the worker that ran it, that
worker's peak resident memory so far), and per worker the most it held. The
benchmarks read the per-partition cost and the per-worker peak from here.
"""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RunLog:
    stages: dict[str, float] = field(default_factory=dict)
    stages_cpu: dict[str, float] = field(default_factory=dict)  # this (the driver's) process
    tasks: list[dict] = field(default_factory=list)
    executor: dict = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t0
            self.stages_cpu[name] = self.stages_cpu.get(name, 0.0) + time.process_time() - c0

    def record(self, step: str, partitions: list[int], records: list[dict]) -> list:
        """Keep the records of one step's calls (one per partition); returns their values."""
        for pid, r in zip(partitions, records, strict=True):
            self.tasks.append({"step": step, "partition": pid,
                               **{k: v for k, v in r.items() if k != "value"}})
        return [r["value"] for r in records]

    def to_dict(self) -> dict:
        workers: dict[str, dict] = {}
        for t in self.tasks:
            w = workers.setdefault(t["worker"], {"tasks": 0, "busy_seconds": 0.0, "peak_rss": 0})
            w["tasks"] += 1
            w["busy_seconds"] += t["seconds"]
            w["peak_rss"] = max(w["peak_rss"], t["peak_rss"])
        cost = {}
        for step in dict.fromkeys(t["step"] for t in self.tasks):
            secs = np.array([t["seconds"] for t in self.tasks if t["step"] == step])
            cpu = np.array([t["cpu_seconds"] for t in self.tasks if t["step"] == step])
            cost[step] = {"partitions": int(secs.size), "median_seconds": float(np.median(secs)),
                          "mean_seconds": float(secs.mean()), "max_seconds": float(secs.max()),
                          "median_cpu_seconds": float(np.median(cpu)),
                          "total_cpu_seconds": float(cpu.sum())}
        return {"stages": {k: round(v, 3) for k, v in self.stages.items()},
                "stages_cpu": {k: round(v, 3) for k, v in self.stages_cpu.items()},
                "executor": self.executor,
                "driver_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "workers": dict(sorted(workers.items())),
                "partition_cost": cost,
                "tasks": self.tasks}
