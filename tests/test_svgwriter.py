"""butfor's own figures: ticks, the layout, the SVG writer and the matplotlib renderer.

Reference values are hand computations written beside each assertion (tick steps
counted by hand, pixel positions from the layout's constants and the DejaVu Sans
advances in report/textwidth.py); the plot data are the figures of the session's
`butfor demo` run (every plot kind but the power curve and the tornado, which are
built by hand here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from butfor.report import fmt
from butfor.report import ticks as tk
from butfor.report.damages_plots import SensitivityPlot
from butfor.report.figures import draw, render, render_svg
from butfor.report.plotdata import figures_for
from butfor.report.plottypes import PlaceboPlot
from butfor.report.powerplot import PowerPlot
from butfor.report.scene import Axis, Line, Panel, Scene, Tick
from butfor.report.svgwriter import write_svg
from butfor.report.textwidth import ASCENT, DESCENT, text_width

SVG = "{http://www.w3.org/2000/svg}"


def _power() -> PowerPlot:
    effects = np.linspace(-0.5, 0.5, 21)
    effects = effects[effects != 0]
    return PowerPlot(id="fig-x-power", analysis_id="x", title="power", alt="power",
                     effects=effects, power=np.clip(np.abs(effects) * 3, 0, 1), target=0.8,
                     alpha=0.05, mde_fell=0.27, mde_rose=0.27, smallest_effect=0.1,
                     how="simulated")


def _tornado() -> SensitivityPlot:
    return SensitivityPlot(id="fig-damages-sensitivity", analysis_id="damages", title="t",
                           alt="t", currency="USD", median=3.5e6,
                           rows=(("brand content: fee-versus-reach elasticity", 2.4e6, 4.9e6),
                                 ("discount rate", 3.4e6, 3.6e6)))


def _demo_results(demo_output) -> Path:
    return demo_output[0] / "results.json"


@pytest.fixture(scope="module")
def plots(demo_output) -> list:
    found = figures_for(json.loads(_demo_results(demo_output).read_text(encoding="utf-8")))
    placebo = next(p for p in found if isinstance(p, PlaceboPlot))
    rng = np.random.default_rng(3)
    many = dataclasses.replace(placebo, id="fig-many-placebo", values=rng.normal(1, 0.4, 60),
                               units=tuple(f"peer {i}" for i in range(60)))
    return [*found, many, _power(), _tornado()]


# ---------------------------------------------------------------------------
# ticks


def test_nice_ticks_on_hand_counted_ranges():
    # 0..1.02 in at most 6: step 0.1 gives 11 ticks, 0.2 gives 0, 0.2, ..., 1.0 (six)
    assert tk.nice_ticks(0, 1.02, 6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    # -3.7..12.2 in at most 7: step 2 gives -2..12 (eight), 2.5 gives -2.5..10 (six)
    assert tk.nice_ticks(-3.7, 12.2, 7) == [-2.5, 0.0, 2.5, 5.0, 7.5, 10.0]
    # -1.95M..1.44M in at most 4: step 0.5M gives seven, 1M gives -1M, 0, 1M
    assert tk.nice_ticks(-1_947_272, 1_444_055, 4) == [-1e6, 0.0, 1e6]
    # -0.013..0.04 in at most 7: step 0.01 gives -0.01..0.04 (six)
    assert tk.nice_ticks(-0.013, 0.04, 7) == [-0.01, 0.0, 0.01, 0.02, 0.03, 0.04]


def test_tick_text_has_the_decimals_its_step_needs():
    assert tk.decimals(0.025) == 3 and tk.decimals(0.2) == 1 and tk.decimals(5) == 0
    assert tk.compact(10.475, 0.025) == "10.475"
    assert tk.compact(-0.5, 0.25) == fmt.MINUS + "0.50"
    assert tk.compact(1.5e6, 5e5) == "1.5M" and tk.compact(-25e6, 5e6) == fmt.MINUS + "25M"
    assert tk.compact(-0.0, 0.1) == "0.0"  # no negative zero


def _day(iso: str) -> float:
    return float(tk.days(np.array([iso], dtype="datetime64[D]"))[0])


def test_date_ticks_on_hand_counted_ranges():
    # 18 months: monthly would be 18 ticks, every 2 months from Jan 2022 is nine
    got = tk.date_ticks(_day("2022-01-01"), _day("2023-06-30"))
    assert [t.text for t in got] == ["Jan\n2022", "Mar", "May", "Jul", "Sep", "Nov",
                                     "Jan\n2023", "Mar", "May"]
    assert got[1].value == _day("2022-03-01")
    # 60 days: every 3 days is 21 ticks, the 1st, 8th, 15th and 22nd of each month nine
    got = tk.date_ticks(_day("2022-01-01"), _day("2022-03-02"))
    assert [t.text for t in got] == ["1 Jan\n2022", "8 Jan", "15 Jan", "22 Jan", "1 Feb",
                                     "8 Feb", "15 Feb", "22 Feb", "1 Mar"]
    # twelve years: every 2 years from 2022
    got = tk.date_ticks(_day("2022-01-01"), _day("2034-01-01"))
    assert [t.text for t in got] == ["2022", "2024", "2026", "2028", "2030", "2032", "2034"]


# ---------------------------------------------------------------------------
# the writer


def test_a_known_scene_has_hand_computed_coordinates():
    # one panel 100 px high, no labels or legend: the left margin is PAD 8 + the widest
    # y tick ("0" or "1": 12.5 px × 0.636 = 7.95) + tick 5 + gap 4 = 24.95; the right,
    # PAD 8 + half of "10" (12.5 × 1.272 / 2 = 7.95) = 15.95, since that tick is at the
    # plot's right edge; so the plot spans 24.95..824.05 and 8..108 (top = PAD)
    x = Axis(0, 10, (Tick(0, "0"), Tick(5, "5"), Tick(10, "10")), grid=False)
    y = Axis(0, 1, (Tick(0, "0"), Tick(1, "1")), grid=False)
    line = Line(np.array([0.0, 5.0, 10.0]), np.array([0.0, np.nan, 1.0]), "#000000")
    points = Line(np.array([0.0, 10.0]), np.array([0.0, 1.0]), "#111111")
    svg = write_svg(Scene("s", "a known scene", (Panel(x, y, (line, points)),), 100.0))
    assert 'd="M24.95 108 L824.05 8"' in svg
    assert "#000000" not in svg  # a NaN leaves two single points: nothing to draw
    # the x tick text: baseline at the bottom 108 + tick 5 + gap 3 + ascent 0.928 × 12.5
    assert '<text x="424.5" y="127.6" font-size="12.5" fill="#4b5563" text-anchor="middle">5' \
        in svg
    root = ET.fromstring(svg)
    # height: 108 + x area (5 + 3 + (0.928 + 0.236) × 12.5 + 4 = 26.55) + PAD 8 − 4
    assert root.get("height") == "138.55" and root.get("width") == "840"
    assert root.find(f"{SVG}title").text == "a known scene"


def _boxes(root: ET.Element) -> list[tuple[float, float, float, float, str]]:
    """Each unrotated line of text as (x0, x1, y0, y1, text), from the advance table."""
    out = []
    for el in root.iter(f"{SVG}text"):
        if el.get("transform"):
            continue
        size = float(el.get("font-size"))
        bold = el.get("font-weight") == "bold"
        x, y = float(el.get("x")), float(el.get("y"))
        rows = [(el.text or "", 0.0)] if len(el) == 0 else []
        offset = 0.0
        for span in el:
            offset += float(span.get("dy"))
            rows.append((span.text or "", offset))
        for text, dy in rows:
            w = text_width(text, size, bold=bold)
            x0 = {"start": x, "middle": x - w / 2, "end": x - w}[el.get("text-anchor")]
            base = y + dy
            out.append((x0, x0 + w, base - ASCENT * size, base + DESCENT * size, text))
    return out


def test_every_figure_is_well_formed_and_its_text_fits_without_overlap(plots):
    for plot in plots:
        svg = render_svg(plot)
        root = ET.fromstring(svg)  # well-formed XML
        width, height = float(root.get("width")), float(root.get("height"))
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
        boxes = _boxes(root)
        assert boxes, plot.id
        for x0, x1, y0, y1, text in boxes:
            assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height, (plot.id, text)
        for el in root.iter(f"{SVG}text"):  # the y labels, turned: they fit the height
            if el.get("transform"):
                cy = float(re.search(r"translate\([\d.]+ ([\d.]+)\)", el.get("transform"))[1])
                rows = [s.text or "" for s in el] or [el.text or ""]
                half = max(text_width(r, float(el.get("font-size"))) for r in rows) / 2
                assert half <= cy and cy + half <= height, (plot.id, rows)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                apart = a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
                assert apart, (plot.id, a[4], b[4])


def test_long_axis_labels_are_broken_into_lines_that_fit():
    from butfor.report.layout import label_lines

    text = "group mean of impressions, log scale (a gap of 0.1 = 10%)"
    assert label_lines(text, 500) == text
    # 300 px: broken at the space nearest the middle, 182 and 198 px at 13 px
    assert label_lines(text, 300) == "group mean of impressions,\nlog scale (a gap of 0.1 = 10%)"
    rows = label_lines(text, 150).split("\n")
    assert len(rows) == 3 and all(text_width(r, 13.0) <= 150 for r in rows)


def test_event_lines_are_labelled_and_bands_drawn(plots):
    counterfactual = render_svg(plots[0])  # the demo's first event's forecast
    assert "ownership change (27 Oct 2022)" in counterfactual
    second = next(p for p in plots if p.id == "fig-sts-impressions-2-counterfactual")
    assert "verification change (20 Apr 2023)" in render_svg(second)  # demo_case.toml
    assert 'fill="#a9c4e6" fill-opacity="0.6"' in counterfactual  # the band
    assert 'stroke-dasharray="6 4.5"' in counterfactual  # the event lines


def test_the_same_plot_gives_the_same_bytes_in_another_process(plots, demo_output):
    demo = plots[:-3]  # the demo's own figures (the fixture adds three hand-built ones)
    here = hashlib.sha256("".join(render_svg(p) for p in demo).encode()).hexdigest()
    code = ("import hashlib, json, sys; "
            "from butfor.report.plotdata import figures_for; "
            "from butfor.report.figures import render_svg; "
            f"results = json.load(open({str(_demo_results(demo_output))!r}, encoding='utf-8')); "
            "print(hashlib.sha256(''.join(render_svg(p) for p in "
            "figures_for(results)).encode()).hexdigest()); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent, env={"PYTHONHASHSEED": "123",
                                                       **_env()}).stdout.split()
    assert out == [here, "False"]  # same bytes, and matplotlib never imported


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}


def test_numbers_have_at_most_two_decimals(plots):
    svg = render_svg(plots[1])
    assert not re.search(r"\d\.\d{3}", re.sub(r">[^<]*<", "><", svg))


# ---------------------------------------------------------------------------
# matplotlib, from the same scenes


def test_plot_returns_a_matplotlib_figure_for_every_plot_type(plots):
    from matplotlib.figure import Figure

    kinds = set()
    for plot in plots:
        fig = draw(plot)
        assert isinstance(fig, Figure) and fig.axes, plot.id
        kinds.add(plot.kind)
    assert kinds == {"counterfactual", "effect", "placebo", "event_time", "groups",
                     "changepoint", "damages", "power", "sensitivity"}


def test_png_is_drawn_only_when_asked_and_repeats(plots):
    assert render(plots[0])[1] is None
    svg, first = render(plots[0], png=True)
    assert svg == render_svg(plots[0])
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and render(plots[0], png=True)[1] == first


def test_the_report_writes_svg_files_and_png_files_only_with_png(tmp_path, demo_output):
    from typer.testing import CliRunner

    from butfor.cli import app

    results = tmp_path / "results.json"
    results.write_bytes(_demo_results(demo_output).read_bytes())
    for flags, suffixes in (([], {".svg"}), (["--png"], {".svg", ".png"})):
        out = tmp_path / ("png" if flags else "plain")
        done = CliRunner().invoke(app, ["report", str(results), "--out", str(out), "--no-pdf",
                                        *flags])
        assert done.exit_code == 0, done.output
        files = sorted((out / "figures").iterdir())
        assert {f.suffix for f in files} == suffixes
        expected = figures_for(json.loads(results.read_text(encoding="utf-8")))
        assert sum(f.suffix == ".svg" for f in files) == len(expected)
        for f in files:
            if f.suffix == ".svg":  # the file is the page's figure, with an XML declaration
                assert f.read_text(encoding="utf-8").startswith("<?xml")
