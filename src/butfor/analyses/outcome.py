"""The subject's outcome series on the case's scale, inside the case's window."""

from __future__ import annotations

import pandas as pd


def subject_outcome(case, panel) -> pd.Series:
    """The subject's outcome metric, windowed and transformed as the case says, by date."""
    from butfor.methods.panel_design import transform_outcome

    metric = case.outcome.metric
    subject = case.subject.unit
    series = panel.series(subject, metric)
    if case.window.start is not None:
        series = series[series.index >= pd.Timestamp(case.window.start)]
    if case.window.end is not None:
        series = series[series.index <= pd.Timestamp(case.window.end)]
    posts = None
    if case.outcome.transform == "per_post":
        posts = panel.series(subject, case.outcome.posts_metric).reindex(series.index)
    values = transform_outcome(series.to_numpy(dtype=float), case.outcome.transform,
                               None if posts is None else posts.to_numpy(dtype=float), metric)
    return pd.Series(values, index=series.index)
