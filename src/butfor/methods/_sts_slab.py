"""The spike-and-slab step of the structural time-series sampler, and its prior.

Pure numpy over a batch axis ``B`` (see :mod:`butfor.methods._sts_gibbs`).

Each control j is in the model (``gamma_j = 1``) or out, ``gamma_j | pi ~
Bernoulli(pi)`` (George & McCulloch 1993, J. Am. Stat. Assoc. 88(423); George
& McCulloch 1997), and its coefficient, when in, has the slab
``beta_j | sigma^2 ~ N(0, sigma^2 / omega_j)``.

The inclusion probability ``pi``. CausalImpact fixes it from an expected
model size m (``pi = m / K`` for K controls, default m = 3: Brodersen et al.
2015, Ann. Appl. Stat. 9(1), section 2.2; bsts' ``expected.model.size``).
A fixed ``pi = 3 / K`` pulls every model towards three controls, also when
all of them drive the outcome, and then the level absorbs what the dropped
controls explained before the event and the forecast misses what they do
after it (issue 18: on ten controls that all matter, 95% intervals missed
the truth). butfor's default instead puts a Beta hyperprior on ``pi``:

    pi ~ Beta(a, b),   a = 2 m / K,   b = 2 (K - m) / K,

whose mean a / (a + b) = m / K is CausalImpact's fixed value, so a user who
says nothing starts from the same expectation of three controls, but the
data move it: the Beta-Binomial prior on the number of controls lets the
posterior of ``pi`` follow how many controls the data keep, and it corrects
for multiplicity by itself, more controls on offer meaning a smaller prior
share for each (Scott & Berger 2010, Ann. Stat. 38(5), who use a = b = 1).
a + b = 2 gives the hyperprior the weight of theirs (two prior indicators'
worth of information against the K the data decide), whatever K is. What it
cannot do: a control whose own evidence is weak is still dropped, by the
slab's Bayes-factor penalty (about log(n / kappa) / 2 nats), which no prior
on ``pi`` near 3 / K outweighs (benchmarks/README.md, the dense-and-weak rows).
Given the indicators, ``pi`` is conjugate:

    pi | gamma ~ Beta(a + sum(gamma), b + K - sum(gamma)),

one draw per batch element per sweep. With m >= K (as many controls
expected as there are) ``pi`` stays 1, as before. A user who sets
``expected_model_size`` gets CausalImpact's fixed ``pi = m / K``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MODEL_SIZE = 3.0  # CausalImpact's expected.model.size
PRIOR_WEIGHT = 2.0  # a + b: Scott & Berger's Beta(1, 1) carries as much


@dataclass(frozen=True)
class InclusionBeta:
    """A Beta(a, b) hyperprior on the inclusion probability shared by the controls."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


def inclusion_prior(expected_model_size: float | None, n_slab: int) -> np.ndarray | InclusionBeta:
    """The prior on inclusion for ``n_slab`` controls.

    ``expected_model_size`` given: fixed probabilities ``min(1, m / K)`` (an
    array). None: the Beta hyperprior with mean ``DEFAULT_MODEL_SIZE / K``, or
    fixed probabilities 1 when there are no more controls than that.
    """
    if not n_slab:
        return np.zeros(0)
    if expected_model_size is not None:
        return np.full(n_slab, min(1.0, expected_model_size / n_slab))
    m = DEFAULT_MODEL_SIZE
    if m >= n_slab:
        return np.ones(n_slab)
    return InclusionBeta(PRIOR_WEIGHT * m / n_slab, PRIOR_WEIGHT * (n_slab - m) / n_slab)


def inclusion_log_odds(pi: np.ndarray) -> np.ndarray:
    """Prior log odds of inclusion, with the probabilities kept off 0 and 1."""
    pi = np.clip(pi, 1e-6, 1 - 1e-6)
    return np.log(pi) - np.log1p(-pi)


def draw_inclusion_probability(
    rng: np.random.Generator, prior: InclusionBeta, n_on: np.ndarray, n_slab: int
) -> np.ndarray:
    """One draw of ``pi | gamma`` per batch element: Beta(a + n_on, b + K - n_on)."""
    return rng.beta(prior.a + n_on, prior.b + n_slab - n_on)


def log_marginal(
    wtw: np.ndarray, omega: np.ndarray, c: np.ndarray, g: np.ndarray, sigma2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log p(r | gamma, sigma^2) up to a constant, with beta integrated out.

    Models of different size share one padded (B, q, q) system: excluded
    coefficients get an identity row and column, which changes neither the
    determinant nor the quadratic form. Returns (logml, cholesky, v) with
    ``v = L^-1 (g * c)``.
    """
    gg = g[:, :, None] * g[:, None, :]
    M = wtw * gg
    diag = np.einsum("bii->bi", M)
    diag += omega * g + (1.0 - g)
    L = np.linalg.cholesky(M)
    cc = (g * c)[..., None]
    v = np.linalg.solve(L, cc)[..., 0]
    logdet_l = np.log(np.einsum("bii->bi", L)).sum(axis=1)
    logml = 0.5 * (g * np.log(omega)).sum(axis=1) - logdet_l + 0.5 * (v * v).sum(axis=1) / sigma2
    return logml, L, v


def flip_indicators(
    rng: np.random.Generator,
    wtw: np.ndarray,
    omega: np.ndarray,
    c: np.ndarray,
    g: np.ndarray,
    sigma2: np.ndarray,
    log_odds: np.ndarray,
    n_fixed: int,
    flips: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random-scan single-site Gibbs on the indicators, ``flips`` updates per batch element.

    ``log_odds`` (B, n_slab) is each element's prior log odds of inclusion.
    Returns ``(g, L, v)`` of :func:`log_marginal` at the final indicators.
    """
    B, q = g.shape
    n_slab = q - n_fixed
    rows = np.arange(B)
    logml, L, v = log_marginal(wtw, omega, c, g, sigma2)
    for _ in range(flips if n_slab else 0):
        j = n_fixed + rng.integers(0, n_slab, size=B)
        g_new = g.copy()
        g_new[rows, j] = 1.0 - g_new[rows, j]
        logml_new, L_new, v_new = log_marginal(wtw, omega, c, g_new, sigma2)
        # log odds of gamma_j = 1 against 0, prior included
        diff = logml_new - logml
        on_now = g[rows, j] == 1.0
        lo = np.where(on_now, -diff, diff) + log_odds[rows, j - n_fixed]
        want_on = rng.uniform(size=B) < 1.0 / (1.0 + np.exp(-lo))
        take = want_on != on_now
        g = np.where(take[:, None], g_new, g)
        logml = np.where(take, logml_new, logml)
        L = np.where(take[:, None, None], L_new, L)
        v = np.where(take[:, None], v_new, v)
    return g, L, v
