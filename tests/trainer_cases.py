"""Small, fast settings of every registered trainer, for contract tests (each algorithm declares its own)."""

import rlab.trainers

# Common hyperparameters kept small so one compile + a few steps take seconds on a 2-core CPU.
COMMON = dict(width=8, depth=1, eval_episodes=4, iterations_per_eval=2)


def tiny(algo, env, **overrides):
    return rlab.trainers.make(algo, env, **{**COMMON, **rlab.trainers.registered()[algo].small, **overrides})


def swept(algo) -> str:
    """The float hyperparameter a contract test sweeps: the algorithm's first own one."""
    spec = rlab.trainers.registered()[algo]
    common = {p.name for p in rlab.trainers.COMMON_PARAMS}
    return next(p.name for p in spec.params if p.kind is float and p.name not in common)


def all_algos():
    return list(rlab.trainers.registered())
