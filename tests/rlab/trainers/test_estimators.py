"""Hand-checked and closed-form checks of the pure pieces trainers are built from."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import envs
import rlab.trainers
from rlab.trainers import networks
from rlab.trainers.advantages import gae, reward_to_go
from rlab.trainers.estimators import ars_direction, centred_ranks, es_gradient, score_function_gradient
from rlab.trainers.normalization import RunningStats
from rlab.run.training import train

# ----- returns and advantages ------------------------------------------------------------


def test_gae_by_hand_with_a_termination_and_a_truncation():
    # One environment, four steps: step 1 terminates, step 3 is truncated.
    rewards = jnp.array([[1.0], [2.0], [0.5], [1.0]])
    values = jnp.array([[10.0], [20.0], [30.0], [40.0]])
    next_values = jnp.array([[20.0], [99.0], [40.0], [50.0]])
    terminations = jnp.array([[0.0], [1.0], [0.0], [0.0]])
    truncations = jnp.array([[0.0], [0.0], [0.0], [1.0]])
    gamma, lam = 0.9, 0.5
    advantages, targets = gae(rewards, values, next_values, terminations, truncations, gamma, lam)
    d3 = 1.0 + 0.9 * 50 - 40  # truncated: bootstrap from the true successor
    d2 = 0.5 + 0.9 * 40 - 30
    d1 = 2.0 - 20  # terminated: no future value (the 99 must not leak in)
    d0 = 1.0 + 0.9 * 20 - 10
    expected = [d0 + 0.45 * d1, d1, d2 + 0.45 * d3, d3]
    np.testing.assert_allclose(advantages[:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(targets, advantages + values, rtol=1e-6)


def test_reward_to_go_stops_at_episode_boundaries():
    rewards = jnp.array([[1.0], [1.0], [1.0], [1.0]])
    boundaries = jnp.array([[0.0], [1.0], [0.0], [0.0]])
    returns = reward_to_go(rewards, boundaries, 0.5)
    np.testing.assert_allclose(returns[:, 0], [1.5, 1.0, 1.5, 1.0])


# ----- fitness shaping and search directions --------------------------------------------


@pytest.mark.parametrize(
    "fitness", [[3.0, 1.0, 2.0], [1.0, 2.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0], [0.0, 1.0, 0.0, 1.0, 0.5]]
)
def test_centred_ranks_with_averaged_ties_match_scipy(fitness):
    n = len(fitness)
    expected = (stats.rankdata(fitness, method="average") - 1) / (n - 1) - 0.5
    np.testing.assert_allclose(centred_ranks(jnp.array(fitness), "average"), expected, rtol=1e-6)


def test_centred_ranks_breaking_ties_by_order():
    shaped = centred_ranks(jnp.array([5.0, 5.0, 5.0, 5.0]), "order")
    np.testing.assert_allclose(np.sort(shaped), [-0.5, -1 / 6, 1 / 6, 0.5], rtol=1e-6)
    np.testing.assert_allclose(centred_ranks(jnp.array([3.0, 1.0, 2.0]), "order"), [0.5, -0.5, 0.0])


def test_es_direction_on_a_plateau_is_zero_only_with_averaged_ties():
    eps = jax.random.normal(jax.random.PRNGKey(0), (4, 5))
    flat = jnp.zeros(8)
    assert np.all(es_gradient(eps, centred_ranks(flat, "average"), 0.1) == 0)
    assert np.linalg.norm(es_gradient(eps, centred_ranks(flat, "order"), 0.1)) > 0.5


def test_es_direction_is_exactly_zero_when_every_pair_ties_whatever_the_pairs_differ_by():
    # Pairs tie within (both members missed, or both hit) but not across: the centred
    # ranks are not all zero, yet each pair's difference is, so the direction must be.
    eps = jax.random.normal(jax.random.PRNGKey(2), (7, 33))
    per_pair = jnp.array([0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    shaped = centred_ranks(jnp.concatenate([per_pair, per_pair]), "average")
    assert np.any(np.asarray(shaped) != 0)
    assert np.all(np.asarray(es_gradient(eps, shaped, 0.05)) == 0)


def test_es_gradient_estimates_the_gradient_of_a_linear_function():
    # F(theta) = w . theta: the ES estimate with raw fitness is unbiased for w.
    w = jnp.array([1.0, -2.0, 0.5])
    eps = jax.random.normal(jax.random.PRNGKey(1), (100_000, 3))
    noise = jnp.concatenate([eps, -eps])
    sigma = 0.1
    fitness = (sigma * noise) @ w
    np.testing.assert_allclose(es_gradient(eps, fitness, sigma), w, atol=0.03)


def test_ars_direction_by_hand():
    deltas = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    plus, minus = jnp.array([3.0, 0.0, 1.0]), jnp.array([1.0, 4.0, 1.0])
    direction, sigma_r = ars_direction(deltas, plus, minus, top_b=2)
    # max(r+, r-) = [3, 4, 1]: the top 2 are directions 1 and 0.
    used = np.array([0.0, 3.0, 4.0, 1.0])
    assert float(sigma_r) == pytest.approx(used.std())
    expected = ((3 - 1) * np.array([1.0, 0.0]) + (0 - 4) * np.array([0.0, 1.0])) / (2 * used.std())
    np.testing.assert_allclose(direction, expected, rtol=1e-6)


def test_ars_direction_on_a_plateau_is_zero_not_nan():
    deltas = jax.random.normal(jax.random.PRNGKey(0), (6, 4))
    direction, sigma_r = ars_direction(deltas, jnp.zeros(6), jnp.zeros(6), top_b=3)
    assert float(sigma_r) == 0.0 and np.all(direction == 0)


# ----- the policy-gradient estimator against the cheese bandit's closed form -------------


def gaussian_log_prob(params, obs, action, std=0.3):
    return jnp.sum(stats_norm_logpdf(action, params["mean"], std))


def stats_norm_logpdf(x, mean, std):
    return -0.5 * ((x - mean) / std) ** 2 - jnp.log(std) - 0.5 * jnp.log(2 * jnp.pi)


@pytest.mark.parametrize("dim", [1, 2, 4])
def test_reinforce_estimate_matches_the_exact_bandit_gradient(dim):
    env = envs.make("cheese_bandit", dim=dim, hole_radius=0.3, task_seed=dim)
    std, n = 0.3, 400_000
    mean = env.hole_centres[0] + 0.25 / np.sqrt(dim)
    key = jax.random.PRNGKey(dim)
    actions = jnp.asarray(mean, jnp.float32) + std * jax.random.normal(key, (n, dim))
    rewards = jax.vmap(lambda a: env.step(env.reset(key), a).reward)(actions)
    params = {"mean": jnp.asarray(mean, jnp.float32)}
    estimate = score_function_gradient(gaussian_log_prob, params, jnp.ones((n, 1)), actions, rewards, n)["mean"]
    exact = env.hit_probability_grad(mean, std)
    # Per-sample contributions r * (a - mean) / std^2 give the Monte Carlo standard error.
    contributions = np.asarray(rewards)[:, None] * (np.asarray(actions) - mean) / std**2
    standard_error = contributions.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(np.asarray(estimate) - exact) < 4.5 * standard_error + 1e-4), (estimate, exact)
    assert np.linalg.norm(exact) > 0.1


def test_reinforce_estimate_is_exactly_zero_when_no_sample_reaches_a_hole():
    env = envs.make("cheese_bandit", dim=3, hole_radius=0.05)
    far = jnp.asarray(env.hole_centres[0]) + 3.0
    actions = far + 0.1 * jax.random.normal(jax.random.PRNGKey(0), (1000, 3))
    rewards = jax.vmap(lambda a: env.step(env.reset(jax.random.PRNGKey(0)), a).reward)(actions)
    params = {"mean": far}
    grad = score_function_gradient(gaussian_log_prob, params, jnp.ones((1000, 1)), actions, rewards, 1000)
    assert float(rewards.sum()) == 0.0 and np.all(np.asarray(grad["mean"]) == 0.0)


# ----- trainers on a plateau --------------------------------------------------------------


def plateau_env():
    """A sparse bandit whose one tiny hole no policy near the origin ever reaches."""
    return envs.make("cheese_bandit", dim=2, hole_radius=0.01, hole_spread=1.0, task_seed=0)


@pytest.mark.parametrize("tie_break, moves", [("average", False), ("order", True)])
def test_openai_es_on_a_plateau_moves_only_when_ties_break_by_order(tie_break, moves):
    trainer = rlab.trainers.make(
        "openai_es", plateau_env(), population=8, weight_decay=0.0, tie_break=tie_break,
        width=4, depth=1, iterations_per_eval=3, eval_episodes=2,
    )
    curves = train(trainer, [0, 1], 2, progress=False)
    assert np.all(curves.metrics["rewarded_fraction"] == 0)
    assert np.all(curves.metrics["zero_direction"] == (0.0 if moves else 1.0))
    assert np.all((curves.metrics["update_norm"] > 0) == moves)


def test_ars_on_a_plateau_takes_no_step_and_stays_finite():
    trainer = rlab.trainers.make("ars", plateau_env(), num_directions=4, top_directions=2, width=4, depth=1)
    curves = train(trainer, [0, 1], 2, progress=False)
    assert np.all(curves.metrics["update_norm"] == 0) and np.all(curves.metrics["returns_std"] == 0)
    assert np.all(np.isfinite(np.asarray(curves.final_state.theta)))


def test_reinforce_on_a_plateau_has_exactly_zero_gradient():
    trainer = rlab.trainers.make("reinforce", plateau_env(), num_envs=8, width=4, depth=1, init_std=0.01)
    curves = train(trainer, [0], 2, progress=False)
    assert np.all(curves.metrics["zero_gradient"] == 1.0) and np.all(curves.metrics["grad_norm"] == 0)


# ----- networks and normalisation ---------------------------------------------------------


def test_gaussian_policy_log_prob_and_entropy_match_scipy():
    policy = networks.Policy(obs_size=3, action_size=2, num_actions=None, width=8, depth=1)
    params = policy.init(jax.random.PRNGKey(0), 1.0, jnp.asarray(0.7))
    obs, action = jnp.array([0.1, -0.2, 0.3]), jnp.array([0.5, -1.0])
    mean, log_std = policy.distribution(params, obs)
    expected = stats.norm.logpdf(np.asarray(action), np.asarray(mean), np.exp(np.asarray(log_std))).sum()
    assert float(policy.log_prob(params, obs, action)) == pytest.approx(expected, rel=1e-5)
    assert float(policy.entropy(params, obs)) == pytest.approx(stats.norm(0, 0.7).entropy() * 2, rel=1e-5)


def test_categorical_policy_log_prob_and_entropy_match_scipy():
    policy = networks.Policy(obs_size=3, action_size=4, num_actions=4, width=8, depth=1)
    params = policy.init(jax.random.PRNGKey(0), 1.0, jnp.asarray(1.0))
    obs = jnp.array([0.1, -0.2, 0.3])
    logits, _ = policy.distribution(params, obs)
    probs = np.asarray(jax.nn.softmax(logits))
    assert float(policy.log_prob(params, obs, jnp.asarray(2))) == pytest.approx(np.log(probs[2]), rel=1e-5)
    assert float(policy.entropy(params, obs)) == pytest.approx(stats.entropy(probs), rel=1e-5)


def test_running_stats_merge_equals_the_moments_of_all_data():
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(300, 4)).astype(np.float32)
    running = RunningStats.zeros(4)
    for chunk in np.split(data, [10, 150, 151]):
        running = running.merge(jnp.asarray(chunk))
    np.testing.assert_allclose(running.mean, data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(running.std, data.std(0), rtol=1e-3)
    assert float(RunningStats.zeros(2).std[0]) == 1.0
