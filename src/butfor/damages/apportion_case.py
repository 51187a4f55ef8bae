"""The apportionment of a run: the model fed from the panel, its shares applied to the damages.

Each event's share of the loss (and the targeted share) comes from
:class:`~butfor.damages.apportionment.StepRegression` on the subject's
outcome over the priced dates; the share is applied draw by draw to the
damages of every scenario (the split of the outcome metric stands for every
income stream: stated in the exhibit). The model's draws are spread over the
damages draws as effect draws are (:func:`~butfor.damages.arithmetic.draw_indices`).
"""

from __future__ import annotations

import numpy as np

from butfor.damages.apportionment import StepFit, StepRegression
from butfor.damages.arithmetic import draw_indices
from butfor.damages.pricing import excluded_dates
from butfor.damages.result import DamagesResult, ScenarioDamages, brief
from butfor.errors import DataError

MODEL = ("one regression of log(1 + outcome) on its off-platform controls, a trend, weekday "
         "effects and a step per event (ramped over its first week), over the whole data; "
         "the peers' mean fitted the same way gives the part they shared")


def _own_controls(case, panel) -> np.ndarray:
    """(n_dates, k): the subject's control series in their own units (none: k = 0)."""
    metric = case.controls.metric
    if metric is None or metric == case.outcome.metric:
        return np.zeros((len(panel.dates), 0))
    table = panel.wide(metric)
    units = list(case.controls.units) or [case.subject.unit]
    cols = [table[u].to_numpy(dtype=float) for u in units if u in table]
    return np.column_stack(cols) if cols else np.zeros((len(panel.dates), 0))


def _peer_controls(case, panel, peers: list[str], k: int) -> np.ndarray:
    """(n_dates, k): the peers' mean log(1 + control), when their own controls are the metric."""
    metric = case.controls.metric
    if k == 0 or case.controls.units or metric is None:
        return np.zeros((len(panel.dates), 0 if k == 0 else k))
    values = panel.wide(metric)[peers].to_numpy(dtype=float)
    return np.repeat(np.nanmean(np.log1p(values), axis=1)[:, None], k, axis=1)


def fit_for_case(case, panel, events: list, d, seed: int) -> StepFit:
    from butfor.analyses.case_inputs import peer_units

    subject = case.subject.unit
    dates = np.asarray(panel.dates.values).astype("datetime64[D]")
    y = panel.wide(case.outcome.metric)[subject].to_numpy(dtype=float)
    own = _own_controls(case, panel)
    try:
        peers = peer_units(case, panel)
    except DataError:
        peers = []
    peer_y = peer_c = None
    if peers:
        peer_y = np.nanmean(np.log1p(panel.wide(case.outcome.metric)[peers].to_numpy(float)),
                            axis=1)
        peer_c = _peer_controls(case, panel, peers, own.shape[1])
    priced = (dates >= np.datetime64(events[0].date, "D")) & ~excluded_dates(dates, d)
    return StepRegression(seed=seed).fit(dates, y, own, [(e.name, e.date) for e in events],
                                         peer_outcome=peer_y, peer_controls=peer_c,
                                         priced=priced)


def apportion(case, panel, result: DamagesResult, events: list, amounts: tuple[float, ...],
              seed: int) -> dict | None:
    """The apportionment table and, per event, the headline damages the claims read."""
    d = case.damages
    try:
        fit = fit_for_case(case, panel, events, d, seed)
    except DataError as err:
        return {"left_out": str(err)}
    head = result.primary
    n = head.draws.size
    idx = draw_indices(fit.shares().shape[0], n, np.random.default_rng(seed + 21))
    shares = np.nan_to_num(fit.shares(), nan=0.0)[idx]  # (n, n_events)
    rows = []
    by_event = {}
    for k, e in enumerate(events):
        part = head.draws * shares[:, k]
        rows.append({"name": e.name, "date": str(e.date), "shift": brief(fit.shifts[:, k]),
                     "loss_share": brief(fit.shares()[:, k]),
                     "lost_quantity": brief(fit.event_loss[:, k]), "damages": brief(part)})
        part_scenario = ScenarioDamages(name=f"{head.name}: {e.name}'s part",
                                        persistence=head.persistence, draws=part,
                                        components=(), mitigation_draws=np.zeros(n),
                                        amount_claimed=head.amount_claimed)
        summary = part_scenario.to_dict(amounts=amounts)
        for key in ("components", "streams", "histogram", "revenue_lost", "avoided_costs",
                    "profit_lost", "mitigation_range"):
            summary.pop(key, None)
        by_event[e.name] = summary
    targeted = None
    share_t = fit.targeted_share()
    if share_t is not None:
        t = head.draws * np.nan_to_num(share_t, nan=0.0)[idx]
        targeted = {"loss_share": brief(share_t), "lost_quantity": brief(fit.targeted_loss),
                    "damages": brief(t), "platform_wide_damages": brief(head.draws - t),
                    "platform_wide_lost_quantity": brief(fit.total_loss - fit.targeted_loss)}
    return {"model": MODEL, "metric": case.outcome.metric, "scenario": head.name,
            "ramp_days": fit.ramp_days, "block_days": fit.block_days,
            "n_draws": int(fit.shifts.shape[0]), "total_lost_quantity": brief(fit.total_loss),
            "events": rows, "targeted": targeted, "by_event": by_event,
            "excluded": [p.model_dump(mode="json") for p in d.exclude]}
