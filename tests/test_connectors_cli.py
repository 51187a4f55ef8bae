"""``butfor fetch`` and ``butfor run --fetch`` through the CLI, answered from cassettes.

The cassettes are written here in the layouts the services document
(values made up), or are the example's own (examples/wikipedia-control,
made by its make_example.py from the demo simulator). The last tests prove
that no other command opens a socket.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from butfor.cli import app
from butfor.store import Store

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "wikipedia-control"
WIKI = "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/en.wikipedia/all-access/user"


def _cassette(path: Path, interactions: list[tuple[str, dict | str, int]]) -> Path:
    path.write_text(json.dumps({"note": "written by tests/test_connectors_cli.py", "interactions": [
        {"request": {"method": "GET", "url": url},
         "response": {"status": status, **({"json": body} if not isinstance(body, str)
                                           else {"text": body})}}
        for url, body, status in interactions]}), encoding="utf-8")
    return path


def _pageviews(article: str, views: list[int]) -> dict:
    return {"items": [{"project": "en.wikipedia", "article": article, "granularity": "daily",
                       "timestamp": f"202209{d:02d}00", "access": "all-access", "agent": "user",
                       "views": v} for d, v in enumerate(views, start=1)]}


def _invoke(args, env=None):
    return CliRunner().invoke(app, args, env=env)


# ---------------------------------------------------------------------------
def test_fetch_wikipedia_writes_the_store_and_asks_once(tmp_path):
    cassette = _cassette(tmp_path / "c.json", [
        (f"{WIKI}/Ava_Sterling/daily/2022090100/2022090300", _pageviews("Ava_Sterling",
                                                                         [10, 11, 12]), 200),
        (f"{WIKI}/Bo_Lin/daily/2022090100/2022090300", _pageviews("Bo_Lin", [5, 6, 7]), 200)])
    store = tmp_path / "s" / "butfor.duckdb"
    args = ["fetch", "wikipedia", "Ava Sterling", "Bo_Lin", "--start", "2022-09-01",
            "--end", "2022-09-03", "--store", str(store)]
    first = _invoke(args, env={"BUTFOR_CASSETTE": str(cassette)})
    assert first.exit_code == 0, first.output
    assert "2 article(s), 2 request(s) made, 0 answered from the cache" in first.output
    assert f"The answers came from the recorded cassette {cassette}" in first.output
    assert "Read 2 file(s) (wikimedia): 6 rows read, 6 kept" in first.output
    panel = Store(store).read_panel()
    assert panel.series("en.wikipedia:Ava_Sterling", "pageviews").tolist() == [10, 11, 12]
    assert panel.units.set_index("unit").loc["en.wikipedia:Bo_Lin", "project"] == "en.wikipedia"
    # again, with a cassette that has nothing: everything comes from the cache
    empty = _cassette(tmp_path / "empty.json", [])
    second = _invoke(args, env={"BUTFOR_CASSETTE": str(empty)})
    assert second.exit_code == 0, second.output
    assert "0 request(s) made, 2 answered from the cache" in second.output
    # --refresh asks again, and the empty cassette says it has no such response
    third = _invoke([*args, "--refresh"], env={"BUTFOR_CASSETTE": str(empty)})
    assert third.exit_code == 2
    assert "holds no response for GET" in third.output and "Traceback" not in third.output


def test_fetch_wikipedia_bad_date_is_one_sentence(tmp_path):
    result = _invoke(["fetch", "wikipedia", "A", "--start", "2022-13-01", "--end", "2022-12-01",
                      "--store", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2
    assert "--start '2022-13-01' is not a date; write it as YYYY-MM-DD" in result.output


def test_fetch_x_sums_posts_into_account_days(tmp_path):
    tweets = [{"id": "1600000000000000003", "created_at": "2022-09-02T18:00:00.000Z",
               "public_metrics": {"impression_count": 300, "like_count": 3, "retweet_count": 1,
                                  "reply_count": 0, "quote_count": 0, "bookmark_count": 0}},
              {"id": "1600000000000000002", "created_at": "2022-09-02T01:00:00.000Z",
               "public_metrics": {"impression_count": 200, "like_count": 2, "retweet_count": 0,
                                  "reply_count": 1, "quote_count": 0, "bookmark_count": 1}},
              {"id": "1600000000000000001", "created_at": "2022-09-01T10:00:00.000Z",
               "public_metrics": {"impression_count": 100, "like_count": 1, "retweet_count": 0,
                                  "reply_count": 0, "quote_count": 0, "bookmark_count": 0}}]
    params = ("max_results=100&tweet.fields=created_at%2Cpublic_metrics&exclude=retweets"
              "&start_time=2022-09-01T00%3A00%3A00Z&end_time=2022-09-03T00%3A00%3A00Z")
    cassette = _cassette(tmp_path / "x.json", [
        ("https://api.x.com/2/users/by/username/ava", {"data": {"id": "42", "username": "ava"}},
         200),
        (f"https://api.x.com/2/users/42/tweets?{params}",
         {"data": tweets[:2], "meta": {"next_token": "N2"}}, 200),
        (f"https://api.x.com/2/users/42/tweets?{params}&pagination_token=N2",
         {"data": tweets[2:], "meta": {}}, 200)])
    store = tmp_path / "butfor.duckdb"
    result = _invoke(["fetch", "x", "@ava", "--start", "2022-09-01", "--end", "2022-09-02",
                      "--store", str(store)],
                     env={"BUTFOR_CASSETTE": str(cassette), "X_BEARER_TOKEN": "t"})
    assert result.exit_code == 0, result.output
    assert "X: 3 posts by @ava" in result.output
    panel = Store(store).read_panel()
    # hand sums: Sep 1 one post (100 impressions), Sep 2 two posts (300 + 200), in UTC
    assert panel.series("ava", "impressions").tolist() == [100, 500]
    assert panel.series("ava", "posts").tolist() == [1, 2]
    assert panel.series("ava", "likes").tolist() == [1, 5]
    assert "no --timezone given: posts assigned to days in UTC" in result.output


def test_fetch_x_without_token_exits_2_before_any_request(tmp_path):
    empty = _cassette(tmp_path / "empty.json", [])
    result = _invoke(["fetch", "x", "ava", "--start", "2022-09-01", "--end", "2022-09-02",
                      "--store", str(tmp_path / "s.duckdb")],
                     env={"BUTFOR_CASSETTE": str(empty), "X_BEARER_TOKEN": ""})
    assert result.exit_code == 2
    assert result.output.startswith("error: X_BEARER_TOKEN is not set")
    assert "Traceback" not in result.output


def test_fetch_bluesky_through_the_per_post_reader(tmp_path):
    did = "did:plc:ava"
    post = {"uri": f"at://{did}/app.bsky.feed.post/3k2la7ydhm22b", "cid": "c",
            "author": {"did": did, "handle": "ava.bsky.social"},
            "record": {"createdAt": "2022-09-01T10:00:00.000Z"},
            "indexedAt": "2022-09-01T10:00:01.000Z", "likeCount": 4, "repostCount": 2,
            "replyCount": 1, "quoteCount": 0}
    cassette = _cassette(tmp_path / "b.json", [
        ("https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile?actor=ava.bsky.social",
         {"did": did, "handle": "ava.bsky.social", "followersCount": 99, "postsCount": 1}, 200),
        ("https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=ava.bsky.social"
         "&limit=100&filter=posts_with_replies", {"feed": [{"post": post}]}, 200)])
    store = tmp_path / "butfor.duckdb"
    result = _invoke(["fetch", "bluesky", "ava.bsky.social", "--start", "2022-09-01", "--end",
                      "2022-09-01", "--store", str(store), "--timezone", "UTC"],
                     env={"BUTFOR_CASSETTE": str(cassette)})
    assert result.exit_code == 0, result.output
    assert "Bluesky: 1 posts by ava.bsky.social" in result.output and "99 followers" in result.output
    panel = Store(store).read_panel()
    assert panel.series("ava.bsky.social", "likes").tolist() == [4]


# ---------------------------------------------------------------------------
# the example: the demo's off-platform control replaced by a Wikimedia series
def test_example_runs_offline_from_its_cassette(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = str(EXAMPLE / "case.toml")
    store = tmp_path / ".butfor" / "butfor.duckdb"
    # without --fetch and nothing cached: an error that names the fix
    missing = _invoke(["run", case, "--out", "o0", "--store", str(store)],
                      env={"BUTFOR_CASSETTE": ""})
    assert missing.exit_code == 2
    assert "the control 'en.wikipedia:Ava_Sterling'" in missing.output
    assert "has not been fetched" in missing.output and "--fetch" in missing.output
    fetched = _invoke(["run", case, "--out", "o1", "--store", str(store), "--fetch"],
                      env={"BUTFOR_CASSETTE": str(EXAMPLE / "cassette.json")})
    assert fetched.exit_code == 0, fetched.output
    assert "1 request(s) made" in fetched.output
    results = json.loads((tmp_path / "o1" / "results.json").read_text())
    sts = next(a for a in results["analyses"] if a["method"] == "sts")
    assert "en.wikipedia:Ava_Sterling:pageviews" in json.dumps(sts)
    wiki = [s for s in results["ingest"]["sources"] if s["format"] == "wikimedia"]
    assert len(wiki) == 1 and wiki[0]["rows_read"] == wiki[0]["rows_kept"] == 547
    # provenance names where the series came from: the request, and that a cassette answered
    assert wiki[0]["file"].startswith("https://wikimedia.org/api/rest_v1/metrics/pageviews/"
                                      "per-article/en.wikipedia/all-access/user/Ava_Sterling/"
                                      "daily/2022010100/2023070100 (replayed from the cassette ")
    assert "came from the recorded cassette" in fetched.output
    assert any(i["name"] == wiki[0]["file"] for i in results["provenance"]["inputs"])
    # again without --fetch: answered from the cache (test_..._open_no_socket runs that)


def test_the_wikimedia_control_gives_the_demo_controls_estimate(tmp_path, monkeypatch):
    """The series in the cassette is the demo's own pageviews control (make_example.py), so
    the structural time series must give the very same effect with either: same numbers,
    same seed, only the control's name differs."""
    from butfor.analyses import sts
    from butfor.case import load_case
    from butfor.connectors.controls import add_fetched_controls
    from butfor.ingest import ingest_files
    from butfor.simulate import PlatformConfig, simulate_platform

    monkeypatch.setenv("BUTFOR_CASSETTE", str(EXAMPLE / "cassette.json"))
    case = load_case(EXAMPLE / "case.toml")
    case = case.model_copy(update={"sts": case.sts.model_copy(update={"pseudo_events": 0,
                                                                      "n_draws": 200})})
    panel, report = ingest_files([EXAMPLE / "data" / "ava_sterling.csv"])
    panel, _ = add_fetched_controls(case, panel, report, fetch=True, cache_dir=tmp_path,
                                    case_file=EXAMPLE / "case.toml")
    [with_wikipedia] = sts.analyses_for_case(case, panel, seed=2022)

    sim = simulate_platform(PlatformConfig(), seed=2022)  # the demo platform
    demo_case = case.model_copy(update={"controls": type(case.controls)(metric="pageviews")})
    [with_own_pageviews] = sts.analyses_for_case(
        demo_case, sim.panel.select_units(["ava_sterling"]), seed=2022)
    for a, b in zip(with_wikipedia["effects"], with_own_pageviews["effects"], strict=True):
        assert a["summary"] == b["summary"]


# ---------------------------------------------------------------------------
# no other command goes online
_GUARD = {"on": False, "attempts": []}


def _audit(event, args):
    if _GUARD["on"] and event in ("socket.connect", "socket.getaddrinfo"):
        _GUARD["attempts"].append((event, args))
        raise ConnectionRefusedError(f"test: {event} {args!r} while no fetch was asked for")


sys.addaudithook(_audit)  # inert unless a test switches it on (audit hooks cannot be removed)


@pytest.fixture
def no_network(monkeypatch):
    _GUARD["attempts"] = []
    _GUARD["on"] = True
    monkeypatch.setenv("BUTFOR_CASSETTE", "")
    try:
        yield _GUARD["attempts"]
    finally:
        _GUARD["on"] = False


def test_the_guard_catches_a_connection(no_network):
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", 9), 1):
        pass
    assert no_network


def test_ingest_run_report_and_data_open_no_socket(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # the example's case, lighter (fewer draws), with its control fetched first
    (tmp_path / "data").mkdir()
    shutil.copy(EXAMPLE / "data" / "ava_sterling.csv", tmp_path / "data")
    text = (EXAMPLE / "case.toml").read_text(encoding="utf-8")
    case = tmp_path / "case.toml"
    case.write_text(text + "\n[sts]\nn_draws = 200\npseudo_events = 0\n", encoding="utf-8")
    fill = _invoke(["fetch", "wikipedia", "Ava_Sterling", "--start", "2022-01-01", "--end",
                    "2023-07-01"], env={"BUTFOR_CASSETTE": str(EXAMPLE / "cassette.json")})
    assert fill.exit_code == 0, fill.output
    _GUARD["attempts"] = []
    _GUARD["on"] = True
    try:
        steps = [
            ["ingest", str(EXAMPLE / "data" / "ava_sterling.csv")],
            ["data"],
            ["run", str(case), "--out", "out"],  # its fetched control from the cache
            ["report", "out/results.json"],
        ]
        outputs = []
        for args in steps:
            result = _invoke(args, env={"BUTFOR_CASSETTE": ""})
            assert result.exit_code == 0, (args, result.output)
            outputs.append(result.output)
    finally:
        _GUARD["on"] = False
    assert _GUARD["attempts"] == []
    assert "0 request(s) made, 1 from the cache" in outputs[2]
    assert (tmp_path / "out" / "report.html").exists()
