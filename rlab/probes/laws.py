"""The predicted laws the probes measure against, as plain functions of hit probabilities.

Notation: p is the chance that one episode of the (unchanged) initial policy
is rewarded; rewards are sparse, in {0, 1}. For the antithetic search methods
a *pair* theta + sigma eps, theta - sigma eps shares its start states; P00
is the chance that neither member is rewarded, P11 that both are.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

def is_bandit(env) -> bool:
    """Whether `env` is a one-step task with a closed-form hit probability (the cheese bandit)."""
    return hasattr(env, "hit_probability") and env.horizon == 1


def reinforce_zero(p, batch_size: int, baseline: str):
    """P(the REINFORCE estimate from N episodes is exactly zero).

    "none": no episode rewarded, (1 - p)^N. "leave_one_out" and "batch_mean":
    every return equal, (1 - p)^N + p^N. "learned": 0 (the value baseline
    leaves weights -V(s) that are almost surely not zero).
    """
    p = np.asarray(p, np.float64)
    if baseline == "none":
        return (1 - p) ** batch_size
    if baseline in ("leave_one_out", "batch_mean"):
        return (1 - p) ** batch_size + p**batch_size
    if baseline == "learned":
        return np.zeros_like(p)
    raise ValueError(f"baseline = {baseline!r}; allowed: none, leave_one_out, batch_mean, learned")


def es_zero(p00, p11, pairs: int, tie_break: str = "average"):
    """P(OpenAI-ES's direction is exactly zero) with `pairs` antithetic pairs, one episode per member.

    The direction is sum_k (F+_k - F-_k) eps_k, and with average ranks a
    pair's members get equal shaped fitness exactly when their fitness ties:
    neither rewarded (P00) or both (P11). So the direction is zero when every
    pair ties, (P00 + P11)^pairs. Ranks that break ties by order give the two
    members of a tied pair different ranks: never all zero.
    """
    p00, p11 = np.asarray(p00, np.float64), np.asarray(p11, np.float64)
    if tie_break == "order":
        return np.zeros_like(p00)
    return (p00 + p11) ** pairs


def ars_zero(p00, p11, directions: int, top: int):
    """P(ARS's direction is exactly zero) with N directions and the top b of them used.

    Directions are ranked by max(r+, r-), ties keeping their order. The
    direction sum (r+ - r-) delta over the top b is zero exactly when no pair
    is rewarded, or when the first min(b, K) of the K rewarded pairs were all
    rewarded on both sides: with h = 1 - P00 and q = P11 / h,
    P = P00^N + sum_{K>=1} Binom(K; N, h) q^min(b, K).
    """
    p00, p11 = np.asarray(p00, np.float64), np.asarray(p11, np.float64)
    hit = 1.0 - p00
    q = np.divide(p11, hit, out=np.zeros_like(hit), where=hit > 0)
    k = np.arange(1, directions + 1)
    terms = stats.binom.pmf(k, directions, hit[..., None]) * q[..., None] ** np.minimum(top, k)
    return p00**directions + terms.sum(axis=-1)


def no_hit_per_iteration(batch_of: str, batch_size: int, p=None, p00=None):
    """P(one training iteration's batch has no rewarded episode), while the policy stands still.

    By what the batch is made of (`rlab.trainers.base.Plateau`): N
    independent "episodes" of one policy (REINFORCE with no baseline or
    leave-one-out): (1 - p)^N; N "antithetic_pairs" (OpenAI-ES with average
    ranks and no weight decay: N = population / 2; ARS V1: N =
    num_directions): P00^N; N "policy_draws" from the initialisation
    distribution (random search on a deterministic task): (1 - p)^N, p the
    chance that a drawn policy is rewarded.
    """
    if batch_of in ("episodes", "policy_draws"):
        return (1 - np.asarray(p, np.float64)) ** batch_size
    if batch_of == "antithetic_pairs":
        return np.asarray(p00, np.float64) ** batch_size
    raise ValueError(f"no first-hit law for a batch of {batch_of!r}")


def survival(miss_per_iteration, iterations) -> np.ndarray:
    """P(no rewarded batch in the first k iterations) = mean over seeds of m_s^k: `[len(iterations)]`.

    Args:
      miss_per_iteration: `[S]` each seed's chance of a batch without reward.
      iterations: k values.
    """
    m = np.asarray(miss_per_iteration, np.float64)[:, None]
    return np.mean(m ** np.asarray(iterations, np.float64)[None, :], axis=0)


def random_search_success(p, candidates):
    """P(random search has found a rewarded policy after S candidates) = 1 - (1 - p)^S."""
    return 1.0 - (1.0 - np.asarray(p, np.float64)) ** np.asarray(candidates, np.float64)
