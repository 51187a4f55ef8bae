"""The damages arithmetic: pure functions over numpy arrays, each checked by hand in the tests.

Shapes: a quantity per draw and date is (n_draws, n_dates); a per-draw figure
(a rate, an elasticity, a cost ratio) is (n_draws,). Conventions are stated in
:mod:`butfor.damages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from butfor.errors import DataError

DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12

Distribution = Literal["triangular", "uniform"]
Convention = Literal["daily", "end_of_year", "mid_year"]
PastLosses = Literal["nominal", "compounded"]
InterestKind = Literal["none", "simple", "compound"]


def lost_quantity(observed: np.ndarray, counterfactual_draws: np.ndarray) -> np.ndarray:
    """Counterfactual − observed, shape (n_draws, n_dates); NaN where either is missing."""
    observed = np.asarray(observed, dtype=float)
    draws = np.atleast_2d(np.asarray(counterfactual_draws, dtype=float))
    if draws.shape[1] != observed.shape[0]:
        raise DataError(
            f"counterfactual draws cover {draws.shape[1]} dates but the observed series "
            f"{observed.shape[0]}; the draws must be the post period only"
        )
    return draws - observed[None, :]


def draw_values(rng: np.random.Generator, central: float, bounds: tuple[float, float] | None,
                distribution: Distribution, n: int) -> np.ndarray:
    """``n`` draws of an uncertain price: triangular(low, central, high) or uniform(low, high).

    Without bounds the price is certain and every draw is ``central``. The
    generator is used only when there are bounds.
    """
    if bounds is None:
        return np.full(n, float(central))
    low, high = float(bounds[0]), float(bounds[1])
    if low == high:
        return np.full(n, low)
    if distribution == "triangular":
        return rng.triangular(low, float(central), high, size=n)
    if distribution == "uniform":
        return rng.uniform(low, high, size=n)
    raise ValueError(f"unknown distribution {distribution!r}")


def price_cpm(lost: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Dollars per date: lost impressions (n_draws, n_dates) × rate per thousand (n_draws,)."""
    rate = np.asarray(rate, dtype=float)
    return np.asarray(lost, dtype=float) * (rate[..., None] if rate.ndim else rate) / 1000.0


def price_rate_card(lost: np.ndarray, dollars_per_thousand: np.ndarray | float,
                    posts_per_month: float, step_days: int | np.ndarray = 1) -> np.ndarray:
    """Dollars per date from a rate card.

    A post is priced ``dollars_per_thousand`` × metric / 1000, so a gap of
    ``lost`` in the metric costs lost × dollars_per_thousand / 1000 per post;
    posts per day are posts_per_month × 12 / 365, and a date stands for
    ``step_days`` days (one number, or one per date: a month's own 28 to 31).
    """
    rate = np.asarray(dollars_per_thousand, dtype=float)
    rate = rate[..., None] if rate.ndim else rate
    posts_per_day = posts_per_month * MONTHS_PER_YEAR / DAYS_PER_YEAR
    return np.asarray(lost, dtype=float) * rate / 1000.0 * posts_per_day * step_days


def anchor_amount(amounts: np.ndarray, n_last: int,
                  days: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Mean of each draw's last ``n_last`` dates that have a value; returns (anchor, dates used).

    Dates with NaN are skipped; a draw with no value in the window has anchor 0.
    With ``days`` (the days each date stands for) the anchor is per day: the
    window's total over its days, so months of 28 and 31 days weigh as they should.
    """
    amounts = np.atleast_2d(np.asarray(amounts, dtype=float))
    k = max(int(n_last), 1)
    window = amounts[:, -k:]
    ok = ~np.isnan(window)
    count = ok.sum(axis=1)
    total = np.where(ok, window, 0.0).sum(axis=1)
    if days is not None:
        count = np.where(ok, np.asarray(days, dtype=float)[-k:][None, :], 0.0).sum(axis=1)
    anchor = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return anchor, int(ok.sum(axis=1).max(initial=0))


def persistence_factors(kind: str, n_steps: int, step_days: int = 1,
                        half_life_days: float | None = None) -> np.ndarray:
    """Share of the anchor lost h steps after the data ends, h = 1..n_steps."""
    if kind == "none":
        return np.zeros(0)
    h = np.arange(1, n_steps + 1, dtype=float)
    if kind == "constant":
        return np.ones(n_steps)
    if kind == "half_life":
        if half_life_days is None or half_life_days <= 0:
            raise ValueError("a half-life persistence needs half_life_days > 0")
        return 0.5 ** (h * step_days / half_life_days)
    raise ValueError(f"unknown persistence {kind!r}")


def discount_factors(days: np.ndarray, rate: float, convention: Convention = "daily",
                     past: PastLosses = "nominal") -> np.ndarray:
    """Present-value factor for cash flows ``days`` after the valuation date (negative: before)."""
    days = np.asarray(days, dtype=float)
    growth = 1.0 + float(rate)
    ahead = np.maximum(days, 0.0)
    if convention == "daily":
        exponent = ahead / DAYS_PER_YEAR
    elif convention == "end_of_year":
        exponent = np.ceil(ahead / DAYS_PER_YEAR)
    elif convention == "mid_year":
        exponent = np.maximum(np.ceil(ahead / DAYS_PER_YEAR) - 0.5, 0.0)
    else:
        raise ValueError(f"unknown discounting convention {convention!r}")
    factor = np.where(days > 0, growth ** -exponent, 1.0)
    if past == "compounded":
        factor = np.where(days < 0, growth ** (-days / DAYS_PER_YEAR), factor)
    elif past != "nominal":
        raise ValueError(f"unknown treatment of past losses {past!r}")
    return factor


def contract_cashflows(term_days: int | Sequence[int], terms: int,
                       schedule: Literal["spread", "start"]) -> tuple[np.ndarray, ...]:
    """Cash flows of one unit of value per term: (day offset from start, term index, share).

    ``term_days`` is every term's length, or one length per term (calendar
    terms: a year of 365 or 366 days, months of 28 to 31).
    """
    lengths = np.broadcast_to(np.asarray(term_days, dtype=int), (terms,))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if schedule == "spread":
        term = np.repeat(np.arange(terms), lengths)
        offsets = np.arange(int(lengths.sum()))
        return offsets, term, 1.0 / lengths[term]
    if schedule == "start":
        return starts, np.arange(terms), np.ones(terms)
    raise ValueError(f"unknown contract schedule {schedule!r}")


def renewal_chain(rng: np.random.Generator, probability: float, terms: int,
                  n: int) -> np.ndarray:
    """(n, terms) of 0/1: term k is lost only if terms 1..k all would have gone ahead."""
    if probability >= 1:
        return np.ones((n, terms))
    if probability <= 0:
        return np.zeros((n, terms))
    go = rng.random((n, terms)) < probability
    return np.cumprod(go, axis=1).astype(float)


def draw_indices(n_in: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices that spread ``n`` damages draws evenly over ``n_in`` effect draws.

    Each effect draw is used n // n_in times, and n % n_in of them (chosen at
    random, without replacement) once more; the order is then shuffled. With
    n < n_in this is a sample without replacement. So a placebo distribution
    of 20 draws is represented exactly in 4000 damages draws, not resampled.
    """
    idx = np.concatenate([np.tile(np.arange(n_in), n // n_in),
                          rng.choice(n_in, n % n_in, replace=False)])
    return rng.permutation(idx)


def lost_at_elasticity(observed: np.ndarray, counterfactual_draws: np.ndarray,
                       elasticity: np.ndarray | float) -> np.ndarray:
    """The reach lost, in fee-equivalent units, when fees scale as reach^elasticity.

    A fee quoted at the counterfactual reach c is worth c × (x / c)^e at the
    observed reach x, so the lost fee-equivalent reach is c × (1 − (x / c)^e);
    e = 1 gives c − x exactly. Where c ≤ 0 or x < 0 the ratio means nothing and
    the loss is taken as c − x. Shape (n_draws, n_dates); ``elasticity`` per draw.
    """
    lost = lost_quantity(observed, counterfactual_draws)
    e = np.asarray(elasticity, dtype=float)
    if np.all(e == 1.0):
        return lost
    cf = np.atleast_2d(np.asarray(counterfactual_draws, dtype=float))
    x = np.broadcast_to(np.asarray(observed, dtype=float)[None, :], cf.shape)
    ok = (cf > 0) & (x >= 0)
    ratio = np.divide(x, cf, out=np.ones_like(cf), where=ok)
    e2 = e[:, None] if e.ndim else e
    scaled = cf * (1.0 - ratio ** e2)
    return np.where(ok, scaled, lost)


def interest_factors(days_before: np.ndarray, rate: float,
                     kind: InterestKind = "compound") -> np.ndarray:
    """Growth of a loss ``days_before`` the valuation date (≤ 0: none) by prejudgment interest.

    simple: 1 + rate × d / 365; compound: (1 + rate)^(d / 365); none: 1.
    """
    d = np.maximum(np.asarray(days_before, dtype=float), 0.0)
    if kind == "none" or rate == 0:
        return np.ones_like(d)
    if kind == "simple":
        return 1.0 + float(rate) * d / DAYS_PER_YEAR
    if kind == "compound":
        return (1.0 + float(rate)) ** (d / DAYS_PER_YEAR)
    raise ValueError(f"unknown interest {kind!r}")


def value_factors(days: np.ndarray, discount_rate: float, convention: Convention = "daily",
                  past: PastLosses = "nominal", interest: InterestKind = "none",
                  interest_rate: float = 0.0) -> np.ndarray:
    """Factor bringing a cash flow ``days`` after the valuation date to that date.

    After it: discounted at ``discount_rate`` (:func:`discount_factors`).
    Before it: at face value, or with prejudgment interest
    (:func:`interest_factors`), or compounded at the discount rate
    (``past = "compounded"``, kept for older case files).
    """
    days = np.asarray(days, dtype=float)
    factor = discount_factors(days, discount_rate, convention, past)
    if interest != "none":
        factor = np.where(days < 0, interest_factors(-days, interest_rate, interest), factor)
    return factor
