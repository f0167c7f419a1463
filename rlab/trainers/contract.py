"""The promises every algorithm keeps, checkable on any record: the built-in five, or a user's.

    from rlab.trainers import contract
    broken = contract.check("my_module:MY_ALGO")          # [] when every promise holds
    rlab algos my_module:MY_ALGO --check                   # the same, one line per promise

An algorithm record (`rlab.trainers.Algorithm`) promises what sweeps,
reports and probes rely on:

- shapes: one trainer step gives every common metric (`COMMON_METRICS`) as
  one finite value per seed and evaluation, success rates in [0, 1];
- budget: the env steps it reports after each evaluation are
  `env_steps_per_eval` times the evaluations done (so comparisons are at
  equal budgets);
- determinism: the same seed gives the same bits;
- vmap: a seed's results do not depend on which other seeds share its batch;
- floats: its float hyperparameters are lanes (a grid of values runs in one
  program, each lane its own value).

Each check runs a tiny configuration (4 seeds, 2 evaluations) in seconds.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

# Small settings shared by every check (an algorithm's own `small` is added on top).
SMALL = dict(width=8, depth=1, eval_episodes=4, iterations_per_eval=2)
# Where the checks run unless told otherwise: a dense continuous task of a few steps.
DEFAULT_ENV = ("cheese_point_mass", dict(dim=2, horizon=5, reward="dense"))


def check(algo: str, env_id: str | None = None, env_params: dict | None = None, **hparams: Any) -> list[str]:
    """The promises `algo` breaks on the environment (default: `DEFAULT_ENV`), one line each; [] when it keeps all.

    Raises:
      ParamError: `algo` or the environment cannot be found or built (the
        message says why); a record that builds but breaks a promise is
        reported in the list instead.
    """
    import envs
    import rlab.trainers

    record = rlab.trainers.lookup(algo)
    env_id, env_params = (env_id, env_params or {}) if env_id else DEFAULT_ENV
    env = envs.make(env_id, **env_params)
    trainer = rlab.trainers.make(algo, env, **{**SMALL, **record.small, **hparams})
    broken = []
    for name, promise in PROMISES.items():
        try:
            problem = promise(trainer)
        except Exception as err:  # a user's program may fail anywhere: that is the promise it breaks
            problem = f"raised {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if problem:
            broken.append(f"{name}: {problem}")
    return broken


def _run(trainer, seeds, hparams=None):
    from rlab.run.training import train

    return train(trainer, seeds, 2, hparams=hparams, progress=False).metrics


def _shapes(trainer) -> str | None:
    import rlab.trainers

    metrics = _run(trainer, [0, 1, 2, 3])
    missing = [m for m in rlab.trainers.COMMON_METRICS if m not in metrics]
    if missing:
        return f"no {', '.join(missing)} among its metrics"
    for name, values in metrics.items():
        if values.shape != (4, 2):
            return f"metric {name} has shape {values.shape} for 4 seeds x 2 evaluations; expected (4, 2)"
        if not np.all(np.isfinite(values)):
            return f"metric {name} is not finite on a tiny run"
    success = metrics["eval_success"]
    if success.min() < 0 or success.max() > 1:
        return f"eval_success outside [0, 1] ({success.min():g} to {success.max():g})"
    return None


def _budget(trainer) -> str | None:
    steps = _run(trainer, [0, 1, 2, 3])["env_steps"]
    expected = trainer.env_steps_per_eval * np.array([1, 2])
    if not np.array_equal(steps[0], expected):
        return (f"reports env_steps {steps[0].tolist()} after 2 evaluations; its budget says "
                f"{expected.tolist()} (steps_per_iteration x iterations_per_eval)")
    return None


def _determinism(trainer) -> str | None:
    first, second = _run(trainer, [3, 4, 5, 6]), _run(trainer, [3, 4, 5, 6])
    differing = [name for name in first if not np.array_equal(first[name], second[name])]
    return f"the same seeds gave different {', '.join(differing)}" if differing else None


def _vmap(trainer) -> str | None:
    together, shuffled = _run(trainer, [5, 6, 7, 8]), _run(trainer, [8, 100, 5, 101])
    differing = [name for name in together if not (np.array_equal(together[name][0], shuffled[name][2])
                                                   and np.array_equal(together[name][3], shuffled[name][0]))]
    return (f"seeds 5 and 8 gave other {', '.join(differing)} beside other seeds of one batch"
            if differing else None)


def _floats(trainer) -> str | None:
    floats = [p for p in trainer.float_params if not p.name.startswith("env.")]
    if not floats:
        return None
    param = floats[0]
    base = float(trainer.defaults[param.name])
    other = base * 2 if base else 0.5
    if param.high is not None and other > param.high:
        other = (base + (param.low or 0.0)) / 2
    values = np.array([base, other, base, other], np.float32)
    metrics = _run(trainer, [1, 1, 2, 2], {param.name: values})
    alone = _run(trainer, [1, 1, 2, 2])
    same = [name for name in metrics if np.array_equal(metrics[name][1], alone[name][1])]
    if len(same) == len(metrics):
        return f"{param.name} = {other:g} in a lane changed none of its metrics (is it read from the state?)"
    return None


PROMISES: dict[str, Callable] = {"shapes": _shapes, "budget": _budget, "determinism": _determinism,
                                 "vmap": _vmap, "floats": _floats}
