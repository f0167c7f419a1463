"""Monte Carlo episodes of an environment's reference policy.

Used by `rlab envs --check` and the tests to compare an environment's measured
success rate with its closed-form `reference_success_probability()`, and for
the physics tasks (which have none) to measure their random policy's success
rate per dimension.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp



@functools.partial(jax.jit, static_argnums=(0, 2))
def reference_successes(env, key: jax.Array, num_episodes: int) -> jax.Array:
    """Runs `num_episodes` independent episodes of `env.reference_policy`, vmapped.

    Args:
      env: the environment, with `reference_policy` and `horizon` (static: its constants are baked
        into the program).
      key: PRNG key; episode i uses `fold_in(key, i)`, so an episode's outcome
        does not depend on how many others run.
      num_episodes: number of episodes.

    Returns:
      float32 `[num_episodes]`: 1.0 where the episode succeeded (at any step).
    """
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num_episodes))
    return jax.vmap(lambda k: _episode_success(env, k))(keys)


def _episode_success(env, key: jax.Array) -> jax.Array:
    reset_key, policy_key = jax.random.split(key)
    state = env.reset(reset_key)

    def one_step(state, step_key):
        action = env.reference_policy(step_key, state.obs)
        state = env.step(state, action)
        return state, state.metrics["success"]

    _, successes = jax.lax.scan(one_step, state, jax.random.split(policy_key, env.horizon))
    return jnp.max(successes)
