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
from typing import Any, Callable

from envs.params import Param, ParamError, resolve, unknown_id_message
from rlab.trainers import ars, es, ppo, random_search, reinforce
from rlab.trainers.base import COMMON_METRICS, COMMON_PARAMS, Trainer


@dataclasses.dataclass(frozen=True)
class AlgoSpec:
    """A registered algorithm: name, one-line description, hyperparameters, builder."""

    name: str
    description: str
    params: tuple[Param, ...]
    build: Callable

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


def _spec(name, module) -> AlgoSpec:
    own = {p.name for p in module.PARAMS}
    common = tuple(p for p in COMMON_PARAMS if p.name not in own)
    return AlgoSpec(name, module.DESCRIPTION, common + module.PARAMS, module.build)


_REGISTRY = {
    spec.name: spec
    for spec in (
        _spec("ppo", ppo),
        _spec("reinforce", reinforce),
        _spec("openai_es", es),
        _spec("ars", ars),
        _spec("random_search", random_search),
    )
}


def registered() -> dict[str, AlgoSpec]:
    """Every algorithm, with its hyperparameters (defaults, allowed values, meaning)."""
    return dict(_REGISTRY)


def make(algo: str, env, **hparams: Any) -> Trainer:
    """Builds the trainer `algo` for `env`.

    Raises:
      ParamError (a ValueError): unknown algorithm or hyperparameter, wrong type
        or out-of-range value, naming the field and what is allowed.
    """
    if algo not in _REGISTRY:
        raise ParamError(unknown_id_message("algorithm", algo, list(_REGISTRY)))
    spec = _REGISTRY[algo]
    values = resolve(algo, spec.params, hparams)
    floats = tuple(p for p in spec.params if p.kind is float)
    static = {p.name: values[p.name] for p in spec.params if p.kind is not float}
    init_fn, step_fn, env_steps, action_fn_of = spec.build(env, static)
    return Trainer(
        algo=algo,
        env=env,
        static=static,
        defaults={p.name: values[p.name] for p in floats},
        float_params=floats,
        env_steps_per_step=env_steps,
        init_fn=init_fn,
        step_fn=step_fn,
        action_fn_of=action_fn_of,
    )


__all__ = ["AlgoSpec", "COMMON_METRICS", "Trainer", "make", "registered"]
