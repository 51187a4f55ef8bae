"""Recorded responses: a cassette file replayed as an httpx transport.

Set ``BUTFOR_CASSETTE=path/to/cassette.json`` and every fetch (``butfor
fetch ...``, ``butfor run --fetch``) is answered from the cassette instead of
the network; a request the cassette does not hold is an error, never a
network request. The examples and the CLI tests run offline this way.

A cassette is JSON::

    {"note": "where the responses come from",
     "interactions": [
        {"request": {"method": "GET", "url": "https://wikimedia.org/api/..."},
         "response": {"status": 200, "headers": {"content-type": "application/json"},
                      "json": {...}}}]}

A response gives its body as ``json`` (a value), ``text`` or ``base64``.
Requests match on method and URL, query parameters in any order. When one
request appears several times, the recorded responses are replayed in turn
and the last one repeats (so a 429 followed by a 200 replays as such).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from butfor.errors import FetchError

ENV = "BUTFOR_CASSETTE"


def transport_from_env() -> httpx.BaseTransport | None:
    """A replaying transport when ``BUTFOR_CASSETTE`` is set; None (the network) otherwise."""
    path = os.environ.get(ENV, "").strip()
    return CassetteTransport(Path(path)) if path else None


def _key(method: str, url: str | httpx.URL) -> tuple[str, str, str, tuple]:
    parts = urlsplit(str(url))
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return method.upper(), parts.netloc.lower(), parts.path, query


class CassetteTransport(httpx.BaseTransport):
    """Answers each request with its recorded response, in the order recorded."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            interactions = document["interactions"]
        except FileNotFoundError:
            raise FetchError(f"{ENV} names {self.path}, which does not exist; point it at a "
                             "cassette file or unset it to use the network") from None
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
            raise FetchError(f"{self.path} is not a cassette ({type(err).__name__}: {err}); "
                             "it needs an 'interactions' list (see butfor.connectors."
                             "cassette)") from None
        self._responses: dict[tuple, list[dict]] = {}
        for item in interactions:
            request = item["request"]
            key = _key(request.get("method", "GET"), request["url"])
            self._responses.setdefault(key, []).append(item["response"])
        self._served: dict[tuple, int] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request.method, request.url)
        recorded = self._responses.get(key)
        if not recorded:
            raise FetchError(f"the cassette {self.path} holds no response for {request.method} "
                             f"{request.url}; record it there, or unset {ENV} to use the network")
        n = self._served.get(key, 0)
        self._served[key] = n + 1
        spec = recorded[min(n, len(recorded) - 1)]
        if "json" in spec:
            content = json.dumps(spec["json"]).encode("utf-8")
        elif "base64" in spec:
            content = base64.b64decode(spec["base64"])
        else:
            content = str(spec.get("text", "")).encode("utf-8")
        return httpx.Response(int(spec.get("status", 200)), headers=spec.get("headers", {}),
                              content=content, request=request)
