"""`reacher_nd`: generated MJCF for 1-5 links, MJX against C MuJoCo, and the task's semantics."""

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

import envs
import rlab
import rlab.trainers
from tests.mujoco_cases import rollout_both


@pytest.mark.parametrize("num_links", [1, 2, 3, 4, 5])
def test_mjcf_compiles_and_sizes_follow_the_number_of_links(num_links):
    env = envs.make("reacher_nd", num_links=num_links)
    model = mujoco.MjModel.from_xml_string(env.xml)
    assert model.nq == model.nu == num_links
    assert env.action_size == num_links and env.observation_size == 3 * num_links + 5


@pytest.mark.parametrize("num_links", [1, 2])
def test_every_target_lies_in_the_arms_workspace(num_links):
    # Equal links of total length 0.2 m reach exactly the closed disc of radius 0.2 m
    # (two or more links) or its boundary circle (one link): a target elsewhere is unsolvable.
    env = envs.make("reacher_nd", num_links=num_links)
    states = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.PRNGKey(1), 4096))
    radius = np.linalg.norm(np.asarray(states.info["target"]), axis=-1)
    if num_links == 1:
        np.testing.assert_allclose(radius, 0.2, rtol=1e-6)
    else:
        assert radius.max() <= 0.18 + 1e-6
        # uniform in the disc: P(r <= 0.18 / sqrt(2)) = 1/2, within 4 binomial SDs of 4,096 draws
        assert abs(np.mean(radius <= 0.18 / np.sqrt(2)) - 0.5) < 4 * 0.5 / np.sqrt(4096)
    angles = np.arctan2(*np.asarray(states.info["target"]).T[::-1])
    assert abs(np.mean(angles > 0) - 0.5) < 4 * 0.5 / np.sqrt(4096)


def test_mjx_agrees_with_c_mujoco_on_a_rollout():
    env = envs.make("reacher_nd", num_links=3)
    state, data = rollout_both(env, np.array([0.05, -0.02, 0.08]))
    # Float32 MJX against float64 C MuJoCo, 50 physics steps: agreement to 1e-4.
    np.testing.assert_allclose(np.asarray(state.q), data.qpos, atol=1e-4)
    np.testing.assert_allclose(np.asarray(env.fingertip(state)), data.xpos[-1][:2], atol=1e-4)


def test_success_on_the_last_step_when_the_fingertip_is_in_the_target():
    env = envs.make("reacher_nd", num_links=2, horizon=3, target_radius=0.02)
    state = jax.jit(env.reset)(jax.random.PRNGKey(0))  # compiled: MJX op by op takes ~30 s
    tip = env.fingertip(state.pipeline_state)
    on_target = state.replace(info={**state.info, "target": tip})
    step = jax.jit(env.step)
    successes, dones = [], []
    for _ in range(4):
        on_target = step(on_target, jnp.zeros(2))
        successes.append(float(on_target.metrics["success"]))
        dones.append(float(on_target.done))
    assert successes == [0.0, 0.0, 1.0, 0.0] and dones == [0.0, 0.0, 1.0, 1.0]
    far = state.replace(info={**state.info, "target": tip + 0.1})
    for _ in range(3):
        far = step(far, jnp.zeros(2))
    assert float(far.metrics["success"]) == 0.0


def test_dense_return_telescopes_to_the_change_in_distance():
    env = envs.make("reacher_nd", num_links=2, horizon=6, reward="dense")
    state = jax.jit(env.reset)(jax.random.PRNGKey(1))
    start = float(state.metrics["distance"])
    total = 0.0
    step = jax.jit(env.step)
    for _ in range(6):
        state = step(state, jnp.array([0.5, -0.5]))
        total += float(state.reward)
    radius = env.params["target_radius"]
    expected = max(start - radius, 0) - max(float(state.metrics["distance"]) - radius, 0)
    assert total == pytest.approx(expected, abs=1e-5)


@pytest.mark.slow  # a smoke run, mostly compilation; PPO on MJX physics is also run by the Brax task tests
def test_ppo_trains_on_it():
    env = envs.make("reacher_nd", num_links=2, horizon=10, reward="dense")
    trainer = rlab.trainers.make("ppo", env, num_envs=4, rollout_length=10, num_minibatches=2, width=8, depth=1,
                                 iterations_per_eval=1, eval_episodes=4)
    curves = rlab.train(trainer, [0, 1], 2, progress=False)
    assert np.all(np.isfinite(curves.metrics["eval_return"]))
