"""A tiny experiment spec the sweep and report tests share (seconds to run on a CPU)."""

TINY = """
name = "tiny"
env = "cheese_point_mass"
seeds = {seeds}
{budget}num_evals = 2
chunk_size = 4
lane_width = 2

[env_params]
reward = "dense"
horizon = 4

[env_axes]
dim = [1, 2]

[algorithms.openai_es]
population = 4
width = 4
depth = 1
{iterations}eval_episodes = 4
[algorithms.openai_es.axes]
noise_std = {noise}
{extra}"""

RANDOM_SEARCH = """
[algorithms.random_search]
population = 4
reevaluation_episodes = 2
width = 4
depth = 1
eval_episodes = 4
"""


def tiny_spec(seeds=6, noise="[0.02, 0.05]", extra="", budget=None):
    """The tiny spec; with `budget`, every algorithm trains `budget` env steps per evaluation.

    One openai_es iteration takes 16 env steps, one random_search iteration 32.
    """
    return TINY.format(
        seeds=seeds, noise=noise, extra=extra,
        budget=f"env_steps_per_eval = {budget}\n" if budget else "",
        iterations="" if budget else "iterations_per_eval = 1\n",
    )


def tiny_reference(tmp, seeds: int):
    """The tiny spec of `seeds` seeds written to tmp/spec.toml and swept in this process into tmp/out: (spec, out)."""
    from rlab import spec as spec_lib
    from rlab.run import sweep

    path = tmp / "spec.toml"
    path.write_text(tiny_spec(seeds))
    sweep.run(spec_lib.load(path), tmp / "out")
    return path, tmp / "out"


# Two CPU devices for the processes of the launch tests: a chunk's 4 lanes make W = 2 by the rule, a width that
# differs from the chunk (which shared processes once used), so a launch that chose otherwise would show.
LAUNCH_DEVICES = {"RLAB_CPU_DEVICES": "2"}


def cli_reference(tmp, seeds: int):
    """The tiny spec of `seeds` seeds without a lane width (each group's is the rule's), swept by the `rlab`
    command as one process into tmp/out: (spec, out). What every other launch of the spec must store bitwise."""
    import os
    import subprocess
    import sys

    path = tmp / "spec.toml"
    path.write_text(tiny_spec(seeds).replace("lane_width = 2\n", ""))
    done = subprocess.run([sys.executable, "-m", "rlab.cli", "sweep", str(path), "--out", str(tmp / "out"),
                           "--cache-dir", "none", "--quiet"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **LAUNCH_DEVICES})
    assert done.returncode == 0, done.stderr
    return path, tmp / "out"


def stored_rows(directory):
    """Every stored row of a sweep, in one order whoever computed them (to compare runs bit for bit)."""
    from rlab import store

    return store.load(directory).sort_values(["group", "seed", "hp_index", "eval"]).reset_index(drop=True)
