"""Groups that differ only in traced environment constants share one compiled program, with unchanged bits."""

import numpy as np
import pandas as pd

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab import store
from rlab.run import lanes, sweep

SPEC = """
name = "radii"
env = "reacher_nd"
seeds = 2
num_evals = 2
chunk_size = 2
lane_width = 2

[env_params]
num_links = 1
horizon = 4
reward = "dense"

[env_axes]
target_radius = {radii}

[algorithms.ppo]
num_envs = 2
rollout_length = 4
num_epochs = 1
num_minibatches = 1
width = 4
depth = 1
iterations_per_eval = 1
eval_episodes = 2
"""


def sweep_counting_compiles(tmp_path, monkeypatch, radii: str, name: str) -> tuple[pd.DataFrame, int]:
    """(the stored frame, how many lane programs were compiled) of a sweep over `radii`."""
    compiles = []
    compile_for_device = lanes.compile_for_device

    def counted(trainer, width, device):
        compiles.append(width)
        return compile_for_device(trainer, width, device)

    monkeypatch.setattr(lanes, "compile_for_device", counted)
    path = tmp_path / f"{name}.toml"
    path.write_text(SPEC.format(radii=radii))
    sweep.run(spec_lib.load(path), tmp_path / name)
    frame = store.load(tmp_path / name)
    return frame.sort_values(["env.target_radius", "seed", "eval"]).reset_index(drop=True), len(compiles)


def test_a_traced_environment_constant_is_carried_in_the_trainer_state():
    env = envs.make("reacher_nd", num_links=1, target_radius=0.05)
    trainer = rlab.trainers.make("ppo", env)
    assert trainer.defaults["env.target_radius"] == 0.05
    assert "env.num_links" not in trainer.defaults  # a shape: baked into the program


def test_groups_differing_only_in_a_traced_constant_compile_once_with_the_bits_of_compiling_each(tmp_path, monkeypatch):
    both, compiles_both = sweep_counting_compiles(tmp_path, monkeypatch, "[0.05, 0.1]", "both")
    alone, compiles_alone = sweep_counting_compiles(tmp_path, monkeypatch, "[0.1]", "alone")
    assert compiles_both == compiles_alone == 1  # one program for both groups (copied to further devices)
    assert set(both["env.target_radius"]) == {0.05, 0.1}
    shared = both[both["env.target_radius"] == 0.1].drop(columns="group").reset_index(drop=True)
    metrics = [c for c in shared.columns if c.startswith(("eval_", "train_", "env_steps"))]
    pd.testing.assert_frame_equal(shared[metrics], alone.drop(columns="group")[metrics], check_exact=True)
    # The radius is live: a larger target changes what the same seeds' runs measure.
    small = both[both["env.target_radius"] == 0.05].reset_index(drop=True)
    assert not np.array_equal(small["eval_return"].to_numpy(), shared["eval_return"].to_numpy())
