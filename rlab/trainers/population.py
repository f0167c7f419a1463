"""Pieces shared by the search methods (OpenAI-ES, ARS, random search).

They search over a flat parameter vector `[P]` of the same policy network the
policy-gradient trainers use, act with its deterministic action (Gaussian mean
or argmax), and score a population by whole episodes.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from rlab.trainers import networks, rollout


class FlatPolicy:
    """A policy network whose weights are handled as one flat float32 vector `[P]`."""

    def __init__(self, env, width: int, depth: int):
        self.policy = networks.policy_for(env, width, depth)
        # Shapes only: initialising the network eagerly would run (and compile) each of
        # its dozens of small operations on its own, every time a trainer is built.
        unravel = []

        def flat_weights(key):
            flat, unravel_fn = ravel_pytree(self._weights(key, 1.0))
            unravel.append(unravel_fn)  # static: the tree's structure, shapes and dtypes
            return flat

        self.size = jax.eval_shape(flat_weights, jax.random.PRNGKey(0)).shape[0]
        self.unravel = unravel[0]

    def _weights(self, key, output_scale):
        params = self.policy.init(key, output_scale, jnp.ones(()))
        params.pop("log_std", None)  # search methods act deterministically
        return params

    def sample_initial(self, key: jax.Array, output_scale: jax.Array) -> jax.Array:
        """A flat vector `[P]` drawn from the network's initialisation distribution."""
        return ravel_pytree(self._weights(key, output_scale))[0]

    def action(self, theta: jax.Array, obs: jax.Array) -> jax.Array:
        return self.policy.mode(self.unravel(theta), obs)


def evaluate_population(
    env,
    flat_policy: FlatPolicy,
    thetas: jax.Array,
    keys: jax.Array,
    episodes: int,
    episode_length: int,
    preprocess: Callable[[jax.Array], jax.Array] = lambda obs: obs,
) -> rollout.EpisodeStats:
    """Runs `episodes` episodes for each member.

    Args:
      thetas: `[n, P]` flat parameters; keys: `[n]` episode keys (members that
        share a key see the same start states: common random numbers).
      preprocess: applied to observations before the policy (e.g. normalisation).

    Returns:
      EpisodeStats with leaves `[n, episodes, ...]`.
    """

    def member(theta, key):
        act = lambda obs, _: (flat_policy.action(theta, preprocess(obs)), 0.0)  # noqa: E731
        return rollout.run_episodes(env, act, key, episodes, episode_length)

    return jax.vmap(member)(thetas, keys)


def population_metrics(stats: rollout.EpisodeStats) -> dict:
    """Fitness summary and plateau diagnostics of a scored population (`[n, episodes]`)."""
    fitness = stats.episode_return.mean(axis=1)
    return {
        "fitness_mean": fitness.mean(),
        "fitness_max": fitness.max(),
        "rewarded_fraction": jnp.mean(jnp.any(stats.rewarded > 0, axis=1)),
        "train_success": stats.success.mean(),
    }
