"""Rendering: replays in C MuJoCo of policies, written as GIFs and PNG strips.

Every test here needs an OpenGL backend (EGL or OSMesa without a display) and
is skipped where none can start.
"""

import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import envs
from rlab import cli, render
from rlab.run import sweep
from rlab import spec as spec_lib
from rlab.errors import UsageError


def _gl_available() -> bool:
    import mujoco

    model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='.1'/></worldbody></mujoco>")
    try:
        with render.Painter(model, 32, 32):
            return True
    except render.RenderingUnavailable:
        return False


needs_gl = pytest.mark.skipif(not _gl_available(), reason="no OpenGL backend (install libegl1 or libosmesa6)")


def swinging(env):
    """A deterministic open-loop-ish policy that moves every joint."""
    return jax.jit(lambda obs: jnp.sin(3.0 * obs[0] + jnp.arange(env.action_size, dtype=jnp.float32)))


@needs_gl
def test_reacher_replay_moves_the_arm_shows_the_target_and_tracks_mjx(tmp_path):
    env = envs.make("reacher_nd", num_links=3, horizon=12)
    played = render.replay(env, swinging(env), jax.random.PRNGKey(0), num_steps=100, width=96, height=72)
    # The episode ends at the horizon, whatever num_steps allows.
    assert played.frames.shape == (13, 72, 96, 3) and played.frames.dtype == np.uint8
    assert played.rewards.shape == played.success.shape == (12,)
    assert played.max_gap < 1e-4  # C MuJoCo and MJX agree step by step
    moved = np.abs(played.frames[-1].astype(int) - played.frames[0].astype(int)).sum(axis=-1) > 30
    assert moved.mean() > 0.002
    red, green, blue = (played.frames[0][..., c].astype(int) for c in range(3))
    assert np.sum((green > red + 40) & (green > blue + 40)) > 5  # the target disc is drawn

    gif = render.write_gif(played, tmp_path / "reacher.gif", title="test")
    with Image.open(gif) as image:
        assert image.n_frames == 13 and image.size == (96, 72)
    strip = render.write_strip(played, tmp_path / "reacher.png", title="test", num_frames=4)
    with Image.open(strip) as image:
        assert image.size == (4 * 96, 72)
        assert np.asarray(image.convert("RGB")).std() > 5
    assert not list(tmp_path.glob(".*.tmp"))


@needs_gl
def test_cartpole_replay_is_the_same_twice():
    env = envs.make("cartpole_poles", num_poles=2, horizon=8)
    replayer, act = render.Replayer(env, width=48, height=36), swinging(env)
    first = replayer.run(act, jax.random.PRNGKey(1), num_steps=8)
    second = replayer.run(act, jax.random.PRNGKey(1), num_steps=8)
    np.testing.assert_array_equal(first.frames, second.frames)
    assert first.max_gap < 1e-4


def test_tasks_without_mujoco_physics_are_refused_by_name():
    with pytest.raises(UsageError, match="'cheese_point_mass' is not simulated with MuJoCo; .*reacher_nd"):
        render.mujoco_view(envs.make("cheese_point_mass"))
    with pytest.raises(UsageError, match="backend='mjx'"):
        render.mujoco_view(envs.make("brax/reacher", backend="generalized"))


RENDER_SPEC = """
name = "render"
env = "reacher_nd"
seeds = 3
num_evals = 1
chunk_size = 4
lane_width = 3
[env_params]
horizon = 10
[algorithms.random_search]
population = 4
width = 4
depth = 1
eval_episodes = 2
iterations_per_eval = 1
"""


@needs_gl
def test_render_command_writes_the_best_median_and_worst_seeds(tmp_path, capsys):
    directory = tmp_path / "run"
    sweep.run(spec_lib.parse(tomllib.loads(RENDER_SPEC), RENDER_SPEC, "render"), directory)
    code = cli.main(["render", str(directory), "--size", "64x48", "--frames", "3"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["best", "median", "worst"]
    written = sorted(p.name for p in (directory / "renders").iterdir())
    assert written == sorted(f"g000_seed{s}.{ext}" for s in range(3) for ext in ("gif", "png"))
    with Image.open(directory / "renders" / "g000_seed1.png") as image:
        assert image.size == (3 * 64, 48)

    assert cli.main(["render", str(directory), "--seed", "7"]) == 2
    assert "seed 7 is not stored for group g000; stored seeds: 0, 1, 2" in capsys.readouterr().err
    assert cli.main(["render", str(directory), "--size", "big"]) == 2
    assert "--size = 'big'; allowed: WIDTHxHEIGHT" in capsys.readouterr().err


def test_render_command_refuses_a_sweep_of_a_task_without_mujoco(tmp_path, capsys):
    from tests.sweep_cases import tiny_spec

    text = tiny_spec(seeds=2, noise="[0.05]")
    directory = tmp_path / "cheese"
    sweep.run(spec_lib.parse(tomllib.loads(text), text, "tiny"), directory)
    assert cli.main(["render", str(directory), "--group", "g000"]) == 2
    assert "is not simulated with MuJoCo" in capsys.readouterr().err
    assert not (directory / "renders").exists()
