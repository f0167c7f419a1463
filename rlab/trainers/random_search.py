"""Random search: try fresh random policies and keep the best one found so far.

Each iteration draws `population` policies from the network's initialisation
distribution (weights as at initialisation, output layer scaled by
`output_scale`) and screens each by `episodes_per_member` episodes. The
screen's best is a *challenger*, and a screen's maximum is a lucky draw (a
policy that succeeds 10% of the time often scores 1 on one episode), so the
challenger is scored again on fresh episodes before anything is decided:

* a *selection* estimate, its mean return over `reevaluation_episodes` fresh
  episodes, replaces the incumbent only if it beats the incumbent's own
  selection estimate;
* a *report* estimate, its mean return and success over another
  `reevaluation_episodes` fresh episodes, used for no decision at all. It
  becomes `best_fitness` / `best_success` when the challenger is accepted.

Because the report episodes are independent of every choice made, the
incumbent's `best_fitness` is an unbiased estimate of its expected return
(and `best_success` of its success rate). Every episode counts towards the
env-step budget. This is the "try random policies until one lands in a hole"
baseline: with hole probability p per policy, the chance of having found one
after S policies is 1 - (1 - p)^S.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs.params import Param
from rlab.trainers import rollout
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.population import FlatPolicy, evaluate_population, population_metrics

DESCRIPTION = "Random search: sample policies from the initialisation distribution, keep the best on fresh episodes"

PARAMS = (
    Param("population", int, 64, "fresh policies per iteration", low=1),
    Param("episodes_per_member", int, 1, "episodes that screen one policy", low=1),
    Param("reevaluation_episodes", int, 32, "fresh episodes for the challenger's selection, and again for its report", low=1),
    Param("iterations_per_eval", int, 1, "training iterations in one step", low=1),
    Param("output_scale", float, 1.0, "scale of the sampled output weights", low=0.0),
)

# A cheap shape for smoke and contract tests (seconds to compile and run).
SMALL = dict(population=8, reevaluation_episodes=2)


@struct.dataclass
class RandomSearchState:
    best_theta: jax.Array  # [P]
    best_selection: jax.Array  # scalar: the incumbent's selection estimate; -inf before the first iteration
    best_fitness: jax.Array  # scalar: its report estimate of the mean return (unbiased)
    best_success: jax.Array  # scalar: its report estimate of the success rate (unbiased)
    keys: dict
    hparams: dict
    env_steps: jax.Array


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: the screen plus the challenger's two re-evaluations."""
    episodes = static["population"] * static["episodes_per_member"] + 2 * static["reevaluation_episodes"]
    how = "(population * episodes_per_member + 2 * reevaluation_episodes) * episode length"
    return episodes * rollout.episode_length_of(env, static["episode_length"]), how


def build(env, static: dict):
    flat_policy = FlatPolicy(env, static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    population = static["population"]
    iteration_steps, _ = steps_per_iteration(env, static)

    def init_fn(streams, hp):
        theta = flat_policy.sample_initial(streams["init"], hp["output_scale"])
        zero = jnp.zeros((), jnp.float32)
        return RandomSearchState(
            theta, jnp.full((), -jnp.inf, jnp.float32), zero, zero, dict(streams), hp, jnp.zeros((), jnp.int32)
        )

    def iteration(state: RandomSearchState, _):
        keys, draw_key = split_key(state.keys, "explore")
        keys, episode_key = split_key(keys, "env")
        screen_key, selection_key, report_key = jax.random.split(episode_key, 3)
        thetas = jax.vmap(lambda k: flat_policy.sample_initial(k, state.hparams["output_scale"]))(
            jax.random.split(draw_key, population)
        )
        screen = evaluate_population(
            env, flat_policy, thetas, jax.random.split(screen_key, population),
            static["episodes_per_member"], episode_length,
        )
        challenger = thetas[jnp.argmax(screen.episode_return.mean(axis=1))]  # first maximum
        rescored = evaluate_population(
            env, flat_policy, jnp.stack([challenger, challenger]), jnp.stack([selection_key, report_key]),
            static["reevaluation_episodes"], episode_length,
        )
        selection = rescored.episode_return[0].mean()
        accepted = selection > state.best_selection
        new_state = state.replace(
            best_theta=jnp.where(accepted, challenger, state.best_theta),
            best_selection=jnp.where(accepted, selection, state.best_selection),
            best_fitness=jnp.where(accepted, rescored.episode_return[1].mean(), state.best_fitness),
            best_success=jnp.where(accepted, rescored.success[1].mean(), state.best_success),
            keys=keys,
            env_steps=state.env_steps + iteration_steps,
        )
        diagnostics = population_metrics(screen)
        diagnostics["accepted"] = accepted.astype(jnp.float32)
        diagnostics["best_fitness"] = new_state.best_fitness
        diagnostics["best_success"] = new_state.best_success
        diagnostics["no_reward_batch"] = 1.0 - jnp.maximum(jnp.max(screen.rewarded), jnp.max(rescored.rewarded))
        diagnostics["update_norm"] = jnp.linalg.norm(new_state.best_theta - state.best_theta)
        return new_state, diagnostics

    def policy_params_of(state: RandomSearchState):
        return state.best_theta


    return Program(init_fn, iteration, policy_params_of, flat_policy.action)


# Its draws never depend on the incumbent, so the chance of a batch without reward never changes.
ALGORITHM = Algorithm(
    name="random_search", description=DESCRIPTION, params=PARAMS, steps_per_iteration=steps_per_iteration, build=build,
    batch_param="population",
    plateau=Plateau("policy_draws", lambda static: static["population"], lambda static, floats: True),
    small=SMALL,
)
