"""The synthetic control's nested optimisation: donor weights W for a given V, and the V search.

Pure numpy kernels batched over units (the subject, or every placebo at once);
:mod:`butfor.methods.synth` calls them from its fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from butfor.errors import EstimationError
from butfor.methods._simplex import simplex_lsq_batch, simplex_lsq_eq

if TYPE_CHECKING:  # annotations only: synth imports this module
    from butfor.methods.synth import SyntheticControl

def predictor_fit(est: SyntheticControl, X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray,
                   Z0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """V and W for a batch of units with predictors; v rows are NaN where V is moot."""
    U, K, J = X0.shape
    v = np.full((U, K), np.nan)
    w = np.zeros((U, J))
    loss = np.zeros(U)
    search: list[dict[str, Any]] = [{} for _ in range(U)]
    inside, matching = inside_hull(X1, X0)
    if inside.any():
        # every V matches the predictors exactly, so W(V) is not unique: take the
        # exact match that best fits the pre-period outcomes
        w[inside], loss[inside] = exact_match_weights(X1[inside], X0[inside], Z1[inside],
                                                       Z0[inside], matching[inside])
        for u in np.flatnonzero(inside):
            search[u] = {"variant": "inside the donors' range: every V matches the predictors "
                         "exactly, so W is the exact match that best fits the pre-period "
                         "outcomes", "loss": float(loss[u])}
    out = ~inside
    if not out.any():
        return v, w, loss, search
    a, b, c, d = X1[out], X0[out], Z1[out], Z0[out]
    idx = np.flatnonzero(out)
    if isinstance(est.v, str) and est.v == "search":
        res = search_v(a, b, c, d, rng=np.random.default_rng(est.seed),
                       n_random=est.n_random_starts, v_floor=est.v_floor,
                       grid_size=est.grid_size, n_polish=est.n_polish, step_tol=est.step_tol,
                       max_rounds=est.max_rounds)
        v[out], w[out], loss[out] = res.v, res.w, res.loss
        for i, u in enumerate(idx):
            search[u] = {"variant": "nested V search", **res.info(i)}
        return v, w, loss, search
    if isinstance(est.v, str) and est.v == "equal":
        vv = np.full(a.shape, 1.0 / K)
    elif isinstance(est.v, str):
        vv = np.stack([regression_v(a[i], b[i], c[i], d[i]) for i in range(idx.size)])
    else:
        given = np.asarray(est.v, dtype=float)
        if given.shape != (K,) or (given < 0).any() or given.sum() <= 0:
            raise EstimationError(f"'v' needs {K} non-negative predictor weights, not all zero")
        vv = np.tile(given / given.sum(), (idx.size, 1))
    v[out] = vv
    w[out], loss[out] = solve_w(vv, a, b, c, d)
    for u in idx:
        search[u] = {"variant": f"V {est.v if isinstance(est.v, str) else 'given'}"}
    return v, w, loss, search


def clean_weights(w: np.ndarray) -> np.ndarray:
    w = np.where(w < 1e-12, 0.0, w)
    return w / w.sum()


def scaled_predictors(X: np.ndarray, t_idx: np.ndarray, d_idx: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each predictor row divided by its sd across the fit's units (treated and donors)."""
    X1 = X[:, t_idx].T  # (U, K)
    X0 = np.transpose(X[:, d_idx], (1, 0, 2))  # (U, K, J)
    both = np.concatenate([X1[:, :, None], X0], axis=2)
    sd = both.std(axis=2, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return X1 / sd, X0 / sd[:, :, None]


def inside_hull(X1: np.ndarray, X0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(U,) bool: the treated unit's predictors are a convex combination of the donors'.

    Then every V with positive weights gives an exact match, and the nested
    problem cannot choose among the matches. Also returns the matching
    weights (U, J), a feasible start for :func:`exact_match_weights`.
    """
    w, _ = simplex_lsq_batch(X0, X1)
    resid = np.einsum("ukj,uj->uk", X0, w) - X1
    return np.sum(resid**2, axis=1) <= 1e-12 * (1.0 + np.sum(X1**2, axis=1)), w


def exact_match_weights(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray,
                         start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Among weights that match the predictors exactly, the best pre-period fit."""
    w = np.stack([simplex_lsq_eq(Z0[u], Z1[u], X0[u], X1[u], start[u])
                  for u in range(X1.shape[0])])
    resid = Z1 - np.einsum("utj,uj->ut", Z0, w)
    return w, np.mean(resid**2, axis=1)


def regression_v(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray) -> np.ndarray:
    """Synth's regression-based V: squared coefficients of the outcomes on the predictors.

    Each pre-period outcome is regressed across units on an intercept and the
    (scaled) predictors; a predictor's weight is the sum over periods of its
    squared coefficient, normalised to sum to one.
    """
    Xu = np.column_stack([np.ones(X0.shape[1] + 1), np.column_stack([X1[:, None], X0]).T])
    Zu = np.column_stack([Z1[:, None], Z0]).T  # (units, T0)
    beta = np.linalg.lstsq(Xu, Zu, rcond=None)[0][1:]  # (K, T0)
    v = (beta**2).sum(axis=1)
    return v / v.sum() if v.sum() > 0 else np.full(v.size, 1.0 / v.size)


def solve_w(v: np.ndarray, X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray,
             w0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inner problem for a batch of (V, unit) pairs: W(V) and its pre-period loss."""
    sv = np.sqrt(v / v.max(axis=1, keepdims=True))
    w, ok = simplex_lsq_batch(sv[:, :, None] * X0, sv * X1, x0=w0)
    if not ok.all():
        raise EstimationError("the donor weights did not converge for some predictor weights; "
                              "the donors may be degenerate (duplicated or constant units)")
    resid = Z1 - np.einsum("utj,uj->ut", Z0, w)
    return w, np.mean(resid**2, axis=1)


# ---------------------------------------------------------------------------
# the V search (pure numpy kernel, batched over units)
@dataclass(frozen=True)
class VSearchResult:
    v: np.ndarray  # (U, K), each row summing to one
    w: np.ndarray  # (U, J)
    loss: np.ndarray  # (U,) pre-period MSPE at the solution
    start_losses: list[list[float]]  # per unit: loss each start reached after the sweeps
    polished: list[list[float]]  # per unit: loss after the pattern search, best starts
    rounds: np.ndarray  # (U,) rounds of starts each unit needed
    confirmed: np.ndarray  # (U,) the best loss was reached from two or more starts
    evaluations: int
    steps: int

    def info(self, u: int) -> dict[str, Any]:
        return {"loss": float(self.loss[u]),
                "start_losses": [float(x) for x in self.start_losses[u]],
                "polished_losses": [float(x) for x in self.polished[u]],
                "rounds": int(self.rounds[u]), "confirmed": bool(self.confirmed[u]),
                "evaluations": self.evaluations, "batched_steps": self.steps}


def search_v(X1: np.ndarray, X0: np.ndarray, Z1: np.ndarray, Z0: np.ndarray, *,
             rng: np.random.Generator, n_random: int = 6, v_floor: float = 1e-6,
             grid_size: int = 21, n_polish: int = 3, step_tol: float = 2e-3,
             max_rounds: int = 2, max_sweeps: int = 10, max_steps: int = 300
             ) -> VSearchResult:
    """Nested V search for U problems at once.

    ``X1`` (U, K) and ``X0`` (U, K, J) are scaled predictors, ``Z1`` (U, T0)
    and ``Z0`` (U, T0, J) the pre-period outcomes. Returns the best V, W and
    loss found for each problem; see the module docstring for the method.

    The search runs in rounds: the first from equal weights, the
    regression-based V and ``n_random`` random points; a unit whose best loss
    was reached from only one start gets another round of ``n_random`` fresh
    random starts, up to ``max_rounds``, so hard problems get more effort
    and easy ones none.
    """
    U, K, _ = X0.shape
    lo = math.log(v_floor)
    if K == 1:
        v = np.ones((U, 1))
        w, loss = solve_w(v, X1, X0, Z1, Z0)
        return VSearchResult(v, w, loss, [[float(x)] for x in loss],
                             [[float(x)] for x in loss], np.ones(U, int), np.ones(U, bool),
                             U, 1)
    counter = {"evaluations": 0, "steps": 0}

    def evaluate(theta: np.ndarray, unit: np.ndarray, w0: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        counter["evaluations"] += theta.shape[0]
        counter["steps"] += 1
        v = np.exp(theta - theta.max(axis=1, keepdims=True))
        return solve_w(v, X1[unit], X0[unit], Z1[unit], Z0[unit], w0)

    reg = np.stack([np.log(np.clip(regression_v(X1[u], X0[u], Z1[u], Z0[u]), 1e-300, None))
                    for u in range(U)])
    reg = np.clip(reg - reg.max(axis=1, keepdims=True), lo, 0.0)
    best_theta = np.zeros((U, K))
    best_f = np.full(U, np.inf)
    support = np.zeros(U, dtype=int)  # starts whose search ended at the best loss
    start_losses: list[list[float]] = [[] for _ in range(U)]
    polished: list[list[float]] = [[] for _ in range(U)]
    rounds = np.zeros(U, dtype=int)
    pending = np.arange(U)
    for r in range(max_rounds):
        random = rng.uniform(lo, 0.0, size=(n_random, K))
        if r == 0:
            starts = np.concatenate([np.zeros((U, 1, K)), reg[:, None, :],
                                     np.broadcast_to(random, (U, n_random, K))], axis=1)
        else:
            starts = np.broadcast_to(random, (pending.size, n_random, K))
        theta, f, mult, unit = _search_round(evaluate, starts, pending, lo, grid_size,
                                             n_polish, step_tol, max_sweeps, max_steps, rng,
                                             start_losses)
        for u in pending:
            rounds[u] += 1
            mine = unit == u
            for t_u, f_u, m_u in zip(theta[mine], f[mine], mult[mine], strict=True):
                polished[u].append(float(f_u))
                tol = 1e-4 * abs(min(f_u, best_f[u])) + 1e-12
                if f_u < best_f[u] - tol:
                    best_f[u], best_theta[u], support[u] = f_u, t_u, m_u
                elif abs(f_u - best_f[u]) <= tol:
                    support[u] += m_u
        pending = pending[support[pending] < 2]
        if pending.size == 0:
            break
    v = np.exp(best_theta - best_theta.max(axis=1, keepdims=True))
    # re-solve from a cold start: the answer must not depend on the search path
    w_final, loss = solve_w(v, X1, X0, Z1, Z0)
    return VSearchResult(v / v.sum(axis=1, keepdims=True), w_final, loss, start_losses,
                         polished, rounds, support >= 2, counter["evaluations"],
                         counter["steps"])


def _search_round(evaluate, starts: np.ndarray, units: np.ndarray, lo: float,
                  grid_size: int, n_polish: int, step_tol: float, max_sweeps: int,
                  max_steps: int, rng: np.random.Generator, start_losses: list[list[float]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round of starts for the listed units: coordinate sweeps, then pattern search.

    Returns, for each polished chain, its log-V, loss, the number of starts
    that had reached the same point after the sweeps, and its unit.
    """
    n_units, S, K = starts.shape
    theta = starts.reshape(n_units * S, K).copy()
    unit = np.repeat(units, S)
    w, f = evaluate(theta, unit, None)
    J = w.shape[1]

    # stage 1: coordinate sweeps over a grid of log v_k
    grid = np.linspace(lo, 0.0, grid_size)
    active = np.ones(theta.shape[0], dtype=bool)
    for _ in range(max_sweeps):
        moved = np.zeros_like(active)
        for k in range(K):
            ids = np.flatnonzero(active)
            if ids.size == 0:
                break
            cand = np.repeat(theta[ids, None, :], grid_size, axis=1)
            cand[:, :, k] = grid[None, :]
            wc, fc = evaluate(cand.reshape(-1, K), np.repeat(unit[ids], grid_size),
                              np.repeat(w[ids], grid_size, axis=0))
            fc = fc.reshape(ids.size, grid_size)
            best = np.argmin(fc, axis=1)
            fb = fc[np.arange(ids.size), best]
            better = fb < f[ids] - 1e-12 * (1.0 + np.abs(f[ids]))
            sel = ids[better]
            theta[sel, k] = grid[best[better]]
            f[sel] = fb[better]
            w[sel] = wc.reshape(ids.size, grid_size, J)[np.flatnonzero(better), best[better]]
            moved[sel] = True
        active = moved
        if not active.any():
            break

    # stage 2: pattern search from the best distinct results of each unit
    picks, mult = [], []
    for i, u in enumerate(units):
        start_losses[u].extend(float(x) for x in f[i * S:(i + 1) * S])
        order = np.argsort(f[i * S:(i + 1) * S], kind="stable")
        chosen: list[int] = []
        count: list[int] = []
        for o in order:
            j = i * S + int(o)
            same = [c for c, ch in enumerate(chosen)
                    if abs(f[j] - f[ch]) <= 1e-9 * (1 + abs(f[ch]))
                    and np.abs(w[j] - w[ch]).max() <= 1e-6]
            if same:
                count[same[0]] += 1
            elif len(chosen) < n_polish:
                chosen.append(j)
                count.append(1)
        picks.extend(chosen)
        mult.extend(count)
    picks_arr = np.array(picks)
    theta, w, f = theta[picks_arr].copy(), w[picks_arr].copy(), f[picks_arr].copy()
    unit = unit[picks_arr]
    step = np.full(theta.shape[0], 1.0)
    eye = np.eye(K)
    for _ in range(max_steps):
        ids = np.flatnonzero(step >= step_tol)
        if ids.size == 0:
            break
        directions = rng.normal(size=(K, K))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        D = np.concatenate([eye, -eye, directions])
        nd = D.shape[0]
        cand = np.clip(theta[ids, None, :] + step[ids, None, None] * D[None], lo, 0.0)
        wc, fc = evaluate(cand.reshape(-1, K), np.repeat(unit[ids], nd),
                          np.repeat(w[ids], nd, axis=0))
        fc = fc.reshape(ids.size, nd)
        best = np.argmin(fc, axis=1)
        fb = fc[np.arange(ids.size), best]
        better = fb < f[ids] - 1e-12 * (1.0 + np.abs(f[ids]))
        sel = ids[better]
        theta[sel] = cand[np.flatnonzero(better), best[better]]
        f[sel] = fb[better]
        w[sel] = wc.reshape(ids.size, nd, J)[np.flatnonzero(better), best[better]]
        step[sel] = np.minimum(step[sel] * 2.0, 2.0)
        step[ids[~better]] *= 0.5
    return theta, f, np.array(mult), unit
