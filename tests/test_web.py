"""`butfor serve` in process: the flow, isolation between users, refusals, CSV escaping.

The app runs with one real worker process (jobs never run in the request).
The case made on the page is downloaded with its data and run again by
`butfor run` in a folder of its own: results.json must match byte for byte.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile

import pytest
from fastapi.testclient import TestClient

from butfor.web.app import Settings, create_app, csv_cell, verdicts_csv
from butfor.web.auth import add_user
from web_fixtures import case_form, errors_in, job_id_on, wait_for_job, write_export


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A running app (one worker process) with users alice and bob, and an export file."""
    root = tmp_path_factory.mktemp("web")
    home = root / "home"
    tokens = {name: add_user(home / "web.duckdb", name) for name in ("alice", "bob")}
    export = write_export(root)
    with TestClient(create_app(Settings(home=home, workers=1, max_upload_mb=2))) as client:
        yield client, tokens, export, root


def _as(tokens, name):
    return {"Authorization": f"Bearer {tokens[name]}"}


def _upload(client, headers, files, **options):
    return client.post("/uploads", headers=headers, files=files, data=options,
                       follow_redirects=False)


@pytest.fixture(scope="module")
def alice_case(served):
    """Alice uploads the export, makes the case and runs it; returns (case url, job)."""
    client, tokens, export, _ = served
    h = _as(tokens, "alice")
    r = _upload(client, h, [("files", ("accounts.csv", export.read_bytes(), "text/csv"))])
    assert r.status_code == 303, r.text
    upload = r.headers["location"]
    page = client.get(upload, headers=h).text
    assert "accounts.csv" in page and "ava_sterling" in page  # the ingest report, by its name
    r = client.post(f"{upload}/cases", headers=h, data=case_form(), follow_redirects=False)
    assert r.status_code == 303, errors_in(r.text)
    case = r.headers["location"]
    r = client.post(f"{case}/run", headers=h, follow_redirects=False)
    assert r.status_code == 303
    job = wait_for_job(lambda url: client.get(url, headers=h).json(),
                       job_id_on(client.get(case, headers=h).text))
    return case, job, upload


def test_page_case_gives_the_same_results_as_butfor_run(served, alice_case, tmp_path):
    client, tokens, _, _ = served
    h = _as(tokens, "alice")
    case, job, _ = alice_case
    assert job["status"] == "done" and job["attempts"] == 1, job
    page = client.get(case, headers=h).text
    web_results = client.get(f"{case}/download/results.json", headers=h).content
    verdicts = json.loads(web_results)["verdicts"]
    assert re.findall(r'data-verdict="([^"]+)"', page) == [v["verdict"] for v in verdicts]
    assert len(verdicts) == 2
    bundle = client.get(f"{case}/download/case.zip", headers=h).content
    zipfile.ZipFile(io.BytesIO(bundle)).extractall(tmp_path)
    done = subprocess.run([sys.executable, "-m", "butfor", "run", "case.toml", "--out", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "results.json").read_bytes() == web_results
    report = client.get(f"{case}/download/report.html", headers=h)
    assert report.status_code == 200 and "Verdicts" in report.text


def test_another_user_gets_404_for_every_id(served, alice_case):
    client, tokens, _, _ = served
    bob = _as(tokens, "bob")
    case, job, upload = alice_case
    for url in [case, f"{case}/download/results.json", f"{case}/download/case.zip",
                f"{case}/download/case.toml", f"/api/jobs/{job['id']}", upload]:
        assert client.get(url, headers=bob).status_code == 404, url
    assert client.post(f"{case}/run", headers=bob).status_code == 404
    assert client.post(f"{upload}/cases", headers=bob, data=case_form()).status_code == 404
    home = client.get("/", headers=bob).text
    assert case.rsplit("/", 1)[1] not in home and upload.rsplit("/", 1)[1] not in home


def test_every_route_but_health_needs_a_token(served):
    client, _, _, _ = served
    assert client.get("/health").json() == {"status": "ok"}
    for route in client.app.routes:
        path = re.sub(r"\{[^}]+\}", "x", getattr(route, "path", ""))
        if path in ("/health", "/login") or path.startswith(("/openapi", "/docs", "/redoc")):
            continue
        for method in route.methods - {"HEAD"}:
            r = client.request(method, path, headers={"Authorization": "Bearer bf_wrong"},
                               follow_redirects=False)
            assert r.status_code in (303, 401), (method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"] == "/login"


def test_login_sets_a_strict_cookie(served):
    client, tokens, _, _ = served
    r = client.post("/login", data={"token": "bf_nobody"}, follow_redirects=False)
    assert r.status_code == 401 and "not known" in r.text
    r = client.post("/login", data={"token": tokens["bob"]}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert r.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
    client.cookies.clear()


def test_security_headers(served):
    client, tokens, _, _ = served
    r = client.get("/", headers=_as(tokens, "alice"))
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("../../etc/passwd.csv", b"username,date,followers\na,2022-01-01,1\n",
     "the file name '../../etc/passwd.csv' has a folder part"),
    ("sub/accounts.csv", b"username,date,followers\na,2022-01-01,1\n", "has a folder part"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv: is not a CSV, JSON lines"),
    ("latin.csv", "username,date\nJosé,2022-01-01\n".encode("latin-1"), "is not UTF-8 text"),
])
def test_bad_uploads_are_refused_with_their_message(served, name, data, message):
    client, tokens, _, _ = served
    r = _upload(client, _as(tokens, "alice"), [("files", (name, data, "text/csv"))],
                unit="kept-value")
    assert r.status_code == 400
    assert message in errors_in(r.text)["files"]
    assert 'value="kept-value"' in r.text  # what the user entered stays in the form


def test_a_refused_upload_option_is_shown_beside_its_field_and_kept(served):
    client, tokens, export, _ = served
    h = _as(tokens, "alice")
    files = [("files", ("accounts.csv", export.read_bytes(), "text/csv"))]
    r = _upload(client, h, files, timezone="Mars/Olympus_Mons")
    assert r.status_code == 400
    assert errors_in(r.text)["timezone"].startswith(
        "--timezone 'Mars/Olympus_Mons' is not a time zone name")
    assert 'value="Mars/Olympus_Mons"' in r.text
    r = _upload(client, h, files, format="tiktokk")
    assert errors_in(r.text)["format"].startswith("--format 'tiktokk' is not a reader butfor knows")
    assert '<option value="tiktokk" selected>' in r.text
    one_account = b"date,followers\n2022-01-01,5\n"  # names no account, so needs --unit
    r = _upload(client, h, [("files", ("one.csv", one_account, "text/csv"))])
    assert "pass --unit NAME" in errors_in(r.text)["unit"]


def test_zip_entries_outside_the_archive_are_refused(served):
    client, tokens, _, _ = served
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.csv", "username,date,followers\na,2022-01-01,1\n")
    r = _upload(client, _as(tokens, "alice"), [("files", ("x.zip", buf.getvalue(), "x"))])
    assert r.status_code == 400
    assert "the entry '../evil.csv' points outside the archive" in errors_in(r.text)["files"]


def test_a_zip_of_exports_is_read(served):
    client, tokens, export, _ = served
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(export, "exports/accounts.csv")
    r = _upload(client, _as(tokens, "alice"), [("files", ("exports.zip", buf.getvalue(), "x"))])
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=_as(tokens, "alice")).text
    assert "exports.zip/exports/accounts.csv" in page


def test_oversized_uploads_are_refused_before_reading(served):
    client, tokens, _, _ = served
    big = b"username,date,followers\n" + b"a,2022-01-01,1\n" * 300_000  # 4.5 MB > 2 MB
    r = _upload(client, _as(tokens, "alice"), [("files", ("big.csv", big, "text/csv"))])
    assert r.status_code == 413
    assert errors_in(r.text)["files"].startswith(
        "the upload is larger than the 2 MB limit; upload fewer or smaller files")
    r = client.post("/api/jobs/x", headers=_as(tokens, "alice"), content=big)
    assert (r.status_code, r.json()["detail"][:40]) == (413, "the upload is larger than the 2 MB limit")


def test_uploads_just_over_the_limit_are_refused_beside_the_field(served):
    client, tokens, _, _ = served
    rows = b"a,2022-01-01,1\n" * 80_000  # 1.2 MB each: read, then refused (2 MB limit)
    files = [("files", (f"part{i}.csv", b"username,date,followers\n" + rows, "text/csv"))
             for i in (1, 2)]
    r = _upload(client, _as(tokens, "alice"), files, unit="kept-value")
    assert r.status_code == 400
    assert "the upload is larger than the 2 MB limit" in errors_in(r.text)["files"]
    assert 'value="kept-value"' in r.text
    r = _upload(client, _as(tokens, "alice"), [("files", ("one.csv", rows * 2, "text/csv"))],
                unit="kept-value")
    assert "one.csv: is larger than the 2 MB limit" in errors_in(r.text)["files"]


def test_a_reader_error_names_the_file_the_user_gave(served):
    client, tokens, _, _ = served
    r = _upload(client, _as(tokens, "alice"),
                [("files", ("mine.csv", b"colour,shape\nred,round\n", "text/csv"))])
    assert r.status_code == 400
    message = errors_in(r.text)["files"]
    assert message.startswith("mine.csv, line 1: could not tell the format from its header")
    assert "file-1" not in message  # our stored name never shows


def test_bad_case_input_is_shown_beside_its_field_and_kept(served, alice_case):
    client, tokens, _, _ = served
    h = _as(tokens, "alice")
    _, _, upload = alice_case
    cases = {
        "event_date_1": (case_form(event_date_1="2022-13-10"),
                         "case.toml, line 19, column 'date': 'events.0.date' is invalid"),
        "seed": (case_form(seed="seven"), "'case.seed' is invalid"),
        "cpm_rate": (case_form(cpm_rate="-3"), "'damages.pricing.0.cpm.rate' is invalid"),
    }
    for field, (form, message) in cases.items():
        r = client.post(f"{upload}/cases", headers=h, data=form, follow_redirects=False)
        assert r.status_code == 400
        assert message in errors_in(r.text)[field], errors_in(r.text)
        assert f'value="{form[field]}"' in r.text
    # the check against the data, as 'butfor run' makes it
    r = client.post(f"{upload}/cases", headers=h, data=case_form(event_date_1="2021-05-01"))
    assert "event 'change' on 2021-05-01 is outside the data" in errors_in(r.text)["event_date_1"]
    assert 'value="2021-05-01"' in r.text


def test_csv_cells_that_would_run_as_formulas_are_escaped():
    assert [csv_cell(v) for v in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "plain", -0.25, None]] == [
        "'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "plain", "-0.25", ""]
    text = verdicts_csv({"verdicts": [{
        "claim": "c", "kind": "declined_after", "allegation": '=HYPERLINK("http://x")',
        "verdict": "supported", "sentence": "@s", "figures": {"relative_effect": -0.5}}]})
    assert "'=HYPERLINK" in text and ",'@s" in text and ",-0.5," in text


def test_form_text_with_control_characters_makes_a_valid_case_file():
    import tomllib

    from butfor.web import casebuild

    text = "a\x7fb\x00c\td\"e\\"  # found by schemathesis: DEL broke the case file (a 500)
    form = {**casebuild.blank_form({"metrics": ["x"], "units": ["u"]}), "title": text,
            "controls_metric": text}
    raw = tomllib.loads(casebuild.case_toml(form, {"files": ["data/file-1.csv"]}))
    assert raw["case"]["title"] == text and raw["controls"]["metric"] == text
