"""X (Twitter) account overview export, ``account_overview_analytics.csv``, and its video
overview, ``video_overview_analytics.csv``.

One row per day for one account; the files do not name the account, so
``--unit`` is required. Dates look like ``"Tue, Aug 25, 2026"``. The video
overview (``Date,Views,Watch Time (ms),Completion Rate,Average Watch Time (ms),
Estimated Revenue``) reads the same way, its columns in snake_case
(``views``, ``watch_time_ms``, ``completion_rate``, ...).

Column mapping (header -> panel metric); other numeric columns pass through
in snake_case:

================= =================
``Date``          ``date``
``Impressions``   ``impressions``
``Likes``         ``likes``
``Engagements``   ``engagements``
``Bookmarks``     ``bookmarks``
``Shares``        ``shares``
``New follows``   ``new_follows``
``Unfollows``     ``unfollows``
``Replies``       ``replies``
``Reposts``       ``reposts``
``Profile visits`` ``profile_visits``
``Create Post``   ``posts``
``Video views``   ``video_views``
``Media views``   ``media_views``
================= =================
"""

from __future__ import annotations

import pandas as pd

from butfor.errors import InputError
from butfor.ingest_report import IngestReport
from butfor.readers._parse import Table, days, metric_values, part, snake

SIGNATURE = {"impressions", "likes", "engagements", "new_follows", "profile_visits",
             "create_post", "unfollows", "bookmarks"}


#: the video overview's own columns (no other layout has watch time in milliseconds)
VIDEO_SIGNATURE = {"watch_time_ms", "average_watch_time_ms", "completion_rate"}


def detect(names: set[str]) -> bool:
    if names & {"post_id", "tweet_id", "unit", "username"}:
        return False
    return len(SIGNATURE & names) >= 3 or ("date" in names and len(VIDEO_SIGNATURE & names) >= 2)


def read(tables: list[Table], report: IngestReport, opts) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = []
    for i, t in enumerate(tables):
        if not opts.unit:
            raise InputError(
                t.name, "is an X account overview export, which does not say whose account "
                "it is", "pass --unit NAME (the account's handle)")
        dcol = t.require("date")
        date = days(t, dcol)
        metric_cols = [c for c in t.frame.columns if c != dcol and snake(c)]
        metrics = metric_values(t, metric_cols, report)
        parts.append(part(i, t, opts.unit, date, metrics))
    units = pd.DataFrame({"unit": [opts.unit], "display_name": [opts.unit]})
    return pd.concat(parts, ignore_index=True), units
