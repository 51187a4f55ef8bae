"""`butfor serve`'s jobs: relative homes, and a server killed mid-job then restarted.

The jobs run in a real worker process, as on a server: the case folder is
handed to it by path, and the worker changes into it to run the case exactly
as ``butfor run case.toml --out out`` would there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from butfor.web.app import Settings, create_app
from butfor.web.auth import add_user
from butfor.web.worker import OUT, run_job
from web_fixtures import case_form, errors_in, job_id_on, wait_for_job, write_export


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
