"""Small export files in the layouts of ../shared/FORMATS.md, with made-up values.

Each builder writes one file under a folder the test gives (``tmp_path``) and
returns its path. Values are chosen so sums and days can be checked by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

OVERVIEW_HEADER = [
    "Date", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares", "New follows",
    "Unfollows", "Replies", "Reposts", "Profile visits", "Create Post", "Video views",
    "Media views",
]
CONTENT_HEADER = [
    "Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements",
    "Bookmarks", "Shares", "New follows", "Replies", "Reposts", "Profile visits",
    "Detail Expands", "URL Clicks", "Hashtag Clicks", "Permalink Clicks",
]
LEGACY_METRICS = [
    "impressions", "engagements", "engagement rate", "retweets", "replies", "likes",
    "user profile clicks", "url clicks", "hashtag clicks", "detail expands",
    "permalink clicks", "app opens", "app installs", "follows", "email tweet", "dial phone",
    "media views", "media engagements",
]
LEGACY_HEADER = ["Tweet id", "Tweet permalink", "Tweet text", "time", *LEGACY_METRICS,
                 *[f"promoted {m}" for m in LEGACY_METRICS]]
SOCIALBLADE_HEADER = ["username", "display_name", "date", "followers", "following", "tweets",
                      "change", "percent_change"]


def write_csv(path: Path, header: list[str], rows: list[list], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def socialblade(folder: Path, name: str = "follows.csv") -> Path:
    """Two accounts, three days; 'change' is the followers difference (one row is off)."""
    rows = [
        ["alice", "Alice A", "2022-03-29", 100, 10, 50, "", ""],
        ["alice", "Alice A", "2022-03-30", 110, 10, 51, 10.0, 0.1],
        ["alice", "Alice A", "2022-03-31", 125, 11, 53, 15.0, 0.136],
        ["Bob_B", "Bob, the Builder", "2022-03-29", 2000, 20, 500, "", ""],
        ["Bob_B", "Bob, the Builder", "2022-03-30", 1990, 20, 502, -10.0, -0.005],
        ["Bob_B", "Bob, the Builder", "2022-03-31", 1995, 21, 503, 99.0, 0.0025],  # off
    ]
    return write_csv(folder / name, SOCIALBLADE_HEADER, rows)


def overview(folder: Path, name: str = "account_overview_analytics.csv", *,
             bom: bool = True) -> Path:
    """Three days of one account, newest first as X writes them, with quirks."""
    rows = [
        ["Thu, Aug 27, 2026", "15,000", 120, 300, 4, 1, 7, 2, 9, 11, 40, 3, 100, 250],
        ["Wed, Aug 26, 2026", 9000, 80, 200, 3, 0, 5, "-", 6, 8, 30, 2, 90, 200],
        ["Tue, Aug 25, 2026", 10000, 100, 250, 5, 2, 6, 1, 7, 10, 35, 4, 95, 220],
    ]
    return write_csv(folder / name, OVERVIEW_HEADER, rows, bom=bom)


def content(folder: Path, name: str = "account_analytics_content_2026-08-01_2026-08-31.csv",
            *, handle: str = "ava") -> Path:
    """Four posts on three days (none on Aug 26); one id mangled by a spreadsheet."""
    link = f"https://x.com/{handle}/status/"
    rows = [
        ["2075000000000000004", "Thu, Aug 27, 2026", "last", link + "2075000000000000004",
         500, 5, 20, 0, 0, 1, 1, 1, 2, 3, 0, 0, 1],
        ["2.075E+18", "Tue, Aug 25, 2026", "mangled, with a comma", link + "2074999999999999003",
         "1,200", 12, 40, 1, 1, 2, 3, 2, 4, 5, 1, 0, 2],
        ["2074999999999999002", "Tue, Aug 25, 2026", "second\nline", link + "2074999999999999002",
         300, 3, 10, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0],
        ["2074999999999999001", "Mon, Aug 24, 2026", "first", link + "2074999999999999001",
         100, 1, 5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    ]
    return write_csv(folder / name, CONTENT_HEADER, rows)


def legacy_row(tweet_id: str, time: str, impressions, likes, *, handle: str = "ava",
               promoted: bool = False) -> list:
    metrics = {m: 0 for m in LEGACY_METRICS}
    metrics.update({"impressions": impressions, "likes": likes, "engagements": likes + 1,
                    "engagement rate": round((likes + 1) / max(float(str(impressions)
                                             .replace(",", "")), 1), 4),
                    "retweets": 1, "replies": 2})
    paid = [(100 if m == "impressions" else 0) if promoted else "-" for m in LEGACY_METRICS]
    return [tweet_id, f"https://twitter.com/{handle}/status/{tweet_id}", f"tweet {tweet_id}",
            time, *[metrics[m] for m in LEGACY_METRICS], *paid]


def legacy(folder: Path, rows: list[list], *, handle: str = "ava",
           start: str = "20211201", end: str = "20220101") -> Path:
    name = f"tweet_activity_metrics_{handle}_{start}_{end}_en.csv"
    return write_csv(folder / name, LEGACY_HEADER, rows)


def long_rows() -> list[list]:
    return [
        ["alice", "2022-01-01", 10, 1],
        ["alice", "2022-01-02", 12, 2],
        ["bob", "2022-01-01", 20, 3],
        ["bob", "2022-01-03", 25, 4],
    ]


def long_csv(folder: Path, name: str = "long.csv") -> Path:
    return write_csv(folder / name, ["unit", "date", "impressions", "likes"], long_rows())


def wide_csv(folder: Path, name: str = "wide.csv") -> Path:
    rows = [["2022-01-01", 10, 20], ["2022-01-02", 12, ""], ["2022-01-03", "", 25]]
    return write_csv(folder / name, ["date", "alice", "bob"], rows)


def posts_csv(folder: Path, name: str = "posts.csv", *, zone: str = "+00:00") -> Path:
    rows = [
        ["1", "ava", f"2024-03-01T23:30:00{zone}", 100, 5, 1],
        ["2", "ava", f"2024-03-02T01:15:00{zone}", 50, 2, 0],
        ["3", "ava", f"2024-03-02T12:00:00{zone}", 70, 3, 1],
    ]
    return write_csv(folder / name, ["id", "unit", "created_at", "views", "likes", "reposts"],
                     rows)


def write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path
