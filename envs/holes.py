"""Ball-shaped reward holes: placement, membership and closed-form hit probabilities.

The Swiss-cheese environments reward an agent only inside a few small balls
("holes"). This module holds what they share, and the exact probabilities that
tests and landscape probes compare against:

* a uniformly random point of the box [-L, L]^d lies in a ball of radius r
  (fully inside the box) with probability V_d r^d / (2L)^d, where
  V_d = pi^(d/2) / Gamma(d/2 + 1);
* a Gaussian sample a ~ N(mu, s^2 I_d) lies in the ball ||a - c|| <= r with
  probability F(r^2 / s^2; k=d, lambda=||mu - c||^2 / s^2), the CDF of the
  noncentral chi-square distribution.

Holes never overlap (centres are at least 2r apart), so the probability of
landing in any hole is the sum over holes.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from scipy import special, stats

from envs.params import EnvParamError

_MAX_PLACEMENT_TRIES = 10_000


def place_holes(
    rng: np.random.Generator,
    num_holes: int,
    dim: int,
    radius: float,
    half_width: float,
    owner: str = "holes",
) -> np.ndarray:
    """Draws non-overlapping hole centres uniformly in the box [-half_width, half_width]^dim.

    Centres are drawn one after another by rejection: a candidate closer than
    2 * radius to an earlier centre is redrawn.

    Returns:
      float32 array `[num_holes, dim]`.

    Raises:
      EnvParamError: if the holes do not fit without overlapping (`owner`, the
        environment id, starts the message).
    """
    centres = np.zeros((num_holes, dim))
    for i in range(num_holes):
        for _ in range(_MAX_PLACEMENT_TRIES):
            candidate = rng.uniform(-half_width, half_width, size=dim)
            if i == 0 or np.min(np.linalg.norm(centres[:i] - candidate, axis=1)) >= 2 * radius:
                centres[i] = candidate
                break
        else:
            raise EnvParamError(
                f"{owner}: cannot place num_holes={num_holes} non-overlapping holes of "
                f"hole_radius={radius:g} in dim={dim}; lower num_holes or hole_radius"
            )
    return centres.astype(np.float32)


def ball_volume(dim: int, radius: float) -> float:
    """Volume of a `dim`-dimensional ball: pi^(d/2) r^d / Gamma(d/2 + 1)."""
    return math.pi ** (dim / 2) * radius**dim / math.gamma(dim / 2 + 1)


def uniform_hit_probability(dim: int, radius: float, num_holes: int, half_width: float) -> float:
    """Probability that a uniform point of [-L, L]^dim lies in one of the holes.

    Exact when the holes lie inside the box and do not overlap.
    """
    return num_holes * ball_volume(dim, radius) / (2 * half_width) ** dim


def gaussian_hit_probability(
    centres: np.ndarray, radius: float, mean: np.ndarray, std: float
) -> np.ndarray:
    """P(a in any hole) for a ~ N(mean, std^2 I), by the noncentral chi-square CDF.

    Args:
      centres: `[num_holes, dim]` hole centres.
      radius: hole radius.
      mean: `[..., dim]` policy means (any leading batch shape).
      std: the policy's isotropic standard deviation, > 0.

    Returns:
      float64 array `[...]`; below ~1e-308 it underflows to 0, and
      `log_gaussian_hit_probability` keeps the value.
    """
    return np.exp(log_gaussian_hit_probability(centres, radius, mean, std))


def log_gaussian_hit_probability(
    centres: np.ndarray, radius: float, mean: np.ndarray, std: float
) -> np.ndarray:
    """log P(a in any hole) for a ~ N(mean, std^2 I): finite for every dimension.

    Returns:
      float64 array `[...]`.
    """
    return special.logsumexp(_log_hole_cdfs(centres, radius, mean, std, 0), axis=-1)


def gaussian_hit_probability_grad(
    centres: np.ndarray, radius: float, mean: np.ndarray, std: float
) -> np.ndarray:
    """Gradient with respect to `mean` of `gaussian_hit_probability`.

    Uses dF(x; k, lam)/dlam = (F(x; k + 2, lam) - F(x; k, lam)) / 2 and
    dlam/dmean = 2 (mean - c) / std^2, with every F in log space so that the
    ratio F(k + 2) / F(k) stays exact where both underflow.

    Returns:
      float64 array `[..., dim]`, the exact policy gradient of the expected
      sparse reward of a one-step bandit.
    """
    centres, mean = np.asarray(centres, np.float64), np.asarray(mean, np.float64)
    log_f = _log_hole_cdfs(centres, radius, mean, std, 0)  # [..., holes]
    log_f2 = _log_hole_cdfs(centres, radius, mean, std, 2)
    dcdf = np.exp(log_f2) - np.exp(log_f)  # dF/dlam * 2, per hole
    offsets = mean[..., None, :] - centres  # [..., holes, dim]
    return np.sum(dcdf[..., None] * offsets, axis=-2) / std**2


def log_gaussian_hit_probability_grads(
    centres: np.ndarray, radius: float, mean: np.ndarray, std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of log P(a in any hole), a ~ N(mean, diag(std_j^2)), at an isotropic std.

    With F_k = F(r^2 / s^2; dim + k, lam) (lam = ||mean - c||^2 / s^2) for one hole:

    * d log P / d mean = (F_2 / F_0 - 1) (mean - c) / s^2;
    * d log P / d std_j = s (d^2 P / d mean_j^2) / P (Gaussian smoothing
      obeys the heat equation: dP / d(s_j^2) = (1/2) d^2 P / d mean_j^2), which is
      [(F_4 - 2 F_2 + F_0) / F_0 * (mean_j - c_j)^2 / s^4 + (F_2 / F_0 - 1) / s^2] * s,

    using dF/dlam = (F_2 - F_0) / 2 twice. Several holes combine with weights
    P_h / P. Only ratios of F's appear, each from log-space CDFs, so the
    gradients stay finite and exact in every dimension where P itself
    underflows. The direction of grad log P is that of grad P (they differ by
    the positive factor P).

    Args:
      centres: `[holes, dim]`; mean: `[..., dim]`; std: the isotropic std s > 0
        at which the derivative with respect to each std_j is taken.

    Returns:
      (d log P / d mean `[..., dim]`, d log P / d std_j `[..., dim]`), float64.
    """
    centres, mean = np.asarray(centres, np.float64), np.asarray(mean, np.float64)
    log_f0 = _log_hole_cdfs(centres, radius, mean, std, 0)  # [..., holes]
    ratio2 = np.exp(_log_hole_cdfs(centres, radius, mean, std, 2) - log_f0)
    ratio4 = np.exp(_log_hole_cdfs(centres, radius, mean, std, 4) - log_f0)
    weights = np.exp(log_f0 - special.logsumexp(log_f0, axis=-1, keepdims=True))  # P_h / P
    offsets = mean[..., None, :] - centres  # [..., holes, dim]
    first = (ratio2 - 1.0)[..., None]
    second = (ratio4 - 2.0 * ratio2 + 1.0)[..., None]
    d_mean = np.sum(weights[..., None] * first * offsets, axis=-2) / std**2
    d_std = np.sum(weights[..., None] * (second * offsets**2 / std**4 + first / std**2), axis=-2) * std
    return d_mean, d_std


def _log_hole_cdfs(centres, radius, mean, std, extra_dof: int) -> np.ndarray:
    """log F(r^2 / s^2; dim + extra_dof, ||mean - c||^2 / s^2) for every hole: `[..., holes]`."""
    centres, mean = np.asarray(centres, np.float64), np.asarray(mean, np.float64)
    dim = centres.shape[-1]
    noncentrality = _noncentrality(centres, mean, std)
    return log_ncx2_cdf(radius**2 / std**2, dim + extra_dof, noncentrality)


def log_ncx2_cdf(x: float, dof: int, noncentrality) -> np.ndarray:
    """log of the noncentral chi-square CDF, accurate where the CDF underflows.

    Where scipy's CDF is above 1e-280 its log is used; elsewhere the Poisson
    mixture F = sum_j Pois(j; lam / 2) P(dof / 2 + j, x / 2) is summed in log
    space, with the regularised lower incomplete gamma P from its power series
    (see `log_gamma_lower`).
    """
    lam = np.asarray(noncentrality, np.float64)
    with np.errstate(divide="ignore"):
        direct = np.log(stats.ncx2.cdf(x, dof, lam))
    tiny = ~(direct > np.log(1e-280))
    if not tiny.any():
        return direct
    result = direct.copy()
    half = lam[tiny] / 2  # [n]
    # Enough Poisson terms for the largest noncentrality; the incomplete-gamma
    # factor depends on j only (x and dof are shared), so it is computed once.
    j = np.arange(int(half.max() + 12 * np.sqrt(half.max()) + 40))
    terms = stats.poisson.logpmf(j[None, :], half[:, None]) + log_gamma_lower(dof / 2 + j, x / 2)[None, :]
    result[tiny] = special.logsumexp(terms, axis=1)
    return result


def log_gamma_lower(a, z: float, terms: int = 400) -> np.ndarray:
    """log P(a, z), the regularised lower incomplete gamma, for arrays `a` and z > 0.

    P(a, z) = z^a e^-z / Gamma(a + 1) * sum_n z^n / ((a + 1) ... (a + n)); the
    series converges for every z and fast where P is tiny (z < a). Where
    scipy's `gammainc` does not underflow its log is used.
    """
    a = np.asarray(a, np.float64)
    with np.errstate(divide="ignore"):
        direct = np.log(special.gammainc(a, z))
    tiny = ~(direct > np.log(1e-280))
    if not tiny.any():
        return direct
    small = a[tiny][:, None]
    log_ratios = np.log(z) - np.log(small + np.arange(1, terms)[None, :])
    log_series = special.logsumexp(np.c_[np.zeros(small.shape[0]), np.cumsum(log_ratios, axis=1)], axis=1)
    result = direct.copy()
    result[tiny] = small[:, 0] * np.log(z) - z - special.gammaln(small[:, 0] + 1) + log_series
    return result


def _noncentrality(centres: np.ndarray, mean: np.ndarray, std: float) -> np.ndarray:
    """||mean - c||^2 / std^2 for every hole: `[..., num_holes]`."""
    return np.sum((mean[..., None, :] - centres) ** 2, axis=-1) / std**2


def nearest_hole_distance(point: jnp.ndarray, centres: jnp.ndarray) -> jnp.ndarray:
    """Distance from `point` `[dim]` to the nearest hole centre (`centres` `[holes, dim]`): scalar."""
    return jnp.min(jnp.linalg.norm(point - centres, axis=-1))
