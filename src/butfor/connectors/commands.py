"""``butfor fetch wikipedia|x|bluesky``: fetch, read through the readers, store.

Each command fetches (or takes from the cache), writes what it got as the
files a reader reads (the API's own JSON for Wikimedia; a per-post table for
X and Bluesky), ingests them exactly as ``butfor ingest`` would, and merges
the panel into the store's dataset ``default``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from butfor.connectors.http import HttpClient


def default_cache_dir(store_path: Path) -> Path:
    """The cache lives beside the store: ``.butfor/cache`` for ``.butfor/butfor.duckdb``."""
    return Path(store_path).parent / "cache"


def make_client(*, store_path: Path, cache_dir: Path | None, refresh: bool,
                console: Console) -> HttpClient:
    return HttpClient(cache_dir=cache_dir or default_cache_dir(store_path), refresh=refresh,
                      on_wait=lambda why: console.print(why, markup=False, soft_wrap=True))


def fetch_wikipedia_command(articles: Sequence[str], *, start: dt.date, end: dt.date,
                            project: str, access: str, agent: str, granularity: str,
                            store_path: Path, cache_dir: Path | None, refresh: bool,
                            console: Console) -> None:
    from butfor.connectors.wikimedia import PageviewsRequest, fetch_pageviews

    requests = [PageviewsRequest(a, start, end, project, access, agent, granularity)
                for a in articles]
    with make_client(store_path=store_path, cache_dir=cache_dir, refresh=refresh,
                     console=console) as client, _status(console, "Wikimedia") as status:
        fetched = fetch_pageviews(client, requests, progress=status)
        made = client.requests_made
    cached = sum(f.cached for f in fetched)
    console.print(f"Wikimedia: {len(fetched)} article(s), {made} request(s) made, {cached} "
                  f"answered from the cache in {client.cache_dir}." + client.replay_note(),
                  markup=False, soft_wrap=True)
    for r, f in zip(requests, fetched, strict=True):
        console.print(f"  {r.unit} ({r.access}, {r.agent}, {r.granularity}): {f.path}",
                      markup=False, soft_wrap=True)
    units = [r.unit for r in requests]
    _store([f.path for f in fetched], "wikimedia", None, store_path, console)
    console.print(f"Use as a control in a case: [controls] units = {units!r}, metric = "
                  "\"pageviews\" (a unit named there is never taken for a peer).",
                  markup=False, soft_wrap=True)


def fetch_x_command(handle: str, *, start: dt.date, end: dt.date, timezone: str | None,
                    store_path: Path, cache_dir: Path | None, refresh: bool,
                    console: Console) -> None:
    from butfor.connectors.posts import write_posts
    from butfor.connectors.x import bearer_token, fetch_x_posts

    bearer_token()  # a missing token is said before anything else happens
    handle = handle.strip().lstrip("@")
    with make_client(store_path=store_path, cache_dir=cache_dir, refresh=refresh,
                     console=console) as client, _status(console, "X") as status:
        posts = fetch_x_posts(client, handle, start, end, progress=status)
    path = write_posts(posts, _posts_path(client, "x", handle, start, end), service="X",
                       who=f"@{handle}", start=start, end=end)
    console.print(f"X: {len(posts)} posts by @{handle} from {start} to {end} "
                  f"({client.requests_made} request(s) made; the rest from the cache); "
                  f"written to {path}." + client.replay_note(), markup=False, soft_wrap=True)
    _store([path], "posts", timezone, store_path, console)


def fetch_bluesky_command(handle: str, *, start: dt.date, end: dt.date, timezone: str | None,
                          store_path: Path, cache_dir: Path | None, refresh: bool,
                          console: Console) -> None:
    from butfor.connectors.bluesky import fetch_bluesky_posts
    from butfor.connectors.posts import write_posts

    handle = handle.strip().lstrip("@")
    with make_client(store_path=store_path, cache_dir=cache_dir, refresh=refresh,
                     console=console) as client, _status(console, "Bluesky") as status:
        profile, posts, reposts = fetch_bluesky_posts(client, handle, start, end,
                                                      progress=status)
    path = write_posts(posts, _posts_path(client, "bluesky", handle, start, end),
                       service="Bluesky", who=handle, start=start, end=end)
    console.print(
        f"Bluesky: {len(posts)} posts by {handle} from {start} to {end} "
        f"({reposts} reposts of others left out; {client.requests_made} request(s) made); "
        f"written to {path}. Profile today: {profile.get('followersCount', '?')} followers, "
        f"{profile.get('postsCount', '?')} posts (today's totals only, so not stored as "
        "a series)." + client.replay_note(), markup=False, soft_wrap=True)
    _store([path], "posts", timezone, store_path, console)


def _posts_path(client: HttpClient, service: str, handle: str, start: dt.date,
                end: dt.date) -> Path:
    return client.cache_dir / "posts" / f"{service}-{handle}-{start:%Y%m%d}-{end:%Y%m%d}.csv"


def _store(paths: list[Path], format: str, timezone: str | None, store_path: Path,
           console: Console) -> None:
    """Ingest the fetched files exactly as 'butfor ingest' would, into the same dataset."""
    from butfor.ingest import ingest_command

    ingest_command(paths, format=format, timezone=timezone, store_path=store_path,
                   console=console)


class _status:
    """A one-line rich status while requests run; called with what is being fetched."""

    def __init__(self, console: Console, service: str) -> None:
        self._status = console.status(f"fetching from {service} ...")

    def __enter__(self):
        self._status.__enter__()
        return self

    def __exit__(self, *exc):
        return self._status.__exit__(*exc)

    def __call__(self, what: str) -> None:
        self._status.update(f"fetching {what} ...")
