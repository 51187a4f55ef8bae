"""Wikimedia pageviews files in the layout of ../shared/FORMATS.md, with made-up views.

``items()`` gives the REST API's items; the builders write them as the API's
JSON (compact, as it answers, or indented, as a browser saves it) and as CSV.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

FIELDS = ["project", "article", "granularity", "timestamp", "access", "agent", "views"]


def items(article: str = "Ava_Sterling", days: int = 5, *, project: str = "en.wikipedia",
          access: str = "all-access", agent: str = "user", first_views: int = 100) -> list[dict]:
    """Daily items from 2022-09-01: views first_views, first_views + 1, ..."""
    return [{"project": project, "article": article, "granularity": "daily",
             "timestamp": f"202209{d:02d}00", "access": access, "agent": agent,
             "views": first_views + d - 1} for d in range(1, days + 1)]


def monthly_items(article: str = "Ava_Sterling") -> list[dict]:
    return [{"project": "en.wikipedia", "article": article, "granularity": "monthly",
             "timestamp": f"2022{m:02d}0100", "access": "all-access", "agent": "user",
             "views": 1000 * m} for m in (9, 10, 11)]


def wikimedia_json(folder: Path, name: str = "pageviews.json", *, rows: list[dict] | None = None,
                   indent: int | None = None) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"items": rows if rows is not None else items()}, indent=indent),
                    encoding="utf-8")
    return path


def wikimedia_csv(folder: Path, name: str = "pageviews.csv", *,
                  rows: list[dict] | None = None) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows if rows is not None else items())
    return path
