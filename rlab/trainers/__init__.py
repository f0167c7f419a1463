"""Seed-parallel trainers: pure per-seed programs for PPO, REINFORCE, OpenAI-ES, ARS and random search.

    import envs, rlab.trainers
    trainer = rlab.trainers.make("ppo", envs.make("cheese_point_mass", reward="dense"))
    state = trainer.init(jax.random.PRNGKey(0))
    state, metrics = trainer.step(state)

`rlab.trainers.registered()` lists the algorithms with their hyperparameters.
See `rlab.trainers.base` for the static / float hyperparameter split and
`rlab.train` for running many seeds at once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from envs.params import ParamError, resolve, unknown_id_message
from rlab.trainers import ars, es, ppo, random_search, reinforce, rollout
from rlab.trainers.base import (
    COMMON_METRICS, COMMON_PARAMS, Algorithm, Plateau, Program, Trainer, iterations_for_budget, train_then_evaluate,
)


_REGISTRY: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> Algorithm:
    """Adds an algorithm (its module's `ALGORITHM` record, see `base.Algorithm`).

    Its hyperparameters become the common ones (`base.COMMON_PARAMS`, which
    the algorithm may redeclare with other defaults) followed by its own.
    Every registered algorithm is covered by the contract tests and reachable
    from specs, `rlab algos` and `rlab.trainers.make`.

    Returns:
      the registered record, with the common hyperparameters included.

    Raises:
      ValueError: if its name is taken or the record lacks a piece.
    """
    name = getattr(algorithm, "name", None)
    if not isinstance(algorithm, Algorithm):
        fields = [f.name for f in dataclasses.fields(Algorithm)]
        missing = [f for f in fields if not hasattr(algorithm, f)]
        raise ValueError(f"algorithm {name!r}: not an Algorithm record"
                         + (f"; it lacks {', '.join(missing)}" if missing else ""))
    if name in _REGISTRY:
        raise ValueError(f"algorithm {name!r} is already registered")
    own = {p.name for p in algorithm.params}
    common = tuple(p for p in COMMON_PARAMS if p.name not in own)
    record = dataclasses.replace(algorithm, params=common + tuple(algorithm.params), small=dict(algorithm.small))
    _REGISTRY[name] = record
    return record


register(ppo.ALGORITHM)
register(reinforce.ALGORITHM)
register(es.ALGORITHM)
register(ars.ALGORITHM)
register(random_search.ALGORITHM)


def registered() -> dict[str, Algorithm]:
    """Every algorithm, with its hyperparameters (defaults, allowed values, meaning)."""
    return dict(_REGISTRY)


def make(algo: str, env, **hparams: Any) -> Trainer:
    """Builds the trainer `algo` for `env`.

    A budget `env_steps_per_eval=N` fixes the training env steps between two
    evaluations whatever the algorithm's batch shape: the number of
    iterations per evaluation is derived from it (giving `iterations_per_eval`
    as well is an error).

    Raises:
      ParamError (a ValueError): unknown algorithm or hyperparameter, wrong type
        or out-of-range value, a budget the batch shape cannot reach exactly;
        the message names the field and what is allowed.
    """
    algorithm, values = _resolve(algo, env, hparams)
    floats = tuple(p for p in algorithm.params if p.kind is float)
    static = {p.name: values[p.name] for p in algorithm.params if p.kind is not float}
    program = algorithm.build(env, static)
    episode_length = rollout.episode_length_of(env, static["episode_length"])

    def step_fn(state):
        return train_then_evaluate(env, program.iteration, state, static, program.policy_params, program.act,
                                   episode_length)

    return Trainer(
        algo=algo,
        algorithm=algorithm,
        env=env,
        static=static,
        defaults={p.name: values[p.name] for p in floats},
        float_params=floats,
        env_steps_per_eval=env_steps_per_eval(algorithm, env, static),
        init_fn=program.init,
        step_fn=step_fn,
        policy_params_fn=program.policy_params,
        act_fn=program.act,
    )


def env_steps_per_eval(algorithm: Algorithm, env, static: Mapping[str, Any]) -> int:
    """The budget: training env steps between two evaluations (`iterations_per_eval` iterations).

    The one place it is computed; `Trainer.env_steps_per_eval` holds it for a built trainer.
    """
    return algorithm.steps_per_iteration(env, static)[0] * static["iterations_per_eval"]


def resolve_hparams(algo: str, env, **hparams: Any) -> dict[str, Any]:
    """Every hyperparameter of `algo` on `env` as `make` would use it, without building anything.

    `iterations_per_eval` is the one a budget (`env_steps_per_eval`) derives.
    Raises ParamError like `make`.
    """
    return _resolve(algo, env, hparams)[1]


def _resolve(algo: str, env, hparams: dict) -> tuple[Algorithm, dict[str, Any]]:
    if algo not in _REGISTRY:
        raise ParamError(unknown_id_message("algorithm", algo, list(_REGISTRY)))
    algorithm = _REGISTRY[algo]
    values = resolve(algo, algorithm.params, hparams)
    if values["env_steps_per_eval"]:
        if "iterations_per_eval" in hparams:
            raise ParamError(f"{algo}: give env_steps_per_eval (a budget) or iterations_per_eval, not both")
        per_iteration, how = algorithm.steps_per_iteration(env, values)
        values["iterations_per_eval"] = iterations_for_budget(algo, values["env_steps_per_eval"], per_iteration, how)
    return algorithm, values


__all__ = ["Algorithm", "COMMON_METRICS", "Plateau", "Program", "Trainer", "env_steps_per_eval", "make", "register",
           "registered", "resolve_hparams"]
