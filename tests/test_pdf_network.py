"""Printing the PDF makes no network attempt that could leave the machine.

Chromium is run exactly as ``butfor run --pdf`` runs it, with ``strace`` in
between recording every ``connect`` and ``sendto`` of every process (one file
per process, so no call is split across lines). Without the precautions in
``butfor/report/pdf.py`` this trace showed DNS queries to the resolver for
Google hosts and a UDP connect to 2001:4860:4860::8888 (issue 17).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from butfor.report import write_report
from butfor.report.pdf import FLAGS, network_namespace

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed "
                       "(sudo apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("strace") is None,
                       reason="strace is not installed (sudo apt-get install strace)"),
]

_CALL = re.compile(r"^(connect|sendto)\((\d+), \{sa_family=(AF_INET6?)(.*?)\}.*= (-?\d+)(.*)$")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_ADDR = re.compile(r'inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"')


def _inet_calls(trace_dir: Path) -> list[dict]:
    calls = []
    for file in trace_dir.iterdir():
        for line in file.read_text(errors="replace").splitlines():
            m = _CALL.match(line)
            if not m:
                continue
            port, addr = _PORT.search(m.group(4)), _ADDR.search(m.group(4))
            calls.append({"call": m.group(1), "port": int(port.group(1)) if port else None,
                          "addr": addr.group(1) if addr else None,
                          "ok": int(m.group(5)) == 0 or "EINPROGRESS" in m.group(6),
                          "line": line})
    return calls


def _print_traced(results: dict, tmp_path: Path, monkeypatch, *, namespace: bool) -> list[dict]:
    from butfor.report import pdf

    pdf.network_namespace.cache_clear()
    monkeypatch.setenv("BUTFOR_CHROMIUM_NETNS", "1" if namespace else "0")
    traces = tmp_path / "trace"
    traces.mkdir()
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f"#!/bin/sh\nexec strace -ff -qq -e trace=connect,sendto "
                       f"-o {traces}/call {CHROMIUM} \"$@\"\n")
    wrapper.chmod(0o755)
    # the report is drawn first (chromium is not started for that), then printed traced
    html = write_report(results, tmp_path / "report")
    pdf.print_pdf(html, tmp_path / "report" / "report.pdf", chromium=str(wrapper))
    assert (tmp_path / "report" / "report.pdf").stat().st_size > 10_000
    pdf.network_namespace.cache_clear()
    return _inet_calls(traces)


def _loopback(addr: str | None) -> bool:
    return addr is not None and (addr.startswith("127.") or addr == "::1")


def test_flags_send_every_request_nowhere():
    assert "--proxy-server=127.0.0.1:9" in FLAGS
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in FLAGS
    assert "--disable-background-networking" in FLAGS


@pytest.fixture(scope="module")
def results(report_case_output) -> dict:
    """The report tests' small case as `butfor run` wrote it (tests/report_case.py)."""
    return json.loads((report_case_output / "results.json").read_text(encoding="utf-8"))


def test_pdf_printing_in_its_network_namespace_reaches_nothing(results, tmp_path, monkeypatch):
    if not network_namespace():
        pytest.skip("this system allows no network namespace ('unshare --net true' fails)")
    calls = _print_traced(results, tmp_path, monkeypatch, namespace=True)
    assert [c["line"] for c in calls if c["port"] == 53] == []  # no DNS query at all
    # nothing outside loopback got through: the namespace has no route anywhere
    assert [c["line"] for c in calls if c["ok"] and not _loopback(c["addr"])] == []


def test_pdf_printing_without_a_namespace_makes_no_dns_query_or_connection(results, tmp_path,
                                                                          monkeypatch):
    """Where no namespace can be had, the flags alone: no DNS, no TCP, no datagram sent.

    Chromium's IPv6 reachability check may still connect a UDP socket to
    2001:4860:4860::8888 port 443; connecting a UDP socket picks a route and
    sends nothing, and no sendto follows it.
    """
    calls = _print_traced(results, tmp_path, monkeypatch, namespace=False)
    assert [c["line"] for c in calls if c["port"] == 53] == []
    assert [c["line"] for c in calls if c["call"] == "sendto"] == []
    others = [c["line"] for c in calls if not _loopback(c["addr"])
              and (c["addr"], c["port"]) != ("2001:4860:4860::8888", 443)]
    assert others == []
