"""Shared pieces of the web tests: a small export, a case form, waiting for a job, a server."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

EVENT = dt.date(2022, 2, 10)


def write_export(folder: Path) -> Path:
    """A Social Blade-style CSV of a small simulated platform (9 accounts, 60 days)."""
    sim = simulate_platform(PlatformConfig(n_peers=8, days=60, events=(
        EventSpec("change", EVENT, platform_shock=-0.1, subject_shock=-0.6),)), seed=4)
    data = sim.panel.data
    cols = {"username": data["unit"], "date": data["date"].dt.strftime("%Y-%m-%d")}
    for m in sim.panel.metrics:
        cols[m] = data[m].round().astype("Int64")
    path = folder / "accounts.csv"
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


def case_form(**changes) -> dict:
    form = {"title": "Did the change cut Ava's reach?", "seed": "3", "subject": "ava_sterling",
            "metric": "impressions", "transform": "log1p", "event_name_1": "change",
            "event_date_1": EVENT.isoformat(), "event_scope_1": "platform",
            "methods": ["prepost"], "claims": ["declined_after", "beyond_platform_trend"]}
    form.update(changes)
    return form


def errors_in(html: str) -> dict[str, str]:
    """The error sentences on a page, by the id of the element that shows them."""
    return {k: html_lib.unescape(v)
            for k, v in re.findall(r'class="error" id="([^"]+)-error"[^>]*>([^<]*)<', html)}


def wait_for_job(get_json, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get_json(f"/api/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def job_id_on(html: str) -> str:
    return re.search(r'data-job="([0-9a-f]+)"', html).group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, log, *options: str) -> subprocess.Popen:
    """`butfor serve` (with these command-line options) in a process of its own, once it
    answers /health."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "butfor", "serve", "--home", str(home), "--port", str(port),
         *options], stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server stopped on start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer /health within 60 s")
