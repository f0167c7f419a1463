"""Random search: try fresh random policies and keep the best one found so far.

Each iteration draws `population` policies from the network's initialisation
distribution (weights as at initialisation, output layer scaled by
`output_scale`), scores each by `episodes_per_member` episodes, and keeps the
best so far (the first one found wins ties). It is the "try random policies
until one lands in a hole" baseline: with hole probability p per policy, the
chance of having found one after S policies is 1 - (1 - p)^S.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs.params import Param
from rlab.trainers import rollout
from rlab.trainers.base import split_key, train_then_evaluate
from rlab.trainers.population import FlatPolicy, evaluate_population, population_metrics

DESCRIPTION = "Random search: sample policies from the initialisation distribution, keep the best"

PARAMS = (
    Param("population", int, 64, "fresh policies per iteration", low=1),
    Param("episodes_per_member", int, 1, "episodes that score one policy", low=1),
    Param("iterations_per_eval", int, 1, "training iterations in one step", low=1),
    Param("output_scale", float, 1.0, "scale of the sampled output weights", low=0.0),
)


@struct.dataclass
class RandomSearchState:
    best_theta: jax.Array  # [P]
    best_fitness: jax.Array  # scalar; -inf before the first iteration
    keys: dict
    hparams: dict
    env_steps: jax.Array


def build(env, static: dict):
    flat_policy = FlatPolicy(env, static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    population = static["population"]
    steps_per_iteration = population * static["episodes_per_member"] * episode_length

    def init_fn(streams, hp):
        theta = flat_policy.sample_initial(streams["init"], hp["output_scale"])
        return RandomSearchState(theta, jnp.full((), -jnp.inf, jnp.float32), dict(streams), hp, jnp.zeros((), jnp.int32))

    def iteration(state: RandomSearchState, _):
        keys, draw_key = split_key(state.keys, "explore")
        keys, episode_key = split_key(keys, "env")
        thetas = jax.vmap(lambda k: flat_policy.sample_initial(k, state.hparams["output_scale"]))(
            jax.random.split(draw_key, population)
        )
        stats = evaluate_population(
            env, flat_policy, thetas, jax.random.split(episode_key, population),
            static["episodes_per_member"], episode_length,
        )
        fitness = stats.episode_return.mean(axis=1)
        best = jnp.argmax(fitness)  # first maximum
        improved = fitness[best] > state.best_fitness
        diagnostics = population_metrics(stats)
        new_state = state.replace(
            best_theta=jnp.where(improved, thetas[best], state.best_theta),
            best_fitness=jnp.where(improved, fitness[best], state.best_fitness),
            keys=keys,
            env_steps=state.env_steps + steps_per_iteration,
        )
        diagnostics["best_fitness"] = new_state.best_fitness
        return new_state, diagnostics

    def action_fn_of(state: RandomSearchState):
        return lambda obs: flat_policy.action(state.best_theta, obs)

    def step_fn(state: RandomSearchState):
        return train_then_evaluate(env, iteration, state, static, action_fn_of, episode_length)

    return init_fn, step_fn, steps_per_iteration * static["iterations_per_eval"], action_fn_of
