"""The HTTP client and the connectors, on recorded responses (respx), never the network.

Each response below is written in the layout the service documents
(../shared/FORMATS.md; X API v2 and Bluesky's lexicons); the values are made
up. Waits are recorded by an injected ``sleep``, so no test waits.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json

import httpx
import pytest
import respx

from butfor.connectors.bluesky import fetch_bluesky_posts, tid_integer
from butfor.connectors.http import HttpClient, RetryPolicy, user_agent
from butfor.connectors.wikimedia import PageviewsRequest, fetch_one, fetch_pageviews
from butfor.connectors.x import fetch_x_posts
from butfor.errors import FetchError, InputError

NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC, the injected clock
WIKI = PageviewsRequest("Ava Sterling", dt.date(2022, 9, 1), dt.date(2022, 9, 3))
WIKI_URL = ("https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/"
            "all-access/user/Ava_Sterling/daily/2022090100/2022090300")


def _items(article="Ava_Sterling", views=(10, 11, 12)):
    return {"items": [{"project": "en.wikipedia", "article": article, "granularity": "daily",
                       "timestamp": f"202209{d:02d}00", "access": "all-access", "agent": "user",
                       "views": v} for d, v in enumerate(views, start=1)]}


@pytest.fixture
def router(monkeypatch):
    monkeypatch.delenv("BUTFOR_CASSETTE", raising=False)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(tmp_path, sleeps):
    with HttpClient(cache_dir=tmp_path / "cache", sleep=sleeps.append, clock=lambda: NOW,
                    seed=0) as c:
        yield c


# ---------------------------------------------------------------------------
# Wikimedia through the client
def test_success_is_cached_and_a_second_fetch_makes_no_request(router, client, tmp_path,
                                                                sleeps):
    route = router.get(WIKI_URL).mock(return_value=httpx.Response(200, json=_items()))
    first = fetch_one(client, WIKI)
    assert not first.cached and route.call_count == 1
    assert json.loads(first.path.read_text())["items"][2]["views"] == 12
    sent = route.calls[0].request
    assert sent.headers["user-agent"] == user_agent()
    assert sent.headers["user-agent"].startswith("butfor/")
    meta = json.loads(first.path.with_suffix(".request.json").read_text())
    assert meta["url"] == WIKI_URL and meta["fetched_at"].startswith("2026-01-01")
    # a new client on the same cache: answered from disk, no request
    with HttpClient(cache_dir=tmp_path / "cache", sleep=sleeps.append) as again:
        second = fetch_one(again, WIKI)
        assert second.cached and again.requests_made == 0
    assert route.call_count == 1 and second.path == first.path and sleeps == []


def test_refresh_asks_again(router, tmp_path):
    route = router.get(WIKI_URL).mock(side_effect=[httpx.Response(200, json=_items()),
                                                   httpx.Response(200, json=_items(views=(1, 2,
                                                                                          3)))])
    with HttpClient(cache_dir=tmp_path) as c:
        fetch_one(c, WIKI)
    with HttpClient(cache_dir=tmp_path, refresh=True) as c:
        fresh = fetch_one(c, WIKI)
    assert route.call_count == 2 and not fresh.cached
    assert json.loads(fresh.path.read_text())["items"][0]["views"] == 1


def test_several_articles_each_their_own_request(router, client):
    other = PageviewsRequest("Bo Lin", WIKI.start, WIKI.end)
    router.get(WIKI_URL).mock(return_value=httpx.Response(200, json=_items()))
    router.get(WIKI_URL.replace("Ava_Sterling", "Bo_Lin")).mock(
        return_value=httpx.Response(200, json=_items("Bo_Lin")))
    fetched = fetch_pageviews(client, [WIKI, other])
    assert [f.data["items"][0]["article"] for f in fetched] == ["Ava_Sterling", "Bo_Lin"]
    assert fetched[0].path != fetched[1].path


def test_429_waits_as_long_as_retry_after_says(router, client, sleeps):
    route = router.get(WIKI_URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"}),
        httpx.Response(200, json=_items())])
    assert fetch_one(client, WIKI).data == _items()
    assert route.call_count == 2 and sleeps == [7.0]


def test_retry_after_as_an_http_date(router, client, sleeps):
    when = email.utils.formatdate(NOW + 30, usegmt=True)
    router.get(WIKI_URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": when}),
                                           httpx.Response(200, json=_items())])
    fetch_one(client, WIKI)
    assert sleeps == [30.0]


def test_a_wait_of_an_hour_is_not_waited_but_said(router, client, sleeps):
    router.get(WIKI_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError, match=r"asks to wait 60 minutes; try again after 01:00 UTC"):
        fetch_one(client, WIKI)
    assert sleeps == []


def test_5xx_then_success_backs_off_exponentially_with_jitter(router, client, sleeps):
    route = router.get(WIKI_URL).mock(side_effect=[
        httpx.Response(503), httpx.Response(502), httpx.Response(500),
        httpx.Response(200, json=_items())])
    assert fetch_one(client, WIKI).data == _items()
    assert route.call_count == 4 and len(sleeps) == 3
    # equal jitter: the n-th wait lies in [2**n / 2, 2**n] seconds (base 1 s)
    for n, wait in enumerate(sleeps):
        assert 2 ** n / 2 <= wait <= 2 ** n
    assert len(set(sleeps)) == 3


def test_5xx_every_time_gives_up_with_one_sentence(router, client, sleeps):
    router.get(WIKI_URL).mock(return_value=httpx.Response(503, json={"detail": "overloaded"}))
    with pytest.raises(FetchError, match=r"Wikimedia answered 503 Service Unavailable "
                                         r"\(overloaded\); gave up after 4 attempts"):
        fetch_one(client, WIKI)
    assert len(sleeps) == 3


def test_a_timeout_is_retried_then_said(router, tmp_path, sleeps):
    route = router.get(WIKI_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    with HttpClient(cache_dir=tmp_path, sleep=sleeps.append, timeout=5,
                    retry=RetryPolicy(attempts=2)) as c, \
            pytest.raises(FetchError, match=r"Wikimedia did not answer within 5 s; gave up "
                                            r"after 2 attempts"):
        fetch_one(c, WIKI)
    assert route.call_count == 2 and len(sleeps) == 1


def test_a_timeout_then_success(router, client, sleeps):
    router.get(WIKI_URL).mock(side_effect=[httpx.ConnectTimeout("timed out"),
                                           httpx.Response(200, json=_items())])
    assert fetch_one(client, WIKI).data == _items()
    assert len(sleeps) == 1


def test_offline_says_so_in_one_sentence(router, client):
    router.get(WIKI_URL).mock(side_effect=httpx.ConnectError(
        "[Errno -3] Temporary failure in name resolution"))
    with pytest.raises(FetchError) as caught:
        fetch_one(client, WIKI)
    text = str(caught.value)
    assert text.startswith("could not reach Wikimedia at wikimedia.org ([Errno -3] Temporary "
                           "failure in name resolution); are you offline?")
    assert "\n" not in text and not list(client.cache_dir.rglob("*.json"))


def test_a_malformed_body_is_an_error_and_not_cached(router, client):
    router.get(WIKI_URL).mock(return_value=httpx.Response(200, content=b'{"items": [{"pro'))
    with pytest.raises(FetchError, match=r"with a body that is not JSON .*nothing was stored"):
        fetch_one(client, WIKI)
    assert not list(client.cache_dir.rglob("*.json"))


def test_a_json_body_without_items_is_not_cached(router, client):
    router.get(WIKI_URL).mock(return_value=httpx.Response(200, json={"something": "else"}))
    with pytest.raises(FetchError, match="holds no 'items' list"):
        fetch_one(client, WIKI)
    assert not list(client.cache_dir.rglob("*.json"))


def test_unknown_article_names_the_title_and_the_fix(router, client):
    router.get(WIKI_URL).mock(return_value=httpx.Response(404, json={
        "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found", "title": "Not found.",
        "detail": "The date(s) you used are valid, but we either do not have data for those "
                  "date(s), or the project you asked for is not loaded yet."}))
    with pytest.raises(FetchError, match=r"Wikimedia has no pageviews of 'Ava_Sterling' on "
                                         r"en.wikipedia .*check the title"):
        fetch_one(client, WIKI)


def test_bad_request_options_are_refused_before_any_request(router):
    with pytest.raises(InputError, match="--access 'phone' is not one Wikimedia knows"):
        PageviewsRequest("A", WIKI.start, WIKI.end, access="phone")
    with pytest.raises(InputError, match="--start 2022-09-03 is after --end 2022-09-01"):
        PageviewsRequest("A", WIKI.end, WIKI.start)
    assert not router.calls


# ---------------------------------------------------------------------------
# X API v2
X_USER = "https://api.x.com/2/users/by/username/ava"
X_TWEETS = "https://api.x.com/2/users/42/tweets"


def _tweet(i, day, likes):
    return {"id": str(1_600_000_000_000_000_000 + i), "text": "…",
            "created_at": f"2022-09-{day:02d}T12:00:00.000Z",
            "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": likes,
                               "quote_count": 0, "bookmark_count": 0, "impression_count": 100}}


def test_x_pages_through_the_timeline_and_honours_the_rate_limit(router, client, sleeps,
                                                                 monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "secret-token")
    router.get(X_USER).mock(return_value=httpx.Response(
        200, json={"data": {"id": "42", "name": "Ava", "username": "ava"}}))
    pages = router.get(X_TWEETS).mock(side_effect=[
        httpx.Response(200, headers={"x-rate-limit-remaining": "0",
                                     "x-rate-limit-reset": str(int(NOW) + 20)},
                       json={"data": [_tweet(3, 2, 5), _tweet(2, 2, 7)],
                             "meta": {"result_count": 2, "next_token": "PAGE2"}}),
        httpx.Response(200, json={"data": [_tweet(1, 1, 9)], "meta": {"result_count": 1}})])
    posts = fetch_x_posts(client, "@ava", dt.date(2022, 9, 1), dt.date(2022, 9, 2))
    assert [p.counts["likes"] for p in posts] == [5, 7, 9]
    assert pages.calls[1].request.url.params["pagination_token"] == "PAGE2"
    assert pages.calls[0].request.url.params["end_time"] == "2022-09-03T00:00:00Z"
    assert pages.calls[0].request.headers["authorization"] == "Bearer secret-token"
    assert sleeps == [20.0]  # no request left on the first page: wait for the reset
    # the token is not part of the cache key, and never written to disk
    assert all("secret-token" not in p.read_text() for p in client.cache_dir.rglob("*.json"))


def test_x_without_a_token_says_how_to_set_it(router, client, monkeypatch):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    with pytest.raises(FetchError, match=r"X_BEARER_TOKEN is not set.*export X_BEARER_TOKEN="):
        fetch_x_posts(client, "ava", dt.date(2022, 9, 1), dt.date(2022, 9, 2))
    assert not router.calls


def test_x_refusing_the_token(router, client, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "wrong")
    router.get(X_USER).mock(return_value=httpx.Response(401, json={
        "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}))
    with pytest.raises(FetchError, match=r"X refused the bearer token in X_BEARER_TOKEN \(401"):
        fetch_x_posts(client, "ava", dt.date(2022, 9, 1), dt.date(2022, 9, 2))


def test_x_unknown_user_is_said_and_not_cached(router, client, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    router.get(X_USER).mock(return_value=httpx.Response(200, json={"errors": [{
        "title": "Not Found Error", "detail": "Could not find user with username: [ava]."}]}))
    with pytest.raises(FetchError, match=r"Could not find user with username: \[ava\]"):
        fetch_x_posts(client, "ava", dt.date(2022, 9, 1), dt.date(2022, 9, 2))
    assert not list(client.cache_dir.rglob("*.json"))


# ---------------------------------------------------------------------------
# Bluesky
BSKY = "https://public.api.bsky.app/xrpc"
DID = "did:plc:ava"


def _tid(value: int) -> str:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[(value >> (5 * k)) & 31] for k in reversed(range(13)))


def _bsky_post(n, indexed, likes, author=DID):
    return {"uri": f"at://{author}/app.bsky.feed.post/{_tid(7_000_000_000_000_000 + n)}",
            "cid": "c", "author": {"did": author, "handle": "ava.bsky.social"},
            "record": {"createdAt": indexed, "text": "…"}, "indexedAt": indexed,
            "likeCount": likes, "repostCount": 1, "replyCount": 0, "quoteCount": 0}


def test_tid_record_keys_decode_to_their_integer():
    for value in (0, 1, 7_000_000_000_000_000, 2 ** 63 - 1):
        assert tid_integer(_tid(value)) == value
    assert str(tid_integer("not-a-tid")).isdigit()


def test_bluesky_pages_until_before_the_start_and_leaves_out_reposts(router, client):
    router.get(f"{BSKY}/app.bsky.actor.getProfile").mock(return_value=httpx.Response(
        200, json={"did": DID, "handle": "ava.bsky.social", "followersCount": 1200,
                   "followsCount": 10, "postsCount": 3}))
    feed = router.get(f"{BSKY}/app.bsky.feed.getAuthorFeed").mock(side_effect=[
        httpx.Response(200, headers={"ratelimit-remaining": "2999",
                                     "ratelimit-reset": str(int(NOW) + 300)}, json={
            "feed": [{"post": _bsky_post(3, "2022-09-03T08:00:00.000Z", 4)},
                     {"post": _bsky_post(9, "2022-09-02T09:00:00.000Z", 50, author="did:plc:bo"),
                      "reason": {"$type": "app.bsky.feed.defs#reasonRepost"}},
                     {"post": _bsky_post(2, "2022-09-02T07:00:00.000Z", 6)}],
            "cursor": "C2"}),
        httpx.Response(200, json={
            "feed": [{"post": _bsky_post(1, "2022-09-01T23:00:00.000Z", 8)},
                     {"post": _bsky_post(0, "2022-08-20T10:00:00.000Z", 1)}],
            "cursor": "C3"})])
    profile, posts, reposts = fetch_bluesky_posts(client, "ava.bsky.social",
                                                  dt.date(2022, 9, 1), dt.date(2022, 9, 3))
    assert profile["followersCount"] == 1200
    assert sorted(p.counts["likes"] for p in posts) == [4, 6, 8]  # August's post is out
    assert reposts == 1
    assert feed.call_count == 2  # page 2 reached back before the start: no page 3
    assert feed.calls[1].request.url.params["cursor"] == "C2"
    assert all(p.id.isdigit() for p in posts)


def test_bluesky_unknown_handle(router, client):
    router.get(f"{BSKY}/app.bsky.actor.getProfile").mock(return_value=httpx.Response(
        400, json={"error": "InvalidRequest", "message": "Profile not found"}))
    with pytest.raises(FetchError, match=r"Bluesky has no profile 'nobody.bsky.social' "
                                         r"\(Profile not found\)"):
        fetch_bluesky_posts(client, "nobody.bsky.social", dt.date(2022, 9, 1),
                            dt.date(2022, 9, 3))


# ---------------------------------------------------------------------------
# cassettes
def test_a_cassette_replays_its_responses_in_order(tmp_path, sleeps):
    from butfor.connectors.cassette import CassetteTransport

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"interactions": [
        {"request": {"url": WIKI_URL}, "response": {"status": 429, "headers": {"retry-after": "3"}}},
        {"request": {"url": WIKI_URL}, "response": {"status": 200, "json": _items()}}]}))
    with HttpClient(cache_dir=tmp_path / "cache", transport=CassetteTransport(path),
                    sleep=sleeps.append) as c:
        fetched = fetch_one(c, WIKI)
        assert c.replaying == str(path) and c.requests_made == 2
    assert fetched.data == _items() and sleeps == [3.0]
    meta = json.loads(fetched.path.with_suffix(".request.json").read_text())
    assert meta["replayed_from"] == str(path)


def test_a_broken_cassette_is_one_sentence(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text('{"no": "interactions"}')
    monkeypatch.setenv("BUTFOR_CASSETTE", str(path))
    with pytest.raises(FetchError, match=r"is not a cassette .*needs an 'interactions' list"):
        HttpClient(cache_dir=tmp_path)


def test_a_range_not_yet_published_is_asked_for_again(router, tmp_path):
    """Wikimedia loads a day's pageviews a day or two later: a range ending within the last
    three days is not taken from the cache (one ending earlier is)."""
    recent = PageviewsRequest("Ava Sterling", dt.date(2025, 12, 28), dt.date(2025, 12, 30))
    url = WIKI_URL.replace("2022090100/2022090300", "2025122800/2025123000")
    route = router.get(url).mock(return_value=httpx.Response(200, json=_items()))
    for _ in range(2):
        with HttpClient(cache_dir=tmp_path, clock=lambda: NOW) as c:  # NOW: 2026-01-01
            fetch_one(c, recent)
    assert route.call_count == 2
    with HttpClient(cache_dir=tmp_path, clock=lambda: NOW + 3 * 86400) as c:  # 2026-01-04
        assert fetch_one(c, recent).cached


def test_x_end_time_today_stops_a_minute_ago(router, client, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    router.get(X_USER).mock(return_value=httpx.Response(200, json={"data": {"id": "42"}}))
    pages = router.get(X_TWEETS).mock(return_value=httpx.Response(200, json={"meta": {}}))
    fetch_x_posts(client, "ava", dt.date(2025, 12, 1), dt.date(2026, 1, 1))  # NOW: 2026-01-01
    assert pages.calls[0].request.url.params["end_time"] == "2025-12-31T23:59:00Z"
