"""The contract of every registered id, physics tasks included: built from the registry, in
Brax's registry, jittable and vmappable, finite, deterministic, with rlab's success metric.

`tests/envs/test_env_contract.py` adds the fixed-horizon checks of the Swiss-cheese tasks;
this file covers every id. Compiling the larger physics models takes 10-30 s each on
a 2-core CPU, so their stepping test is `slow` (`pytest --slow=all`); the default
run steps a fast subset of every family and builds every id.
"""

import brax.envs
import jax
import numpy as np
import pytest
from brax.envs.base import Env

import envs
from rlab.trainers import rollout

ALL_IDS = list(envs.registered())
# Stepped in the default run: every Swiss-cheese task and at least one id of each physics family.
FAST = {
    "cheese_bandit", "cheese_point_mass", "deep_sea", "combination_lock", "reacher_nd", "cartpole_poles",
    "brax/inverted_pendulum", "brax/reacher", "playground/CartpoleSwingupSparse", "playground/PendulumSwingup",
}
# Short episodes keep compiles and runs small; every family declares one of these.
SHORT = {"horizon": 6, "episode_length": 6}


def short(env_id):
    declared = {p.name for p in envs.registered()[env_id].params}
    return envs.make(env_id, **{k: v for k, v in SHORT.items() if k in declared})


# Compiling a large physics model's step takes 10-30 s on a 2-core CPU.
BY_COST = [pytest.param(i, marks=() if i in FAST else pytest.mark.slow) for i in ALL_IDS]


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_every_id_builds_with_declared_sizes_and_is_in_brax_registry(env_id):
    spec = envs.registered()[env_id]
    env = envs.make(env_id)
    assert isinstance(env, Env) and type(env) is spec.env_class
    assert env.params == spec.defaults
    assert isinstance(env.observation_size, int) and env.observation_size >= 1
    assert isinstance(env.action_size, int) and env.action_size >= 1
    assert isinstance(env.has_success, bool) and isinstance(env.backend, str)
    assert rollout.episode_length_of(env, 0) >= 1  # a horizon or a time limit
    assert repr(env).startswith(env_id + "(") or repr(env).startswith(type(env).__name__ + "(")
    from_brax = brax.envs.get_environment(env_id, **env.params)
    assert type(from_brax) is type(env) and from_brax.params == env.params


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_every_id_names_an_unknown_parameter(env_id):
    with pytest.raises(envs.EnvParamError, match=f"{env_id}: unknown parameter 'no_such_knob'"):
        envs.make(env_id, no_such_knob=1)


def _random_action(env, key):
    if env.num_actions is not None:
        return jax.random.randint(key, (), 0, env.num_actions)
    return jax.random.uniform(key, (env.action_size,), minval=-1.0, maxval=1.0)


def _episode(env, key, num_steps):
    reset_key, action_key = jax.random.split(key)
    state = env.reset(reset_key)

    def one_step(state, step_key):
        state = env.step(state, _random_action(env, step_key))
        return state, (state.obs, state.reward, state.done, state.metrics["success"])

    return (state.obs,) + jax.lax.scan(one_step, state, jax.random.split(action_key, num_steps))[1]


@pytest.mark.parametrize("env_id", BY_COST)
def test_every_id_steps_under_jit_and_vmap(env_id):
    env = short(env_id)
    steps = rollout.episode_length_of(env, 0) + 2
    run = jax.jit(jax.vmap(lambda key: _episode(env, key, steps)))
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    first_obs, obs, reward, done, success = jax.device_get(run(keys))
    assert first_obs.shape == (3, env.observation_size) and first_obs.dtype == np.float32
    assert obs.shape == (3, steps, env.observation_size) and obs.dtype == np.float32
    for scalar in (reward, done, success):
        assert scalar.shape == (3, steps) and scalar.dtype == np.float32
    assert np.isfinite(obs).all() and np.isfinite(reward).all()
    assert set(np.unique(success)) <= {0.0, 1.0}
    if not env.has_success:
        assert not success.any()
    # The same keys, the same bits.
    again = jax.device_get(run(keys))
    for a, b in zip((first_obs, obs, reward, done, success), again):
        np.testing.assert_array_equal(a, b)
