"""`brax/<name>`: Brax's environments under rlab's registry, validation and metrics."""

import brax.envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
import rlab
import rlab.trainers
from envs.brax_tasks import BRAX_TASKS


def test_every_standard_brax_task_is_registered_with_its_parameters():
    specs = envs.registered()
    for name in BRAX_TASKS:
        spec = specs[f"brax/{name}"]
        assert spec.defaults == {"backend": "mjx", "episode_length": 1000} and not spec.discrete


def test_a_brax_task_matches_brax_and_reports_success():
    ours = envs.make("brax/inverted_pendulum", backend="generalized", episode_length=50)
    theirs = brax.envs.get_environment("inverted_pendulum", backend="generalized")
    assert (ours.observation_size, ours.action_size, ours.backend) == (theirs.observation_size, theirs.action_size, "generalized")
    key = jax.random.PRNGKey(0)
    a, b = jax.jit(ours.reset)(key), jax.jit(theirs.reset)(key)
    np.testing.assert_array_equal(a.obs, b.obs)
    step = jax.jit(ours.step)
    a = step(a, jnp.ones(ours.action_size))
    b = jax.jit(theirs.step)(b, jnp.ones(ours.action_size))
    np.testing.assert_array_equal(a.obs, b.obs)
    assert float(a.metrics["success"]) == 0.0 and not ours.has_success
    assert ours.episode_length == 50 and not hasattr(ours, "horizon")


def test_bad_backend_is_named_with_the_allowed_values():
    with pytest.raises(envs.EnvParamError, match="'backend' = 'warp'.*one of 'mjx', 'generalized'"):
        envs.make("brax/reacher", backend="warp")


def test_trainers_cut_brax_episodes_at_the_time_limit():
    env = envs.make("brax/inverted_pendulum", backend="generalized", episode_length=20)
    trainer = rlab.trainers.make("ppo", env, num_envs=4, rollout_length=16, num_minibatches=2, width=8, depth=1,
                                 iterations_per_eval=2, eval_episodes=4)
    curves = rlab.train(trainer, [0, 1], 2, progress=False)
    assert np.all(np.isfinite(curves.metrics["eval_return"]))
    # Inverted pendulum pays 1 per step alive: no evaluation episode can exceed the 20-step limit.
    assert np.all(curves.metrics["eval_return"] <= 20.0) and np.all(curves.metrics["eval_return"] > 0)
