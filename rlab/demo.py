"""`rlab demo`: a small built-in sweep and its report, a few minutes on two CPU cores.

Sparse-reward `cheese_point_mass` in dimensions 1 to 4, trained with PPO,
OpenAI-ES and random search over 64 seeds: the "one more dimension breaks it"
measurement in miniature. Every algorithm trains 2,560 env steps between
evaluations (PPO 16 iterations of 16 x 10 steps, OpenAI-ES 8 of 32 episodes,
random search 4 of 32 screened + 2 x 16 re-evaluation episodes), so the
report compares them at equal budgets.
"""

from __future__ import annotations

DEMO_SPEC = """\
name = "demo"
env = "cheese_point_mass"
seeds = {seeds}
env_steps_per_eval = 2560
num_evals = 5

[env_params]
reward = "sparse"
horizon = 10
hole_radius = 0.3

[env_axes]
dim = [1, 2, 3, 4]

[algorithms.ppo]
num_envs = 16
rollout_length = 10

[algorithms.openai_es]
population = 32

[algorithms.random_search]
population = 32
reevaluation_episodes = 16
"""


def spec_text(seeds: int = 64) -> str:
    return DEMO_SPEC.format(seeds=seeds)
