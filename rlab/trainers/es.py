"""OpenAI evolution strategies (Salimans et al. 2017) for one seed.

Each iteration perturbs the flat policy weights theta with `population / 2`
antithetic pairs theta +- noise_std * eps, scores every member by its mean
return over `episodes_per_member` episodes (a pair shares its start states),
shapes the fitnesses to centred ranks, and takes an Adam step along
g = (1 / (n * noise_std)) * sum_i F_i eps_i. Weight decay is decoupled from
Adam (as in AdamW): theta <- theta + lr * adam(g) - lr * weight_decay * theta,
so it shrinks theta by a fixed fraction instead of being normalised by Adam
into full-size steps; its default is 0.

`tie_break` decides what happens on a plateau where every fitness is equal:
"average" (default) gives equal ranks, so the search direction is exactly
zero and, with the default weight_decay = 0, theta stands still, just as the
policy gradient is exactly zero there; "order" reproduces the reference
implementation, whose sort breaks ties by position and so takes full-size
random steps across the plateau.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from envs.params import Param, ParamError
from rlab.trainers import rollout
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.estimators import centred_ranks, es_gradient
from rlab.trainers.population import FlatPolicy, evaluate_population, population_metrics

DESCRIPTION = "OpenAI-ES: antithetic Gaussian search, centred-rank fitness shaping, weight decay, Adam"

PARAMS = (
    Param("population", int, 64, "members per iteration (even: antithetic pairs)", low=2),
    Param("episodes_per_member", int, 1, "episodes that score one member", low=1),
    Param("tie_break", str, "average", "ranks of equal fitnesses", choices=("average", "order")),
    Param("learning_rate", float, 0.01, "Adam step size", low=0.0, low_open=True),
    Param("noise_std", float, 0.05, "perturbation scale sigma", low=0.0, low_open=True),
    Param("weight_decay", float, 0.0, "decoupled decay: theta shrinks by learning_rate * weight_decay per step", low=0.0),
    Param("output_scale", float, 0.01, "scale of the policy's initial output weights", low=0.0),
)

# A cheap shape for smoke and contract tests (seconds to compile and run).
SMALL = dict(population=8)


@struct.dataclass
class ESState:
    theta: jax.Array  # [P]
    opt_state: optax.OptState
    keys: dict
    hparams: dict
    env_steps: jax.Array


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: every member scored by whole episodes."""
    steps = static["population"] * static["episodes_per_member"] * rollout.episode_length_of(env, static["episode_length"])
    return steps, "population * episodes_per_member * episode length"


def build(env, static: dict):
    if static["population"] % 2:
        raise ParamError(f"openai_es: population = {static['population']} must be even (antithetic pairs)")
    flat_policy = FlatPolicy(env, static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    pairs = static["population"] // 2
    optimizer = optax.scale_by_adam()
    iteration_steps, _ = steps_per_iteration(env, static)

    def init_fn(streams, hp):
        theta = flat_policy.sample_initial(streams["init"], hp["output_scale"])
        return ESState(theta, optimizer.init(theta), dict(streams), hp, jnp.zeros((), jnp.int32))

    def iteration(state: ESState, _):
        hp = state.hparams
        keys, noise_key = split_key(state.keys, "explore")
        keys, episode_key = split_key(keys, "env")
        eps = jax.random.normal(noise_key, (pairs, flat_policy.size))
        noise = jnp.concatenate([eps, -eps])
        thetas = state.theta + hp["noise_std"] * noise
        pair_keys = jax.random.split(episode_key, pairs)
        stats = evaluate_population(
            env, flat_policy, thetas, jnp.concatenate([pair_keys, pair_keys]),
            static["episodes_per_member"], episode_length,
        )
        fitness = stats.episode_return.mean(axis=1)
        direction = es_gradient(eps, centred_ranks(fitness, static["tie_break"]), hp["noise_std"])
        updates, opt_state = optimizer.update(-direction, state.opt_state)
        step = -hp["learning_rate"] * (updates + hp["weight_decay"] * state.theta)
        diagnostics = population_metrics(stats)
        diagnostics["update_norm"] = jnp.linalg.norm(step)
        diagnostics["zero_direction"] = jnp.all(direction == 0).astype(jnp.float32)
        diagnostics["no_reward_batch"] = 1.0 - jnp.max(stats.rewarded)
        new_state = state.replace(
            theta=state.theta + step, opt_state=opt_state, keys=keys,
            env_steps=state.env_steps + iteration_steps,
        )
        return new_state, diagnostics

    def policy_params_of(state: ESState):
        return state.theta


    return Program(init_fn, iteration, policy_params_of, flat_policy.action)


# Equal fitness everywhere gives all-zero average ranks; weight decay still moves, order ranks too.
ALGORITHM = Algorithm(
    name="openai_es", description=DESCRIPTION, params=PARAMS, steps_per_iteration=steps_per_iteration, build=build,
    batch_param="population",
    plateau=Plateau("antithetic_pairs", lambda static: static["population"] // 2,
                    lambda static, floats: static["tie_break"] == "average" and float(floats["weight_decay"]) == 0,
                    zero_law="centred_ranks"),
    small=SMALL,
)
