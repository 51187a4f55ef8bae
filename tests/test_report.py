"""The report: plot data, figures, the HTML page and `butfor report` (no browser needed).

Reference values come from the fixture's simulation with known truth (a 30%
drop, tests/report_fixture.py) or are recomputed here by hand with numpy from
the same results document.
"""

from __future__ import annotations

import copy
import json
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
from report_fixture import EVENT, TRUE_DROP, make_results


@pytest.fixture(scope="module")
def results() -> dict:
    return make_results()


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_html(results)


@pytest.fixture(scope="module")
def light(results) -> dict:
    """The fixture without figure data: renders fast, for tests about the text."""
    out = copy.deepcopy(results)
    for a in out["analyses"]:
        for key in ("effect", "placebo", "event_time", "groups", "changepoint"):
            a.pop(key, None)
    for s in out["damages"]["scenarios"]:
        s.pop("histogram")
    return out


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
# the fixture itself


def test_fixture_follows_the_results_schema(results):
    validate(results)


# ---------------------------------------------------------------------------
# plot data


def test_counterfactual_plot_data_is_the_effect_path(results):
    analysis = results["analyses"][0]
    plot = pd_.counterfactual_plot(analysis, plotcontext.context(results))
    effect = analysis["effect"]
    np.testing.assert_array_equal(plot.observed, np.array(effect["observed"], dtype=float))
    np.testing.assert_array_equal(plot.lower, np.array(effect["lower"], dtype=float))
    assert len(plot.dates) == 120 and str(plot.dates[plot.event_index]) == EVENT
    # known truth: the simulation cut observed impressions by 30% from the event on
    rel = effect["summary"]["relative"]
    assert abs(rel + TRUE_DROP) < 0.03
    assert f"ran {fmt.percent(abs(rel), sign=False)} below" in plot.title
    assert "ownership change" in plot.title
    assert [e.name for e in plot.events] == ["ownership change", "verification change"]
    assert plot.ylabel == "impressions per day"


def test_effect_plot_cumulative_is_the_running_sum_after_the_event(results):
    analysis = results["analyses"][0]
    plot = pd_.effect_plot(analysis, plotcontext.context(results))
    e = analysis["effect"]
    obs, cf = np.array(e["observed"]), np.array(e["counterfactual"])
    i = e["event_index"]
    # hand computation: sum of observed − counterfactual over the post period
    assert plot.cumulative[-1] == pytest.approx(np.sum(obs[i:] - cf[i:]), rel=1e-12)
    assert np.isnan(plot.cumulative[:i]).all()
    np.testing.assert_allclose(plot.pointwise_lower, obs - np.array(e["upper"]))
    s = e["summary"]
    assert plot.total == (s["cumulative"], s["cumulative_lower"], s["cumulative_upper"])
    assert "cumulative shortfall" in plot.title
    assert fmt.number(abs(s["cumulative"])) in plot.title


def test_stock_metrics_get_no_running_total(results):
    analysis = copy.deepcopy(results["analyses"][0])
    analysis["metric"] = analysis["effect"]["metric"] = "followers"
    plot = pd_.effect_plot(analysis, plotcontext.context(results))
    assert plot.cumulative is None
    assert "on average" in plot.title and "fewer followers" in plot.title
    assert plot.ylabel == "difference, followers"


def test_one_pair_of_figures_per_effect_when_an_analysis_has_several(results):
    several = copy.deepcopy(results)
    first = several["analyses"][0]["effect"]
    second = copy.deepcopy(first)
    second["diagnostics"]["event"] = "verification change"
    several["analyses"][0]["effects"] = [first, second]
    plots = [p for p in pd_.figures_for(several)
             if p.analysis_id == "sts:impressions:ownership change"]
    assert [p.kind for p in plots] == ["counterfactual", "effect"] * 2
    assert len({p.id for p in plots}) == 4
    assert plots[0].title.startswith("After the ownership change")
    assert plots[2].title.startswith("After the verification change")


def test_placebo_plot_states_rank_and_p_value(results):
    plot = pd_.placebo_plot(results["analyses"][1], plotcontext.context(results))
    placebo = results["analyses"][1]["placebo"]
    # the fixture puts two peers above the subject: rank 3 of 25, p = 3/25
    assert placebo["rank"] == 3 and placebo["p_value"] == pytest.approx(3 / 25)
    assert "ranked 3rd of 25" in plot.title and "p = 0.12" in plot.title
    assert "within the range of 24 peers" in plot.title
    significant = copy.deepcopy(results["analyses"][1])
    significant["placebo"]["p_value"] = 0.04
    assert "stands out" in pd_.placebo_plot(significant, plotcontext.context(results)).title


def test_event_time_plot_reads_the_pretrend(results):
    ctx = plotcontext.context(results)
    analysis = copy.deepcopy(results["analyses"][2])
    plot = panelplots.event_time_plot(analysis, ctx)
    # fixture: five post-period weeks near −0.33 with half-width 0.07: all clearly below zero
    assert "no clear trend" in plot.title and "5 of 5 weeks sit clearly below zero" in plot.title
    assert plot.xlabel.startswith("weeks relative to the ownership change")
    analysis["event_time"]["pretrend_p"] = 0.01
    assert "already moved before" in panelplots.event_time_plot(analysis, ctx).title


def test_groups_plot_reads_the_interval(results):
    ctx = plotcontext.context(results)
    analysis = copy.deepcopy(results["analyses"][2])
    # fixture: estimate −0.15 log points, interval −0.21 to −0.09; exp(−0.15) − 1 = −13.9%
    assert ("the critics group's impressions moved 0.15 log points (about 14%) below the "
            "others group's") in panelplots.groups_plot(analysis, ctx).title
    analysis["groups"].update(lower=-0.2, upper=0.05)
    assert "moved alike" in panelplots.groups_plot(analysis, ctx).title
    # issue 17: the axis names the metric in words, not log(1 + impressions)
    label = panelplots.groups_plot(analysis, ctx).ylabel
    if analysis["groups"].get("scale") == "log":
        assert label == "group mean of impressions, log scale (a gap of 0.1 ≈ 10%)"
    assert "log(1 +" not in label


def test_changepoint_plot_dates_the_change_against_the_event(results):
    plot = panelplots.changepoint_plot(results["analyses"][3], plotcontext.context(results))
    # 28 Oct is one day after the 27 Oct event; the series drops 30% there
    assert "dropped around 28 Oct 2022" in plot.title
    assert "1 day after the ownership change" in plot.title
    assert "likely between 24 Oct 2022 and 2 Nov 2022" in plot.title


def _event_study_dict() -> dict:
    """The shape butfor.methods.event_study's EventStudyResult.to_dict() writes (abridged)."""
    est = [0.01, -0.02, 0.0, -0.30, -0.32, -0.31]
    return {"event_times": [-3, -2, -1, 0, 1, 2], "estimate": est,
            "lower": [e - 0.05 for e in est], "upper": [e + 0.05 for e in est],
            "reference": -1, "baseline": "pre_mean", "level": 0.95,
            "pretrend": {"hypothesis": "pre = 0", "p_value": 0.4}}


def test_event_study_results_are_read_as_event_time(results):
    analysis = {"id": "event_study:impressions:ownership change", "method": "event_study",
                "metric": "impressions", "event": "ownership change",
                "event_study": _event_study_dict()}
    plot = panelplots.event_time_plot(analysis, plotcontext.context(results))
    assert list(plot.periods) == [-3, -2, -1, 0, 1, 2] and plot.reference == -1
    assert plot.pretrend_p == 0.4
    # the fixture's panel is daily; the three post estimates' upper ends are all below zero
    assert "3 of 3 days sit clearly below zero" in plot.title
    render_svg(plot)


def test_group_disproportion_results_are_read_as_groups(results):
    logged = copy.deepcopy(results)
    logged["case"]["outcome"]["transform"] = "log1p"
    gd = {"group_a": "left", "group_b": "right",
          "group_means": [{"group": "left", "period": "pre", "mean": 10.37},
                          {"group": "left", "period": "post", "mean": 10.40},
                          {"group": "right", "period": "pre", "mean": 10.31},
                          {"group": "right", "period": "post", "mean": 10.39}],
          "interaction": {"effect": {"estimate": -0.0407, "lower": -0.0732, "upper": -0.00822,
                                     "p_value": 0.01}},
          "event_study": _event_study_dict()}
    analysis = {"id": "group_disproportion:impressions:ownership change",
                "method": "group_disproportion", "metric": "impressions",
                "event": "ownership change", "group_disproportion": gd}
    ctx = plotcontext.context(logged)
    plot = panelplots.groups_plot(analysis, ctx)
    assert plot.stages == ("before the ownership change", "after the ownership change")
    np.testing.assert_array_equal(plot.means["right"], [10.31, 10.39])
    # 1 − exp(−0.0407) = 0.0399 (hand computation): about 4.0%
    assert ("the left group's impressions moved 0.0407 log points (about 4.0%) below the "
            "right group's") in plot.title
    assert panelplots.event_time_plot(analysis, ctx) is not None
    render_svg(plot)


def test_changepoint_results_in_the_methods_own_keys(results):
    series = results["analyses"][3]["changepoint"]["series"]
    cp = {"model": "level", "dates": results["analyses"][3]["changepoint"]["dates"],
          "values": series, "fitted": [float(np.mean(series))] * len(series),
          "breaks": ["2022-09-01", "2022-10-28"], "onset": "2022-10-28",
          "onset_lower": "2022-10-25", "onset_upper": "2022-11-01", "change": -0.35}
    analysis = {"id": "changepoint:impressions:level", "method": "changepoint",
                "metric": "impressions", "changepoint": cp}
    plot = panelplots.changepoint_plot(analysis, plotcontext.context(results))
    assert plot.fitted is not None and len(plot.breaks) == 1
    assert "dropped around 28 Oct 2022" in plot.title and "2 changes were found" in plot.title
    render_svg(plot)
    cp.update(onset=None, onset_lower=None, onset_upper=None, breaks=[])
    plot = panelplots.changepoint_plot(analysis, plotcontext.context(results))
    assert plot.date is None and plot.title.startswith("No clear change was found")
    render_svg(plot)


def test_damages_plot_marks_the_claim(results):
    plot = pd_.damages_plot(results, plotcontext.context(results))
    assert plot.amount_claimed == 400e6 and len(plot.scenarios) == 2
    assert "no draw reaches the $400 million claimed" in plot.title
    q = results["damages"]["scenarios"][0]["quantiles"]
    assert plot.scenarios[0].q50 == q["50"]


def test_figures_appear_exactly_when_their_data_is_present(results):
    kinds = [p.kind for p in pd_.figures_for(results)]
    assert kinds == ["counterfactual", "effect", "placebo", "event_time", "groups",
                     "changepoint", "damages"]
    bare = copy.deepcopy(results)
    for a in bare["analyses"]:
        for key in ("effect", "placebo", "event_time", "groups", "changepoint"):
            a.pop(key, None)
    bare["damages"] = None
    assert pd_.figures_for(bare) == []
    broken = copy.deepcopy(results)
    broken["analyses"][0]["effect"]["observed"] = broken["analyses"][0]["effect"]["observed"][:5]
    broken["analyses"][2]["event_time"]["estimates"] = [0.1]
    kinds = [p.kind for p in pd_.figures_for(broken)]
    assert "counterfactual" not in kinds and "event_time" not in kinds and "groups" in kinds


def test_plot_data_does_not_import_matplotlib():
    code = ("import sys; sys.path.insert(0, 'tests'); from report_fixture import make_results; "
            "from butfor.report.plotdata import figures_for; figures_for(make_results()); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# figures


def test_svg_is_deterministic_parseable_and_undated(results):
    for plot in pd_.figures_for(results):
        first, second = render_svg(plot), render_svg(plot)
        assert first == second, plot.kind
        root = ET.fromstring(first)
        assert root.tag.endswith("svg")
        assert "<dc:date>" not in first
    svg = render_svg(pd_.figures_for(results)[0])
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


def test_page_order_and_verdict_rows(results, page):
    p = parse(page)
    assert p.headings[:2] == ["Verdicts", "What the data show"]
    assert p.headings.index("Data accounting") < p.headings.index("Provenance")
    assert [r["data-verdict"] for r in p.rows] == [v["verdict"] for v in results["verdicts"]]
    assert [r["data-claim"] for r in p.rows] == [v["claim"] for v in results["verdicts"]]
    assert page.index('id="verdicts"') < page.index("<figure")
    badge = re.findall(r'<span class="badge ([a-z-]+)">([a-z ]+)</span>', page)[:3]
    assert badge == [("supported", "supported"), ("inconclusive", "inconclusive"),
                     ("not-supported", "not supported")]


def test_every_figure_has_a_title_and_alt_text(results, page):
    p = parse(page)
    images = [a for tag, a in p.tags if tag == "img"]
    figures = [a for tag, a in p.tags if tag == "figure"]
    assert len(figures) == len(images) == len(pd_.figures_for(results)) == 7
    assert all(len(a.get("alt", "")) > 40 for a in images)


def test_page_shows_accounting_and_provenance(results, page):
    for i in results["provenance"]["inputs"]:
        assert i["sha256"] in page
    assert results["provenance"]["command"] in page
    assert "butfor report results.json" in page
    assert "here they add up" in page  # 3012 read = 3000 kept + 12 dropped
    assert "duplicate date for the same account" in page
    assert 'title = &#34;But for the platform' in page  # the case file, escaped


def test_each_method_is_explained_in_two_or_three_plain_sentences(results, page):
    for key, w in METHODS.items():
        sentences = len(re.findall(r"[.!?](\s|$)", w.compares + " " + w.fooled_by))
        assert 2 <= sentences <= 3, key
    for method in {a["method"] for a in results["analyses"]}:
        assert METHODS[method].fooled_by in page.replace("&#39;", "'")


def test_timings_come_only_from_run_info(light, page):
    assert "none was found" in page
    with_run = render_html(light, {"timings_seconds": {"sts": 1.5, "damages": 0.25}})
    assert "1.5 s" in with_run and "250 ms" in with_run and "1.8 s" in with_run  # total


def test_text_from_results_is_escaped(light):
    evil = copy.deepcopy(light)
    evil["verdicts"][0]["allegation"] = "<script>alert(1)</script>"
    html = render_html(evil)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_no_claims_and_no_damages_still_render(light):
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


def test_rerender_is_byte_identical_across_processes(results, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    in_process = render_report_file(tmp_path / "results.json").read_bytes()
    out = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "butfor", "report", str(tmp_path / "results.json"),
                    "--out", str(out)], check=True, capture_output=True)
    assert (out / "report.html").read_bytes() == in_process


def test_render_report_file_reads_run_json_beside_results(light, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(light), encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps({"timings_seconds": {"sts": 2.0}}))
    html = render_report_file(tmp_path / "results.json").read_text(encoding="utf-8")
    assert "2.0 s" in html and "none was found" not in html


def test_cli_report_command(light, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(light), encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(tmp_path / "results.json"), "--out",
                               str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "report.html").is_file()
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_load_results_explains_bad_files(results, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n oops}', encoding="utf-8")
    with pytest.raises(InputError, match="line 2") as err:
        load_results(bad)
    assert "not valid JSON" in str(err.value)
    wrong = tmp_path / "wrong.json"
    broken = copy.deepcopy(results)
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
