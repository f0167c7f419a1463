"""Gradient and search-direction estimators, as pure functions of (parameters, samples).

These are the pieces the trainers are assembled from, and the ones landscape
probes call to ask how often an estimate is exactly zero or how well it aligns
with the true gradient.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def score_function_gradient(
    log_prob_fn: Callable,
    params,
    obs: jax.Array,
    actions: jax.Array,
    weights: jax.Array,
    num_episodes: jax.Array | int,
):
    """The Monte Carlo policy-gradient (REINFORCE) estimate.

    grad = (1 / num_episodes) * sum_i w_i * grad log pi(a_i | s_i), summed over
    every step i of every episode, where w_i is the return-to-go (minus a
    baseline). With a sparse reward and no sampled episode reaching it, every
    w_i is 0 and the estimate is exactly zero.

    Args:
      log_prob_fn: `log_prob_fn(params, obs, action)` for one step; vmapped here.
      params: policy parameters (any pytree).
      obs: `[N, obs_size]`; actions: `[N, ...]`; weights: `[N]` (0 for masked steps).
      num_episodes: number of episodes the N steps came from.

    Returns:
      A pytree like `params`.
    """

    def surrogate(p):
        log_probs = jax.vmap(log_prob_fn, in_axes=(None, 0, 0))(p, obs, actions)
        return jnp.sum(log_probs * jax.lax.stop_gradient(weights)) / num_episodes

    return jax.grad(surrogate)(params)


def centred_ranks(fitness: jax.Array, tie_break: str = "average") -> jax.Array:
    """Fitness shaping of OpenAI-ES: ranks scaled to [-0.5, 0.5].

    Args:
      fitness: `[n]`.
      tie_break: "average" gives equal fitnesses equal (averaged) ranks, so on
        a plateau where every fitness is equal every shaped value is 0 and the
        search direction is exactly zero; "order" breaks ties by position, as
        the reference implementation's sort does, so a plateau still yields
        full-size random steps.

    Returns:
      `[n]` float32 shaped fitness, summing to 0.
    """
    n = fitness.shape[0]
    # Work with twice the rank, an exact integer, and centre it before dividing:
    # a tie at the middle rank then gives exactly 0, not a rounding residue.
    if tie_break == "order":
        twice_rank = 2 * jnp.argsort(jnp.argsort(fitness))
    elif tie_break == "average":
        ordered = jnp.sort(fitness)
        below = jnp.searchsorted(ordered, fitness, side="left")
        below_or_equal = jnp.searchsorted(ordered, fitness, side="right")
        twice_rank = below + below_or_equal - 1
    else:
        raise ValueError(f"tie_break = {tie_break!r}; allowed: 'average', 'order'")
    return (twice_rank - (n - 1)).astype(jnp.float32) / (2 * max(n - 1, 1))


def es_gradient(eps: jax.Array, shaped_fitness: jax.Array, sigma: jax.Array) -> jax.Array:
    """OpenAI-ES gradient estimate (1 / (n sigma)) * sum_i F_i eps_i over n = 2K antithetic members.

    The members are theta + sigma eps_k (the first K fitnesses) and
    theta - sigma eps_k (the last K), so the sum is sum_k (F+_k - F-_k) eps_k:
    the pair differences are taken first, and a pair whose members tie
    contributes exactly zero (summing F_i eps_i member by member leaves a
    float32 residue of ~1e-8 that Adam's normalised first step turns into a
    full-size step).

    Args:
      eps: `[K, P]` the pairs' directions.
      shaped_fitness: `[2K]`, the K `+` members first, then the K `-` members.
      sigma: perturbation scale.

    Returns:
      `[P]` ascent direction.
    """
    pairs = eps.shape[0]
    differences = shaped_fitness[:pairs] - shaped_fitness[pairs:]
    return differences @ eps / (2 * pairs * sigma)


def ars_direction(
    deltas: jax.Array, returns_plus: jax.Array, returns_minus: jax.Array, top_b: int
) -> tuple[jax.Array, jax.Array]:
    """ARS update direction (Mania et al. 2018) from the top-b of N directions.

    Directions are ranked by max(r+, r-); the direction is
    sum_top (r+ - r-) delta / (b * sigma_R), with sigma_R the std of the 2b
    returns used. When sigma_R is 0 (a flat plateau: every return equal) the
    direction is 0, not the reference code's 0/0 = NaN.

    Args:
      deltas: `[N, P]`; returns_plus, returns_minus: `[N]`; top_b: b <= N (static).

    Returns:
      (direction `[P]`, sigma_R scalar).
    """
    _, top = jax.lax.top_k(jnp.maximum(returns_plus, returns_minus), top_b)
    plus, minus = returns_plus[top], returns_minus[top]
    sigma_r = jnp.std(jnp.concatenate([plus, minus]))
    weighted = (plus - minus) @ deltas[top]
    safe_sigma = jnp.where(sigma_r > 0, sigma_r, 1.0)
    direction = jnp.where(sigma_r > 0, weighted / (top_b * safe_sigma), 0.0)
    return direction, sigma_r
