"""``.summary()`` and ``.plot()`` on every result, drawn outside the methods.

A result class inherits :class:`Displayable`; the table and the figure are made
by :mod:`butfor.notebook`, so no method module formats tables or imports
matplotlib.
"""

from __future__ import annotations

from typing import Any

_registered = False


def _notebook():
    global _registered
    from butfor import notebook

    if not _registered:
        notebook.register_all()
        _registered = True
    return notebook


class Displayable:
    """Mixin: ``summary()`` gives a pandas DataFrame, ``plot()`` a matplotlib Figure."""

    __slots__ = ()

    def summary(self) -> Any:
        """The result's main figures as a pandas DataFrame."""
        return _notebook().summary(self)

    def plot(self) -> Any:
        """The result as a matplotlib Figure (``fig.savefig(path)`` to keep it)."""
        return _notebook().plot(self)
