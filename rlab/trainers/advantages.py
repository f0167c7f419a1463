"""Returns and advantages over `[T, B]` rollouts, respecting episode boundaries."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminations: jax.Array,
    truncations: jax.Array,
    gamma: jax.Array,
    lam: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation (Schulman et al. 2016).

    delta_t = r_t + gamma * (1 - term_t) * V(s'_t) - V(s_t): a terminated step
    has no future value, a truncated one bootstraps from its true successor
    s'_t. The recursion A_t = delta_t + gamma * lam * A_{t+1} stops at every
    episode boundary (termination or truncation) and at the end of the rollout.

    Args:
      rewards, values, next_values, terminations, truncations: `[T, B]` float32;
        `next_values[t]` is V of the successor observation of step t.
      gamma, lam: scalars.

    Returns:
      (advantages `[T, B]`, value targets = advantages + values `[T, B]`).
    """
    deltas = rewards + gamma * (1.0 - terminations) * next_values - values
    continues = 1.0 - jnp.maximum(terminations, truncations)

    def backward(next_advantage, step):
        delta, cont = step
        advantage = delta + gamma * lam * cont * next_advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(
        backward, jnp.zeros_like(deltas[0]), (deltas, continues), reverse=True
    )
    return advantages, advantages + values


def reward_to_go(rewards: jax.Array, boundaries: jax.Array, gamma: jax.Array) -> jax.Array:
    """Discounted Monte Carlo return from each step to the end of its episode.

    G_t = r_t + gamma * (1 - boundary_t) * G_{t+1}, with G after the last step 0.

    Args:
      rewards, boundaries: `[T, B]`; boundary_t is 1.0 where an episode ended at step t.

    Returns:
      `[T, B]` returns.
    """

    def backward(next_return, step):
        reward, boundary = step
        g = reward + gamma * (1.0 - boundary) * next_return
        return g, g

    _, returns = jax.lax.scan(backward, jnp.zeros_like(rewards[0]), (rewards, boundaries), reverse=True)
    return returns
