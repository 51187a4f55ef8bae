"""Posts fetched from an API, written as a per-post table and read by the ``posts`` reader.

X and Bluesky answer with posts and their public counts; summing them into
account-days is the per-post reader's job (:mod:`butfor.readers.x_posts`),
so a fetched timeline is treated exactly like an exported one: the same
de-duplication, the same days in the stated time zone, the same report.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from butfor.errors import FetchError

METRICS = ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks")


@dataclass(frozen=True)
class Post:
    id: str  # digits, as the per-post reader wants
    created_at: str  # ISO 8601 with its UTC offset
    unit: str
    url: str
    counts: dict[str, float]


def in_range(timestamp: str, start: dt.date, end: dt.date) -> bool:
    day = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(dt.UTC).date()
    return start <= day <= end


def write_posts(posts: Sequence[Post], path: Path, *, service: str, who: str,
                start: dt.date, end: dt.date) -> Path:
    """One CSV row per post (id, created_at, unit, url, counts); an empty range is an error."""
    if not posts:
        raise FetchError(f"{service} returned no posts by {who} from {start} to {end}; check the "
                         "handle and the dates")
    metrics = [m for m in METRICS if any(m in p.counts for p in posts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "created_at", "unit", "url", *metrics])
        for p in sorted(posts, key=lambda p: (p.created_at, p.id)):
            writer.writerow([p.id, p.created_at, p.unit, p.url,
                             *[_cell(p.counts.get(m)) for m in metrics]])
    return path


def _cell(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
