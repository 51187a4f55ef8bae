"""pyfixest's ``feols`` and ``fepois``, with the fixed effects demeaned in the order the formula names them.

pyfixest (0.60, ``formula.utils._encode_fixed_effects``) collects the fixed effects
of ``y ~ x | unit + time`` in a Python ``set`` before writing the formula it hands
to formulaic, so whether the alternating projections sweep ``unit`` or ``time``
first follows the string hashes, which Python randomises per process
(PYTHONHASHSEED). Both orders converge to the same solution only to the demeaning
tolerance, so two runs of the same case differed in the 12th digit of every
coefficient and standard error (issue 20). Here the encoded terms are put back in
the order the formula gives them, which makes the result the same in every process.
"""

from __future__ import annotations

import re
from typing import Any

_PREFIX, _SUFFIX = "__fixed_effect__(", ")"


def feols(formula: str, data, **kwargs: Any):
    """``pyfixest.feols(formula, data, **kwargs)``, deterministic across processes."""
    import pyfixest as pf

    _install()
    return pf.feols(formula, data, **kwargs)


def fepois(formula: str, data, **kwargs: Any):
    """``pyfixest.fepois(formula, data, **kwargs)``, deterministic across processes."""
    import pyfixest as pf

    _install()
    return pf.fepois(formula, data, **kwargs)


def in_given_order(encoded: str, fixed_effects: str) -> str:
    """``encoded`` (pyfixest's ``a + b - 1`` of encoded terms) sorted as ``fixed_effects`` lists them.

    A formula of another shape is returned unchanged (a later pyfixest may write
    it differently; tests/test_determinism.py then shows whether order still drifts).
    """
    given = [fe.replace("^", "_") for fe in re.split(r"\s*\+\s*", fixed_effects.strip())]
    rank = {name: i for i, name in enumerate(dict.fromkeys(given))}
    body, minus, tail = encoded.rpartition(" - 1")
    if not minus or tail:
        return encoded
    terms = body.split(" + ")
    names = [t[len(_PREFIX):-len(_SUFFIX)] if t.startswith(_PREFIX) and t.endswith(_SUFFIX)
             else None for t in terms]
    if any(n not in rank for n in names):
        return encoded
    ordered = sorted(zip(names, terms, strict=True), key=lambda nt: rank[nt[0]])
    return " + ".join(t for _, t in ordered) + " - 1"


def _install() -> None:
    """Wrap pyfixest's encoder where the model matrix calls it (once per process)."""
    try:
        from pyfixest.estimation.formula import model_matrix
    except ImportError:  # another layout: nothing to wrap
        return
    original = getattr(model_matrix, "_encode_fixed_effects", None)
    if original is None or getattr(original, "_butfor_ordered", False):
        return

    def encode(fixed_effects: str, data):
        return in_given_order(original(fixed_effects=fixed_effects, data=data), fixed_effects)

    encode._butfor_ordered = True  # type: ignore[attr-defined]
    model_matrix._encode_fixed_effects = encode
