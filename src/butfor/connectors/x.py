"""X (Twitter) API v2: a user's timeline with its public metrics.

Two endpoints, with a bearer token from the environment (``X_BEARER_TOKEN``):

- ``GET /2/users/by/username/{handle}`` gives the user's id;
- ``GET /2/users/{id}/tweets`` pages (``meta.next_token`` ->
  ``pagination_token``) through the posts between ``start_time`` and
  ``end_time``, reposts excluded (their counts are the original's), each with
  ``created_at`` and ``public_metrics`` (``impression_count``,
  ``like_count``, ``retweet_count``, ``reply_count``, ``quote_count``,
  ``bookmark_count``).

X serves at most the 3,200 most recent posts this way; older ones need the
account's own export. Pages are cached one by one, so a second fetch of
the same range makes no request. Rate limits (``x-rate-limit-*`` headers,
429) are honoured by :class:`~butfor.connectors.http.HttpClient`.
"""

from __future__ import annotations

import datetime as dt
import os

from butfor.connectors.http import HttpClient, HttpStatusError
from butfor.connectors.posts import Post, in_range
from butfor.errors import FetchError

API = "https://api.x.com/2"
SERVICE = "X"
TOKEN_ENV = "X_BEARER_TOKEN"
PAGE_SIZE = 100
MAX_PAGES = 40  # 3,200 posts: as far back as the timeline endpoint reaches
_COUNTS = {"impression_count": "impressions", "like_count": "likes",
           "retweet_count": "reposts", "reply_count": "replies", "quote_count": "quotes",
           "bookmark_count": "bookmarks"}


def bearer_token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise FetchError(
            f"{TOKEN_ENV} is not set, and X's API needs a bearer token; create one in the X "
            f"developer portal (an app's 'Bearer Token') and run 'export {TOKEN_ENV}=...' "
            "before 'butfor fetch x'")
    return token


def fetch_x_posts(client: HttpClient, handle: str, start: dt.date, end: dt.date,
                  progress=None) -> list[Post]:
    """The account's own posts made from ``start`` to ``end`` (UTC days), with their counts."""
    handle = handle.strip().lstrip("@")
    headers = {"Authorization": f"Bearer {bearer_token()}"}
    user = _get(client, f"{API}/users/by/username/{handle}", {}, headers, handle)
    user_id = str(user["data"]["id"])
    # X refuses an end_time less than 10 s before the request: a range reaching today
    # ends a minute ago (so such a request is new each time, as it should be)
    end_time = min(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
                   dt.datetime.fromtimestamp(client.clock() - 60, dt.UTC).replace(
                       second=0, microsecond=0))
    params = {"max_results": str(PAGE_SIZE), "tweet.fields": "created_at,public_metrics",
              "exclude": "retweets", "start_time": f"{start:%Y-%m-%d}T00:00:00Z",
              "end_time": f"{end_time:%Y-%m-%dT%H:%M:%S}Z"}
    posts: list[Post] = []
    for page in range(MAX_PAGES):
        if progress is not None:
            progress(f"@{handle}: page {page + 1}, {len(posts)} posts so far")
        body = _get(client, f"{API}/users/{user_id}/tweets", params, headers, handle,
                    allow_empty=True)
        for tweet in body.get("data") or []:
            posts.append(_post(tweet, handle))
        token = (body.get("meta") or {}).get("next_token")
        if not token:
            break
        params = {**params, "pagination_token": token}
    return [p for p in posts if in_range(p.created_at, start, end)]


def _get(client: HttpClient, url: str, params: dict, headers: dict, handle: str,
         allow_empty: bool = False) -> dict:
    try:
        fetched = client.get_json(url, params, service=SERVICE, headers=headers)
    except HttpStatusError as err:
        if err.status in (401, 403):
            raise FetchError(
                f"X refused the bearer token in {TOKEN_ENV} ({err.status}: {err.detail}); check "
                "the token, and that its app's access level includes user timelines") from None
        raise
    body = fetched.data
    if not isinstance(body, dict):
        client.forget(url, params)
        raise FetchError(f"X's answer for @{handle} is not a JSON object; nothing was stored; "
                         "try again later")
    if "data" not in body and body.get("errors"):
        client.forget(url, params)  # an error is not data: ask again next time
        first = body["errors"][0]
        detail = first.get("detail") or first.get("title") or first
        raise FetchError(f"X could not give the posts of @{handle} ({detail}); check the handle")
    if "data" not in body and not allow_empty:
        client.forget(url, params)
        raise FetchError(f"X's answer for @{handle} has no 'data'; nothing was stored; try again")
    return body


def _post(tweet: dict, handle: str) -> Post:
    try:
        post_id = str(tweet["id"])
        created = str(tweet["created_at"])
        metrics = tweet.get("public_metrics") or {}
    except (KeyError, TypeError):
        raise FetchError(f"X sent a post of @{handle} without its id or created_at; ask for "
                         "tweet.fields=created_at,public_metrics") from None
    counts = {name: float(metrics[key]) for key, name in _COUNTS.items()
              if isinstance(metrics.get(key), int | float)}
    return Post(post_id, created, handle, f"https://x.com/{handle}/status/{post_id}", counts)
