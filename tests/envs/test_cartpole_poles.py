"""`cartpole_poles`: generated MJCF for 1-5 poles, MJX against C MuJoCo, DMC sparse semantics."""

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

import envs
from tests.mujoco_cases import rollout_both


@pytest.mark.parametrize("num_poles", [1, 2, 3, 4, 5])
def test_mjcf_compiles_and_sizes_follow_the_number_of_poles(num_poles):
    env = envs.make("cartpole_poles", num_poles=num_poles)
    model = mujoco.MjModel.from_xml_string(env.xml)
    assert model.nq == num_poles + 1 and model.nu == 1
    assert env.action_size == 1 and env.observation_size == 3 * num_poles + 3


def test_mjx_agrees_with_c_mujoco_on_a_rollout():
    env = envs.make("cartpole_poles", num_poles=2)
    state, data = rollout_both(env, np.array([0.02, np.pi - 0.05, 0.03]))
    np.testing.assert_allclose(np.asarray(state.q), data.qpos, atol=1e-3)


def balanced_start(env, angles):
    state = env.reset(jax.random.PRNGKey(0))
    q = jnp.asarray(np.r_[0.0, angles], jnp.float32)
    pipeline_state = env.pipeline_init(q, jnp.zeros(env.num_poles + 1))
    return state.replace(pipeline_state=pipeline_state)


def test_sparse_reward_only_while_centred_and_upright_and_success_at_the_end():
    env = envs.make("cartpole_poles", num_poles=2, horizon=2)
    step = jax.jit(env.step)
    upright = balanced_start(env, [0.0, 0.0])
    rewards, successes = [], []
    for _ in range(2):
        upright = step(upright, jnp.zeros(1))
        rewards.append(float(upright.reward))
        successes.append(float(upright.metrics["success"]))
    assert rewards == [1.0, 1.0] and successes == [0.0, 1.0]
    # A bent chain is not upright even if the first pole is: the world angle of pole 2 counts.
    bent = step(balanced_start(env, [0.0, 0.5]), jnp.zeros(1))
    assert float(bent.reward) == 0.0


def test_swing_up_starts_hanging_and_dense_reward_is_shaped():
    sparse = envs.make("cartpole_poles", num_poles=1, horizon=3)
    state = sparse.reset(jax.random.PRNGKey(3))
    assert float(state.metrics["upright"]) < -0.99  # hanging down
    dense = envs.make("cartpole_poles", num_poles=1, horizon=3, reward="dense")
    hanging = jax.jit(dense.step)(dense.reset(jax.random.PRNGKey(3)), jnp.zeros(1))
    upright = jax.jit(dense.step)(balanced_start(dense, [0.0]), jnp.zeros(1))
    assert 0.0 <= float(hanging.reward) < 0.05 and float(upright.reward) > 0.99


def test_balance_starts_near_upright_and_a_random_policy_rarely_keeps_two_poles_up():
    one = envs.make("cartpole_poles", num_poles=1, task="balance", horizon=50)
    starts = jax.vmap(one.reset)(jax.random.split(jax.random.PRNGKey(0), 256))
    assert np.all(np.abs(np.asarray(starts.pipeline_state.q[:, 0])) <= 0.1)
    assert np.all(np.abs(np.asarray(starts.pipeline_state.q[:, 1])) <= 0.034)
    assert float(starts.metrics["upright"].min()) > 0.999
    # The random reference policy: one pole survives 50 steps more often than two.
    from envs.rollout import reference_successes

    two = envs.make("cartpole_poles", num_poles=2, task="balance", horizon=50)
    key = jax.random.PRNGKey(1)
    rates = [float(reference_successes(env, key, 128).mean()) for env in (one, two)]
    assert rates[0] > rates[1]
