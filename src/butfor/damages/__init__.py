"""Damages: lost reach priced as lost profit, projected past the data, valued, mitigated.

The structure is that of lost profits: what the account would have earned but
for the event, minus what it did earn, carried past the data under a stated
persistence, brought to present value at a stated date, less income found
elsewhere. Every step works draw by draw, so the uncertainty of the
counterfactual (a posterior, a bootstrap or a placebo distribution) and of the
prices carries into the dollars.

Conventions (the report repeats them):

- **Lost quantity** = counterfactual − observed on each post-period date, for
  each counterfactual draw. A negative loss (the account did better than its
  counterfactual) is kept, not clipped, so damages can be negative and their
  distribution is not pushed upwards. A date with no observed value adds
  nothing (a warning says how many).
- **Cost per thousand (CPM)**: dollars = lost impressions (or views) × rate / 1000.
- **Frequency**: a date stands for its period: a day, a week (seven days from
  it), or a month, quarter or year from its first day, with the calendar's own
  days (February 2021: 28). A flow metric of a coarser panel (impressions) is
  its total over the period, a level (followers) its average. The data end is
  the last day the data cover (the last month's last day).
- **Rate card**: a sponsored post is priced dollars_per_thousand × metric /
  1000 (followers, or engagements per post); a month is 365/12 days, so a
  date that stands for ``step_days`` days (a month's own 28 to 31) loses
  lost × dollars_per_thousand / 1000 × posts_per_month × 12 / 365 × step_days.
- **Uncertain prices**: a rate (or contract value) with a low and a high is
  drawn once per damages draw, triangular(low, stated, high) or
  uniform(low, high), and the same draw is used on every date and in every
  persistence scenario (scenarios are compared draw for draw).
- **Contracts**: term k of a contract (k = 1..terms) is lost only if it would
  have gone ahead: one Bernoulli(renewal_probability) per term per draw,
  chained, so term k is lost with probability p^k. A term pays its value
  evenly day by day over ``term_days`` ("spread") or in full on its first day
  ("start"); ``term`` in words ("1 year") follows the calendar. Contracts are
  stated, not projected: they are the same in every persistence scenario.
- **Projection**: the *anchor* is the lost dollars per day over the last
  dates of data (dates with an observation only): the whole periods within
  ``anchor_days``, or ``anchor`` ("3 months") in the series' own periods. Day
  h after the data end (h = 1 .. the horizon in days) loses
  anchor × 0.5^(h / half_life_days) ("half_life") or the anchor itself
  ("constant"), discounted day by day; "none" stops at the end of the data. A
  horizon in words ("12 months") runs to the same date that much later (365
  or 366 days); a half-life in words is its nominal days (a month: 365.25 / 12).
- **Discounting** at annual rate r to the valuation date (default: the last
  date of the data). A cash flow d days after it is divided by
  (1 + r)^(d / 365) ("daily"), (1 + r)^ceil(d / 365) ("end_of_year": every
  amount in year k is discounted k whole years) or (1 + r)^(ceil(d / 365) − ½)
  ("mid_year"). Amounts on or before the valuation date count at face value
  ("nominal"), or grow by (1 + r)^(days before / 365) ("compounded", interest
  on past losses at the same rate).
- **Fees versus reach**: a fee quoted at the counterfactual reach c is worth
  c × (x / c)^e at reach x, so the lost fee-equivalent reach is
  c × (1 − (x / c)^e); the elasticity e defaults to 1 (proportional), stated
  as an assumption.
- **Lost profit** = lost revenue × (1 − cost ratio): the avoided incremental
  costs (production, agency fees) are a stated share of revenue per income
  stream, drawn per draw when given a range.
- **Prejudgment interest** (``[damages.interest]``) on amounts dated before
  the valuation date, d days before it: × (1 + r × d / 365) ("simple") or
  × (1 + r)^(d / 365) ("compound"), at its own rate r.
- **Mitigation**: income found elsewhere, subtracted draw by draw: dated
  amounts spread evenly over their days, or an off-platform series' rise
  above its pre-event mean priced per thousand; each is valued to the
  valuation date like the losses and counts only within a scenario's horizon.
  A single ``mitigation = x`` is in dollars at the valuation date.
- **Headline**: the scenario the case names (``headline``), else the central
  one (median of the scenarios' medians; the lower middle one for an even
  number), never simply the first listed.
- **Horizon**: a projection longer than ``horizon_warning_multiple`` times
  the post-event data warns; one past ``horizon_ceiling_days`` is refused
  unless the scenario gives an ``override_reason``.

Modules: :mod:`.arithmetic` (pure functions over numpy arrays, each checked by
hand in the tests), :mod:`.pricing` (:func:`damages_from_case`: the case's
``[damages]`` section and the effect paths to a frozen :class:`DamagesResult`),
:mod:`.profits` (mitigation, the assumptions and their sources),
:mod:`.projection` (horizon bounds, the headline rule), :mod:`.result`.
"""

from __future__ import annotations

from butfor.damages.arithmetic import (
    DAYS_PER_YEAR,
    MONTHS_PER_YEAR,
    anchor_amount,
    contract_cashflows,
    discount_factors,
    draw_indices,
    draw_values,
    interest_factors,
    lost_at_elasticity,
    lost_quantity,
    persistence_factors,
    price_cpm,
    price_rate_card,
    renewal_chain,
    value_factors,
)
from butfor.damages.pricing import DEFAULT_DRAWS, damages_from_case
from butfor.damages.profits import MitigationSeries
from butfor.damages.result import QUANTILES, ComponentDamages, DamagesResult, ScenarioDamages

__all__ = [
    "DAYS_PER_YEAR", "DEFAULT_DRAWS", "MONTHS_PER_YEAR", "QUANTILES", "ComponentDamages",
    "DamagesResult", "MitigationSeries", "ScenarioDamages", "anchor_amount",
    "contract_cashflows", "damages_from_case", "discount_factors", "draw_indices",
    "draw_values", "interest_factors", "lost_at_elasticity", "lost_quantity",
    "persistence_factors", "price_cpm", "price_rate_card", "renewal_chain", "value_factors",
]
