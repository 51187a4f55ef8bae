"""Wikimedia pageviews, per article, from the REST API (no key needed).

``GET https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/
{project}/{access}/{agent}/{article}/{granularity}/{start}/{end}`` answers
one JSON document per article and range (no pagination); each is cached and
then read by :mod:`butfor.readers.wikimedia`, so a fetched series and a
downloaded one go through the same reader and the same IngestReport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from butfor.connectors.http import Fetched, HttpClient, HttpStatusError
from butfor.errors import FetchError, InputError

API = "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article"
SERVICE = "Wikimedia"
ACCESS = ("all-access", "desktop", "mobile-web", "mobile-app")
AGENTS = ("all-agents", "user", "spider", "automated")
GRANULARITIES = ("daily", "monthly")


@dataclass(frozen=True)
class PageviewsRequest:
    """One article's pageviews over a range, as the API names them."""

    article: str
    start: dt.date
    end: dt.date
    project: str = "en.wikipedia"
    access: str = "all-access"
    agent: str = "user"
    granularity: str = "daily"

    def __post_init__(self) -> None:
        for name, value, allowed in (("access", self.access, ACCESS),
                                     ("agent", self.agent, AGENTS),
                                     ("granularity", self.granularity, GRANULARITIES)):
            if value not in allowed:
                raise InputError(None, f"--{name} '{value}' is not one Wikimedia knows",
                                 f"use one of {', '.join(allowed)}")
        if self.start > self.end:
            raise InputError(None, f"--start {self.start} is after --end {self.end}",
                             "give the earlier date as --start")
        if not self.article.strip():
            raise InputError(None, "the article title is empty", "name the article")
        if "." not in self.project:
            raise InputError(None, f"--project '{self.project}' is not a Wikimedia project",
                             "write it as the wiki's host name without .org, e.g. en.wikipedia")

    @property
    def title(self) -> str:
        """The title as it appears in the page's address: spaces as underscores."""
        return self.article.strip().replace(" ", "_")

    @property
    def unit(self) -> str:
        """The unit id the reader gives this series."""
        return f"{self.project}:{self.title}"

    def url(self) -> str:
        return "/".join([API, self.project, self.access, self.agent, quote(self.title, safe=""),
                         self.granularity, f"{self.start:%Y%m%d}00", f"{self.end:%Y%m%d}00"])


def fetch_pageviews(client: HttpClient, requests: Sequence[PageviewsRequest], *,
                    progress=None) -> list[Fetched]:
    """Each article's response (cached or fetched), in the order asked."""
    out = []
    for request in requests:
        if progress is not None:
            progress(f"pageviews of {request.unit}")
        out.append(fetch_one(client, request))
    return out


def published(request: PageviewsRequest, now: float) -> bool:
    """Whether the whole range is out: Wikimedia loads a day's pageviews during the next day
    or two, so an answer for a range ending later may still grow and is asked for again."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return request.end <= today - dt.timedelta(days=3)


def fetch_one(client: HttpClient, request: PageviewsRequest) -> Fetched:
    try:
        fetched = client.get_json(request.url(), service=SERVICE,
                                  reuse=published(request, client.clock()))
    except HttpStatusError as err:
        if err.status == 404:
            raise FetchError(
                f"Wikimedia has no pageviews of '{request.title}' on {request.project} "
                f"({request.access}, {request.agent}) from {request.start} to {request.end} "
                f"({err.detail}); check the title as it appears in the article's address and "
                "the dates (pageviews begin on 2015-07-01)") from None
        raise
    items = fetched.data.get("items") if isinstance(fetched.data, dict) else None
    if not isinstance(items, list):
        client.forget(request.url())
        raise FetchError(f"Wikimedia's answer for '{request.title}' holds no 'items' list; "
                         "nothing was stored; try again later, and report it if it persists")
    return fetched


def cached_pageviews(client: HttpClient, request: PageviewsRequest) -> Fetched | None:
    """The stored response of a request, without going online."""
    return client.cached(request.url())
