"""The case file: valid cases load; invalid ones name the line, the key and the fix."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from butfor.case import load_case
from butfor.cli import app
from butfor.errors import CaseError, DataError
from butfor.simulate import PlatformConfig, simulate_platform

GOOD = """\
[case]
title = "t"
seed = 3

[subject]
unit = "ava_sterling"

[outcome]
metric = "impressions"
transform = "log1p"

[[events]]
name = "ownership change"
date = "2022-10-27"
"""


def write(tmp_path, text: str):
    path = tmp_path / "case.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_minimal_case_loads_with_defaults(tmp_path):
    case = load_case(write(tmp_path, GOOD))
    assert case.case.seed == 3
    assert case.outcome.transform == "log1p"
    assert case.event().name == "ownership change"
    assert case.methods == ["prepost"]


def test_demo_case_is_valid():
    import tomllib

    from butfor.case import parse_case
    from butfor.demo import demo_case_text

    text = demo_case_text()
    case = parse_case(tomllib.loads(text), text)
    assert case.subject.unit == "ava_sterling"
    assert [e.name for e in case.events] == ["ownership change", "verification change"]


def test_unknown_key_names_line_key_and_nearest_valid_key(tmp_path):
    path = write(tmp_path, GOOD.replace('transform = "log1p"', 'transfrom = "log1p"'))
    with pytest.raises(CaseError) as err:
        load_case(path)
    message = str(err.value)
    # "transfrom" is on line 10 of the file (counted by hand)
    assert "line 10" in message
    assert "outcome.transfrom" in message
    assert "did you mean 'transform'" in message
    assert message.count("\n") == 0


def test_unknown_top_level_section_is_rejected(tmp_path):
    path = write(tmp_path, GOOD + '\n[subjekt]\nunit = "x"\n')
    with pytest.raises(CaseError, match=r"unknown key 'subjekt'.*did you mean 'subject'"):
        load_case(path)


def test_misspelt_required_section_is_named_not_reported_missing(tmp_path):
    # issue 17: '[outcme]' made the case say "the required key 'outcome' is missing"
    path = write(tmp_path, GOOD.replace("[outcome]", "[outcme]"))
    with pytest.raises(CaseError) as err:
        load_case(path)
    message = str(err.value)
    assert "unknown key 'outcme'" in message and "did you mean 'outcome'" in message
    assert "missing" not in message


def test_wrong_value_names_the_allowed_ones(tmp_path):
    path = write(tmp_path, GOOD.replace('"log1p"', '"sqrt"'))
    with pytest.raises(CaseError, match=r"line 10.*outcome.transform.*'none', 'log', 'log1p', 'per_post' or 'pct_change'"):
        load_case(path)


def test_missing_required_section(tmp_path):
    path = write(tmp_path, GOOD.replace('[outcome]\nmetric = "impressions"\ntransform = "log1p"\n',
                                        ""))
    with pytest.raises(CaseError, match="required key 'outcome' is missing"):
        load_case(path)


NO_SUBJECT = GOOD.replace('[subject]\nunit = "ava_sterling"\n', "")


def test_a_panel_only_case_needs_no_subject(tmp_path):
    case = load_case(write(tmp_path, 'methods = ["before_after", "event_study"]\n' + NO_SUBJECT))
    assert case.subject is None


def test_a_method_that_needs_a_subject_says_so(tmp_path):
    path = write(tmp_path, 'methods = ["before_after", "sdid"]\n' + NO_SUBJECT)
    with pytest.raises(CaseError) as err:
        load_case(path)
    message = str(err.value)
    assert "line 1, column 'methods'" in message and "'sdid'" in message
    assert "needs a [subject]" in message and 'add [subject] unit = ' in message
    assert message.count("\n") == 0


@pytest.mark.parametrize(("kind", "extra"), [("targeted", ""), ("declined_after", "")])
def test_a_claim_that_needs_a_subject_says_so(tmp_path, kind, extra):
    text = ('methods = ["event_study"]\n' + NO_SUBJECT
            + f'\n[[claims]]\nid = "c"\nkind = "{kind}"\nallegation = "a"\n')
    with pytest.raises(CaseError) as err:
        load_case(write(tmp_path, text))
    message = str(err.value)
    assert "column 'kind'" in message and "needs a [subject]" in message
    assert ("before_after" in message) == (kind == "declined_after")


def test_covariate_transforms_name_covariates(tmp_path):
    text = 'covariates = ["posts"]\ncovariate_transforms = { post = "log" }\n' + GOOD
    with pytest.raises(CaseError, match=r"line 2.*'post'.*did you mean 'posts'"):
        load_case(write(tmp_path, text))


def test_claim_naming_an_unknown_event(tmp_path):
    text = GOOD + '\n[[claims]]\nid = "c"\nkind = "declined_after"\nallegation = "a"\nevent = "takeover"\n'
    with pytest.raises(CaseError, match="names event 'takeover'"):
        load_case(write(tmp_path, text))


def test_invalid_toml_names_the_line(tmp_path):
    path = write(tmp_path, GOOD + "\nbroken = [1,\n")
    with pytest.raises(CaseError, match="not valid TOML"):
        load_case(path)


@pytest.fixture(scope="module")
def small_panel():
    return simulate_platform(PlatformConfig(n_peers=4, days=60,
                                            events=()), seed=1).panel


def test_event_outside_the_data_is_rejected(tmp_path, small_panel):
    case = load_case(write(tmp_path, GOOD))  # 2022-10-27, the panel ends 2022-03-01
    with pytest.raises(DataError, match="outside the data, which runs from 2022-01-01 to 2022-03-01"):
        case.check_against(small_panel)


def test_subject_not_in_panel(tmp_path, small_panel):
    case = load_case(write(tmp_path, GOOD.replace("ava_sterling", "nobody").replace(
        "2022-10-27", "2022-02-01")))
    with pytest.raises(DataError, match="subject 'nobody' is not in the panel"):
        case.check_against(small_panel)


def test_cli_run_with_bad_case_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, GOOD.replace("seed = 3", "sede = 3"))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "line 3" in result.output and "did you mean 'seed'" in result.output
