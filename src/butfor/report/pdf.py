"""Print the report to PDF with headless Chromium (Debian's ``chromium``).

The browser runs with its own empty profile in a temporary folder and with
background networking, component updates and sync turned off, so printing a
self-contained page touches nothing outside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from butfor.errors import ButforError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
)
INSTALL_HINT = (
    "install it with 'sudo apt-get install chromium' (Debian, Ubuntu) or your system's package "
    "manager, or set BUTFOR_CHROMIUM to the path of a Chromium or Chrome executable"
)


def find_chromium() -> str | None:
    """The Chromium to use: $BUTFOR_CHROMIUM, else the first of CANDIDATES on PATH."""
    explicit = os.environ.get("BUTFOR_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
              timeout: float = 180.0) -> Path:
    """Print ``html_path`` to ``pdf_path``; raise ButforError saying how to get Chromium."""
    browser = chromium if chromium is not None else find_chromium()
    if browser is None or not Path(browser).is_file():
        raise ButforError(
            f"cannot write {pdf_path.name}: no Chromium was found to print it"
            + (f" at {browser}" if browser else "") + f"; {INSTALL_HINT}"
        )
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="butfor-chromium-") as profile:
        command = [
            browser, *FLAGS, f"--user-data-dir={profile}",
            "--no-pdf-header-footer", "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf_path}", html_path.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ButforError(
                f"Chromium did not finish printing {pdf_path.name} within {timeout:.0f} s; "
                f"open {html_path.name} in a browser and print it to PDF from there"
            ) from None
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise ButforError(
            f"Chromium ({browser}) failed to print {pdf_path.name} (exit code {done.returncode}"
            + (f": {' / '.join(tail)}" if tail else "") + "); "
            f"open {html_path.name} in a browser and print it to PDF from there"
        )
    return pdf_path
