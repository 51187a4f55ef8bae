"""The one HTTP client every connector uses: cached, retried, polite.

::

    client = HttpClient(cache_dir=Path(".butfor/cache"))
    fetched = client.get_json(url, params, service="Wikimedia")
    fetched.path      # the response body on disk, read by the readers
    fetched.cached    # True when no request was made

- **Cache.** A response is stored under a key made of the method, URL and
  parameters (never the credentials), so a request made once is never made
  again; ``refresh=True`` asks again and replaces the stored body. Only a
  successful response with a JSON body is kept.
- **Retries.** A timeout, a dropped connection, 429 and 5xx are tried again
  up to ``RetryPolicy.attempts`` times, waiting ``base * 2**n`` seconds with
  jitter (half fixed, half random), or what the server asks: ``Retry-After``
  (seconds or an HTTP date) or a rate-limit reset time
  (``x-rate-limit-reset`` on X, ``ratelimit-reset`` on Bluesky). When the
  server says no requests remain, the next one waits for the reset.
- **Politeness.** Every request names the project and a contact in its
  User-Agent, as Wikimedia asks; ``BUTFOR_CONTACT`` sets the contact.
- **Tests.** ``transport`` (an httpx transport: respx's, or a cassette's)
  and ``sleep``/``clock`` are injectable, so no test waits or touches the
  network. ``BUTFOR_CASSETTE`` points every fetch at a recorded cassette
  (:mod:`butfor.connectors.cassette`).

Every failure is a :class:`~butfor.errors.FetchError`: one sentence naming
the service, what happened and what to do.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from butfor import __version__
from butfor.errors import FetchError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# never wait longer than this for one retry: past it the user is told when to come back
LONGEST_WAIT_SECONDS = 900.0


def user_agent() -> str:
    contact = os.environ.get("BUTFOR_CONTACT", "").strip() or (
        "open-source analysis tool; set BUTFOR_CONTACT to reach its user")
    return f"butfor/{__version__} ({contact}) httpx/{httpx.__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # requests in all, the first included
    base_delay: float = 1.0  # seconds before the first retry (doubling after)
    max_delay: float = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Exponential backoff with equal jitter: half the step fixed, half drawn."""
        step = min(self.max_delay, self.base_delay * 2 ** retry)
        return step / 2 + rng.uniform(0, step / 2)


@dataclass(frozen=True)
class Fetched:
    """One JSON response: where its body lies on disk, the parsed body, and whether cached."""

    url: str
    path: Path
    data: Any
    cached: bool


class HttpStatusError(FetchError):
    """The service answered with an error status; connectors turn it into their own advice."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


@dataclass
class HttpClient:
    cache_dir: Path
    refresh: bool = False
    transport: httpx.BaseTransport | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    seed: int | None = None  # jitter draws (None: fresh each run; waits change no result)
    on_wait: Callable[[str], None] | None = None  # told before each wait, for the console
    requests_made: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    _resume_at: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self._rng = random.Random(self.seed)
        if self.transport is None:
            from butfor.connectors.cassette import transport_from_env

            self.transport = transport_from_env()

    # -- the cache ---------------------------------------------------------
    def cache_path(self, url: str, params: Mapping[str, Any] | None = None) -> Path:
        """Where the body of this request is (or would be) stored."""
        request = {"method": "GET", "url": url,
                   "params": sorted((str(k), str(v)) for k, v in (params or {}).items())}
        key = hashlib.sha256(json.dumps(request).encode("utf-8")).hexdigest()[:32]
        host = urlsplit(url).hostname or "local"
        return self.cache_dir / host / f"{key}.json"

    def cached(self, url: str, params: Mapping[str, Any] | None = None) -> Fetched | None:
        """The stored response of this request, or None (never asks the network)."""
        path = self.cache_path(url, params)
        if not path.exists():
            return None
        return Fetched(url, path, json.loads(path.read_text(encoding="utf-8")), cached=True)

    def forget(self, url: str, params: Mapping[str, Any] | None = None) -> None:
        """Remove a stored response (one that turned out to hold an error, not data)."""
        path = self.cache_path(url, params)
        path.unlink(missing_ok=True)
        path.with_suffix(".request.json").unlink(missing_ok=True)

    # -- requests ----------------------------------------------------------
    def get_json(self, url: str, params: Mapping[str, Any] | None = None, *, service: str,
                 headers: Mapping[str, str] | None = None, reuse: bool = True) -> Fetched:
        """GET a JSON document: from the cache, or the network (retried); then cached.

        ``reuse=False`` asks again even when cached: for a range the service may
        not have published in full yet (it still stores the answer).
        """
        if reuse and not self.refresh:
            hit = self.cached(url, params)
            if hit is not None:
                return hit
        response = self._get(url, params, headers or {}, service)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise FetchError(
                f"{service} answered {_shown(response.request.url)} with a body that is not "
                f"JSON ({_reason(err)}); nothing was stored; try again later, and report it "
                "if it persists") from None
        path = self.cache_path(url, params)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(response.content)
        partial.replace(path)  # a body is stored whole or not at all
        meta = {"url": str(response.request.url.copy_remove_param("access_token")),
                "params": {str(k): str(v) for k, v in (params or {}).items()},
                "status": response.status_code,
                "fetched_at": dt.datetime.fromtimestamp(self.clock(), dt.UTC).isoformat(),
                "user_agent": user_agent()}
        replayed = getattr(self.transport, "path", None)  # a cassette's, not the network's
        if replayed is not None:
            meta["replayed_from"] = str(replayed)
        path.with_suffix(".request.json").write_text(json.dumps(meta, indent=1) + "\n",
                                                     encoding="utf-8")
        return Fetched(url, path, data, cached=False)

    @property
    def replaying(self) -> str | None:
        """The cassette answering instead of the network, if any."""
        path = getattr(self.transport, "path", None)
        return None if path is None else str(path)

    def replay_note(self) -> str:
        """A sentence for the console when a cassette, not the network, answered."""
        if self.replaying is None or self.requests_made == 0:
            return ""
        return (f" The answers came from the recorded cassette {self.replaying} "
                "(BUTFOR_CASSETTE), not the network.")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(transport=self.transport, timeout=self.timeout,
                                      headers={"User-Agent": user_agent(),
                                               "Accept": "application/json"},
                                      follow_redirects=True)
        return self._http

    def _get(self, url: str, params, headers, service: str) -> httpx.Response:
        host = urlsplit(url).hostname or ""
        problem = ""
        for attempt in range(self.retry.attempts):
            self._wait_for_reset(host, service)
            try:
                self.requests_made += 1
                response = self._client().get(url, params=params, headers=headers)
            except httpx.TimeoutException:
                problem = f"{service} did not answer within {self.timeout:g} s"
                wait = self.retry.backoff(attempt, self._rng)
            except httpx.TransportError as err:  # DNS failure, refused, reset: offline?
                problem = (f"could not reach {service} at {host} ({_reason(err)}); are you "
                           "offline? butfor only goes online for 'butfor fetch' or "
                           "'butfor run --fetch'")
                wait = self.retry.backoff(attempt, self._rng)
            else:
                self._note_limits(host, response)
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise _status_error(service, response)
                problem = (f"{service} answered {response.status_code} "
                           f"{response.reason_phrase} ({_detail(response)})")
                wait = self._server_wait(response)
                if wait is None:
                    wait = self.retry.backoff(attempt, self._rng)
                elif wait > LONGEST_WAIT_SECONDS:
                    resume = dt.datetime.fromtimestamp(self.clock() + wait, dt.UTC)
                    raise FetchError(
                        f"{problem}, and asks to wait {wait / 60:.0f} minutes; try again after "
                        f"{resume:%H:%M} UTC (fetched pages are kept, so nothing is asked twice)")
            if attempt + 1 < self.retry.attempts:
                self._pause(wait, f"{problem}; trying again in {wait:.1f} s")
        raise FetchError(f"{problem}; gave up after {self.retry.attempts} attempts; try again "
                         "later")

    def _pause(self, seconds: float, why: str) -> None:
        if self.on_wait is not None:
            self.on_wait(why)
        self.sleep(max(0.0, seconds))

    def _server_wait(self, response: httpx.Response) -> float | None:
        """Seconds the server asks to wait: Retry-After, else a rate-limit reset time."""
        value = response.headers.get("retry-after")
        if value is not None:
            value = value.strip()
            if value.isdigit():
                return float(value)
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - self.clock())
        reset = _reset_time(response)
        return None if reset is None else max(0.0, reset - self.clock())

    def _note_limits(self, host: str, response: httpx.Response) -> None:
        """Remember when no request is left until the limit resets."""
        remaining = (response.headers.get("x-rate-limit-remaining")
                     or response.headers.get("ratelimit-remaining"))
        reset = _reset_time(response)
        if remaining is not None and remaining.strip() == "0" and reset is not None:
            self._resume_at[host] = reset

    def _wait_for_reset(self, host: str, service: str) -> None:
        resume = self._resume_at.pop(host, None)
        if resume is None:
            return
        wait = resume - self.clock()
        if wait > LONGEST_WAIT_SECONDS:
            at = dt.datetime.fromtimestamp(resume, dt.UTC)
            raise FetchError(f"{service}'s rate limit is used up until {at:%H:%M} UTC; try "
                             "again then (fetched pages are kept, so nothing is asked twice)")
        if wait > 0:
            self._pause(wait, f"{service}'s rate limit is used up; waiting {wait:.0f} s "
                        "for it to reset")


def _reset_time(response: httpx.Response) -> float | None:
    value = response.headers.get("x-rate-limit-reset") or response.headers.get("ratelimit-reset")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    """The service's own words about an error, from its JSON body, or the status line."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or "no details"
    if isinstance(body, dict):
        for key in ("detail", "message", "title", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip().rstrip(".")
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("message") or errors[0])
    return response.reason_phrase or "no details"


def _status_error(service: str, response: httpx.Response) -> HttpStatusError:
    detail = _detail(response)
    return HttpStatusError(
        f"{service} answered {response.status_code} {response.reason_phrase} for "
        f"{_shown(response.request.url)} ({detail}); check the request", response.status_code,
        detail)


def _shown(url: httpx.URL) -> str:
    return str(url.copy_remove_param("access_token"))


def _reason(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
