"""The Wikimedia pageviews reader: REST JSON and CSV, days and months, bad bytes.

Expected values are hand computations from the fixture items in
tests/wikimedia_fixtures.py (views 100, 101, ... from 2022-09-01 on).
"""

from __future__ import annotations

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import wikimedia_fixtures as wf
from butfor.errors import ButforError, InputError
from butfor.ingest import ingest_files
from butfor.readers import detect_format, read, read_files

UNIT = "en.wikipedia:Ava_Sterling"


def _views(result, unit=UNIT):
    rows = result.frame[result.frame["unit"] == unit]
    return dict(zip(rows["date"].dt.strftime("%Y-%m-%d"), rows["pageviews"], strict=True))


@pytest.mark.parametrize("build", [
    lambda d: wf.wikimedia_json(d),
    lambda d: wf.wikimedia_json(d, indent=2),  # as a browser saves it
    lambda d: wf.wikimedia_csv(d),
], ids=["json", "json-indented", "csv"])
def test_json_and_csv_read_alike_with_row_accounting(tmp_path, build):
    path = build(tmp_path)
    assert detect_format(path) == "wikimedia"
    result = read(path)
    assert _views(result) == {"2022-09-01": 100, "2022-09-02": 101, "2022-09-03": 102,
                              "2022-09-04": 103, "2022-09-05": 104}
    [source] = result.report.sources
    assert (source.rows_read, source.rows_kept, source.rows_dropped) == (5, 5, 0)
    [unit] = result.units.to_dict("records")
    assert unit == {"unit": UNIT, "display_name": "Ava Sterling (en.wikipedia)", "group": None,
                    "project": "en.wikipedia", "article": "Ava_Sterling",
                    "access": "all-access", "agent": "user", "granularity": "daily"}


def test_ingest_keeps_project_access_agent_as_unit_attributes(tmp_path):
    a = wf.wikimedia_json(tmp_path, "a.json")
    b = wf.wikimedia_csv(tmp_path, "b.csv", rows=wf.items("Ava_Sterling", project="de.wikipedia",
                                                           access="mobile-web", first_views=7))
    panel, report = ingest_files([a, b])
    units = panel.units.set_index("unit")
    assert units.loc["de.wikipedia:Ava_Sterling", "access"] == "mobile-web"
    assert units.loc[UNIT, "agent"] == "user"
    assert panel.series("de.wikipedia:Ava_Sterling", "pageviews").iloc[0] == 7
    assert report.rows_read == report.rows_kept == 10


def test_overlapping_downloads_combine_and_the_repeat_is_noted(tmp_path):
    a = wf.wikimedia_json(tmp_path, "a.json", rows=wf.items(days=3))
    b = wf.wikimedia_json(tmp_path, "b.json", rows=wf.items(days=5))
    result = read_files([a, b])
    assert len(result.frame) == 5
    [note] = [n for n in result.report.notes if n.action == "dropped"]
    assert note.count == 3 and note.file == str(b)  # the first file given is kept


def test_monthly_rows_are_dated_the_first_of_the_month_and_noted(tmp_path):
    result = read(wf.wikimedia_json(tmp_path, rows=wf.monthly_items()))
    assert _views(result) == {"2022-09-01": 9000, "2022-10-01": 10000, "2022-11-01": 11000}
    assert result.units["granularity"].tolist() == ["monthly"]
    assert any("monthly pageviews" in n.reason for n in result.report.notes)


def test_unit_option_names_a_file_without_article(tmp_path):
    path = tmp_path / "views.csv"
    path.write_text("timestamp,views\n2022090100,5\n2022090200,6\n", encoding="utf-8")
    assert detect_format(path) == "wikimedia"
    result = read(path, unit="ava_wiki")
    assert _views(result, "ava_wiki") == {"2022-09-01": 5, "2022-09-02": 6}
    with pytest.raises(InputError, match=r"has no column 'article'.*--unit"):
        read(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda raw: raw[:60] + b"\xff" + raw[61:], r"is not UTF-8 text \(byte 61"),
    (lambda raw: raw[: len(raw) // 2], r"is not valid JSON"),
    (lambda raw: b'{"type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found", '
                 b'"title": "Not found.", "method": "get", "detail": "The date(s) you used are '
                 b'valid, but we either do not have data for those date(s)", "uri": "/wikimedia.'
                 b'org/v1/metrics/pageviews/per-article/en.wikipedia/all-access/user/X/daily/'
                 b'2022090100/2022090500"}',
     r"is a Wikimedia error response \(Not found: The date"),
    (lambda raw: b'{"items": []}', r"has no pageviews"),
    (lambda raw: raw.replace(b"2022090300", b"2022090313"), r"has an hour"),
    (lambda raw: raw.replace(b"2022090300", b"20220931xx"), r"is not a Wikimedia timestamp"),
    (lambda raw: raw.replace(b'"views": 102', b'"views": -3'), r"is negative"),
], ids=["bad-byte", "cut-short", "error-response", "empty", "hourly", "bad-timestamp",
        "negative"])
def test_bad_json_gives_one_sentence(tmp_path, mutate, message):
    path = wf.wikimedia_json(tmp_path, indent=1)
    path.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(InputError, match=message) as caught:
        read(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and text.endswith(".") and "\n" not in text


def test_bad_byte_in_the_json_names_its_line(tmp_path):
    path = wf.wikimedia_json(tmp_path, indent=1)
    raw = path.read_bytes()
    at = raw.index(b"2022090300")  # the third item, on line 28 of the indented file
    path.write_bytes(raw[:at] + b"\xe9" + raw[at + 1:])
    line = raw[:at].count(b"\n") + 1
    with pytest.raises(InputError, match=f"line {line}: is not UTF-8 text"):
        read(path)


def test_bad_value_names_the_items_line(tmp_path):
    path = wf.wikimedia_json(tmp_path, indent=1)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"2022090400", b"2022090413"))
    line = raw[:raw.index(b"2022090400")].count(b"\n") + 1
    with pytest.raises(InputError, match=f"line {line}, column 'timestamp'"):
        read(path)


def test_bad_byte_in_the_csv_gives_one_sentence(tmp_path):
    path = wf.wikimedia_csv(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[:90] + b"\xff" + raw[91:])
    with pytest.raises(ButforError, match="is not UTF-8 text") as caught:
        read(path)
    assert "\n" not in str(caught.value)


def test_one_unit_with_two_access_kinds_is_an_error(tmp_path):
    rows = wf.items(days=2) + wf.items(days=2, access="desktop")
    with pytest.raises(InputError, match=r"two different series.*all-access.*desktop"):
        read(wf.wikimedia_csv(tmp_path, rows=rows))


def test_hourly_granularity_is_refused(tmp_path):
    rows = [{**r, "granularity": "hourly"} for r in wf.items(days=2)]
    with pytest.raises(InputError, match="granularity 'hourly' is not daily or monthly"):
        read(wf.wikimedia_csv(tmp_path, rows=rows))


def test_dates_are_calendar_days(tmp_path):
    frame = read(wf.wikimedia_json(tmp_path)).frame
    assert frame["date"].dtype == "datetime64[ns]"
    assert (frame["date"] == frame["date"].dt.normalize()).all()
    assert frame["date"].iloc[0] == pd.Timestamp("2022-09-01")


# ---------------------------------------------------------------------------
# any bytes: a table or one sentence, never another exception
_ITEM = st.fixed_dictionaries({
    "project": st.sampled_from(["en.wikipedia", "de.wikipedia", "", 3]),
    "article": st.one_of(st.text(max_size=8), st.integers()),
    "granularity": st.sampled_from(["daily", "monthly", "hourly", None]),
    "timestamp": st.one_of(st.sampled_from(["2022090100", "2022100100", "2022091300",
                                            "20220931", ""]),
                           st.integers(-10, 2**40), st.none()),
    "access": st.sampled_from(["all-access", "desktop"]),
    "agent": st.sampled_from(["user", "spider"]),
    "views": st.one_of(st.integers(-5, 10**20), st.floats(allow_nan=True), st.booleans(),
                       st.text(max_size=4), st.none(), st.lists(st.integers(), max_size=2)),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(_ITEM, max_size=6), cut=st.integers(0, 400), junk=st.binary(max_size=3),
       as_csv=st.booleans())
def test_any_response_reads_or_gives_one_sentence(tmp_path, items, cut, junk, as_csv):
    if as_csv:
        path = wf.wikimedia_csv(tmp_path, rows=items)
    else:
        path = wf.wikimedia_json(tmp_path, rows=items, indent=1)
    raw = path.read_bytes()
    if cut < len(raw):  # damage one place: cut short, or a few bytes replaced
        raw = raw[:cut] + junk + raw[cut + len(junk):] if junk else raw[:cut]
    path.write_bytes(raw)
    try:
        result = read(path, format="wikimedia")
    except ButforError as err:
        assert "\n" not in str(err) and str(err).strip()
        return
    for source in result.report.sources:
        assert source.rows_read == source.rows_kept + source.rows_dropped
    assert result.frame["pageviews"].dropna().ge(0).all()
