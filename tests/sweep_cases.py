"""A tiny experiment spec the sweep and report tests share (seconds to run on a CPU)."""

TINY = """
name = "tiny"
env = "cheese_point_mass"
seeds = {seeds}
num_evals = 2
chunk_size = 4

[env_params]
reward = "dense"
horizon = 4

[env_axes]
dim = [1, 2]

[algorithms.openai_es]
population = 4
width = 4
depth = 1
iterations_per_eval = 1
eval_episodes = 4
[algorithms.openai_es.axes]
noise_std = {noise}
{extra}"""

RANDOM_SEARCH = """
[algorithms.random_search]
population = 4
width = 4
depth = 1
eval_episodes = 4
"""


def tiny_spec(seeds=6, noise="[0.02, 0.05]", extra=""):
    return TINY.format(seeds=seeds, noise=noise, extra=extra)
