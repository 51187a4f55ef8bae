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


VIDEO_HEADER = ["Date", "Views", "Watch Time (ms)", "Completion Rate", "Average Watch Time (ms)",
                "Estimated Revenue"]


def video_overview(folder: Path, name: str = "video_overview_analytics.csv") -> Path:
    """Three days of one account's video overview (FORMATS.md), newest first."""
    rows = [
        ["Thu, Aug 27, 2026", "1,500", 4500000, 0.45, 3000, 1.75],
        ["Wed, Aug 26, 2026", 900, 2500000, 0.40, 2778, 0.90],
        ["Tue, Aug 25, 2026", 1200, 3600000, 0.42, 3000, 1.25],
    ]
    return write_csv(folder / name, VIDEO_HEADER, rows)


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


# ---------------------------------------------------------------------------
# YouTube Studio (advanced mode): Table data, Chart data, Totals, and the zip
YT_DAILY_HEADER = ["Date", "Views", "Watch time (hours)", "Subscribers",
                   "Estimated revenue (USD)", "Impressions",
                   "Impressions click-through rate (%)", "Average view duration"]
YT_VIDEO_HEADER = ["Content", "Video title", "Video publish time", "Duration", "Views",
                   "Watch time (hours)", "Subscribers", "Estimated revenue (USD)",
                   "Thumbnail impressions", "Thumbnail click-through rate (%)",
                   "Average view duration", "Average percentage viewed (%)"]
YT_CHART_HEADER = ["Date", "Content", "Video title", "Video publish time", "Duration", "Views"]
# three days of one channel: views 120, 90, 150 (sum 360)
YT_DAYS = [("2024-03-01", 120, "5.5", 3, "1.20", 2000, "6.0", "0:02:45"),
           ("2024-03-02", 90, "4.25", -1, "0.90", 1800, "5.0", "0:02:50"),
           ("2024-03-03", 150, "7.0", 2, "1.50", "2,500", "6.0", "0:03:01")]


def youtube_table_by_date(folder: Path, name: str = "Table data.csv") -> Path:
    """The Total row first (sums by hand: 360 views, 16.75 hours), then one row per day."""
    total = ["Total", 360, "16.75", 4, "3.60", 6300, "5.7", "0:02:52"]
    return write_csv(folder / name, YT_DAILY_HEADER, [total, *[list(d) for d in YT_DAYS]])


def youtube_totals(folder: Path, name: str = "Totals.csv") -> Path:
    return write_csv(folder / name, ["Date", "Views"], [[d[0], d[1]] for d in YT_DAYS])


def youtube_chart(folder: Path, name: str = "Chart data.csv") -> Path:
    """Two charted videos a day (views 70+30, 50+20, 100+30: less than the channel's)."""
    rows = []
    for (date, *_), (a, b) in zip(YT_DAYS, [(70, 30), (50, 20), (100, 30)], strict=True):
        rows.append([date, "vidA", "First video", "Feb 20, 2024", 300, a])
        rows.append([date, "vidB", "Second video", "Mar 1, 2024", 240, b])
    return write_csv(folder / name, YT_CHART_HEADER, rows)


def youtube_table_by_content(folder: Path, name: str = "Table data.csv") -> Path:
    """Three videos over the export's range; two published on Feb 20 (views 400 + 100)."""
    total = ["Total", "", "", "", 900, "30.0", 6, "9.00", 12000, "7.5", "0:03:00", "41.0"]
    rows = [
        ["vidA", "First video", "Feb 20, 2024", 300, 400, "12.0", 3, "4.00", 5000, "8.0",
         "0:03:10", "40.0"],
        ["vidC", "Third video", "Feb 20, 2024", 120, 100, "2.0", 0, "1.00", 2000, "5.0",
         "1:10", "55.0"],
        ["vidB", "Second video", "Mar 1, 2024", 240, 400, "16.0", 3, "4.00", 5000, "8.0",
         "0:02:55", "38.0"],
    ]
    return write_csv(folder / name, YT_VIDEO_HEADER, [total, *rows])


def youtube_zip(folder: Path, name: str = "Content 2024-03-01_2024-03-03 Ava.zip") -> Path:
    """The advanced-mode export as Studio hands it over: one zip of three CSVs."""
    import zipfile

    inner = folder / "yt-parts"
    files = [youtube_table_by_date(inner), youtube_chart(inner), youtube_totals(inner)]
    path = folder / name
    with zipfile.ZipFile(path, "w") as z:
        for f in files:
            z.write(f, f.name)
    return path


# ---------------------------------------------------------------------------
INSTAGRAM_HEADER = ["Post ID", "Account ID", "Account username", "Account name", "Description",
                    "Duration (sec)", "Publish time", "Permalink", "Post type", "Data comment",
                    "Date", "Views", "Reach", "Likes", "Shares", "Follows", "Comments", "Saves"]


def _ig(post: str, date: str, views, likes, *, published: str = "07/15/2025 10:30") -> list:
    return [post, "17841400000000001", "ava.ig", "Ava on Instagram", f"post {post}", "",
            published, f"https://www.instagram.com/p/{post}/", "IG image", "", date, views,
            views // 2 if isinstance(views, int) else "", likes, 1, 0, 2, 3]


def instagram(folder: Path, name: str = "Jul-15-2025_Jul-17-2025_posts.csv", *,
              header: list[str] | None = None) -> Path:
    """Two posts: rows per day (Jul 15-16) and a Lifetime row each (views 500 and 80)."""
    rows = [
        _ig("C1", "2025-07-15", 200, 10),
        _ig("C2", "2025-07-15", 40, 2),
        _ig("C1", "2025-07-16", 150, 6),
        _ig("C1", "Lifetime", 500, 20),
        _ig("C2", "Lifetime", 80, 4),
    ]
    return write_csv(folder / name, header or INSTAGRAM_HEADER, rows)


# ---------------------------------------------------------------------------
TIKTOK_OVERVIEW_HEADER = ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"]
TIKTOK_FOLLOWER_HEADER = ["Date", "Followers", "Difference in followers from previous day"]


def tiktok_overview(folder: Path, name: str = "Overview_2024-12-30_2025-01-02.csv") -> Path:
    """Four days over New Year; the year is in the file name's range only."""
    rows = [["30 December", 1000, 40, 90, 5, 2], ["31 December", 1200, 45, 100, 6, 3],
            ["1 January", "1,500", 50, 120, 7, 4], ["2 January", 900, 30, 80, 4, 1]]
    return write_csv(folder / name, TIKTOK_OVERVIEW_HEADER, rows)


def tiktok_followers(folder: Path, name: str = "FollowerHistory.csv") -> Path:
    """No range in the name: the year needs --year (of the latest date, 2 January)."""
    rows = [["30 December", 5000, 10], ["31 December", 5012, 12], ["1 January", 5020, 8],
            ["2 January", 5019, -1]]
    return write_csv(folder / name, TIKTOK_FOLLOWER_HEADER, rows)


# ---------------------------------------------------------------------------
def socialblade_api(folder: Path, name: str = "socialblade-ava.json") -> Path:
    import json

    body = {"status": {"success": True}, "data": {
        "id": {"id": "123", "username": "ava", "display_name": "Ava A"},
        "daily": [{"date": "2024-05-01", "followers": 1000, "following": 50, "tweets": 300},
                  {"date": "2024-05-02", "followers": 1010, "following": 50, "tweets": 302},
                  {"date": "2024-05-03", "followers": 1008, "following": 51, "tweets": 305}]}}
    return write(folder / name, json.dumps(body, indent=2))


def trends(folder: Path, name: str = "multiTimeline.csv", *, preamble: bool = True) -> Path:
    """Three weeks, two terms; '<1' once."""
    head = "Category: All categories\n\n" if preamble else ""
    text = (head + "Week,butfor: (Worldwide),causal impact: (United States)\n"
            "2024-01-07,45,3\n2024-01-14,100,<1\n2024-01-21,60,2\n")
    return write(folder / name, text)
