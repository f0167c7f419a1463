"""`playground/<Name>`: MuJoCo Playground's Control Suite tasks, when the optional package is installed."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs import playground_tasks

mujoco_playground = pytest.importorskip("mujoco_playground")


def test_every_control_suite_task_is_registered():
    from mujoco_playground._src import dm_control_suite

    names = set(dm_control_suite.ALL_ENVS)
    assert {"CartpoleSwingupSparse", "BallInCup"} <= names
    registered = {k.removeprefix("playground/") for k in envs.registered() if k.startswith("playground/")}
    assert registered == names | {"Swimmer"}


def test_a_task_matches_playground_with_the_jax_implementation_and_our_time_limit():
    from mujoco_playground import registry

    ours = envs.make("playground/CartpoleSwingupSparse", episode_length=30)
    theirs = registry.load("CartpoleSwingupSparse", config_overrides={"impl": "jax"})
    assert (ours.observation_size, ours.action_size) == (theirs.observation_size, theirs.action_size) == (5, 1)
    assert ours.episode_length == 30 and not ours.has_success
    key = jax.random.PRNGKey(0)
    a, b = jax.jit(ours.reset)(key), jax.jit(theirs.reset)(key)
    np.testing.assert_array_equal(a.obs, b.obs)
    action = jnp.full((1,), 0.7)
    a, b = jax.jit(ours.step)(a, action), jax.jit(theirs.step)(b, action)
    np.testing.assert_array_equal(a.obs, b.obs)
    assert float(a.metrics["success"]) == 0.0


def test_bad_parameters_are_named():
    with pytest.raises(envs.EnvParamError, match="'episode_length' = 0 is out of range; allowed: an integer >= 1"):
        envs.make("playground/BallInCup", episode_length=0)
    with pytest.raises(envs.EnvParamError, match="impl"):
        envs.make("playground/BallInCup", impl="warp")


def test_ids_are_absent_without_the_package(monkeypatch):
    monkeypatch.setattr(playground_tasks.importlib.util, "find_spec", lambda name: None)
    assert playground_tasks.suite_names() == ()


def test_the_swimmer_has_its_number_of_links_as_a_parameter_and_six_is_playgrounds_own():
    from mujoco_playground import registry

    six = envs.make("playground/Swimmer", episode_length=20)
    theirs = registry.load("SwimmerSwimmer6", config_overrides={"impl": "jax"})
    key = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(jax.jit(six.reset)(key).obs, jax.jit(theirs.reset)(key).obs)
    # Each added body adds a joint (an actuator) and its observations: 4 + 4 per joint, here.
    sizes = {n: (envs.make("playground/Swimmer", n_links=n).observation_size,
                 envs.make("playground/Swimmer", n_links=n).action_size) for n in (3, 4, 6)}
    assert sizes == {3: (13, 2), 4: (17, 3), 6: (25, 5)}
    with pytest.raises(envs.EnvParamError, match="'n_links' = 2 is out of range; allowed: an integer >= 3 and <= 12"):
        envs.make("playground/Swimmer", n_links=2)


def test_a_long_swimmer_keeps_its_full_precision_to_itself():
    before = jax.config.jax_default_matmul_precision
    long_one = envs.make("playground/Swimmer", n_links=7, episode_length=5)
    assert jax.config.jax_default_matmul_precision == before
    state = jax.jit(long_one.step)(jax.jit(long_one.reset)(jax.random.PRNGKey(0)), jnp.zeros(6))
    assert np.isfinite(np.asarray(state.obs)).all() and state.obs.shape == (29,)


def test_a_sweep_runs_over_the_swimmers_number_of_links(tmp_path):
    from rlab import spec as spec_lib
    from rlab.run import sweep

    (tmp_path / "swim.toml").write_text('''
name = "swimmer_links"
env = "playground/Swimmer"
seeds = 2
env_steps_per_eval = 20
num_evals = 1
[env_params]
episode_length = 5
[env_axes]
n_links = [3, 4]
[algorithms.random_search]
population = 2
reevaluation_episodes = 1
eval_episodes = 1
''')
    from rlab.store import manifest, sweeps

    sweep.run(spec_lib.load(tmp_path / "swim.toml"), tmp_path / "out")
    assert manifest.read_manifest(tmp_path / "out").status == "complete"
    rows = sweeps.load(tmp_path / "out")
    assert sorted(rows["env.n_links"].unique().tolist()) == [3, 4] and len(rows) == 4
    assert np.isfinite(rows["eval_return"]).all()
