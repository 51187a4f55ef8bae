"""Every method the case file accepts has a case adapter the pipeline can load."""

import typing

import pytest

from butfor.analyses.adapters import adapter_for
from butfor.case import Method


@pytest.mark.parametrize("method", typing.get_args(Method))
def test_every_case_method_has_an_adapter(method):
    fn = adapter_for(method)
    assert fn.__name__ == "analyses_for_case"
    assert set(typing.get_type_hints(fn)) >= {"seed", "return"}


def test_an_unknown_method_is_a_programming_error():
    with pytest.raises(KeyError, match="no case adapter"):
        adapter_for("bayesian_magic")
