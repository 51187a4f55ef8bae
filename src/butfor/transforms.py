"""The scale a series is analysed on: one set of transforms for outcomes and covariates.

``none``        the values as they are;
``log``         the natural log; a zero or negative value is refused (its log does
                not exist, and dropping those days would quietly change the sample);
``log1p``       log(1 + x), for counts with zeros; negative values are refused;
``per_post``    divided by the posts metric; a day without posts is missing;
``pct_change``  growth on the previous period of the same unit, as a fraction;
                the first period and the period after a gap are missing.

A difference on the ``log`` or ``log1p`` scale is a relative change
(``exp(b) - 1``); on the others it is in the series' own units.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from butfor.errors import DataError

Transform = Literal["none", "log", "log1p", "per_post", "pct_change"]
TRANSFORMS: tuple[str, ...] = get_args(Transform)
LOG_SCALES = ("log", "log1p")


def is_log(transform: str) -> bool:
    """Whether differences on this scale are log points (a relative change)."""
    return transform in LOG_SCALES


def label(name: str, transform: str, posts_metric: str = "posts") -> str:
    """How the transformed series is named in results: ``log(posts)``, ``views per posts``."""
    if transform in ("log", "log1p"):
        return f"{transform}({name})"
    if transform == "per_post":
        return f"{name} per {posts_metric}"
    if transform == "pct_change":
        return f"period-on-period change in {name}"
    return name


def apply(values: np.ndarray, transform: str, *, posts: np.ndarray | None = None,
          name: str = "outcome", key: str = "[outcome] transform") -> np.ndarray:
    """One series (in date order) on the transform's scale.

    ``key`` is the case-file key that chose the transform; a refusal names it
    with the fix. For a panel, ``pct_change`` goes unit by unit: use
    :func:`panel_growth`.
    """
    y = np.asarray(values, dtype=float)
    if transform == "none":
        return y
    if transform == "log":
        bad = np.isfinite(y) & (y <= 0)
        if bad.any():
            raise DataError(
                f"{name} is zero or negative in {int(bad.sum())} of {int(np.isfinite(y).sum())} "
                f"observations, so its log cannot be taken ({key} = \"log\"); set it to "
                "\"log1p\", or leave those observations out of the data")
        return np.log(y)
    if transform == "log1p":
        if np.nanmin(y, initial=0.0) < 0:
            raise DataError(f"{name} has negative values, so log1p cannot be taken "
                            f"({key} = \"log1p\"); set it to \"none\"")
        return np.log1p(y)
    if transform == "pct_change":
        out = np.full(y.shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = np.where(y[:-1] > 0, y[1:] / y[:-1] - 1.0, np.nan)
        return out
    if transform == "per_post":
        if posts is None:
            raise DataError(f"{key} = \"per_post\" needs a posts metric in the panel; "
                            "name it with [outcome] posts_metric")
        posts = np.asarray(posts, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(posts > 0, y / posts, np.nan)
    raise DataError(f"unknown transform {transform!r} ({key}); use one of "
                    f"{', '.join(TRANSFORMS)}")


def back(z: np.ndarray, transform: str, posts: np.ndarray | None = None) -> np.ndarray:
    """The inverse of :func:`apply` (growth stays on its own scale; counts are not clipped)."""
    z = np.asarray(z, dtype=float)
    if transform in ("none", "pct_change"):
        return z
    if transform == "log":
        return np.exp(z)
    if transform == "log1p":
        return np.expm1(z)
    return z * np.asarray(posts, dtype=float)


def panel_growth(values: np.ndarray, unit_code: np.ndarray, time_code: np.ndarray,
                 n_units: int, n_times: int) -> np.ndarray:
    """Period-on-period growth of each unit's series (NaN on its first period and after a gap)."""
    grid = np.full((n_units, n_times), np.nan)
    grid[unit_code, time_code] = values
    growth = np.full_like(grid, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth[:, 1:] = np.where(grid[:, :-1] > 0, grid[:, 1:] / grid[:, :-1] - 1.0, np.nan)
    return growth[unit_code, time_code]


def apply_panel(values: np.ndarray, transform: str, *, unit_code: np.ndarray,
                time_code: np.ndarray, n_units: int, n_times: int,
                posts: np.ndarray | None = None, name: str = "outcome",
                key: str = "[outcome] transform") -> np.ndarray:
    """Rows of a long panel (coded units and periods) on the transform's scale."""
    if transform == "pct_change":
        return panel_growth(np.asarray(values, dtype=float), unit_code, time_code, n_units,
                            n_times)
    return apply(values, transform, posts=posts, name=name, key=key)
