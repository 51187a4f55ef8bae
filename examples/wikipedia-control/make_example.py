"""Write this example's data and cassette from the demo's simulated platform (seed 2022).

    python examples/wikipedia-control/make_example.py

- ``data/ava_sterling.csv``: the demo subject's on-platform series
  (impressions, engagements, followers, posts), without her pageviews;
- ``cassette.json``: her simulated off-platform attention (the demo's
  ``pageviews``) written as the Wikimedia REST API answers a per-article
  request for ``en.wikipedia:Ava_Sterling``, so ``butfor run --fetch`` gets
  it from the cassette exactly as it would from the API.

Ava Sterling is fictional, so no live request could be recorded: the
cassette holds the simulator's numbers in the API's layout, and says so.
Running the script again writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from butfor.connectors.wikimedia import PageviewsRequest
from butfor.simulate import PlatformConfig, simulate_platform

HERE = Path(__file__).resolve().parent
SEED = 2022


def main() -> None:
    sim = simulate_platform(PlatformConfig(), seed=SEED)
    subject = sim.config.subject
    rows = sim.panel.data[sim.panel.data["unit"] == subject]
    (HERE / "data").mkdir(exist_ok=True)
    on_platform = rows[["unit", "date", "impressions", "engagements", "followers", "posts"]]
    on_platform.to_csv(HERE / "data" / "ava_sterling.csv", index=False, date_format="%Y-%m-%d",
                       float_format="%.0f", lineterminator="\n")
    first, last = rows["date"].min().date(), rows["date"].max().date()
    request = PageviewsRequest("Ava_Sterling", first, last)
    items = [{"project": "en.wikipedia", "article": "Ava_Sterling", "granularity": "daily",
              "timestamp": f"{day:%Y%m%d}00", "access": "all-access", "agent": "user",
              "views": int(views)}
             for day, views in zip(rows["date"], rows["pageviews"], strict=True)]
    cassette = {
        "note": (f"Made by make_example.py: the demo simulator's off-platform attention for "
                 f"Ava Sterling (seed {SEED}), in the layout the Wikimedia REST API answers; "
                 "the person is fictional, so no live response exists to record."),
        "interactions": [{
            "request": {"method": "GET", "url": request.url()},
            "response": {"status": 200,
                         "headers": {"content-type": "application/json; charset=utf-8"},
                         "json": {"items": "ITEMS"}},
        }],
    }
    # one item a line: readable, and a changed value shows as a one-line diff
    text = json.dumps(cassette, indent=1).replace(
        '"items": "ITEMS"', '"items": [\n' + ",\n".join(json.dumps(i) for i in items) + "]")
    (HERE / "cassette.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
