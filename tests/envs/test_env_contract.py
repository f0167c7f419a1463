"""The contract every registered environment keeps (Brax's Env interface and rlab's conventions)."""

import brax.envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brax.envs.base import Env
from brax.envs.wrappers import training as brax_training

import envs
from tests.env_cases import all_cases, case_id

CASES = all_cases()


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def env(request):
    env_id, params = request.param
    return envs.make(env_id, **params)


def random_action(env, key):
    """A valid random action: an integer for discrete envs, a float vector otherwise."""
    if env.num_actions is not None:
        return jax.random.randint(key, (), 0, env.num_actions)
    return jax.random.normal(key, (env.action_size,))


def rollout(env, key, num_steps):
    """States after reset and after each of `num_steps` random actions, stacked on axis 0."""
    reset_key, action_key = jax.random.split(key)
    state = env.reset(reset_key)

    def one_step(state, step_key):
        state = env.step(state, random_action(env, step_key))
        return state, state

    _, states = jax.lax.scan(one_step, state, jax.random.split(action_key, num_steps))
    return state, states


def test_implements_brax_env_and_is_in_brax_registry(env):
    assert isinstance(env, Env)
    assert isinstance(env.backend, str)
    from_brax = brax.envs.get_environment(env.env_id, **env.params)
    assert type(from_brax) is type(env) and from_brax.params == env.params


def test_reset_and_step_compile_once(env):
    traces = {"reset": 0, "step": 0}

    def counted_reset(key):
        traces["reset"] += 1
        return env.reset(key)

    def counted_step(state, action):
        traces["step"] += 1
        return env.step(state, action)

    reset, step = jax.jit(counted_reset), jax.jit(counted_step)
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        state = step(reset(key), random_action(env, key))
        step(state, random_action(env, jax.random.fold_in(key, 1)))
    assert traces == {"reset": 1, "step": 1}


def test_shapes_and_dtypes_match_declared_sizes(env):
    state = env.reset(jax.random.PRNGKey(0))
    assert state.obs.shape == (env.observation_size,) and state.obs.dtype == jnp.float32
    state = env.step(state, random_action(env, jax.random.PRNGKey(1)))
    assert state.obs.shape == (env.observation_size,) and state.obs.dtype == jnp.float32
    for scalar in (state.reward, state.done, state.metrics["success"]):
        assert scalar.shape == () and scalar.dtype == jnp.float32
    assert env.horizon >= 1
    if env.num_actions is None:
        assert env.action_size >= 1
    else:
        assert env.action_size == env.num_actions >= 2


def test_vmap_over_keys(env):
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    batched = jax.jit(jax.vmap(lambda k: rollout(env, k, env.horizon)[1]))(keys)
    assert batched.obs.shape == (8, env.horizon, env.observation_size)
    assert batched.reward.shape == (8, env.horizon)
    # Each batch member equals the same key run alone.
    alone = jax.jit(lambda k: rollout(env, k, env.horizon)[1])(keys[3])
    np.testing.assert_allclose(batched.obs[3], alone.obs, rtol=1e-6, atol=1e-6)


def test_same_key_gives_the_same_trajectory(env):
    run = jax.jit(lambda k: rollout(env, k, env.horizon + 2)[1])
    first, second = run(jax.random.PRNGKey(7)), run(jax.random.PRNGKey(7))
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_episode_ends_exactly_at_the_horizon_and_then_pays_nothing(env):
    extra = 3
    states = jax.jit(lambda k: rollout(env, k, env.horizon + extra)[1])(jax.random.PRNGKey(3))
    expected_done = np.r_[np.zeros(env.horizon - 1), np.ones(extra + 1)]
    np.testing.assert_array_equal(np.asarray(states.done), expected_done)
    final, after = env.horizon - 1, slice(env.horizon, None)
    assert np.all(np.asarray(states.reward[after]) == 0)
    assert np.all(np.asarray(states.metrics["success"][after]) == 0)
    # Stepping a finished episode leaves its observation unchanged.
    obs = np.asarray(states.obs)
    np.testing.assert_array_equal(obs[after], np.broadcast_to(obs[final], obs[after].shape))


def test_success_is_binary_and_at_most_once_per_episode(env):
    keys = jax.random.split(jax.random.PRNGKey(0), 64)
    states = jax.jit(jax.vmap(lambda k: rollout(env, k, env.horizon)[1]))(keys)
    success = np.asarray(states.metrics["success"])
    assert set(np.unique(success)) <= {0.0, 1.0}
    assert np.all(success.sum(axis=1) <= 1)
    assert np.all(np.isfinite(np.asarray(states.reward)))


def test_brax_training_wrappers_run_it(env):
    """Brax's Vmap/Episode/AutoReset wrappers accept the env across episode boundaries."""
    wrapped = brax_training.wrap(env, episode_length=env.horizon)
    state = jax.jit(wrapped.reset)(jax.random.split(jax.random.PRNGKey(0), 4))
    step = jax.jit(wrapped.step)
    for t in range(2 * env.horizon + 1):
        keys = jax.random.split(jax.random.PRNGKey(t), 4)
        state = step(state, jax.vmap(lambda k: random_action(env, k))(keys))
        assert state.obs.shape == (4, env.observation_size)
        assert np.all(np.asarray(state.done) == float((t + 1) % env.horizon == 0))


def test_wrong_action_shape_is_a_clear_error(env):
    state = env.reset(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="action"):
        env.step(state, jnp.zeros((env.action_size + 1,)))


def test_discrete_envs_read_float_vectors_as_preferences(env):
    if env.num_actions is None:
        pytest.skip("continuous env")
    state = env.reset(jax.random.PRNGKey(0))
    for action in range(env.num_actions):
        by_index = env.step(state, jnp.asarray(action))
        preferences = jnp.zeros(env.num_actions).at[action].set(1.0)
        by_preference = env.step(state, preferences)
        np.testing.assert_array_equal(by_index.obs, by_preference.obs)
        np.testing.assert_array_equal(by_index.reward, by_preference.reward)
