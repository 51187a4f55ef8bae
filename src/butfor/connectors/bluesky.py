"""Bluesky's public API (no key): a profile and the account's posts with their counts.

- ``app.bsky.actor.getProfile?actor=HANDLE`` -> ``followersCount,
  followsCount, postsCount`` (today's totals only: no history);
- ``app.bsky.feed.getAuthorFeed?actor=HANDLE&limit=100&cursor=...`` pages
  through ``feed[].post`` (newest first) with ``indexedAt, likeCount,
  repostCount, replyCount, quoteCount``.

Each post's day is its ``indexedAt`` (when Bluesky received it): the
``createdAt`` in the record is set by the posting app and can be backdated,
e.g. for posts imported from another platform. The account's reposts of
other people's posts (items with a ``reason``) are left out, as on X.
Paging stops at the first page that reaches back before ``start``.

The per-post reader wants digit ids: a post's record key is a TID, a 64-bit
integer written in base32, so its integer is the id (exact and unique).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from butfor.connectors.http import HttpClient, HttpStatusError
from butfor.connectors.posts import Post, in_range
from butfor.errors import FetchError

API = "https://public.api.bsky.app/xrpc"
SERVICE = "Bluesky"
PAGE_SIZE = 100
MAX_PAGES = 200
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_COUNTS = {"likeCount": "likes", "repostCount": "reposts", "replyCount": "replies",
           "quoteCount": "quotes"}


def fetch_profile(client: HttpClient, handle: str) -> dict:
    try:
        fetched = client.get_json(f"{API}/app.bsky.actor.getProfile", {"actor": handle},
                                  service=SERVICE)
    except HttpStatusError as err:
        if err.status == 400:
            raise FetchError(f"Bluesky has no profile '{handle}' ({err.detail}); check the "
                             "handle (e.g. name.bsky.social)") from None
        raise
    if not isinstance(fetched.data, dict) or "did" not in fetched.data:
        client.forget(f"{API}/app.bsky.actor.getProfile", {"actor": handle})
        raise FetchError(f"Bluesky's profile of '{handle}' has no 'did'; nothing was stored; "
                         "try again later")
    return fetched.data


def fetch_bluesky_posts(client: HttpClient, handle: str, start: dt.date, end: dt.date,
                        progress=None) -> tuple[dict, list[Post], int]:
    """(profile, the account's own posts from ``start`` to ``end``, reposts left out)."""
    handle = handle.strip().lstrip("@")
    profile = fetch_profile(client, handle)
    params = {"actor": handle, "limit": str(PAGE_SIZE), "filter": "posts_with_replies"}
    posts: dict[str, Post] = {}
    reposts = 0
    for page in range(MAX_PAGES):
        if progress is not None:
            progress(f"{handle}: page {page + 1}, {len(posts)} posts so far")
        url = f"{API}/app.bsky.feed.getAuthorFeed"
        body = client.get_json(url, params, service=SERVICE).data
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, list):
            client.forget(url, params)
            raise FetchError(f"Bluesky's feed of '{handle}' has no 'feed' list; nothing was "
                             "stored; try again later")
        oldest = None
        for item in feed:
            post = item.get("post") if isinstance(item, dict) else None
            if not isinstance(post, dict):
                continue
            if item.get("reason") is not None and (item["reason"].get("$type", "")
                                                   .endswith("reasonRepost")):
                reposts += 1
                continue
            if (post.get("author") or {}).get("did") != profile["did"]:
                reposts += 1
                continue
            made = _post(post, handle)
            posts.setdefault(made.id, made)  # a pinned post appears twice
            if oldest is None or made.created_at < oldest:
                oldest = made.created_at
        cursor = body.get("cursor")
        if not cursor or not feed or (oldest is not None and oldest < f"{start:%Y-%m-%d}"):
            break
        params = {**params, "cursor": cursor}
    return profile, [p for p in posts.values() if in_range(p.created_at, start, end)], reposts


def _post(post: dict, handle: str) -> Post:
    uri = str(post.get("uri", ""))
    indexed = post.get("indexedAt")
    if not uri or not isinstance(indexed, str):
        raise FetchError(f"Bluesky sent a post of '{handle}' without its uri or indexedAt; "
                         "try again later")
    rkey = uri.rsplit("/", 1)[-1]
    counts = {name: float(post[key]) for key, name in _COUNTS.items()
              if isinstance(post.get(key), int | float)}
    return Post(str(tid_integer(rkey)), indexed, handle,
                f"https://bsky.app/profile/{handle}/post/{rkey}", counts)


def tid_integer(rkey: str) -> int:
    """A TID record key as its integer; any other key as a stable hash of it (digits)."""
    if len(rkey) == 13 and all(c in _TID_ALPHABET for c in rkey) and rkey[0] in "234567abcdefghij":
        value = 0
        for c in rkey:
            value = value * 32 + _TID_ALPHABET.index(c)
        return value
    return int(hashlib.sha256(rkey.encode("utf-8")).hexdigest()[:15], 16)
