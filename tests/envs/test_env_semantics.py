"""Hand-worked episodes of each Swiss-cheese environment: rewards, success and task seeds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs


def play(env, actions, key=jax.random.PRNGKey(0)):
    """Steps `env` through `actions` (a list); returns (rewards, successes, final state)."""
    state = env.reset(key)
    rewards, successes = [], []
    for action in actions:
        state = env.step(state, jnp.asarray(action))
        rewards.append(float(state.reward))
        successes.append(float(state.metrics["success"]))
    return np.array(rewards), np.array(successes), state


# ----- cheese_bandit ----------------------------------------------------------------------


def test_bandit_pays_inside_a_hole_and_nothing_outside():
    env = envs.make("cheese_bandit", dim=3, num_holes=2, hole_radius=0.1)
    centre = env.hole_centres[1]
    for offset, paid in [(0.0, 1.0), (0.09, 1.0), (0.11, 0.0)]:
        rewards, successes, _ = play(env, [centre + np.array([offset, 0, 0])])
        assert rewards[0] == successes[0] == paid


def test_bandit_dense_reward_is_minus_distance_to_the_nearest_hole():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.1, hole_spread=0.5, reward="dense")
    centre = env.hole_centres[0]
    rewards, successes, _ = play(env, [centre + np.array([0.0, 0.6])])
    assert rewards[0] == pytest.approx(-0.5, abs=1e-5) and successes[0] == 0.0
    rewards, successes, _ = play(env, [centre])
    assert rewards[0] == 0.0 and successes[0] == 1.0


def test_bandit_holes_do_not_overlap_and_follow_the_task_seed():
    a = envs.make("cheese_bandit", dim=2, num_holes=20, hole_radius=0.15, task_seed=1)
    b = envs.make("cheese_bandit", dim=2, num_holes=20, hole_radius=0.15, task_seed=1)
    c = envs.make("cheese_bandit", dim=2, num_holes=20, hole_radius=0.15, task_seed=2)
    np.testing.assert_array_equal(a.hole_centres, b.hole_centres)
    assert not np.allclose(a.hole_centres, c.hole_centres)
    gaps = np.linalg.norm(a.hole_centres[:, None] - a.hole_centres[None], axis=-1)
    assert np.all(gaps[~np.eye(20, dtype=bool)] >= 0.3)
    assert np.all(np.abs(a.hole_centres) <= 1.0)


# ----- cheese_point_mass ------------------------------------------------------------------


def steer_to(env, target):
    """A closed-loop policy: move at full speed toward `target`."""
    return lambda obs: jnp.clip((target - obs[: env.dim]) / env.max_step, -1, 1)


def run_policy(env, policy, key=jax.random.PRNGKey(0), distractor_action=None):
    state = env.reset(key)
    rewards, successes = [], []
    for _ in range(env.horizon):
        action = policy(state.obs)
        if env.distractor_dims:
            extra = jnp.zeros(env.distractor_dims) if distractor_action is None else distractor_action
            action = jnp.concatenate([action, extra])
        state = env.step(state, action)
        rewards.append(float(state.reward))
        successes.append(float(state.metrics["success"]))
    return np.array(rewards), np.array(successes), state


def test_point_mass_steered_into_a_hole_succeeds_on_the_last_step_only():
    env = envs.make("cheese_point_mass", dim=3, horizon=12, hole_radius=0.1)
    rewards, successes, _ = run_policy(env, steer_to(env, jnp.asarray(env.hole_centres[0])))
    np.testing.assert_array_equal(successes, np.r_[np.zeros(11), 1.0])
    np.testing.assert_array_equal(rewards, successes)  # sparse: reward is success


def test_point_mass_that_passes_through_a_hole_early_earns_nothing():
    env = envs.make("cheese_point_mass", dim=1, horizon=20, hole_radius=0.1, start="center")
    centre = float(env.hole_centres[0, 0])
    # Reach the hole, then leave it and stay outside until the end.
    away = 1.0 if centre < 0 else -1.0
    policy_steps = [steer_to(env, jnp.array([centre]))] * 10 + [steer_to(env, jnp.array([away]))] * 10
    state = env.reset(jax.random.PRNGKey(0))
    total = 0.0
    for policy in policy_steps:
        state = env.step(state, policy(state.obs))
        total += float(state.reward)
    assert total == 0.0


def test_point_mass_moves_by_at_most_max_step_and_stays_in_the_box():
    env = envs.make("cheese_point_mass", dim=2, max_step=0.3, start="center")
    state = env.step(env.reset(jax.random.PRNGKey(0)), jnp.array([5.0, -0.5]))
    np.testing.assert_allclose(state.obs[:2], [0.3, -0.15], rtol=1e-6)
    for _ in range(9):
        state = env.step(state, jnp.array([1.0, 1.0]))
    assert np.all(np.abs(np.asarray(state.obs[:2])) <= 1.0)
    assert float(state.obs[-1]) == 1.0  # time fraction at the end of the episode


def test_point_mass_distractor_dims_change_observations_but_never_rewards():
    env = envs.make("cheese_point_mass", dim=2, distractor_dims=3, horizon=8, reward="dense")
    policy = steer_to(env, jnp.asarray(env.hole_centres[0]))
    still = run_policy(env, policy)
    wiggling = run_policy(env, policy, distractor_action=jnp.array([1.0, -1.0, 0.5]))
    np.testing.assert_array_equal(still[0], wiggling[0])
    np.testing.assert_array_equal(still[1], wiggling[1])
    assert not np.allclose(still[2].obs[2:5], wiggling[2].obs[2:5])


@pytest.mark.parametrize("discount", [1.0, 0.9, 0.99])
def test_point_mass_dense_discounted_return_telescopes_to_the_change_in_distance_to_a_hole(discount):
    # Potential-based shaping with phi = -(distance to the hole's edge): the
    # discounted return sum_t discount^t r_t = discount^T phi(x_T) - phi(x_0).
    sparse = envs.make("cheese_point_mass", dim=2, hole_radius=0.1, reward="sparse")
    dense = envs.make("cheese_point_mass", dim=2, hole_radius=0.1, reward="dense", discount=discount)
    centre = dense.hole_centres[0]
    weights = discount ** np.arange(dense.horizon)

    def edge_distance(obs):
        return max(np.linalg.norm(np.asarray(obs[:2]) - centre) - 0.1, 0.0)

    wander = lambda obs: jnp.array([0.7, -0.4])  # noqa: E731
    for key in jax.random.split(jax.random.PRNGKey(5), 5):
        start = dense.reset(key).obs
        rewards, successes, state = run_policy(dense, wander, key)
        expected = edge_distance(start) - discount**dense.horizon * edge_distance(state.obs)
        assert weights @ rewards == pytest.approx(expected, abs=1e-5)
        np.testing.assert_array_equal(successes, run_policy(sparse, wander, key)[1])
    rewards, successes, state = run_policy(dense, steer_to(dense, jnp.asarray(centre)))
    assert successes[-1] == 1.0 and edge_distance(state.obs) == 0.0
    assert weights @ rewards == pytest.approx(edge_distance(dense.reset(jax.random.PRNGKey(0)).obs), abs=1e-5)


def test_point_mass_uniform_start_depends_on_the_reset_key_only():
    env = envs.make("cheese_point_mass", dim=4)
    a, b = env.reset(jax.random.PRNGKey(1)), env.reset(jax.random.PRNGKey(2))
    assert not np.allclose(a.obs, b.obs)
    np.testing.assert_array_equal(a.obs, env.reset(jax.random.PRNGKey(1)).obs)
    np.testing.assert_array_equal(envs.make("cheese_point_mass", dim=4, start="center").reset(jax.random.PRNGKey(1)).obs, np.zeros(5))


# ----- deep_sea -----------------------------------------------------------------------------


def deep_sea_episode(env, go_right):
    """Plays a whole episode choosing "right" (or "left") in every cell via the action mapping."""
    state = env.reset(jax.random.PRNGKey(0))
    rewards, successes = [], []
    column = 0
    for row in range(env.size):
        right = int(env.right_action[row, column])
        state = env.step(state, jnp.asarray(right if go_right else 1 - right))
        column = min(column + 1, env.size - 1) if go_right else max(column - 1, 0)
        assert int(jnp.argmax(state.obs)) == (row + 1) * env.size + column or row == env.size - 1
        rewards.append(float(state.reward))
        successes.append(float(state.metrics["success"]))
    return np.array(rewards), np.array(successes)


def test_deep_sea_always_right_succeeds_and_pays_one_minus_the_move_cost():
    env = envs.make("deep_sea", size=6, move_cost=0.06)
    rewards, successes = deep_sea_episode(env, go_right=True)
    np.testing.assert_allclose(rewards, [-0.01] * 5 + [0.99], atol=1e-6)
    np.testing.assert_array_equal(successes, [0] * 5 + [1])


def test_deep_sea_always_left_pays_nothing():
    env = envs.make("deep_sea", size=6)
    rewards, successes = deep_sea_episode(env, go_right=False)
    assert rewards.sum() == 0.0 and successes.sum() == 0.0


def test_deep_sea_dense_pays_one_over_n_per_right_move():
    env = envs.make("deep_sea", size=5, reward="dense")
    rewards, successes = deep_sea_episode(env, go_right=True)
    np.testing.assert_allclose(rewards, [0.2] * 5, atol=1e-6)
    assert successes[-1] == 1.0


def test_deep_sea_action_mapping_is_random_per_task_seed_and_fixed_otherwise():
    a, b = envs.make("deep_sea", size=8, task_seed=0), envs.make("deep_sea", size=8, task_seed=1)
    assert 10 < a.right_action.sum() < 54 and not np.array_equal(a.right_action, b.right_action)
    assert np.all(envs.make("deep_sea", size=8, randomize_actions=False).right_action == 1)


# ----- combination_lock ----------------------------------------------------------------------


def test_lock_opens_for_the_code_only():
    env = envs.make("combination_lock", length=4, num_actions=3, task_seed=9)
    code = [int(d) for d in env.code]
    rewards, successes, _ = play(env, code)
    np.testing.assert_array_equal(rewards, [0, 0, 0, 1])
    np.testing.assert_array_equal(successes, [0, 0, 0, 1])
    for position in range(4):
        wrong = list(code)
        wrong[position] = (wrong[position] + 1) % 3
        rewards, successes, _ = play(env, wrong)
        assert rewards.sum() == 0 and successes.sum() == 0


def test_lock_dense_pays_per_correct_digit():
    env = envs.make("combination_lock", length=4, num_actions=3, reward="dense", task_seed=9)
    code = [int(d) for d in env.code]
    wrong_second = [code[0], (code[1] + 1) % 3, code[2], code[3]]
    rewards, successes, _ = play(env, wrong_second)
    np.testing.assert_allclose(rewards, [0.25, 0, 0.25, 0.25])
    assert successes.sum() == 0
    assert play(env, code)[0].sum() == pytest.approx(1.0)


def test_lock_observation_is_the_time_step():
    env = envs.make("combination_lock", length=3)
    state = env.reset(jax.random.PRNGKey(0))
    for t in range(3):
        assert int(jnp.argmax(state.obs)) == t
        state = env.step(state, jnp.asarray(0))
    assert int(jnp.argmax(state.obs)) == 3
