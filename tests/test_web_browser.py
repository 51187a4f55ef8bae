"""`butfor serve` in Debian's chromium, driven by Playwright as a user would.

A real server (its own process and worker) on a loopback port. Alice signs
in with her token, has a file over the size limit refused before it is sent
(beside the field, what she typed kept), uploads the export, gets a wrong
date refused beside its field with what she typed kept, makes the case, runs
it, watches it finish, reads the verdicts and downloads results.json and the
report. Bob, signed in
in a browser of his own, gets "Not found" for Alice's case and does not see
it listed. A screenshot of the case page goes to test-artifacts/web-case.png
(docs/web-case.png is a copy of it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from butfor.web.auth import add_user
from web_fixtures import EVENT, free_port, start_server, write_export

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
# the report printer's quiet flags, without its network block (this page is on loopback)
FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed "
                       "(sudo apt-get install chromium; .ci/run does this)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    home = root / "home"
    tokens = {name: add_user(home / "web.duckdb", name) for name in ("alice", "bob")}
    port = free_port()
    with open(root / "server.log", "w") as log:
        server = start_server(home, port, log, "--max-upload-mb", "1")
        try:
            yield f"http://127.0.0.1:{port}", tokens, write_export(root)
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed ('.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=list(FLAGS))  # headless=True adds --headless
        yield browser
        browser.close()


def _signed_in(chromium, base: str, token: str):
    context = chromium.new_context(base_url=base, accept_downloads=True,
                                   viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    errors: list[str] = []  # script errors, and every answer of 400 or more by its address
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} "
                                                f"{r.url.removeprefix(base)}")
            if r.status >= 400 else None)
    page.goto("/")
    assert page.url.endswith("/login")
    page.fill("#token", token)
    page.click("#sign-in")
    page.wait_for_selector("#upload-form")
    return context, page, errors


def test_upload_case_run_verdicts_and_downloads_and_bob_sees_none_of_it(site, chromium,
                                                                           tmp_path):
    base, tokens, export = site
    context, page, errors = _signed_in(chromium, base, tokens["alice"])
    big = tmp_path / "big.csv"  # over the server's 1 MB limit: refused before it is sent
    big.write_bytes(export.read_bytes() * (1_100_000 // export.stat().st_size + 1))
    page.set_input_files("#files", str(big))
    page.fill("#unit", "kept")
    page.click("#upload")
    assert page.inner_text("#files-error").startswith(
        "the upload is larger than the 1 MB limit; upload fewer or smaller files")
    assert page.input_value("#unit") == "kept" and page.url == f"{base}/"
    page.fill("#unit", "")
    page.set_input_files("#files", str(export))
    page.click("#upload")
    page.wait_for_selector("#ingest-sources")
    assert "accounts.csv" in page.inner_text("#ingest-sources")
    assert "9" in page.inner_text("#summary")  # nine accounts

    page.fill("#title", "Did the change cut Ava's reach?")
    page.select_option("#subject", "ava_sterling")
    page.select_option("#metric", "impressions")
    page.fill("#event_name_1", "change")
    page.fill("#event_date_1", "2022-02-30")  # no such day: refused beside the field
    page.check("#claim_beyond_platform_trend")
    page.click("#make-case")
    message = page.inner_text("#event_date_1-error")
    assert "'events.0.date' is invalid" in message and "case.toml, line" in message
    assert page.input_value("#event_date_1") == "2022-02-30"  # what she typed is kept
    assert page.input_value("#title") == "Did the change cut Ava's reach?"
    assert page.is_checked("#claim_beyond_platform_trend")
    page.fill("#event_date_1", EVENT.isoformat())
    page.click("#make-case")
    page.wait_for_selector("#case-toml")
    case_url = page.url
    assert 'unit = "ava_sterling"' in page.inner_text("#case-toml")

    page.click("#run")
    page.wait_for_selector("#verdicts", timeout=180_000)  # live.js reloads when it is done
    assert page.inner_text("#job-status") == "done"
    shown = page.eval_on_selector_all("#verdicts tbody tr",
                                      "rows => rows.map(r => [r.dataset.claim, r.dataset.verdict])")
    with page.expect_download() as download:
        page.click("#download-results")
    results = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert shown == [[v["claim"], v["verdict"]] for v in results["verdicts"]]
    assert [c for c, _ in shown] == ["declined-after", "beyond-platform-trend"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-case.png"), full_page=False)

    with context.expect_page() as opened:
        page.click("#open-report", modifiers=["Shift"])  # a new window, as a user might
    report = opened.value
    report.wait_for_load_state()
    in_report = report.eval_on_selector_all(
        "tr[data-verdict]", "rows => rows.map(r => [r.dataset.claim, r.dataset.verdict])")
    assert in_report == shown  # the full report's verdict table says what the page said
    with page.expect_download() as download:
        page.click("#download-bundle")
    assert download.value.suggested_filename.startswith("case-")
    # no script errors; the one refusal was the wrong date (a page asks for no favicon)
    assert [re.sub(r"/[0-9a-f]{16}/", "/ID/", e) for e in errors] == ["400 POST /uploads/ID/cases"]
    context.close()

    bob, page, errors = _signed_in(chromium, base, tokens["bob"])
    assert "Did the change cut" not in page.inner_text("main")  # not listed for him
    response = page.goto(case_url)
    assert response.status == 404
    assert page.inner_text("h1") == "Not found"
    response = page.goto(case_url + "/download/results.json")
    assert response.status == 404
    bob.close()
