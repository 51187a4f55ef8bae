"""One check for every estimator's settings, with one error template.

``@checked_settings`` on an estimator's ``__init__`` validates each argument
against the signature's own type hints (pydantic's ``validate_call``: a
``Literal`` is a list of choices, ``int`` an integer) and against the rules
below, which hold for a setting of that name in every estimator. A bad value
raises :class:`SettingsError`, one sentence naming the estimator, the setting,
the value and what it must be, the same shape as the case file's errors.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pydantic

from butfor.errors import InputError

__all__ = ["SettingsError", "checked_settings"]


class SettingsError(InputError):
    """An estimator was given a setting it cannot use.

    The sentence has the shape every estimator's settings error has: "the 'n'
    setting of Owner must be ...; got ...; change that setting."
    """

    def __init__(self, owner: str, name: str, want: str, value: Any) -> None:
        self.owner, self.name, self.value = owner, name, value
        super().__init__(None, f"the '{name}' setting of {owner} must be {want}; got {value!r}",
                         "change that setting")


def _probability(x: Any) -> bool:
    return x is None or 0 < x < 1


def _positive(x: Any) -> bool:
    return x is None or x > 0


def _not_negative(x: Any) -> bool:
    return x is None or x >= 0


# name -> (test, what the value must be); applied wherever a setting of that name exists
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "level": (_probability, "a coverage level strictly between 0 and 1, such as 0.95"),
    "share_needed": (lambda x: 0 < x <= 1, "a share above 0 and at most 1"),
    "n_draws": (_positive, "a positive number of draws"),
    "chains": (_positive, "a positive number of chains"),
    "replications": (_positive, "a positive number of replications"),
    "n_placebo": (_positive, "a positive number of placebo fits"),
    "n_boot": (_positive, "a positive number of bootstrap replicates"),
    "min_size": (_positive, "a positive number of periods"),
    "block": (_positive, "a positive number of periods"),
    "burn": (_not_negative, "zero or more sweeps"),
    "expected_model_size": (_positive, "a positive expected number of controls"),
    "prior_level_sd": (_positive, "a positive standard deviation"),
    "lag_days": (_not_negative, "zero or more days"),
    "half_window_days": (_positive, "a positive number of days"),
    "window": (lambda w: w is None or (len(w) == 2 and w[0] < 0 <= w[1]),
               "a pair (first, last) of periods from the event with first < 0 <= last"),
}


def checked_settings(init: Callable) -> Callable:
    """Decorate an estimator's ``__init__`` so bad settings raise SettingsError."""
    validated = pydantic.validate_call(config={"arbitrary_types_allowed": True})(init)
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args: Any, **kwargs: Any) -> None:
        owner = type(self).__name__
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as err:  # an unknown setting, or a positional one too many
            raise SettingsError(owner, "?", "one of its own", str(err)) from None
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            rule = RULES.get(name)
            if rule is not None and not _holds(rule[0], value):
                raise SettingsError(owner, name, rule[1], value)
        try:
            validated(self, *args, **kwargs)
        except pydantic.ValidationError as err:
            first = err.errors()[0]
            where = first["loc"][0] if first["loc"] else "?"  # the argument, not its branch
            # a positional argument is located by its index (self is 0)
            name = list(signature.parameters)[where] if isinstance(where, int) else str(where)
            want = first["msg"].rstrip(".").removeprefix("Input should be ")
            raise SettingsError(owner, name, want, first.get("input")) from None

    return wrapper


def _holds(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(test(value))
    except TypeError:  # a type pydantic let through (an array, say): leave it to the method
        return True
