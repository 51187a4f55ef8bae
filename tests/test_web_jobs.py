"""`butfor serve`'s jobs: relative homes, and a server killed mid-job then restarted.

The jobs run in a real worker process, as on a server: the case folder is
handed to it by path, and the worker changes into it to run the case exactly
as ``butfor run case.toml --out out`` would there.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from butfor.web.app import Settings, create_app
from butfor.web.auth import add_user
from butfor.web.db import WebStore
from butfor.web.worker import OUT, run_job
from web_fixtures import (
    case_form,
    errors_in,
    free_port,
    job_id_on,
    start_server,
    wait_for_job,
    write_export,
)


def _make_case(client, headers, export: Path) -> str:
    r = client.post("/uploads", headers=headers, follow_redirects=False,
                    files=[("files", ("accounts.csv", export.read_bytes(), "text/csv"))])
    assert r.status_code == 303, errors_in(r.text)
    r = client.post(f"{r.headers['location']}/cases", headers=headers, data=case_form(),
                    follow_redirects=False)
    assert r.status_code == 303, errors_in(r.text)
    return r.headers["location"]


def test_a_relative_home_runs_jobs(tmp_path, monkeypatch):
    """The default --home is relative (.butfor/web); a run started from the page must work.

    Regression: the worker changed into the case folder and then looked for its
    progress file by the relative path again, inside itself, so every run failed.
    """
    export = write_export(tmp_path)
    monkeypatch.chdir(tmp_path)
    home = Path(".butfor/web")
    headers = {"Authorization": f"Bearer {add_user(home / 'web.duckdb', 'alice')}"}
    with TestClient(create_app(Settings(home=home, workers=1))) as client:
        case = _make_case(client, headers, export)
        client.post(f"{case}/run", headers=headers, follow_redirects=False)
        job = wait_for_job(lambda url: client.get(url, headers=headers).json(),
                           job_id_on(client.get(case, headers=headers).text))
        assert (job["status"], job["error"]) == ("done", None)
        assert client.get(f"{case}/download/results.json", headers=headers).status_code == 200


def test_the_worker_runs_a_case_folder_given_by_a_relative_path(tmp_path, monkeypatch):
    export = write_export(tmp_path)
    home = tmp_path / "home"
    headers = {"Authorization": f"Bearer {add_user(home / 'web.duckdb', 'alice')}"}
    with TestClient(create_app(Settings(home=home, workers=0))) as client:
        case_id = _make_case(client, headers, export).rsplit("/", 1)[1]
    folder = next((home / "users").glob(f"*/cases/{case_id}"))
    shutil.move(folder, tmp_path / "case")
    monkeypatch.chdir(tmp_path)
    assert run_job(Path("case")) is None
    assert Path.cwd() == tmp_path  # the worker goes back where it was
    assert (tmp_path / "case" / OUT / "results.json").is_file()
    assert (tmp_path / "case" / "progress.txt").read_text(encoding="utf-8") == "done"


# -- a real server, killed with SIGKILL mid-job and started again ----------------
def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_server_killed_mid_job_runs_each_job_exactly_once(tmp_path):
    export = write_export(tmp_path)
    home = tmp_path / "home"
    headers = {"Authorization": f"Bearer {add_user(home / 'web.duckdb', 'alice')}"}
    port = free_port()
    with open(tmp_path / "server.log", "w") as log:
        server = start_server(home, port, log)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=30) as client:
                cases = [_make_case(client, headers, export) for _ in range(2)]
                jobs = []
                for case in cases:
                    client.post(f"{case}/run")
                    jobs.append(job_id_on(client.get(case).text))
                deadline = time.monotonic() + 60
                while client.get(f"/api/jobs/{jobs[0]}").json()["status"] != "running":
                    assert time.monotonic() < deadline, "the first job never started"
                    time.sleep(0.05)
                workers = _children(server.pid)
                assert workers, "no worker process runs the job"
                server.send_signal(signal.SIGKILL)  # mid-job: the first is running
                server.wait(timeout=10)
            deadline = time.monotonic() + 10
            while any(_alive(w) for w in workers):  # workers die with their server
                assert time.monotonic() < deadline, "a worker outlived its killed server"
                time.sleep(0.05)
            server = start_server(home, port, log)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=30) as client:
                final = [wait_for_job(lambda url: client.get(url).json(), j) for j in jobs]
                results = [client.get(f"{c}/download/results.json").content for c in cases]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert [j["status"] for j in final] == ["done", "done"], final
    assert final[0]["attempts"] == 2  # the job cut off by the kill was run again
    assert final[1]["attempts"] == 1  # the queued one waited and ran once
    # the two cases are the same case, so the re-run wrote what an uncut run writes
    assert results[0] == results[1]
    store = WebStore(home / "web.duckdb")
    try:
        rows = store.all_jobs()
    finally:
        store.close()
    assert sorted(r["id"] for r in rows) == sorted(jobs)  # none lost, none added
    assert [r["finishes"] for r in rows] == [1, 1]  # each recorded finished once
