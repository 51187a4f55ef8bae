"""The report: one self-contained HTML page (and a PDF of it) drawn from Results alone.

::

    results.json ──plotdata──▶ figure data ──figures──▶ SVG ┐
                 └─────────────html (Jinja2 templates)──────┴▶ report.html ──pdf──▶ report.pdf

The page has no scripts and fetches nothing: CSS is inline and figures are SVG
data URIs, written by butfor's own SVG writer (no matplotlib). Each figure is also
written as an SVG file under ``figures/`` beside the page, for filings and slides
(Word, PowerPoint and LibreOffice insert SVG), and as a PNG file too when asked
(``png=True``, ``--png``), drawn by matplotlib from the same scene. The same results
give the same HTML and SVG files, byte for byte; run timings,
which differ between runs, come from ``run.json`` beside ``results.json`` and
are shown only when it is there.
"""

from __future__ import annotations

import json
from pathlib import Path

from butfor.errors import ButforError, InputError
from butfor.report.html import render_html, render_page

REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
RUN_JSON = "run.json"
FIGURES_DIR = "figures"


def _read_run_info(folder: Path) -> dict | None:
    path = folder / RUN_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_report(results: dict, out_dir: Path, pdf: bool = False, *,
                 run_info: dict | None = None, png: bool = False) -> Path:
    """Write ``report.html`` and its SVG figure files (and ``report.pdf`` and PNG
    figure files when asked) into ``out_dir``.

    ``run_info`` defaults to ``out_dir/run.json`` when that file exists.
    Returns the path of the HTML file. Asking for a PDF without Chromium
    installed raises ButforError saying how to install it (the HTML is
    written first either way).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if run_info is None:
        run_info = _read_run_info(out_dir)
    html_path = out_dir / REPORT_HTML
    page, figures = render_page(results, run_info, png=png)
    html_path.write_text(page, encoding="utf-8")
    write_figure_files(figures, out_dir / FIGURES_DIR)
    if pdf:
        from butfor.report.pdf import print_pdf, results_date

        print_pdf(html_path, out_dir / REPORT_PDF, creation_date=results_date(results))
    return html_path


def write_figure_files(figures: list[dict], folder: Path) -> list[Path]:
    """``NN-<figure id>.svg`` (and ``.png`` where drawn) for each figure, in the page's
    order.

    Files left from an earlier run in the same folder are removed first, so the
    folder holds exactly this report's figures.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.svg"), *folder.glob("*.png")]:
        old.unlink()
    written = []
    for number, figure in enumerate(figures, start=1):
        stem = f"{number:02d}-{_safe_name(figure['id'])}"
        svg = folder / f"{stem}.svg"
        svg.write_text('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
                       + figure["svg"], encoding="utf-8")
        written.append(svg)
        if figure.get("png") is not None:
            png = folder / f"{stem}.png"
            png.write_bytes(figure["png"])
            written.append(png)
    return written


def _safe_name(text: str) -> str:
    # figure ids come from analysis ids in the case file: keep them to a safe alphabet
    kept = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(text))
    return kept.strip("-")[:80] or "figure"


def load_results(path: Path) -> dict:
    """Read and check a results.json; InputError naming the file and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "the results file does not exist",
                         "give the results.json that 'butfor run' or 'butfor demo' wrote") from None
    try:
        results = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, f"is not valid JSON ({err.msg})",
                         "give the results.json that butfor wrote, unedited",
                         line=err.lineno) from None
    import jsonschema

    from butfor.results import validate

    try:
        validate(results)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "the top level"
        raise InputError(path, f"does not follow the results schema at {where} ({err.message})",
                         "re-run the analysis with this version of butfor") from None
    return results


def render_report_file(results_json_path: Path, out: Path | None = None,
                       pdf: bool | None = None, png: bool = False) -> Path:
    """`butfor report RESULTS.json`: redraw the report without re-running the analysis.

    Writes into ``out`` (default: the folder of results.json). ``pdf`` None
    follows the case's ``[report] pdf`` setting; ``png`` also writes each figure as a
    PNG file. Timings come from run.json
    beside results.json when present.
    """
    results_json_path = Path(results_json_path)
    results = load_results(results_json_path)
    if pdf is None:
        pdf = bool(((results.get("case") or {}).get("report") or {}).get("pdf", False))
    run_info = _read_run_info(results_json_path.parent)
    return write_report(results, Path(out) if out is not None else results_json_path.parent,
                        pdf=pdf, run_info=run_info, png=png)


__all__ = ["ButforError", "load_results", "render_html", "render_page", "render_report_file",
           "write_figure_files", "write_report"]
