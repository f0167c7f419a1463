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
from typing import Any, Callable, Mapping

from envs.params import Param, ParamError, resolve, unknown_id_message
from rlab.trainers import ars, es, ppo, random_search, reinforce
from rlab.trainers.base import COMMON_METRICS, COMMON_PARAMS, Trainer, iterations_for_budget


@dataclasses.dataclass(frozen=True)
class AlgoSpec:
    """A registered algorithm: name, one-line description, hyperparameters, builder.

    `steps_per_iteration(env, static) -> (env steps, "how they arise")` is what
    one training iteration costs; `build(env, static) -> (init_fn, step_fn,
    policy_params_fn, act_fn)` makes the pure per-seed program (see `Trainer`);
    `small` is a cheap setting of its shape hyperparameters (seconds to
    compile and run: smoke tests, contract tests, examples).
    """

    name: str
    description: str
    params: tuple[Param, ...]
    build: Callable
    steps_per_iteration: Callable
    small: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


_REGISTRY: dict[str, AlgoSpec] = {}


def register(name: str, module) -> AlgoSpec:
    """Adds an algorithm: `module` defines DESCRIPTION, PARAMS, `steps_per_iteration`, `build` and SMALL.

    Its hyperparameters are the common ones (`base.COMMON_PARAMS`, which the
    module may redeclare with other defaults) followed by its own. Every
    registered algorithm is covered by the contract tests and reachable from
    specs, `rlab algos` and `rlab.trainers.make`.

    Raises:
      ValueError: if `name` is taken or the module lacks a piece.
    """
    if name in _REGISTRY:
        raise ValueError(f"algorithm {name!r} is already registered")
    missing = [a for a in ("DESCRIPTION", "PARAMS", "steps_per_iteration", "build", "SMALL") if not hasattr(module, a)]
    if missing:
        raise ValueError(f"algorithm {name!r}: its module lacks {', '.join(missing)}")
    own = {p.name for p in module.PARAMS}
    common = tuple(p for p in COMMON_PARAMS if p.name not in own)
    spec = AlgoSpec(name, module.DESCRIPTION, common + module.PARAMS, module.build, module.steps_per_iteration,
                    dict(module.SMALL))
    _REGISTRY[name] = spec
    return spec


register("ppo", ppo)
register("reinforce", reinforce)
register("openai_es", es)
register("ars", ars)
register("random_search", random_search)


def registered() -> dict[str, AlgoSpec]:
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
    spec, values = _resolve(algo, env, hparams)
    floats = tuple(p for p in spec.params if p.kind is float)
    static = {p.name: values[p.name] for p in spec.params if p.kind is not float}
    init_fn, step_fn, policy_params_fn, act_fn = spec.build(env, static)
    env_steps = spec.steps_per_iteration(env, static)[0] * static["iterations_per_eval"]
    return Trainer(
        algo=algo,
        env=env,
        static=static,
        defaults={p.name: values[p.name] for p in floats},
        float_params=floats,
        env_steps_per_step=env_steps,
        init_fn=init_fn,
        step_fn=step_fn,
        policy_params_fn=policy_params_fn,
        act_fn=act_fn,
    )


def resolve_hparams(algo: str, env, **hparams: Any) -> dict[str, Any]:
    """Every hyperparameter of `algo` on `env` as `make` would use it, without building anything.

    `iterations_per_eval` is the one a budget (`env_steps_per_eval`) derives.
    Raises ParamError like `make`.
    """
    return _resolve(algo, env, hparams)[1]


def _resolve(algo: str, env, hparams: dict) -> tuple[AlgoSpec, dict[str, Any]]:
    if algo not in _REGISTRY:
        raise ParamError(unknown_id_message("algorithm", algo, list(_REGISTRY)))
    spec = _REGISTRY[algo]
    values = resolve(algo, spec.params, hparams)
    if values["env_steps_per_eval"]:
        if "iterations_per_eval" in hparams:
            raise ParamError(f"{algo}: give env_steps_per_eval (a budget) or iterations_per_eval, not both")
        per_iteration, how = spec.steps_per_iteration(env, values)
        values["iterations_per_eval"] = iterations_for_budget(algo, values["env_steps_per_eval"], per_iteration, how)
    return spec, values


__all__ = ["AlgoSpec", "COMMON_METRICS", "Trainer", "make", "register", "registered", "resolve_hparams"]
