"""The notebook API (issue #11): `butfor.ingest` and `butfor.run` give what the CLI gives."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pandas as pd
import pytest
from typer.testing import CliRunner

import butfor
from butfor.cli import app
from butfor.simulate import EventSpec, PlatformConfig, simulate_platform

EVENT = dt.date(2022, 3, 1)
CASE = """\
methods = ["prepost"]

[case]
title = "Did the change cut this account's follower growth?"
seed = 9

[data]
files = ["accounts.csv"]

[subject]
unit = "ava_sterling"

[outcome]
metric = "followers"

[[events]]
name = "change"
date = "{event}"

[[claims]]
id = "fell"
kind = "declined_after"
allegation = "My followers fell after the change."
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A Social Blade-style export of a small simulated platform and a case file."""
    root = tmp_path_factory.mktemp("api")
    sim = simulate_platform(PlatformConfig(n_peers=20, days=80, events=(
        EventSpec("change", EVENT, platform_shock=-0.1, subject_shock=-0.6),)), seed=5)
    data = sim.panel.data.merge(sim.panel.units, on="unit")
    pd.DataFrame({
        "username": data["unit"], "display_name": data["display_name"],
        "date": data["date"].dt.strftime("%Y-%m-%d"),
        "followers": data["followers"].astype(int), "following": 100,
        "tweets": data["posts"].astype(int).groupby(data["unit"]).cumsum(),
    }).to_csv(root / "accounts.csv", index=False)
    (root / "case.toml").write_text(textwrap.dedent(CASE.format(event=EVENT)), encoding="utf-8")
    return root


def _without_command(text: str) -> dict:
    doc = json.loads(text)
    doc["provenance"].pop("command")  # names the --out folder, which differs by design
    return doc


def test_run_gives_the_cli_results(folder):
    cli = CliRunner().invoke(app, ["run", str(folder / "case.toml"), "--out",
                                   str(folder / "cli"), "--store", str(folder / "s.duckdb")])
    assert cli.exit_code == 0, cli.output
    run = butfor.run(folder / "case.toml", out=folder / "api", store=folder / "s.duckdb")
    assert _without_command((folder / "api" / "results.json").read_text()) == \
        _without_command((folder / "cli" / "results.json").read_text())
    verdicts = run.verdicts()
    assert list(verdicts["claim"]) == ["fell"]
    assert verdicts["verdict"].iloc[0] == run.results.verdicts[0]["verdict"]
    assert len(run.summary()) == len(run.results.summary_table) > 0
    figures = run.figures()
    assert len(figures) > 0
    fig = run.plot(figures["id"].iloc[0])
    assert fig.axes and fig.axes[0].get_lines()
    with pytest.raises(KeyError, match="no figure"):
        run.plot("not-a-figure")
    # the report's figures are also files beside the page, in SVG (PNG only when asked)
    files = sorted(p.suffix for p in (folder / "api" / "figures").iterdir())
    assert files.count(".svg") == len(figures) and ".png" not in files


def test_ingest_accounts_for_every_row(folder, tmp_path):
    data = butfor.ingest(folder / "accounts.csv")
    table = data.summary()
    assert int(table["rows_read"].sum()) == 21 * 80  # 20 peers and the subject, 80 days
    assert int(table["rows_kept"].sum()) == 21 * 80
    store = data.save(tmp_path / "s.duckdb")
    from butfor.store import Store

    assert Store(store).read_panel().unit_ids.__len__() == 21


def test_api_names_survive_importing_submodules_of_the_same_name():
    import butfor.ingest
    from butfor.ingest import ingest_files

    assert callable(butfor.ingest) and butfor.ingest.__module__ == "butfor.api"
    assert callable(butfor.run) and butfor.run.__module__ == "butfor.api"
    assert ingest_files.__module__ == "butfor.ingest"


def test_load_case_refuses_a_bad_case_in_one_sentence(tmp_path):
    bad = tmp_path / "case.toml"
    bad.write_text("methods = ['sts']\n[subject]\nunit = 'a'\n[outcom]\nmetric = 'x'\n",
                   encoding="utf-8")
    with pytest.raises(butfor.ButforError) as err:
        butfor.load_case(bad)
    assert "outcom" in str(err.value)
