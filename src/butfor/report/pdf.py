"""Print the report to PDF with headless Chromium (Debian's ``chromium``).

The browser runs with its own empty profile in a temporary folder, and makes
no network attempt that could leave the machine. Chromium looks up Google
hosts and probes a public resolver for IPv6 reachability even with background
networking off, so three layers stop it:

1. flags that turn off the features that reach out (background networking,
   component updates, sync, DNS prefetch, domain reliability, metrics, async
   DNS and DNS over HTTPS);
2. every host name resolves to "not found" (``--host-resolver-rules``) and every
   request goes to a proxy on 127.0.0.1 port 9 (discard) that refuses it, so a
   request that is still made fails at once instead of waiting;
3. where Linux allows it, Chromium runs in a network namespace of its own with
   no interfaces (``unshare --net``, or ``unshare --user --map-root-user --net``
   without root), where the one probe left (a UDP connect to
   2001:4860:4860::8888, which sends no packet) fails with "address not available".

``tests/test_pdf_network.py`` prints a PDF under ``strace`` and checks that no
connection left the namespace and that no DNS query was made.
"""

from __future__ import annotations

import functools
import json
import os
import re
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
    # nothing reaches the network: names resolve nowhere, requests go to a refusing proxy
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--dns-prefetch-disable",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-pings",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=AsyncDns,DnsOverHttps,MediaRouter,OptimizationHints,Translate,"
    "CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying",
)
# the ways to give Chromium a network namespace of its own, tried in order
NAMESPACES = (("unshare", "--net"), ("unshare", "--user", "--map-root-user", "--net"))
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


@functools.lru_cache(maxsize=1)
def network_namespace() -> tuple[str, ...]:
    """The command prefix that runs a program with no network, or () where Linux allows none."""
    if os.environ.get("BUTFOR_CHROMIUM_NETNS", "1") == "0" or shutil.which("unshare") is None:
        return ()
    for prefix in NAMESPACES:
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return prefix
    return ()


def print_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
              timeout: float = 180.0, creation_date: str | None = None) -> Path:
    """Print ``html_path`` to ``pdf_path``; raise ButforError saying how to get Chromium.

    ``creation_date`` (``YYYY-MM-DD``) replaces the clock time Chromium writes
    as the PDF's creation and modification dates, which are the only bytes that
    differ between two printings of one page: with it, the PDF repeats too.
    """
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
            *network_namespace(), browser, *FLAGS, f"--user-data-dir={profile}",
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
    if creation_date is not None:
        set_pdf_dates(pdf_path, creation_date)
    steady_node_ids(pdf_path)
    return pdf_path


# Skia writes both dates as (D:YYYYMMDDHHMMSS+00'00'); a stamp of the same length
# keeps every byte offset in the file's cross-reference table valid.
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]*\)")


def set_pdf_dates(pdf_path: Path, date: str) -> None:
    """Overwrite the PDF's creation and modification dates with ``date`` at midnight UTC."""
    digits = date.replace("-", "")[:8]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"not a YYYY-MM-DD date: {date!r}")
    data = pdf_path.read_bytes()

    def stamp(match: re.Match) -> bytes:
        old = match.group(0)
        new = b"/" + match.group(1) + b" (D:" + digits.encode() + b"000000+00'00')"
        # same length or the xref offsets break: pad inside the string if Skia's was longer
        return new if len(new) == len(old) else old

    pdf_path.write_bytes(_PDF_DATE.sub(stamp, data))


# Chromium's tagged PDF names table-header structure elements by DOM node id,
# (node00000040): a counter whose start varies from one printing to the next (by 10
# between two printings of the same page, seen in test_report_browser)
_NODE_ID = re.compile(rb"\(node(\d{8})\)")


def steady_node_ids(pdf_path: Path) -> None:
    """Renumber the ``(nodeNNNNNNNN)`` ids 1, 2, ... in their own order (in place).

    The mapping keeps their order, so the structure tree's ID name tree stays sorted,
    and their width, so every byte offset in the cross-reference table stays valid.
    """
    data = pdf_path.read_bytes()
    found = sorted({int(m.group(1)) for m in _NODE_ID.finditer(data)})
    if not found:
        return
    rank = {n: i for i, n in enumerate(found, start=1)}
    pdf_path.write_bytes(_NODE_ID.sub(lambda m: b"(node%08d)" % rank[int(m.group(1))], data))


def results_date(results: dict) -> str:
    """The latest calendar date the results speak of (the data's last day, as a rule).

    The report's PDF is dated by its content, not by the clock, so that the same
    results print to the same bytes. Falls back to 2000-01-01 when the results
    carry no date at all.
    """
    text = json.dumps(results.get("analyses") or [], sort_keys=True)
    dates = re.findall(r'"((?:19|20|21)\d\d-[01]\d-[0-3]\d)', text)
    return max(dates) if dates else "2000-01-01"
