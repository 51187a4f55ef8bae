"""The Panel: one row per (unit, date), one column per metric.

A Panel is the validated long table every method reads from. Its rules:

- ``unit`` is a string account id; ``date`` a calendar day (``datetime64[ns]``
  at midnight, no time zone); every other column of ``data`` is a float64
  metric where NaN means "missing".
- (unit, date) is unique.
- The grid is complete: every unit has a row for every period between the
  panel's first and last date, at the panel's own ``frequency`` (daily,
  weekly, monthly, quarterly or annual; see :mod:`butfor.frequency`), never a
  finer one. A period nobody reported is an explicit NaN row, never a
  silently absent one (the IngestReport counts those rows as filled).
- ``units`` holds one row per unit: ``unit``, ``display_name``, ``group`` and
  any other attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from butfor import frequency as freq
from butfor.errors import DataError
from butfor.frequency import Frequency
from butfor.ingest_report import IngestReport

KEY_COLUMNS = ("unit", "date")
UNIT_COLUMNS = ("unit", "display_name", "group")


@dataclass(frozen=True)
class Panel:
    """A validated long panel plus unit attributes. Build it with :meth:`from_frame`."""

    data: pd.DataFrame
    units: pd.DataFrame
    frequency: Frequency = "D"

    # -- construction ------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        units: pd.DataFrame | None = None,
        *,
        frequency: Frequency = "D",
        report: IngestReport | None = None,
        source: str = "<panel>",
    ) -> Panel:
        """Validate ``data`` (columns unit, date, metrics...) and complete its grid.

        Raises DataError on a duplicated (unit, date); the readers check for
        duplicates first and give a line-level message, so this is the backstop.
        """
        missing = [c for c in KEY_COLUMNS if c not in data.columns]
        if missing:
            raise DataError(f"{source}: the panel has no column {missing[0]!r}")
        frame = data.copy()
        frame["unit"] = frame["unit"].astype(str)
        frame["date"] = _days(frame["date"])
        metrics = [c for c in frame.columns if c not in KEY_COLUMNS]
        for m in metrics:
            if frame[m].dtype != np.float64:  # to_numeric would return a float column as it is
                frame[m] = pd.to_numeric(frame[m], errors="raise").astype("float64")
        dup = frame.duplicated(list(KEY_COLUMNS), keep=False)
        if dup.any():
            first = frame.loc[dup].iloc[0]
            raise DataError(
                f"{source}: unit {first['unit']!r} has more than one row for "
                f"{first['date']:%Y-%m-%d}; keep one row per unit and day"
            )
        if frequency not in freq.NAMES:
            raise DataError(f"{source}: frequency {frequency!r} is not one of "
                            f"{', '.join(freq.NAMES)}")
        frame = _complete_grid(frame, frequency, report)
        units = _normalise_units(units, frame["unit"].unique())
        return cls(frame.reset_index(drop=True), units, frequency)

    # -- shape -------------------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        return [c for c in self.data.columns if c not in KEY_COLUMNS]

    @property
    def unit_ids(self) -> list[str]:
        return list(self.units["unit"])

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(np.sort(self.data["date"].unique()))

    def groups(self) -> dict[str, list[str]]:
        """Units by group label (units without a group are left out)."""
        labelled = self.units.dropna(subset=["group"])
        return {g: list(u) for g, u in labelled.groupby("group", sort=True)["unit"]}

    # -- views -------------------------------------------------------------
    def wide(self, metric: str) -> pd.DataFrame:
        """Dates × units matrix of one metric (NaN where missing)."""
        self._check_metric(metric)
        table = self.data.pivot(index="date", columns="unit", values=metric)
        return table.reindex(columns=self.unit_ids)

    def series(self, unit: str, metric: str) -> pd.Series:
        """One unit's series, indexed by date."""
        self._check_metric(metric)
        self._check_unit(unit)
        rows = self.data[self.data["unit"] == unit]
        return rows.set_index("date")[metric].sort_index()

    def select_units(self, units: list[str]) -> Panel:
        for u in units:
            self._check_unit(u)
        keep = self.data["unit"].isin(units)
        return Panel(
            self.data[keep].reset_index(drop=True),
            self.units[self.units["unit"].isin(units)].reset_index(drop=True),
            self.frequency,
        )

    def with_metric(self, name: str, values: pd.Series) -> Panel:
        """A new panel with one more metric column (aligned on the row index)."""
        data = self.data.copy()
        data[name] = values.astype("float64").to_numpy()
        return Panel(data, self.units, self.frequency)

    def with_units(self, units: pd.DataFrame) -> Panel:
        return Panel(self.data, _normalise_units(units, self.data["unit"].unique()),
                     self.frequency)

    # -- checks ------------------------------------------------------------
    def _check_metric(self, metric: str) -> None:
        if metric not in self.metrics:
            raise DataError(
                f"the panel has no metric {metric!r}; choose one of {', '.join(self.metrics)}"
            )

    def _check_unit(self, unit: str) -> None:
        if unit not in set(self.units["unit"]):
            raise DataError(
                f"unit {unit!r} is not in the panel; use one of the units listed by 'butfor data'"
            )


# pandas' nanosecond timestamps reach from 1677-09-21 to 2262-04-11
_NS_RANGE = (np.datetime64("1677-09-22", "us"), np.datetime64("2262-04-10", "us"))


def _days(dates: pd.Series) -> pd.Series:
    """Dates as ``datetime64[ns]`` at midnight without a time zone.

    A naive column of ``datetime64[us]`` or ``[ns]`` well inside the nanosecond range
    (every reader's output) is floored to its day in numpy, which is what pandas'
    ``normalize`` does at about a tenth of the cost on a small frame; anything else
    takes pandas' own path (and its errors, such as a date the range cannot hold).
    """
    if dates.dtype in (np.dtype("datetime64[ns]"), np.dtype("datetime64[us]")):
        values = dates.to_numpy()
        present = values[~np.isnat(values)]
        if not len(present) or (present.min() >= _NS_RANGE[0] and present.max() <= _NS_RANGE[1]):
            day = values.astype("datetime64[D]").astype("datetime64[ns]")
            return pd.Series(day, index=dates.index, name=dates.name)
    parsed = pd.to_datetime(dates).dt.normalize()
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _complete_grid(
    frame: pd.DataFrame, frequency: Frequency, report: IngestReport | None
) -> pd.DataFrame:
    """Add an explicit NaN row for every (unit, period) with no data."""
    if frame.empty:
        return frame
    start, end = frame["date"].min(), frame["date"].max()
    dates = freq.grid(start, end, frequency)
    units = np.sort(frame["unit"].unique())
    if not frame["date"].isna().any():
        # the usual case, in numpy: each row's place on the grid (no index built)
        place = dates.get_indexer(pd.DatetimeIndex(frame["date"]))
        if (place >= 0).all():
            return _fill_grid(frame, units, dates, place, report)
    grid = pd.MultiIndex.from_product([units, dates], names=list(KEY_COLUMNS))
    indexed = frame.set_index(list(KEY_COLUMNS))
    off_grid = indexed.index.difference(grid)
    if len(off_grid):
        unit, date = off_grid[0]
        period = freq.PERIOD[frequency]
        where = (f"the weekly grid starting {start:%Y-%m-%d}" if frequency == "W" else
                 f"the {freq.NAMES[frequency]} grid (the first day of each {period})"
                 if frequency in ("M", "Q", "Y") else "the daily grid")
        raise DataError(
            f"unit {unit!r} has a row for {date:%Y-%m-%d}, which is off {where}; "
            f"aggregate the data to one row per {period}, or state another frequency"
        )
    completed = indexed.reindex(grid)
    filled = len(completed) - len(indexed)
    if report is not None:
        report.cells_filled += filled
    return completed.reset_index()


def _fill_grid(frame: pd.DataFrame, units, dates: pd.DatetimeIndex, place: np.ndarray,
               report: IngestReport | None) -> pd.DataFrame:
    """The grid units x dates with each row of ``frame`` (unique, all on the grid) in place.

    The same frame as ``set_index(...).reindex(grid).reset_index()``: rows by unit, then
    date; NaN in every metric where no row was.
    """
    n_dates = len(dates)
    code = np.searchsorted(np.asarray(units, dtype=object),
                           frame["unit"].to_numpy(dtype=object))
    at = code * n_dates + place
    size = len(units) * n_dates
    columns: dict[str, object] = {
        "unit": pd.array(np.repeat(np.asarray(units, dtype=object), n_dates),
                         dtype=frame["unit"].dtype),
        "date": np.tile(dates.to_numpy(), len(units)),
    }
    for name in frame.columns:
        if name in KEY_COLUMNS:
            continue
        values = frame[name].to_numpy(dtype="float64")
        full = np.full(size, np.nan)
        full[at] = values
        columns[name] = full
    if report is not None:
        report.cells_filled += size - len(frame)
    return pd.DataFrame(columns)


def _normalise_units(units: pd.DataFrame | None, present: np.ndarray) -> pd.DataFrame:
    """One row per unit present in the data, with display_name and group columns."""
    base = pd.DataFrame({"unit": np.sort(present.astype(str))})
    if units is None or units.empty:
        base["display_name"] = base["unit"]
        base["group"] = pd.Series([None] * len(base), dtype="object")
        return base
    attrs = units.copy()
    attrs["unit"] = attrs["unit"].astype(str)
    attrs = attrs.drop_duplicates("unit", keep="last")
    place = pd.Index(attrs["unit"]).get_indexer(base["unit"])
    if len(attrs) == len(base) and (place >= 0).all():
        # the usual case, each unit present in both: the left merge is a reordering
        merged = attrs.iloc[place][["unit", *[c for c in attrs.columns if c != "unit"]]]
        merged = merged.reset_index(drop=True)
    else:
        merged = base.merge(attrs, on="unit", how="left")
    if "display_name" not in merged:
        merged["display_name"] = merged["unit"]
    merged["display_name"] = merged["display_name"].fillna(merged["unit"])
    if "group" not in merged:
        merged["group"] = None
    merged["group"] = merged["group"].astype("object").where(merged["group"].notna(), None)
    ordered = [*UNIT_COLUMNS, *[c for c in merged.columns if c not in UNIT_COLUMNS]]
    return merged[ordered]
