"""butfor: but for a platform change, what would this account's reach,
engagement and income have been, and what is the difference worth?

In a notebook::

    import butfor
    run = butfor.run("case.toml")
    run.verdicts()

``load_case``, ``ingest``, ``run`` (see :mod:`butfor.api`) and the estimators
(``StructuralTimeSeries``, ``SyntheticControl``, ``SyntheticDiD``, ``PrePost``,
``EventStudy``, ``GroupDisproportion``, ``SunAbraham``, ``ChangePoint``,
``ChangeAttribution``, ``PrePostComparison``, ``PeerEffects``, ``BeforeAfter``) are
imported on first use, so that ``import butfor`` (and so the command line) starts fast.
"""

import sys
import types

from butfor.errors import ButforError, ButforWarning

__version__ = "0.1.0"

# name -> module that defines it, imported when the name is first used
_LAZY = {
    "load_case": "butfor.api",
    "ingest": "butfor.api",
    "run": "butfor.api",
    "CaseRun": "butfor.api",
    "Ingested": "butfor.api",
    "StructuralTimeSeries": "butfor.methods.sts",
    "SyntheticControl": "butfor.methods.synth",
    "SyntheticDiD": "butfor.methods.sdid",
    "PrePost": "butfor.methods.event_study",
    "EventStudy": "butfor.methods.event_study",
    "GroupDisproportion": "butfor.methods.event_study",
    "SunAbraham": "butfor.methods.sun_abraham",
    "ChangePoint": "butfor.methods.changepoint",
    "ChangeAttribution": "butfor.methods.attribution",
    "PrePostComparison": "butfor.methods.prepost",
    "PeerEffects": "butfor.methods.peer_effects",
    "BeforeAfter": "butfor.methods.before_after",
}

__all__ = ["ButforError", "ButforWarning", "__version__", *_LAZY]


class _Package(types.ModuleType):
    """The package module, which keeps ``butfor.ingest`` the API function.

    Importing the submodule ``butfor.ingest`` makes Python set the package's
    attribute of that name to the submodule; the notebook API's ``ingest``
    function must win, so that attribute is not overwritten by a module.
    (``from butfor.ingest import ...`` reads ``sys.modules`` and still works.)
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_API = {"ingest", "run", "load_case"}
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'butfor' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
