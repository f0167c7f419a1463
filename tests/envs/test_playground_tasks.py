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
    assert registered == names


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
