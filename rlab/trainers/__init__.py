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
from rlab.trainers import ars, es, evosax_family, ppo, random_search, reinforce, rollout
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
    record = _with_common_params(algorithm)
    _REGISTRY[name] = record
    return record


def _with_common_params(algorithm: Algorithm) -> Algorithm:
    """The record with the common hyperparameters (`base.COMMON_PARAMS`) before its own."""
    own = {p.name for p in algorithm.params}
    common = tuple(p for p in COMMON_PARAMS if p.name not in own)
    return dataclasses.replace(algorithm, params=common + tuple(algorithm.params), small=dict(algorithm.small))


register(ppo.ALGORITHM)
register(reinforce.ALGORITHM)
register(es.ALGORITHM)
register(ars.ALGORITHM)
register(random_search.ALGORITHM)
if evosax_family.available():  # evosax's strategies, where the optional package is installed
    for _name in evosax_family.STRATEGIES:
        register(evosax_family.algorithm(_name))


def registered() -> dict[str, Algorithm]:
    """Every algorithm, with its hyperparameters (defaults, allowed values, meaning).

    Installed packages' records (entry point group `rlab.algorithms`) are
    included; `package.module:NAME` ids are not (they are looked up by name, `lookup`).
    """
    _load_entry_points()
    return dict(_REGISTRY)


# Installed packages register algorithms here: `[project.entry-points."rlab.algorithms"] my_id = "pkg.mod:RECORD"`.
ENTRY_POINT_GROUP = "rlab.algorithms"
# `package.module:NAME` records looked up so far, kept apart from the registry.
_NAMED: dict[str, Algorithm] = {}
# Where each id comes from, for `rlab algos`: "rlab", "evosax", "package.module:NAME", or "entry point of DIST".
ORIGINS: dict[str, str] = {name: "evosax" for name in _REGISTRY if name.startswith(evosax_family.PREFIX)}
_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    """Registers every installed package's `rlab.algorithms` entry point once (a broken one: a warning)."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from envs import external

    external.load_entry_points(ENTRY_POINT_GROUP, "algorithm", _REGISTRY, _register_named)


def _register_named(algo: str, object_id: str, origin: str) -> Algorithm:
    """The Algorithm record `package.module:NAME` under the id `algo`: registered for an entry point
    (`algo` its name), kept by name for an id a spec names (`algo == object_id`)."""
    from envs import external

    record = external.import_object(object_id, "algorithm")
    if not isinstance(record, Algorithm):
        missing = [f.name for f in dataclasses.fields(Algorithm) if not hasattr(record, f.name)]
        raise ParamError(f"algorithm {object_id!r}: a {type(record).__name__} object, not an rlab.trainers.Algorithm "
                         "record" + (f" (it lacks {', '.join(missing)})" if missing else ""))
    ORIGINS[algo] = origin
    if algo != object_id:
        return register(dataclasses.replace(record, name=algo))
    _NAMED[algo] = _with_common_params(dataclasses.replace(record, name=algo))
    return _NAMED[algo]


def lookup(algo: str) -> Algorithm:
    """The record of `algo`: a registered id, or `package.module:NAME` naming an `Algorithm` record.

    A record named that way is registered under the id on first use (its
    `name` becomes the id), so specs, sweeps and reports treat it as any
    built-in trainer; it must keep the contract (`rlab.trainers.contract`).

    Raises:
      ParamError (a ValueError): an unknown id, a module that does not
        import, a missing name, or an object that is no Algorithm record.
    """
    if algo in _REGISTRY or algo in _NAMED:
        return _REGISTRY.get(algo) or _NAMED[algo]
    _load_entry_points()
    if algo in _REGISTRY:
        return _REGISTRY[algo]
    from envs import external

    if not external.is_external(algo):
        raise ParamError(unknown_id_message("algorithm", algo, list(_REGISTRY))
                         + "; or package.module:NAME for an Algorithm record of your own")
    return _register_named(algo, algo, algo)


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
    floats = tuple(p for p in algorithm.params if p.kind is float) + env_traced_params(env)
    static = {p.name: values[p.name] for p in algorithm.params if p.kind is not float}
    program = algorithm.build(env, static)
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    traced_env = env.traced_values() if hasattr(env, "traced_values") else {}

    def bound(hparams) -> tuple[Any, Program]:
        """The env with its traced constants taken from `hparams`, and the program built on it."""
        if not traced_env:
            return env, program
        env_now = env.with_values({name: hparams[ENV_PREFIX + name] for name in traced_env})
        return env_now, algorithm.build(env_now, static)

    def init_fn(streams, hparams):
        return bound(hparams)[1].init(streams, hparams)

    def step_fn(state):
        env_now, program_now = bound(state.hparams)
        return train_then_evaluate(env_now, program_now.iteration, state, static, program_now.policy_params,
                                   program_now.act, episode_length)

    return Trainer(
        algo=algo,
        algorithm=algorithm,
        env=env,
        static=static,
        defaults={**{p.name: values[p.name] for p in algorithm.params if p.kind is float},
                  **{ENV_PREFIX + name: value for name, value in traced_env.items()}},
        float_params=floats,
        env_steps_per_eval=env_steps_per_eval(algorithm, env, static),
        init_fn=init_fn,
        step_fn=step_fn,
        policy_params_fn=program.policy_params,
        act_fn=program.act,
    )


ENV_PREFIX = "env."


def env_traced_params(env) -> tuple:
    """The env's traced parameters (`envs.params.Param.traced`) as float hyperparameters named `env.<name>`.

    A trainer carries them in `state.hparams` like its own float
    hyperparameters and builds its program on the env with those values, so
    one compiled program serves every value: groups of a sweep that differ
    only in such constants share it.
    """
    return tuple(dataclasses.replace(p, name=ENV_PREFIX + p.name)
                 for p in getattr(env, "PARAMS", ()) if getattr(p, "traced", False))


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
    algorithm = lookup(algo)
    values = resolve(algo, algorithm.params, hparams)
    if values["env_steps_per_eval"]:
        if "iterations_per_eval" in hparams:
            raise ParamError(f"{algo}: give env_steps_per_eval (a budget) or iterations_per_eval, not both")
        per_iteration, how = algorithm.steps_per_iteration(env, values)
        values["iterations_per_eval"] = iterations_for_budget(algo, values["env_steps_per_eval"], per_iteration, how)
    return algorithm, values


__all__ = ["Algorithm", "COMMON_METRICS", "Plateau", "Program", "Trainer", "env_steps_per_eval", "lookup", "make",
           "register", "registered", "resolve_hparams"]
