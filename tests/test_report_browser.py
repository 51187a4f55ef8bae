"""The demo's report in a real browser, its PDF, and re-rendering from results.json.

Playwright drives Debian's chromium (never a browser Playwright downloads)
with its own empty profile and background networking off. The page must load
with no console errors and no network requests, show one verdict row per
claim with the verdicts in results.json, and every figure with alt text. A
screenshot of the top of the page is saved to test-artifacts/ for people to
look at. The same checks run on the small case of tests/report_case.py, as
`butfor run` wrote it (conftest.py's ``report_case_output``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from butfor.report import render_report_file, write_report
from butfor.report.pdf import FLAGS

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"

# one worker with tests/test_demo.py: the demo (demo_output) runs once
pytestmark = pytest.mark.xdist_group("demo")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does this)",
)


@pytest.fixture(scope="module")
def demo_dir(demo_output) -> Path:
    """The session's `butfor demo` run (conftest.py): results.json, run.json, report.html."""
    return demo_output[0]


@pytest.fixture(scope="module")
def case_dir(report_case_output) -> Path:
    """The small case's `butfor run` output: results.json, run.json, report.html."""
    return report_case_output


@pytest.fixture(params=["demo", "case"])
def report_dir(request) -> Path:
    return request.getfixturevalue(f"{request.param}_dir")


def expected_figures(results: dict) -> int:
    """How many figures the results hold data for, counted from results.json's keys.

    The rules, written out independently of report/plotdata.py: two figures
    (counterfactual, effect) per effect path, one per event when an analysis has
    several; one each for a placebo distribution, event-time coefficients (the
    report's ``event_time`` or an ``event_study`` result, also inside
    ``group_disproportion``), a group comparison and a change point; one for damages, one for their sensitivity;
    one power curve per analysis a verdict read its power from.
    """
    n = 0
    for a in results["analyses"]:
        effects = a.get("effects") or []
        n += 2 * len(effects) if len(effects) > 1 else 2 * isinstance(a.get("effect"), dict)
        n += isinstance(a.get("placebo"), dict)
        holders = [a, a.get("group_disproportion") or {}, a.get("sun_abraham") or {}]
        n += isinstance(a.get("event_time"), dict) or any(
            isinstance(h.get("event_study"), dict) for h in holders)
        n += isinstance(a.get("groups"), dict) or isinstance(a.get("group_disproportion"), dict)
        n += isinstance(a.get("changepoint"), dict)
    damages = results.get("damages") or {}
    n += any("histogram" in s for s in damages.get("scenarios") or [])
    n += bool((damages.get("sensitivity") or {}).get("rows"))  # the tornado (issue 21)
    # one power curve per analysis a verdict read its power (its "mde") from
    read = {str(v["figures"]["analysis"]) for v in results["verdicts"]
            if isinstance(v.get("figures"), dict) and v["figures"].get("analysis")
            and "mde" in v["figures"]}
    n += sum(1 for a in results["analyses"] if str(a.get("id")) in read
             and isinstance(a.get("power"), dict) and (a["power"].get("effects") or []))
    return n


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed ('.[test]')")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")  # its own, empty
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=[f for f in FLAGS if f != "--headless"],
            viewport={"width": 1280, "height": 900}, offline=True,
        )
        yield context
        context.close()


@pytest.mark.browser
@needs_chromium
def test_report_in_headless_chromium(browser, report_dir):
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    html = report_dir / "report.html"
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri(), wait_until="load")

    assert errors == []
    assert [u for u in requests if u != html.as_uri() and not u.startswith("data:")] == []

    rows = page.locator("table#verdicts tbody tr")
    assert rows.count() == len(results["verdicts"]) > 0
    assert page.locator("table#verdicts td.verdict").all_inner_texts() == [
        v["verdict"] for v in results["verdicts"]]
    assert page.locator("table#verdicts td.allegation").all_inner_texts() == [
        v["allegation"] for v in results["verdicts"]]

    images = page.eval_on_selector_all(
        "figure img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
    titles = page.locator("figure h3").all_inner_texts()
    assert len(images) == len(titles) == expected_figures(results) > 0
    for alt, complete, width in images:
        assert len(alt) > 40 and complete and width > 0
    assert all(len(t) > 20 for t in titles)

    # the verdicts are the first thing on the page, before any figure
    table_top = page.locator("table#verdicts").bounding_box()["y"]
    assert table_top < page.locator("figure").first.bounding_box()["y"]
    assert table_top < 900  # within the first screen

    ARTIFACTS.mkdir(exist_ok=True)
    name = "report-top.png" if report_dir.name == "demo" else "report-top-case.png"
    page.screenshot(path=str(ARTIFACTS / name))
    page.close()


@pytest.mark.browser
@needs_chromium
def test_pdf_has_the_verdict_table_on_page_one(report_dir, tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="the pypdf package is not installed ('.[test]')")
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    write_report(results, tmp_path, pdf=True)
    reader = pypdf.PdfReader(str(tmp_path / "report.pdf"))
    assert len(reader.pages) > 1
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    first = pages[0]
    assert "Verdicts" in first
    # the table starts on page one and runs on as far as it must (with the verdict policy's
    # sentences, gates named, the demo's eight rows fill about three pages): every row
    # comes before the next section's heading. Compared without white space, since the PDF
    # wraps long allegations at hyphens
    table = " ".join(pages)
    table = table[:table.index("What the data show")]
    squeezed = re.sub(r"\s+", "", table)
    assert re.sub(r"\s+", "", results["verdicts"][0]["allegation"]) in re.sub(r"\s+", "", first)
    for v in results["verdicts"]:
        assert re.sub(r"\s+", "", v["allegation"]) in squeezed
    rows = table[re.search(r"in one sentence", table, re.IGNORECASE).end():]
    words = re.findall(r"not supported|supported|inconclusive", rows)
    # the legend under the table names each verdict once more; the rows come first
    assert words[: len(results["verdicts"])] == [v["verdict"] for v in results["verdicts"]]


def test_rerendering_the_demo_gives_the_same_bytes(demo_dir, tmp_path):
    # with run.json beside it, `butfor report` redraws exactly the page the demo wrote
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(demo_dir / "results.json", again / "results.json")
    shutil.copy(demo_dir / "run.json", again / "run.json")
    done = subprocess.run([sys.executable, "-m", "butfor", "report", str(again / "results.json")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (again / "report.html").read_bytes() == (demo_dir / "report.html").read_bytes()
    # results.json alone: no timings, and the same bytes every time
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(demo_dir / "results.json", alone / "results.json")
    first = render_report_file(alone / "results.json").read_bytes()
    second = render_report_file(alone / "results.json", out=tmp_path / "second").read_bytes()
    assert first == second
    assert b"none was found" in first


@pytest.mark.browser
@needs_chromium
def test_pdf_and_figure_files_repeat_byte_for_byte(case_dir, tmp_path):
    """Two printings of the same results give the same PDF (Chromium's clock-time dates
    are replaced by the results' last date) and the same SVG and PNG figure files."""
    from butfor.report.pdf import results_date

    results = json.loads((case_dir / "results.json").read_text(encoding="utf-8"))
    first, second = tmp_path / "first", tmp_path / "second"
    write_report(results, first, pdf=True)
    write_report(results, second, pdf=True)
    assert (first / "report.pdf").read_bytes() == (second / "report.pdf").read_bytes()
    stamp = results_date(results).replace("-", "")
    assert f"/CreationDate (D:{stamp}000000".encode() in (first / "report.pdf").read_bytes()
    names = sorted(p.name for p in (first / "figures").iterdir())
    assert names and names == sorted(p.name for p in (second / "figures").iterdir())
    for name in names:
        assert (first / "figures" / name).read_bytes() == (second / "figures" / name).read_bytes()
