"""Platform exports (YouTube, Instagram, TikTok, Social Blade API, Google Trends), zips, folders.

Every expected number is a hand computation from the fixture rows in
tests/export_fixtures.py (their docstrings give the sums).
"""

from __future__ import annotations

import math
import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

import export_fixtures as fx
from butfor.cli import app
from butfor.errors import InputError
from butfor.ingest import ingest_files
from butfor.readers import detect_format, read, read_files


def _day(result, unit, date):
    frame = result.frame
    row = frame[(frame["unit"] == unit) & (frame["date"] == pd.Timestamp(date))]
    assert len(row) == 1, f"{unit} {date}: {len(row)} rows"
    return row.iloc[0]


def _accounted(report):
    for s in report.sources:
        assert s.rows_read == s.rows_kept + s.rows_dropped, s


# ---------------------------------------------------------------------------
# YouTube
def test_youtube_table_by_date_sets_the_total_row_apart(tmp_path):
    result = read(fx.youtube_table_by_date(tmp_path), unit="ava")
    assert result.frame["views"].tolist() == [120, 90, 150]  # not 360 + the days
    assert _day(result, "ava", "2024-03-02")["subscribers_net"] == -1  # a net change
    assert _day(result, "ava", "2024-03-03")["impressions"] == 2500  # "2,500"
    assert _day(result, "ava", "2024-03-01")["average_view_duration_s"] == 165  # 0:02:45
    assert _day(result, "ava", "2024-03-02")["watch_time_hours"] == 4.25
    [total] = [n for n in result.report.notes if "'Total' row" in n.reason]
    assert total.action == "dropped" and total.lines == [2]
    assert "Views 360 against 360 summed" in total.reason  # 120 + 90 + 150
    [source] = result.report.sources
    assert (source.rows_read, source.rows_kept, source.rows_dropped) == (4, 3, 1)


def test_youtube_per_video_table_goes_to_publish_days(tmp_path):
    result = read(fx.youtube_table_by_content(tmp_path), unit="ava")
    feb20 = _day(result, "ava", "2024-02-20")  # vidA 400 + vidC 100 views, two videos
    assert (feb20["views"], feb20["posts"], feb20["impressions"]) == (500, 2, 7000)
    assert _day(result, "ava", "2024-03-01")["views"] == 400
    assert _day(result, "ava", "2024-02-25")["views"] == 0  # no video published: explicit 0
    assert "average_view_duration_s" not in result.frame  # a video's average: not summed
    notes = " | ".join(n.reason for n in result.report.notes)
    assert "Thumbnail impressions' (YouTube's name since 2025) read as impressions" in notes
    assert "the table may list only the top rows" not in notes  # 900 = 400 + 100 + 400


def test_youtube_zip_reads_each_member_in_one_command(tmp_path):
    zipped = fx.youtube_zip(tmp_path)
    result = read(zipped, unit="ava")
    assert result.frame["views"].tolist() == [120, 90, 150]  # Totals agree with the table
    files = sorted(s.file for s in result.report.sources)
    assert files == [f"{zipped}:{n}" for n in ("Chart data.csv", "Table data.csv", "Totals.csv")]
    _accounted(result.report)
    chart = next(s for s in result.report.sources if s.file.endswith("Chart data.csv"))
    assert chart.rows_dropped == 6  # the charted videos only: the export's totals are read
    assert any("chart rows (the charted videos only) left out: the channel's daily totals"
               in n.reason
               for n in result.report.notes)


def test_youtube_chart_alone_is_summed_into_channel_days(tmp_path):
    result = read(fx.youtube_chart(tmp_path), unit="ava")
    assert result.frame["views"].tolist() == [100, 70, 130]  # 70+30, 50+20, 100+30
    [source] = result.report.sources
    assert source.rows_kept == 6


def test_youtube_without_unit_says_so(tmp_path):
    with pytest.raises(InputError, match="pass --unit NAME"):
        read(fx.youtube_zip(tmp_path))


# ---------------------------------------------------------------------------
# Instagram
def test_instagram_lifetime_rows_are_account_totals_not_days(tmp_path):
    result = read(fx.instagram(tmp_path))
    assert detect_format(fx.instagram(tmp_path)) == "instagram"
    assert result.frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-07-15", "2025-07-16"]
    jul15 = _day(result, "ava.ig", "2025-07-15")
    assert (jul15["views"], jul15["likes"], jul15["posts_with_data"]) == (240, 12, 2)
    units = result.units.set_index("unit")
    assert units.loc["ava.ig", "lifetime_views"] == 580  # 500 + 80
    assert units.loc["ava.ig", "display_name"] == "Ava on Instagram"
    [source] = result.report.sources
    assert source.rows_kept == 5 and source.rows_dropped == 0


def test_instagram_impressions_read_as_views_with_a_note(tmp_path):
    header = [("Impressions" if h == "Views" else h) for h in fx.INSTAGRAM_HEADER]
    result = read(fx.instagram(tmp_path, header=header))
    assert _day(result, "ava.ig", "2025-07-16")["views"] == 150
    assert any("Meta's name before April 2025" in n.reason for n in result.report.notes)


def test_instagram_lifetime_only_gives_publish_days(tmp_path):
    path = fx.write_csv(tmp_path / "ig.csv", fx.INSTAGRAM_HEADER, [
        fx._ig("C1", "Lifetime", 500, 20, published="07/15/2025 10:30"),
        fx._ig("C2", "Lifetime", 80, 4, published="07/17/2025 23:30"),
    ])
    with pytest.raises(InputError, match="pass --timezone"):
        read(path)
    result = read(path, timezone="UTC")
    assert result.frame["views"].tolist() == [500, 0, 80]  # Jul 16: no post published
    assert result.units.set_index("unit").loc["ava.ig", "lifetime_likes"] == 24


# ---------------------------------------------------------------------------
# TikTok
def test_tiktok_year_from_the_file_names_range_over_new_year(tmp_path):
    result = read(fx.tiktok_overview(tmp_path), unit="ava")
    dates = result.frame["date"].dt.strftime("%Y-%m-%d").tolist()
    assert dates == ["2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"]
    assert _day(result, "ava", "2025-01-01")["video_views"] == 1500
    assert _day(result, "ava", "2024-12-31")["profile_visits"] == 45
    [year] = [n for n in result.report.notes if "without a year" in n.reason]
    assert "Overview_2024-12-30_2025-01-02.csv" in year.reason


def test_tiktok_year_from_the_option(tmp_path):
    path = fx.tiktok_followers(tmp_path)
    with pytest.raises(InputError, match="pass --year YYYY"):
        read(path, unit="ava")
    result = read(path, unit="ava", year=2025)  # the latest date, 2 January, is in 2025
    assert result.frame["date"].min() == pd.Timestamp("2024-12-30")
    assert result.frame["followers"].tolist() == [5000, 5012, 5020, 5019]
    assert "difference_in_followers_from_previous_day" not in result.frame


def test_tiktok_date_outside_the_named_range_is_an_error(tmp_path):
    path = fx.write_csv(tmp_path / "Overview_2025-01-01_2025-01-31.csv",
                        fx.TIKTOK_OVERVIEW_HEADER, [["3 March", 1, 1, 1, 1, 1]])
    with pytest.raises(InputError, match="lies outside the range 2025-01-01 to 2025-01-31"):
        read(path, unit="ava")


def test_tiktok_sparse_dates_with_year_are_refused(tmp_path):
    path = fx.write_csv(tmp_path / "t.csv", fx.TIKTOK_FOLLOWER_HEADER,
                        [["1 January", 5, 0], ["1 May", 6, 1], ["1 September", 7, 1]])
    with pytest.raises(InputError, match="too sparse"):
        read(path, unit="ava", year=2025)


# ---------------------------------------------------------------------------
# Social Blade API, Google Trends
def test_socialblade_api_json(tmp_path):
    result = read(fx.socialblade_api(tmp_path))
    assert result.frame["followers"].tolist() == [1000, 1010, 1008]
    assert result.frame["posts"].tolist() == [300, 302, 305]  # tweets -> posts
    assert result.units["display_name"].tolist() == ["Ava A"]
    [source] = result.report.sources
    assert source.format == "socialblade_api" and source.rows_kept == 3


@pytest.mark.parametrize("preamble", [True, False])
def test_trends_terms_are_units_and_below_one_is_half(tmp_path, preamble):
    result = read(fx.trends(tmp_path, preamble=preamble))
    us = "causal impact (United States)"
    assert _day(result, us, "2024-01-14")["search_interest"] == 0.5  # "<1"
    assert _day(result, "butfor (Worldwide)", "2024-01-14")["search_interest"] == 100
    units = result.units.set_index("unit")
    assert (units.loc[us, "term"], units.loc[us, "region"]) == ("causal impact", "United States")
    [source] = result.report.sources
    assert source.rows_read == source.rows_kept == 3
    [below] = [n for n in result.report.notes if "'<1'" in n.reason]
    assert below.lines == [3 + (2 if preamble else 0)]  # the preamble moves lines down
    assert any("weekly search interest" in r for r in result.report.remarks)


def test_trends_weekly_panel_stays_weekly(tmp_path):
    panel, report = ingest_files([fx.trends(tmp_path)])
    # 3 weeks from Jan 7 to Jan 21 x 2 terms: a weekly grid of 6 values, none filled (issue
    # #12: the grid is the data's own frequency; it was 15 days x 2 terms, 24 filled)
    assert panel.frequency == "W"
    assert len(panel.data) == 6 and report.cells_filled == 0


def test_two_trends_downloads_are_not_joined(tmp_path):
    a = fx.trends(tmp_path / "a")
    b = fx.trends(tmp_path / "b")
    with pytest.raises(InputError, match="different scales"):
        read_files([a, b])


# ---------------------------------------------------------------------------
# zips and folders
def test_folder_reads_each_file_with_its_own_reader(tmp_path):
    folder = tmp_path / "exports"
    fx.socialblade(folder)
    fx.trends(folder)
    fx.write(folder / "notes.txt", "my notes")
    fx.write(folder / ".DS_Store", "junk")
    result = read(folder)
    assert sorted(s.format for s in result.report.sources) == ["socialblade", "trends"]
    assert any("notes.txt: left out, not a data file (.txt)" in r for r in result.report.remarks)
    _accounted(result.report)


def test_zip_member_error_names_the_member(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("inner/data.csv", "unit,date,likes\nava,2024-01-01,many\n")
        z.writestr("README.pdf", b"%PDF")
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}:inner/data.csv, line 2, column 'likes':")


def test_zip_paths_cannot_escape(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../escaped.csv", "unit,date,likes\nava,2024-01-01,1\n")
    result = read(path)
    assert result.frame["likes"].tolist() == [1]
    assert not (tmp_path.parent / "escaped.csv").exists()


# ---------------------------------------------------------------------------
# detection
def test_unknown_header_names_the_nearest_layouts(tmp_path):
    path = fx.write(tmp_path / "d.csv", "Date,Video Views,Likes,Shares,Folowers\n2024-01-01,1,2,3,4\n")
    with pytest.raises(InputError) as err:
        detect_format(path)
    message = str(err.value)
    assert "the nearest layouts are tiktok (missing Profile Views, Comments)" in message
    assert "\n" not in message
    # a header of metric names is never a wide table of units called 'Views', 'Likes'
    assert detect_format(fx.write(tmp_path / "m.csv", "Date,Views,Likes\n2024-01-01,1,2\n")) \
        == "long"


@pytest.mark.parametrize("key", ["userid", "account", "channel", "state"])
def test_long_table_keyed_by_an_id_column_is_never_wide(tmp_path, key):
    path = fx.write_csv(tmp_path / "l.csv", [key, "date", "score"],
                        [["a", "2024-01-01", 1], ["b", "2024-01-01", 2], ["a", "2024-01-02", 3]])
    assert detect_format(path) == "long"
    result = read(path)
    assert sorted(set(result.frame["unit"])) == ["a", "b"]
    assert any(f"column '{key}' read as the unit" in r for r in result.report.remarks)


def test_wide_table_with_repeated_dates_is_refused(tmp_path):
    path = fx.write(tmp_path / "w.csv", "date,a,b\n2024-01-01,1,2\n2024-01-01,3,4\n")
    with pytest.raises(InputError, match="a wide table has one row per date"):
        read(path)


# ---------------------------------------------------------------------------
# through the command line: zip and TikTok into the store, the wide CSV that crashed
def test_cli_ingests_a_youtube_zip_and_a_tiktok_export(tmp_path):
    store = tmp_path / "s.duckdb"
    runner = CliRunner()
    out = runner.invoke(app, ["ingest", str(fx.youtube_zip(tmp_path)), "--unit", "ava_yt",
                              "--store", str(store)])
    assert out.exit_code == 0, out.output
    # 4 + 6 + 3 rows: the Total row and the 6 chart rows set apart, the 3 Totals rows
    # repeat the table's days exactly (dropped as duplicates), the table's 3 days kept
    assert "Read 3 file(s) (youtube): 13 rows read, 3 kept, 1 repaired, 10 dropped." in out.output
    out = runner.invoke(app, ["ingest", str(fx.tiktok_overview(tmp_path)), "--unit", "ava_tt",
                              "--store", str(store)])
    assert out.exit_code == 0, out.output
    from butfor.store import Store

    [stored] = Store(store).list_datasets()
    assert (stored["units"], str(stored["first"]), str(stored["last"])) == \
        (2, "2024-03-01", "2025-01-02")
    assert {"views", "video_views", "watch_time_hours"} <= set(stored["metrics"])


def test_cli_plain_wide_csv_is_stored(tmp_path):
    path = fx.write(tmp_path / "w.csv", "date,a,b,c\n2024-01-01,1,2,3\n2024-01-02,4,5,6\n")
    out = CliRunner().invoke(app, ["ingest", str(path), "--store", str(tmp_path / "s.duckdb")])
    assert out.exit_code == 0, out.output
    assert "metrics value" in out.output


def test_value_counts_and_fractions(tmp_path):
    assert math.isclose(read(fx.write(tmp_path / "f.csv", "unit,date,likes\na,2024-01-01,"
                                      "3.0000000001\n")).frame["likes"].iloc[0], 3.0)
    with pytest.raises(InputError, match=r"the count 1234\.56 of 'likes' is not a whole number"):
        read(fx.write(tmp_path / "g.csv", "unit,date,likes\na,2024-01-01,1234.56\n"))


def test_jumps_by_orders_of_magnitude_are_flagged_not_dropped(tmp_path):
    # 120 -> 150000 (x1250) on line 3 and back to 130 on line 4: both flagged; 10 -> 9000
    # stays below the 1,000x threshold (x900)
    path = fx.write(tmp_path / "j.csv", "unit,date,views\na,2024-01-01,120\na,2024-01-02,150000\n"
                    "a,2024-01-03,130\nb,2024-01-01,10\nb,2024-01-02,9000\n")
    result = read(path)
    assert len(result.frame) == 5
    [flag] = [n for n in result.report.notes if n.action == "flagged"]
    assert flag.lines == [3, 4] and flag.count == 2 and flag.column == "views"


def test_dates_far_in_the_future_are_refused_not_wrapped(tmp_path):
    path = fx.write(tmp_path / "y.csv", "unit,date,likes\na,2024-01-01,1\na,2999-01-02,2\n")
    with pytest.raises(InputError, match="outside the plausible window 1900-01-01 to 2100-12-31"):
        read(path)
    with pytest.raises(InputError, match="reaches beyond the days butfor can hold"):
        read(path, dates="1900-01-01:3000-12-31")  # nanoseconds end in 2262
    later = fx.write(tmp_path / "z.csv", "unit,date,likes\na,2024-01-01,1\na,2200-01-02,2\n")
    wide = read(later, dates="1900-01-01:2250-12-31")  # the user says the date is right
    assert wide.frame["date"].max() == pd.Timestamp("2200-01-02")


def test_rounded_subscriber_counts_are_marked(tmp_path):
    # 1,230,000 / 1,240,000 / 1,240,000 are three significant figures; bob's 1,234,567 is exact
    path = fx.write(tmp_path / "s.csv", "unit,date,subscribers\n"
                    "ann,2024-01-01,1230000\nann,2024-01-02,1240000\nann,2024-01-03,1240000\n"
                    "bob,2024-01-01,1234567\nbob,2024-01-02,1234800\nbob,2024-01-03,1235000\n")
    result = read(path)
    marked = dict(zip(result.units["unit"], result.units["subscribers_rounded"], strict=True))
    assert marked == {"ann": True, "bob": False}
    [note] = [n for n in result.report.notes if "three significant figures" in n.reason]
    assert note.action == "flagged" and note.lines == [2, 3, 4]
