"""The report: plot data, figures, the HTML page and `butfor report` (no browser needed).

Every results document here is one the pipeline wrote: the session's `butfor demo`
run (conftest.py's ``demo_output``: every method, every kind of figure, the three
verdicts) and the small case of tests/report_case.py run by `butfor run`
(``report_case_output``: a simulation with known truth, a 30% drop, and an export
with a repeated row). Where a test needs another branch of the words (a significant
pre-trend, an interval that includes zero, no change found) it changes that one field
of a real result, a value the pipeline also writes. Reference values are the known
truth of the simulation or are recomputed here by hand from the same results document.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from butfor.cli import app
from butfor.errors import ButforError, InputError
from butfor.report import (
    fmt,
    load_results,
    panelplots,
    plotcontext,
    render_html,
    render_report_file,
    write_report,
)
from butfor.report import plotdata as pd_
from butfor.report.figures import render_svg
from butfor.report.html import key_figure
from butfor.report.pdf import print_pdf
from butfor.report.words import METHODS
from butfor.results import validate
from report_case import EVENT, N_DAYS, N_PEERS, TRUE_DROP

# the keys under which an analysis carries the data of a figure
FIGURE_KEYS = ("effect", "effects", "placebo", "event_time", "event_study", "groups",
               "group_disproportion", "sun_abraham", "changepoint", "power")


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(demo_output) -> dict:
    """The demo's results.json (every method the demo case runs)."""
    return _read(demo_output[0] / "results.json")


@pytest.fixture(scope="module")
def page(demo_output) -> str:
    """The demo's report.html as `butfor demo` wrote it (with its run.json's timings)."""
    return (demo_output[0] / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small(report_case_output) -> dict:
    """The small case's results.json (tests/report_case.py)."""
    return _read(report_case_output / "results.json")


@pytest.fixture(scope="module")
def small_page(report_case_output) -> str:
    return (report_case_output / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def light(small) -> dict:
    """The small case without figure data: renders fast, for tests about the text."""
    out = copy.deepcopy(small)
    for a in out["analyses"]:
        for key in FIGURE_KEYS:
            a.pop(key, None)
    for s in out["damages"]["scenarios"]:
        s.pop("histogram")
    out["damages"].pop("sensitivity", None)
    assert pd_.figures_for(out) == []
    return out


def _analysis(results: dict, analysis_id: str) -> dict:
    return copy.deepcopy(next(a for a in results["analyses"] if a["id"] == analysis_id))


def _day(iso: str) -> str:
    """A date as the report writes it: 28 Oct 2022."""
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {d:%b %Y}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Page(HTMLParser):
    """Collects what the tests look at: tags with attributes, and text by element id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[dict] = []
        self.headings: list[str] = []
        self._h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr" and "data-verdict" in a:
            self.rows.append(a)
        if tag == "h2":
            self._h2 = True

    def handle_endtag(self, tag):
        if tag == "h2":
            self._h2 = False

    def handle_data(self, data):
        if self._h2 and data.strip():
            self.headings.append(data.strip())


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


# ---------------------------------------------------------------------------
# the results documents themselves


def test_the_pipelines_results_follow_the_results_schema(demo, small):
    validate(demo)
    validate(small)


# ---------------------------------------------------------------------------
# plot data


def test_counterfactual_plot_data_is_the_effect_path(small):
    analysis = _analysis(small, "sts:impressions")
    plot = pd_.counterfactual_plot(analysis, plotcontext.context(small))
    effect = analysis["effect"]
    np.testing.assert_array_equal(plot.observed, np.array(effect["observed"], dtype=float))
    np.testing.assert_array_equal(plot.lower, np.array(effect["lower"], dtype=float))
    assert len(plot.dates) == N_DAYS and str(plot.dates[plot.event_index]) == EVENT
    # known truth: the simulation cut the subject's impressions by 30% from the event on
    rel = effect["summary"]["relative"]
    assert abs(rel + TRUE_DROP) < 0.03
    assert f"ran {fmt.percent(abs(rel), sign=False)} below" in plot.title
    assert "ownership change" in plot.title
    assert [e.name for e in plot.events] == ["ownership change"]
    assert plot.ylabel == "impressions per day"


def test_effect_plot_cumulative_is_the_running_sum_after_the_event(small):
    analysis = _analysis(small, "sts:impressions")
    plot = pd_.effect_plot(analysis, plotcontext.context(small))
    e = analysis["effect"]
    obs, cf = np.array(e["observed"]), np.array(e["counterfactual"])
    i = e["event_index"]
    # hand computation: sum of observed − counterfactual over the post period
    assert plot.cumulative[-1] == pytest.approx(np.sum(obs[i:] - cf[i:]), rel=1e-9)
    assert np.isnan(plot.cumulative[:i]).all()
    np.testing.assert_allclose(plot.pointwise_lower, obs - np.array(e["upper"]))
    s = e["summary"]
    assert plot.total == (s["cumulative"], s["cumulative_lower"], s["cumulative_upper"])
    assert "cumulative shortfall" in plot.title
    assert fmt.number(abs(s["cumulative"])) in plot.title


def test_stock_metrics_get_no_running_total(demo):
    # the demo prices followers, so the pipeline adds a pre/post comparison on them
    analysis = _analysis(demo, "prepost:followers:ownership change")
    plot = pd_.effect_plot(analysis, plotcontext.context(demo))
    assert plot.cumulative is None
    assert "on average" in plot.title and "followers" in plot.title
    assert "cumulative" not in plot.title
    assert plot.ylabel == "difference, followers"


def test_one_pair_of_figures_per_effect_when_an_analysis_has_several(demo):
    # the demo's structural time series looks at both events: one effect path each
    assert len(_analysis(demo, "sts:impressions")["effects"]) == 2
    plots = [p for p in pd_.figures_for(demo) if p.analysis_id == "sts:impressions"
             and p.kind in ("counterfactual", "effect")]
    assert [p.kind for p in plots] == ["counterfactual", "effect"] * 2
    assert len({p.id for p in plots}) == 4
    assert plots[0].title.startswith("After the ownership change")
    assert plots[2].title.startswith("After the verification change")


def test_placebo_plot_states_rank_and_p_value(demo):
    ctx = plotcontext.context(demo)
    within = _analysis(demo, "synthetic_control:impressions:ownership change")
    placebo = within["placebo"]
    n = len(placebo["values"])
    plot = pd_.placebo_plot(within, ctx)
    # hand computation: the permutation p-value is the rank among the subject and its peers
    assert placebo["p_value"] == pytest.approx(placebo["rank"] / (n + 1))
    assert f"ranked {_ordinal(placebo['rank'])} of {n + 1}" in plot.title
    assert f"p = {placebo['p_value']:.2f}" in plot.title
    assert placebo["p_value"] > 0.05 and f"within the range of {n} peers" in plot.title
    standing = _analysis(demo, "peer_effects:impressions:ownership change")
    assert standing["placebo"]["p_value"] <= 0.05
    assert "stands out" in pd_.placebo_plot(standing, ctx).title


def test_event_time_plot_reads_the_pretrend(demo):
    ctx = plotcontext.context(demo)
    analysis = _analysis(demo, "event_study:impressions:ownership change")
    es = analysis["event_study"]
    plot = panelplots.event_time_plot(analysis, ctx)
    assert list(plot.periods) == es["event_times"] and plot.reference == es["reference"] == -1
    assert plot.pretrend_p == es["pretrend"]["p_value"] > 0.05
    # hand count: post-period coefficients whose interval excludes zero
    post = [k for k, t in enumerate(es["event_times"]) if t >= 0]
    clear = sum(es["upper"][k] < 0 or es["lower"][k] > 0 for k in post)
    assert "no clear trend" in plot.title
    assert (f"none of {len(post)} days" if clear == 0 else f"{clear} of {len(post)} days") \
        in plot.title
    assert plot.xlabel.startswith("days relative to the ownership change")
    render_svg(plot)
    # the post-period coefficients shifted down (their intervals with them) until every
    # post-period interval lies below zero
    shift = max(es["upper"][k] for k in post) + 1
    for key in ("estimate", "lower", "upper"):
        es[key] = [v - shift if t >= 0 else v for v, t in zip(es[key], es["event_times"],
                                                             strict=True)]
    assert f"{len(post)} of {len(post)} days sit clearly below zero" in \
        panelplots.event_time_plot(analysis, ctx).title
    es["pretrend"]["p_value"] = 0.01
    assert "already moved before" in panelplots.event_time_plot(analysis, ctx).title


def test_groups_plot_reads_the_interval(demo):
    ctx = plotcontext.context(demo)
    analysis = _analysis(demo, "group_disproportion:impressions:ownership change")
    gd = analysis["group_disproportion"]
    effect = gd["interaction"]["effect"]
    plot = panelplots.groups_plot(analysis, ctx)
    assert plot.stages == ("before the ownership change", "after the ownership change")
    means = {(m["group"], m["period"]): m["mean"] for m in gd["group_means"]}
    np.testing.assert_array_equal(plot.means["right"], [means["right", "pre"],
                                                        means["right", "post"]])
    # hand computation: 1 − exp(estimate) is the relative gap the log points stand for
    est = effect["estimate"]
    assert est < 0 and effect["upper"] < 0
    assert (f"the left group's impressions moved {abs(est):.3g} log points (about "
            f"{100 * (1 - math.exp(est)):.1f}%) below the right group's") in plot.title
    # issue 17: the axis names the metric in words, not log(1 + impressions)
    assert plot.ylabel == "group mean of impressions, log scale (a gap of 0.1 ≈ 10%)"
    render_svg(plot)
    effect.update(lower=-0.2, upper=0.05)
    assert "moved alike" in panelplots.groups_plot(analysis, ctx).title


def test_changepoint_plot_dates_the_change_against_the_event(demo):
    ctx = plotcontext.context(demo)
    level = _analysis(demo, "changepoint:impressions:level")
    cp = level["changepoint"]
    plot = panelplots.changepoint_plot(level, ctx)
    assert cp["days_from_event"] == 1 and cp["change"] < 0
    assert f"dropped around {_day(cp['onset'])}" in plot.title
    assert "1 day after the ownership change" in plot.title
    assert f"likely between {_day(cp['onset_lower'])} and {_day(cp['onset_upper'])}" \
        in plot.title
    assert plot.fitted is not None
    slope = _analysis(demo, "changepoint:impressions:slope")
    # the dated change and the other breaks the model found
    found = len(slope["changepoint"]["breaks"]) + 1
    assert f"{found} changes were found in all" in panelplots.changepoint_plot(slope, ctx).title
    render_svg(plot)
    # the same result when no change is found (the pipeline writes these fields as null)
    level["changepoint"].update(onset=None, onset_lower=None, onset_upper=None, breaks=[])
    plot = panelplots.changepoint_plot(level, ctx)
    assert plot.date is None and plot.title.startswith("No clear change was found")
    render_svg(plot)


def test_damages_plot_marks_the_claim(demo):
    plot = pd_.damages_plot(demo, plotcontext.context(demo))
    scenarios = demo["damages"]["scenarios"]
    assert plot.amount_claimed == demo["damages"]["amount_claimed"] == 400e6
    assert len(plot.scenarios) == len(scenarios) == 3
    assert all(s["p_reaching_claim"] == 0 for s in scenarios)
    assert "no draw reaches the $400 million claimed" in plot.title
    assert plot.scenarios[0].q50 == scenarios[0]["quantiles"]["50"]


def test_figures_appear_exactly_when_their_data_is_present(demo):
    kinds = [p.kind for p in pd_.figures_for(demo)]
    assert set(kinds) == {"counterfactual", "effect", "placebo", "event_time", "groups",
                          "changepoint", "power", "damages", "sensitivity"}
    assert kinds[-2:] == ["damages", "sensitivity"]
    bare = copy.deepcopy(demo)
    for a in bare["analyses"]:
        for key in FIGURE_KEYS:
            a.pop(key, None)
    bare["damages"] = None
    assert pd_.figures_for(bare) == []
    broken = copy.deepcopy(demo)
    prepost = next(a for a in broken["analyses"] if a["id"] == "prepost:followers:ownership change")
    prepost["effect"]["observed"] = prepost["effect"]["observed"][:5]
    gd = next(a for a in broken["analyses"] if a["method"] == "group_disproportion")
    gd["group_disproportion"]["event_study"]["estimate"] = [0.1]
    plots = {(p.analysis_id, p.kind) for p in pd_.figures_for(broken)}
    assert ("prepost:followers:ownership change", "counterfactual") not in plots
    assert ("prepost:followers:ownership change", "placebo") in plots
    assert (gd["id"], "event_time") not in plots and (gd["id"], "groups") in plots


def test_plot_data_does_not_import_matplotlib(report_case_output):
    code = ("import json, sys; from butfor.report.plotdata import figures_for; "
            "assert figures_for(json.load(open(sys.argv[1]))); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(report_case_output / "results.json")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# figures


def test_svg_is_deterministic_parseable_and_undated(demo):
    first_of_each = {}
    for plot in pd_.figures_for(demo):  # one figure of each kind
        first_of_each.setdefault(plot.kind, plot)
    for plot in first_of_each.values():
        first, second = render_svg(plot), render_svg(plot)
        assert first == second, plot.kind
        root = ET.fromstring(first)
        assert root.tag.endswith("svg")
        assert "<dc:date>" not in first
    svg = render_svg(first_of_each["counterfactual"])
    assert "impressions per day" in svg  # the axis label is text, with its unit


# ---------------------------------------------------------------------------
# the page


def test_page_is_self_contained(page):
    p = parse(page)
    assert not any(tag in ("script", "link", "iframe", "object") for tag, _ in p.tags)
    for _tag, attrs in p.tags:
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/svg+xml;base64,"), attrs["src"][:40]
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs["href"]
    assert "@import" not in page and "url(" not in page


def test_page_order_and_verdict_rows(demo, page):
    p = parse(page)
    assert p.headings[:2] == ["Verdicts", "What the data show"]
    assert p.headings.index("Data accounting") < p.headings.index("Provenance")
    assert [r["data-verdict"] for r in p.rows] == [v["verdict"] for v in demo["verdicts"]]
    assert [r["data-claim"] for r in p.rows] == [v["claim"] for v in demo["verdicts"]]
    assert page.index('id="verdicts"') < page.index("<figure")
    # the demo's claims meet all three verdicts
    assert {v["verdict"] for v in demo["verdicts"]} == {"supported", "not supported",
                                                        "inconclusive"}
    n = len(demo["verdicts"])
    badge = re.findall(r'<span class="badge ([a-z-]+)">([a-z ]+)</span>', page)[:n]
    assert badge == [(v["verdict"].replace(" ", "-"), v["verdict"]) for v in demo["verdicts"]]


def test_every_figure_has_a_title_and_alt_text(demo, page):
    p = parse(page)
    images = [a for tag, a in p.tags if tag == "img"]
    figures = [a for tag, a in p.tags if tag == "figure"]
    plots = pd_.figures_for(demo)
    assert len(figures) == len(images) == len(plots) == 39
    assert [a.get("id") for a in figures] == [p.id for p in plots]
    assert all(len(a.get("alt", "")) > 40 for a in images)


def test_page_shows_accounting_and_provenance(small, small_page, report_case_output):
    for i in small["provenance"]["inputs"]:
        assert i["sha256"] in small_page
    assert small["provenance"]["command"] in small_page
    assert "butfor report results.json" in small_page
    ingest = small["ingest"]
    # the export's repeated row: one row dropped, and the rows add up
    assert ingest["rows_read"] == (N_PEERS + 1) * N_DAYS + 1 == ingest["rows_kept"] + 1
    assert "here they add up" in small_page
    assert "duplicate (unit, date) row" in small_page
    assert [n["first_lines"] for n in ingest["notes"]] == [[(N_PEERS + 1) * N_DAYS + 2]]
    assert 'title = &#34;But for the platform' in small_page  # the case file, escaped


def test_each_method_is_explained_in_two_or_three_plain_sentences(demo, page):
    for key, w in METHODS.items():
        sentences = len(re.findall(r"[.!?](\s|$)", w.compares + " " + w.fooled_by))
        assert 2 <= sentences <= 3, key
    for method in {a["method"] for a in demo["analyses"]}:
        assert METHODS[method].fooled_by in page.replace("&#39;", "'")


def test_timings_come_only_from_run_info(light, page):
    assert "none was found" not in page  # the demo wrote its run.json's timings
    assert "none was found" in render_html(light)
    with_run = render_html(light, {"timings_seconds": {"sts": 1.5, "damages": 0.25}})
    assert "1.5 s" in with_run and "250 ms" in with_run and "1.8 s" in with_run  # total


def test_text_from_results_is_escaped(light):
    evil = copy.deepcopy(light)
    evil["verdicts"][0]["allegation"] = "<script>alert(1)</script>"
    html = render_html(evil)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_no_claims_and_no_damages_still_render(light):
    # a case with no claims and no damages section: the pipeline writes these two fields so
    bare = copy.deepcopy(light)
    bare["verdicts"] = []
    bare["damages"] = None
    html = render_html(bare)
    assert "judged no claims" in html and 'id="fig-damages"' not in html


def test_key_figures_of_the_verdicts():
    # written by hand from the figures each verdict kind carries
    assert key_figure({"kind": "declined_after", "figures": {
        "relative_effect": -0.16, "relative_lower": -0.372, "relative_upper": 0.089}}) == \
        "−16% against the expected path (95% interval −37% to +8.9%)"
    assert key_figure({"kind": "beyond_platform_trend", "figures": {
        "rank": 58, "placebo_units": 300, "p_value": 0.1927, "relative_effect": -0.16}}) == \
        "ranked 58th of 301 accounts, p = 0.19"
    assert key_figure({"kind": "not_preexisting", "figures": {"pretrend_p": 0.249}}) == \
        "pre-trend test p = 0.25"
    assert key_figure({"kind": "claimed_amount", "figures": {
        "amount": 4e8, "p_reaching_amount": 0.0, "median": 100907.6, "currency": "USD"}}) == \
        "0% of damages draws reach $400 million (median $100,908)"
    assert key_figure({"kind": "x", "key_figure": "given"}) == "given"
    assert key_figure({"kind": "x", "figures": {}}) == fmt.DASH


# ---------------------------------------------------------------------------
# files and the command line


def test_rerender_is_byte_identical_across_processes(small, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(small), encoding="utf-8")
    in_process = render_report_file(tmp_path / "results.json").read_bytes()
    out = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "butfor", "report", str(tmp_path / "results.json"),
                    "--out", str(out)], check=True, capture_output=True)
    assert (out / "report.html").read_bytes() == in_process


# a file read by `butfor report` must follow the results schema, whose records require the
# figure data `light` drops: these write the small case's results.json as butfor wrote it
def test_render_report_file_reads_run_json_beside_results(small, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(small), encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps({"timings_seconds": {"sts": 2.0}}))
    html = render_report_file(tmp_path / "results.json").read_text(encoding="utf-8")
    assert "2.0 s" in html and "none was found" not in html


def test_cli_report_command(small, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(small), encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(tmp_path / "results.json"), "--out",
                               str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "report.html").is_file()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_load_results_explains_bad_files(small, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n oops}', encoding="utf-8")
    with pytest.raises(InputError, match="line 2") as err:
        load_results(bad)
    assert "not valid JSON" in str(err.value)
    wrong = tmp_path / "wrong.json"
    broken = copy.deepcopy(small)
    broken["verdicts"][0]["verdict"] = "maybe"
    wrong.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InputError, match="verdicts/0/verdict"):
        load_results(wrong)


def test_pdf_without_chromium_says_how_to_install_it(light, tmp_path, monkeypatch):
    monkeypatch.setenv("BUTFOR_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(ButforError, match="apt-get install chromium"):
        write_report(light, tmp_path, pdf=True)
    assert (tmp_path / "report.html").is_file()  # the HTML is written either way
    with pytest.raises(ButforError, match="no Chromium was found"):
        print_pdf(tmp_path / "report.html", tmp_path / "x.pdf",
                  chromium=str(tmp_path / "missing"))


def test_daily_counterfactual_offers_a_weekly_view():
    # issue 17: a 28% fall hidden by day-to-day noise shows in week-by-week means. Hand
    # computation: days 0-55 before an event on day 56, a pattern 1..7 repeating; the
    # observed series falls by 28% from the event, the counterfactual does not
    from butfor.report.plotdata import weekly_view

    days = np.arange("2024-01-01", "2024-04-22", dtype="datetime64[D]")  # 112 days
    base = np.tile(np.arange(1.0, 8.0), 16)
    event = 56
    observed = np.where(np.arange(112) >= event, 0.72 * base, base)
    view = weekly_view(days, observed, base, event)
    assert len(view.dates) == 16 and view.dates[8] == days[event]  # weeks start at the event
    assert view.counterfactual == pytest.approx(np.full(16, 4.0))  # mean of 1..7
    assert view.observed[:8] == pytest.approx(np.full(8, 4.0))
    assert view.observed[8:] == pytest.approx(np.full(8, 0.72 * 4.0))
    # a partial week at either end is left out, and a short series gets no weekly view
    assert len(weekly_view(days[3:], observed[3:], base[3:], event - 3).dates) == 15
    assert weekly_view(days[:70], observed[:70], base[:70], event) is None


def test_chromium_node_ids_are_renumbered_in_order_and_width(tmp_path):
    # Chromium's tagged PDF names table headers by DOM node id, whose start varies between
    # printings (40 in one, 30 in the next, seen in test_report_browser); hand-made bytes
    from butfor.report.pdf import steady_node_ids

    def pdf(base: int) -> bytes:
        return (b"%%PDF-1.4\n1 0 obj\n<</ID (node%08d)>>\n2 0 obj\n<</ID (node%08d)>>\n"
                b"3 0 obj\n<</Names [(node%08d) 1 0 R (node%08d) 2 0 R]>>\n"
                % (base, base + 3, base, base + 3))

    for base in (30, 40):
        (tmp_path / f"{base}.pdf").write_bytes(pdf(base))
        steady_node_ids(tmp_path / f"{base}.pdf")
    assert (tmp_path / "30.pdf").read_bytes() == (tmp_path / "40.pdf").read_bytes() == pdf(1) \
        .replace(b"node00000004", b"node00000002")
    assert len((tmp_path / "30.pdf").read_bytes()) == len(pdf(30))  # the offsets hold
