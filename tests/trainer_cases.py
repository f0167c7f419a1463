"""Small, fast settings of every registered trainer, for contract tests."""

import rlab.trainers

# Small shapes so one compile + a few steps take seconds on a 2-core CPU.
TINY = {
    "ppo": dict(num_envs=4, rollout_length=8, num_epochs=2, num_minibatches=2),
    "reinforce": dict(num_envs=4),
    "openai_es": dict(population=8),
    "ars": dict(num_directions=4, top_directions=2),
    "random_search": dict(population=8),
}
COMMON = dict(width=8, depth=1, eval_episodes=4, iterations_per_eval=2)

# The float hyperparameter each contract test sweeps.
SWEPT = {
    "ppo": "learning_rate",
    "reinforce": "learning_rate",
    "openai_es": "noise_std",
    "ars": "step_size",
    "random_search": "output_scale",
}


def tiny(algo, env, **overrides):
    return rlab.trainers.make(algo, env, **{**COMMON, **TINY.get(algo, {}), **overrides})


def all_algos():
    return list(rlab.trainers.registered())
