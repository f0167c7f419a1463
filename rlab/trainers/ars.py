"""Augmented random search (Mania et al. 2018) for one seed.

Each iteration draws `num_directions` Gaussian directions delta, scores
theta +- noise_std * delta (a pair shares its start states), keeps the
`top_directions` best by max(r+, r-), and steps
theta += step_size / (b * sigma_R) * sum (r+ - r-) delta, with sigma_R the std
of the 2b returns used. On a flat plateau sigma_R is 0 and the step is 0, not
NaN. `version="v2"` also normalises observations by their running mean and
diagonal std (ARS V2). With `depth=0` the policy is linear, as in the paper.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs.params import Param, ParamError
from rlab.trainers import rollout
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.estimators import ars_direction
from rlab.trainers.normalization import RunningStats
from rlab.trainers.population import FlatPolicy, evaluate_population, population_metrics

DESCRIPTION = "ARS: random-direction finite differences on the top-b directions (V1, or V2 with observation normalisation)"

PARAMS = (
    Param("num_directions", int, 32, "directions N per iteration", low=1),
    Param("top_directions", int, 16, "best directions b used (b <= N)", low=1),
    Param("episodes_per_member", int, 1, "episodes that score one perturbation", low=1),
    Param("version", str, "v2", "v1: raw observations; v2: normalised observations", choices=("v1", "v2")),
    Param("step_size", float, 0.02, "step size alpha", low=0.0, low_open=True),
    Param("noise_std", float, 0.03, "perturbation scale nu", low=0.0, low_open=True),
    Param("output_scale", float, 0.01, "scale of the policy's initial output weights", low=0.0),
)

# A cheap shape for smoke and contract tests (seconds to compile and run).
SMALL = dict(num_directions=4, top_directions=2)


@struct.dataclass
class ARSState:
    theta: jax.Array  # [P]
    obs_stats: RunningStats
    keys: dict
    hparams: dict
    env_steps: jax.Array


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: both signs of every direction, scored by whole episodes."""
    steps = 2 * static["num_directions"] * static["episodes_per_member"] * rollout.episode_length_of(env, static["episode_length"])
    return steps, "2 * num_directions * episodes_per_member * episode length"


def build(env, static: dict):
    n, b = static["num_directions"], static["top_directions"]
    if b > n:
        raise ParamError(f"ars: top_directions = {b} must be <= num_directions = {n}")
    flat_policy = FlatPolicy(env, static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    normalize = static["version"] == "v2"
    iteration_steps, _ = steps_per_iteration(env, static)

    def preprocess(stats):
        return stats.normalize if normalize else (lambda obs: obs)

    def init_fn(streams, hp):
        theta = flat_policy.sample_initial(streams["init"], hp["output_scale"])
        stats = RunningStats.zeros(env.observation_size)
        return ARSState(theta, stats, dict(streams), hp, jnp.zeros((), jnp.int32))

    def iteration(state: ARSState, _):
        hp = state.hparams
        keys, noise_key = split_key(state.keys, "explore")
        keys, episode_key = split_key(keys, "env")
        deltas = jax.random.normal(noise_key, (n, flat_policy.size))
        thetas = state.theta + hp["noise_std"] * jnp.concatenate([deltas, -deltas])
        pair_keys = jax.random.split(episode_key, n)
        stats = evaluate_population(
            env, flat_policy, thetas, jnp.concatenate([pair_keys, pair_keys]),
            static["episodes_per_member"], episode_length, preprocess(state.obs_stats),
        )
        fitness = stats.episode_return.mean(axis=1)
        direction, sigma_r = ars_direction(deltas, fitness[:n], fitness[n:], b)
        step = hp["step_size"] * direction
        obs_stats = state.obs_stats
        if normalize:
            obs_stats = obs_stats.merge_moments(
                stats.obs_count.sum(), stats.obs_sum.sum(axis=(0, 1)), stats.obs_sum_sq.sum(axis=(0, 1))
            )
        diagnostics = population_metrics(stats)
        diagnostics["update_norm"] = jnp.linalg.norm(step)
        diagnostics["returns_std"] = sigma_r
        diagnostics["no_reward_batch"] = 1.0 - jnp.max(stats.rewarded)
        new_state = state.replace(
            theta=state.theta + step, obs_stats=obs_stats, keys=keys,
            env_steps=state.env_steps + iteration_steps,
        )
        return new_state, diagnostics

    def policy_params_of(state: ARSState):
        return {"theta": state.theta, "obs_stats": state.obs_stats}

    def act(params, obs):
        return flat_policy.action(params["theta"], preprocess(params["obs_stats"])(obs))


    return Program(init_fn, iteration, policy_params_of, act)


# V1's step is the reward differences times directions: zero without reward; V2's statistics still move.
ALGORITHM = Algorithm(
    name="ars", description=DESCRIPTION, params=PARAMS, steps_per_iteration=steps_per_iteration, build=build,
    batch_param="num_directions",
    plateau=Plateau("antithetic_pairs", lambda static: static["num_directions"],
                    lambda static, floats: static["version"] == "v1", zero_law="top_directions"),
    small=SMALL,
)
