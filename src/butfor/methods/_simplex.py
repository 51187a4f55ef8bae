"""Least squares on the probability simplex: the kernels behind synthetic control and SDID.

Every weight problem in :mod:`butfor.methods.synth` and :mod:`butfor.methods.sdid`
has the form::

    minimise  ½ xᵀ H x − cᵀ x   subject to  x ≥ 0,  Σ x = 1

with ``H`` positive semi-definite (``H = AᵀA + η I`` for a least-squares
problem ``‖A x − b‖² + η ‖x‖²``). Two solvers are here:

- :func:`simplex_lsq`, an exact primal active-set method (Lawson–Hanson with
  the sum-to-one constraint added to each equality-constrained subproblem).
  It terminates in finitely many steps at a point satisfying the KKT
  conditions to round-off, and accepts a warm start (weights or a support),
  which is what makes the nested V search of synthetic control cheap.
- :func:`frank_wolfe`, Frank–Wolfe with exact line search, the algorithm of
  Arkhangelsky et al. (2021) and the R package synthdid, with its stopping
  rule, kept so that SDID can be run exactly as the paper ran it.

All functions are pure: numpy arrays in, numpy arrays out.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from butfor.errors import EstimationError

__all__ = [
    "frank_wolfe",
    "frank_wolfe_batch",
    "kkt_gap",
    "simplex_lsq",
    "simplex_lsq_batch",
    "simplex_lsq_eq",
]


@lru_cache(maxsize=256)
def _sum_zero_basis(k: int) -> np.ndarray:
    """An orthonormal basis (k, k−1) of the vectors that sum to zero."""
    q, _ = np.linalg.qr(np.column_stack([np.ones(k), np.eye(k)[:, : k - 1]]))
    basis = q[:, 1:]
    basis.setflags(write=False)
    return basis


def _solve_on_support(A_P: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    """Minimise ‖A_P z − b‖² + η‖z‖² over the affine set Σz = 1.

    Writes z = 1/k + N y with N an orthonormal basis of the sum-zero vectors
    and solves the least-squares problem in y by SVD, never forming A_PᵀA_P:
    forming it would square the condition number, and the nested V search of
    synthetic control produces row scales that span many orders of magnitude.
    When the support has more weights than the data pin down, the
    minimum-norm solution.
    """
    k = A_P.shape[1]
    if k == 1:
        return np.ones(1)
    N = _sum_zero_basis(k)
    centre = A_P.sum(axis=1) / k
    M = A_P @ N
    rhs = b - centre
    if eta:
        M = np.vstack([M, np.sqrt(eta) * np.eye(k - 1)])
        rhs = np.concatenate([rhs, np.zeros(k - 1)])
    y = np.linalg.lstsq(M, rhs, rcond=None)[0]
    return 1.0 / k + N @ y


def simplex_lsq(
    A: np.ndarray,
    b: np.ndarray,
    eta: float = 0.0,
    x0: np.ndarray | None = None,
    *,
    tol: float = 1e-11,
    max_iter: int | None = None,
) -> np.ndarray:
    """Exact minimiser of ‖A x − b‖² + η‖x‖² over the probability simplex (active set).

    ``A`` is (m, n) and ``b`` (m,). ``x0`` is a warm start (its support is the
    first working set); without one the best vertex is used. The method is
    Lawson–Hanson's with the sum-to-one constraint carried in every
    equality-constrained subproblem: it adds the weight whose gradient is
    lowest while that is below the common gradient of the support, and steps
    back to the boundary whenever a subproblem leaves the simplex. It never
    forms AᵀA, so one iteration costs O(m·n) plus a solve on the support.
    ``tol`` is relative to the scale of the gradient. Raises EstimationError
    if it fails to terminate, which only happens on badly degenerate input.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n = A.shape[1]
    if n == 1:
        return np.ones(1)
    if max_iter is None:
        max_iter = 4 * n + 50
    if x0 is None:
        resid = A - b[:, None]
        i = int(np.argmin(np.einsum("ij,ij->j", resid, resid) + eta))
        x = np.zeros(n)
        x[i] = 1.0
    else:
        x = np.clip(np.asarray(x0, dtype=float), 0.0, None)
        total = x.sum()
        x = x / total if total > 0 else np.full(n, 1.0 / n)
    support = x > 0
    scale = None
    for _ in range(max_iter):
        # move to the minimiser on the current support, stepping back to the
        # boundary (and shrinking the support) while it leaves the simplex
        for _ in range(n + 1):
            idx = np.flatnonzero(support)
            z = _solve_on_support(A[:, idx], b, eta)
            if z.min() > 0:
                x = np.zeros(n)
                x[idx] = z
                break
            xs = x[idx]
            neg = z <= 0
            ratio = xs[neg] / (xs[neg] - z[neg])
            alpha = float(ratio.min())
            xs = xs + alpha * (z - xs)
            xs[np.flatnonzero(neg)[np.argmin(ratio)]] = 0.0  # the blocking weight
            xs[xs <= 1e-15] = 0.0
            x = np.zeros(n)
            x[idx] = xs / xs.sum()
            support = x > 0
        g = A.T @ (A @ x - b)
        if eta:
            g += eta * x
        if scale is None:
            scale = max(float(np.abs(g).max()), float(np.abs(A.T @ b).max()), 1e-300)
        free = ~support
        if not free.any():
            return x
        level = float(g[support].mean())
        j = int(np.flatnonzero(free)[np.argmin(g[free])])
        if g[j] >= level - tol * scale:
            return x
        support[j] = True
    raise EstimationError(
        "the simplex-constrained least-squares solver did not converge; "
        "the donor data may be degenerate (duplicated or constant units)"
    )


def kkt_gap(A: np.ndarray, b: np.ndarray, x: np.ndarray, eta: float = 0.0) -> float:
    """Frank–Wolfe duality gap of ``x`` for ½‖Ax − b‖² + ½η‖x‖²: 0 at the optimum, else > 0."""
    g = A.T @ (A @ x - b) + eta * x
    return float(g @ x - g.min())


def frank_wolfe(
    A: np.ndarray,
    b: np.ndarray,
    eta: float,
    x0: np.ndarray | None = None,
    *,
    min_decrease: float = 1e-3,
    max_iter: int = 1000,
    n_rows: float | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Frank–Wolfe with exact line search for ‖A x − b‖²/N + ζ²‖x‖², as in synthdid.

    ``A`` is (N, K), ``b`` (N,), ``eta`` is N·ζ² (the ridge on the unscaled
    sum of squares); ``n_rows`` overrides N (when A has zero padding rows),
    ``allowed`` marks the weights that may be chosen. Stops when an iteration
    lowers the objective ζ²‖x‖² + ‖A x − b‖²/N by less than
    ``min_decrease²`` or after ``max_iter`` iterations: the stopping rule of
    Arkhangelsky et al. (2021), Algorithm 1 as implemented in their R
    package. Works in Gram form with the scalars xᵀGx, (Aᵀb)ᵀx and xᵀx
    carried along each step, so one iteration costs O(K).
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n, k = A.shape
    nr = float(n if n_rows is None else n_rows)
    x = np.full(k, 1.0 / k) if x0 is None else np.asarray(x0, dtype=float).copy()
    G = A.T @ A
    Ab = A.T @ b
    bb = float(b @ b)
    Gx = G @ x
    big = None if allowed is None else np.where(np.asarray(allowed, dtype=bool), 0.0, np.inf)
    q, p, s = float(x @ Gx), float(Ab @ x), float(x @ x)
    eta = float(eta)
    zeta2 = eta / nr
    md2 = min_decrease**2
    prev = math.inf
    for t in range(max_iter):
        hg = Gx - Ab + eta * x
        i = int(np.argmin(hg if big is None else hg + big))
        gxi, gii, xi = float(Gx[i]), float(G[i, i]), float(x[i])
        denom = (gii - 2.0 * gxi + q) + eta * (s - 2.0 * xi + 1.0)
        step = -(float(hg[i]) - (q - p + eta * s)) / denom if denom > 0 else 0.0
        step = min(1.0, max(0.0, step))
        keep = 1.0 - step
        x *= keep
        x[i] += step
        Gx *= keep
        Gx += step * G[:, i]
        q = keep * keep * q + 2.0 * step * keep * gxi + step * step * gii
        p = keep * p + step * float(Ab[i])
        s = keep * keep * s + 2.0 * step * keep * xi + step * step
        val = zeta2 * s + (q - 2.0 * p + bb) / nr
        if t >= 1 and not (prev - val > md2):
            break
        prev = val
    return x


def simplex_lsq_batch(
    A: np.ndarray,
    b: np.ndarray,
    eta: float | np.ndarray = 0.0,
    x0: np.ndarray | None = None,
    *,
    tol: float = 1e-12,
    max_iter: int | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve many problems ‖A_i x − b_i‖² + η_i‖x‖² on the simplex at once (active set).

    ``A`` is (B, m, n), ``b`` (B, m), ``eta`` a scalar or (B,), ``x0`` an
    optional (B, n) warm start, ``allowed`` an optional (B, n) mask of the
    weights that may be positive (the rest stay zero; a warm start must be
    zero there). The B active-set methods run in lockstep, each
    step one batched linear solve over the supports (padded to the largest),
    so the cost of Python is paid once per step rather than once per problem:
    this is what makes the synthetic-control V search and its placebo runs
    fast. Returns ``(x, converged)``: weights (B, n) and a boolean (B,) that
    is False only for a problem that hit ``max_iter``.

    Each equality-constrained subproblem is solved through its KKT system
    with a ridge of 1e-13 of the trace added, which keeps the system
    non-singular when a support holds more weights than the data pin down.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n_batch, _, n = A.shape
    eta_b = np.broadcast_to(np.asarray(eta, dtype=float), (n_batch,)).copy()
    if max_iter is None:
        max_iter = 4 * n + 50
    At = np.swapaxes(A, 1, 2)  # (B, n, m), a view
    blocked = None if allowed is None else ~np.asarray(allowed, dtype=bool)
    if x0 is None:
        resid = A - b[:, :, None]
        cost = np.einsum("bij,bij->bj", resid, resid)
        if blocked is not None:
            cost = np.where(blocked, np.inf, cost)
        first = np.argmin(cost, axis=1)
        x = np.zeros((n_batch, n))
        x[np.arange(n_batch), first] = 1.0
    else:
        x = np.clip(np.asarray(x0, dtype=float), 0.0, None)
        total = x.sum(axis=1, keepdims=True)
        x = np.where(total > 0, x / np.where(total > 0, total, 1.0), 1.0 / n)
    support = x > 0
    Atb = (At @ b[:, :, None])[:, :, 0]
    scale = np.maximum(np.abs(Atb).max(axis=1), np.einsum("bij,bij->b", A, A) / n)
    scale = np.maximum(scale, 1e-300)
    converged = np.zeros(n_batch, dtype=bool)
    pending = np.ones(n_batch, dtype=bool)
    everyone = np.arange(n_batch)
    for _ in range(max_iter):
        if pending.all():
            ids, Ai, Ati = everyone, A, At
        else:
            ids = np.flatnonzero(pending)
            if ids.size == 0:
                break
            Ai = A[ids]
            Ati = np.swapaxes(Ai, 1, 2)
        S = support[ids]
        z = _batch_support_solve(Ai, Atb[ids], eta_b[ids], S)
        bad = (S & (z <= 0)).any(axis=1)
        # infeasible subproblem: step back towards it, to the boundary
        if bad.any():
            bi = ids[bad]
            xb, zb, Sb = x[bi], z[bad], S[bad]
            neg = Sb & (zb <= 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(neg, xb / (xb - zb), np.inf)
            block = np.argmin(ratio, axis=1)
            alpha = ratio[np.arange(bi.size), block][:, None]
            xb = np.where(Sb, xb + alpha * (zb - xb), 0.0)
            xb[np.arange(bi.size), block] = 0.0
            xb[xb <= 1e-15] = 0.0
            xb /= xb.sum(axis=1, keepdims=True)
            x[bi] = xb
            support[bi] = xb > 0
        # feasible subproblem: accept it, then add the most promising weight
        good = ~bad
        if good.any():
            gi = ids[good]
            xg = np.where(S[good], z[good], 0.0)
            x[gi] = xg
            Ag, Atg = (Ai, Ati) if good.all() else (Ai[good], Ati[good])
            r = (Ag @ xg[:, :, None])[:, :, 0] - b[gi]
            g = (Atg @ r[:, :, None])[:, :, 0] + eta_b[gi, None] * xg
            Sg = S[good]
            level = np.where(Sg, g, 0.0).sum(axis=1) / Sg.sum(axis=1)
            gfree = np.where(Sg, np.inf, g)
            if blocked is not None:
                gfree = np.where(blocked[gi], np.inf, gfree)
            j = np.argmin(gfree, axis=1)
            add = gfree[np.arange(gi.size), j] < level - tol * scale[gi]
            support[gi[add], j[add]] = True
            done = gi[~add]
            converged[done] = True
            pending[done] = False
    return x, converged


def _batch_support_solve(
    A: np.ndarray, Atb: np.ndarray, eta: np.ndarray, S: np.ndarray
) -> np.ndarray:
    """Minimise ‖A z − b‖² + η‖z‖² with Σz = 1 and z = 0 off the support, batched.

    Supports are gathered into padded index arrays (B, k) so the KKT systems
    are (B, k+1, k+1) with k the largest support, far smaller than n.
    Returns z of shape (B, n), zero off the support.
    """
    n_batch, _, n = A.shape
    counts = S.sum(axis=1)
    k = int(counts.max())
    rows, cols = np.nonzero(S)
    slot = np.cumsum(S, axis=1)[rows, cols] - 1
    order = np.zeros((n_batch, k), dtype=np.intp)
    order[rows, slot] = cols
    mask = np.arange(k)[None, :] < counts[:, None]
    AP = np.take_along_axis(A, order[:, None, :], axis=2) * mask[:, None, :]
    G = np.swapaxes(AP, 1, 2) @ AP
    diag = np.arange(k)
    trace = np.einsum("bkk->b", G)
    G[:, diag, diag] += (eta + 1e-13 * trace / np.maximum(counts, 1))[:, None] * mask
    G[:, diag, diag] += ~mask  # padded weights: identity rows, decoupled
    K = np.zeros((n_batch, k + 1, k + 1))
    K[:, :k, :k] = G
    K[:, :k, k] = mask
    K[:, k, :k] = mask
    rhs = np.zeros((n_batch, k + 1, 1))
    rhs[:, :k, 0] = np.take_along_axis(Atb, order, axis=1) * mask
    rhs[:, k, 0] = 1.0
    sol = np.linalg.solve(K, rhs)[:, :k, 0]
    z = np.zeros((n_batch, n))
    z[rows, cols] = sol[rows, slot]
    return z


def frank_wolfe_batch(
    A: np.ndarray,
    b: np.ndarray,
    eta: np.ndarray,
    x0: np.ndarray,
    *,
    min_decrease: float,
    max_iter: int,
    n_rows: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`frank_wolfe` for B problems at once, each stopping by its own rule.

    ``A`` (B, n, k), ``b`` (B, n), ``eta`` (B,), ``x0`` (B, k). ``n_rows``
    (B,) is each problem's number of real rows (padding rows of A and b must
    be zero); ``allowed`` (B, k) marks the real columns (padding columns are
    never chosen and must start at zero weight). Each problem follows exactly
    the iterates the single-problem version would, and stops when its own
    decrease falls below ``min_decrease²``.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n_batch, n, k = A.shape
    if n_batch == 1:  # one problem: the plain loop is faster than the batched one
        x = frank_wolfe(A[0], b[0], float(np.ravel(eta)[0]), np.asarray(x0, dtype=float)[0],
                        min_decrease=min_decrease, max_iter=max_iter,
                        n_rows=None if n_rows is None else float(np.ravel(n_rows)[0]),
                        allowed=None if allowed is None else np.asarray(allowed)[0])
        return x[None, :]
    eta = np.broadcast_to(np.asarray(eta, dtype=float), (n_batch,)).copy()
    n_rows = np.full(n_batch, float(n)) if n_rows is None else np.asarray(n_rows, dtype=float)
    out = np.asarray(x0, dtype=float).copy()
    At = np.swapaxes(A, 1, 2)
    G = At @ A
    Ab = (At @ b[:, :, None])[:, :, 0]
    bb = np.einsum("bi,bi->b", b, b)
    diagG = np.einsum("bjj->bj", G)
    Gx = (G @ out[:, :, None])[:, :, 0]
    zeta2 = eta / n_rows
    # running scalars, updated exactly along each step: xᵀGx, Abᵀx, xᵀx
    q = np.einsum("bj,bj->b", out, Gx)
    p = np.einsum("bj,bj->b", Ab, out)
    s = np.einsum("bj,bj->b", out, out)
    # Speed without changing a bit of any iterate (every element sees the same operations
    # in the same order as the plain loop): G's columns stored as rows, since each step
    # reads column i and a row is contiguous; padding columns kept out of the argmin by
    # Ab = -inf there (Gx - (-inf) = +inf) rather than by adding +inf to every gradient;
    # buffers reused; and problems that have stopped dropped from the batch (their
    # step would be 0 from then on, which leaves their weights unchanged).
    GT = np.ascontiguousarray(np.swapaxes(G, 1, 2))
    Ab_arg = Ab if allowed is None else np.where(np.asarray(allowed, dtype=bool), Ab, -np.inf)
    act = np.arange(n_batch)  # the problems still running, in batch order
    rows = np.arange(n_batch)
    x = out
    prev = np.full(n_batch, np.inf)
    hg = np.empty((n_batch, k))
    tmp = np.empty((n_batch, k))
    for t in range(max_iter):
        np.subtract(Gx, Ab_arg, out=hg)  # half gradient Gx − Ab + ηx
        np.multiply(eta[:, None], x, out=tmp)
        hg += tmp
        i = np.argmin(hg, axis=1)
        gxi, gii, xi = Gx[rows, i], diagG[rows, i], x[rows, i]
        # d = e_i − x: dᵀGd, dᵀd and (half gradient)ᵀd from the running scalars
        dGd = gii - 2.0 * gxi + q
        dd = s - 2.0 * xi + 1.0
        hgd = hg[rows, i] - (q - p + eta * s)
        denom = dGd + eta * dd
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(denom > 0, -hgd / np.where(denom > 0, denom, 1.0), 0.0)
        step = np.clip(step, 0.0, 1.0)
        keep = 1.0 - step
        x *= keep[:, None]
        x[rows, i] += step
        Gx *= keep[:, None]
        np.multiply(step[:, None], GT[rows, i], out=tmp)
        Gx += tmp
        q = keep**2 * q + 2.0 * step * keep * gxi + step**2 * gii
        p = keep * p + step * Ab[rows, i]
        s = keep**2 * s + 2.0 * step * keep * xi + step**2
        val = zeta2 * s + (q - 2.0 * p + bb) / n_rows
        if t >= 1:
            running = prev - val > min_decrease**2
            if not running.all():  # some stop here: keep their weights, drop them
                out[act] = x
                if not running.any():
                    return out
                act = act[running]
                x, Gx, GT, diagG = x[running], Gx[running], GT[running], diagG[running]
                Ab, Ab_arg, bb = Ab[running], Ab_arg[running], bb[running]
                eta, zeta2, n_rows = eta[running], zeta2[running], n_rows[running]
                q, p, s, val = q[running], p[running], s[running], val[running]
                rows = np.arange(act.size)
                hg, tmp = hg[:act.size], tmp[:act.size]
        prev = val
    out[act] = x
    return out


def simplex_lsq_eq(
    A: np.ndarray,
    b: np.ndarray,
    C: np.ndarray,
    d: np.ndarray,
    x0: np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int | None = None,
) -> np.ndarray:
    """Minimise ‖A x − b‖² on the simplex subject to C x = d, from a feasible ``x0``.

    The same primal active-set method as :func:`simplex_lsq`, with the extra
    equality constraints carried in every subproblem, each solved by the
    null-space method (so no penalty, and no loss of precision). ``x0`` must
    satisfy the constraints; the iterates stay feasible. Used by synthetic
    control when the treated unit's predictors are an exact convex
    combination of the donors'.
    """
    from scipy.linalg import null_space

    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    E = np.vstack([np.ones(A.shape[1]), np.asarray(C, dtype=float)])
    e = np.concatenate([[1.0], np.asarray(d, dtype=float)])
    n = A.shape[1]
    if max_iter is None:
        max_iter = 4 * n + 50
    x = np.where(np.asarray(x0, dtype=float) > 1e-14, x0, 0.0)
    x = x / x.sum()
    support = x > 0
    scale = max(float(np.abs(A.T @ b).max()), float(np.abs(A).max()) ** 2, 1e-300)
    for _ in range(max_iter):
        for _ in range(n + 1):
            idx = np.flatnonzero(support)
            AP, EP = A[:, idx], E[:, idx]
            z0 = np.linalg.lstsq(EP, e, rcond=None)[0]
            N = null_space(EP)
            z = z0 if N.shape[1] == 0 else \
                z0 + N @ np.linalg.lstsq(AP @ N, b - AP @ z0, rcond=None)[0]
            if z.min() > 0:
                x = np.zeros(n)
                x[idx] = z
                break
            xs = x[idx]
            neg = z <= 0
            ratio = xs[neg] / (xs[neg] - z[neg])
            alpha = float(ratio.min())
            xs = xs + alpha * (z - xs)
            xs[np.flatnonzero(neg)[np.argmin(ratio)]] = 0.0
            xs[xs <= 1e-15] = 0.0
            x = np.zeros(n)
            x[idx] = xs
            support = x > 0
        g = A.T @ (A @ x - b)
        idx = np.flatnonzero(support)
        lam = np.linalg.lstsq(E[:, idx].T, -g[idx], rcond=None)[0]
        reduced = g + E.T @ lam
        free = ~support
        if not free.any():
            return x
        j = int(np.flatnonzero(free)[np.argmin(reduced[free])])
        if reduced[j] >= -tol * scale:
            return x
        support[j] = True
    raise EstimationError("the constrained donor-weight solver did not converge")
