"""Baselines that measure what they claim, each against an independent truth.

* REINFORCE's baselines: the mean of many estimates against the bandit's
  exact gradient (closed form), and the fraction of exactly-zero estimates
  against the binomial law of each baseline.
* Random search: the incumbent's reported success against its true success
  on 1,000 fresh episodes.
* Plateaus: with default hyperparameters and no reward anywhere, ES and ARS
  stand still, REINFORCE's estimate is exactly zero, PPO's drift is reported.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import envs
import rlab
import rlab.trainers
import rlab.run.training
from rlab.trainers import rollout
from rlab.trainers.estimators import score_function_gradient
from rlab.trainers.reinforce import baseline_of

STD = 0.3


def bandit():
    """A one-step bandit whose hole a N(mean, 0.3^2) policy hits with p ~ 0.3."""
    return envs.make("cheese_bandit", dim=2, hole_radius=0.3, task_seed=2)


def batch_gradients(env, mean, kind, num_batches, n, key):
    """REINFORCE estimates of d(hit probability)/d(mean) from `num_batches` batches of n one-step episodes.

    Returns:
      (gradients `[num_batches, dim]`, rewards `[num_batches, n]`).
    """
    dim = env.dim
    actions = jnp.asarray(mean, jnp.float32) + STD * jax.random.normal(key, (num_batches, n, dim))
    rewards = jax.vmap(jax.vmap(lambda a: env.step(env.reset(key), a).reward))(actions)

    def one_batch(batch_actions, batch_rewards):
        returns = batch_rewards[None, :]  # [T=1, N]
        weights = (returns - baseline_of(kind, returns, jnp.ones_like(returns)))[0]
        log_prob = lambda p, obs, a: jnp.sum(-0.5 * ((a - p["mean"]) / STD) ** 2)  # noqa: E731
        grad = score_function_gradient(
            log_prob, {"mean": jnp.asarray(mean, jnp.float32)}, jnp.ones((n, 1)), batch_actions, weights, n
        )
        return grad["mean"]

    return np.asarray(jax.vmap(one_batch)(actions, rewards), np.float64), np.asarray(rewards)


@pytest.mark.parametrize("kind, factor", [("leave_one_out", 1.0), ("none", 1.0), ("batch_mean", 1 - 1 / 8)])
def test_reinforce_baselines_expectation_against_the_exact_gradient(kind, factor):
    # E[g] = grad J for unbiased baselines; the batch mean includes each episode's
    # own return and shrinks the expectation to (1 - 1/N) grad J (N = 8).
    env = bandit()
    mean = env.hole_centres[0] + np.array([0.2, -0.1])
    exact = env.hit_probability_grad(mean, STD)
    grads, _ = batch_gradients(env, mean, kind, 200_000, 8, jax.random.PRNGKey(1))
    standard_error = grads.std(axis=0) / np.sqrt(grads.shape[0])
    # The two hypotheses differ by exact / 8: at least 8 standard errors here, so 4 SE tells them apart.
    assert np.all(np.abs(exact) / 8 > 8 * standard_error)
    np.testing.assert_array_less(np.abs(grads.mean(axis=0) - factor * exact), 4 * standard_error)


@pytest.mark.parametrize("kind", ["none", "leave_one_out", "batch_mean"])
@pytest.mark.parametrize("n", [2, 8])
def test_reinforce_zero_gradient_fraction_follows_each_baselines_law(kind, n):
    # "none": zero exactly when no episode is rewarded, (1 - p)^N; the mean-type
    # baselines: zero when all N returns are equal, (1 - p)^N + p^N.
    env = bandit()
    mean = env.hole_centres[0] + np.array([0.2, -0.1])
    p = float(env.hit_probability(mean, STD))
    grads, rewards = batch_gradients(env, mean, kind, 20_000, n, jax.random.PRNGKey(2))
    zero = np.all(grads == 0, axis=1)
    expected = (1 - p) ** n + (0 if kind == "none" else p**n)
    interval = stats.binomtest(int(zero.sum()), zero.size).proportion_ci(0.99, method="wilson")
    assert interval.low <= expected <= interval.high, (kind, zero.mean(), expected)
    # "No rewarded episode in the batch" is a different event for the mean-type baselines.
    no_reward = ~np.any(rewards > 0, axis=1)
    assert np.all(zero[no_reward])
    if kind == "none":
        np.testing.assert_array_equal(zero, no_reward)
    elif n == 2:  # all-rewarded batches (p^2 ~ 0.09) are zero too
        assert np.any(zero & ~no_reward)


def test_random_search_incumbent_fitness_is_an_unbiased_estimate_of_its_success():
    env = envs.make("cheese_point_mass", dim=2)
    trainer = rlab.trainers.make("random_search", env, eval_episodes=4)
    curves = rlab.train(trainer, range(64), num_evals=3, progress=False)
    reported = curves.metrics["best_success"][:, -1]

    def true_success(state, key):
        return rollout.evaluate(env, trainer.policy(state), key, 1000, env.horizon)["eval_success"]

    keys = jax.random.split(jax.random.PRNGKey(123), 64)
    truth = np.asarray(jax.jit(jax.vmap(true_success))(curves.final_state, keys))
    difference = reported - truth
    half_width = stats.t.ppf(0.995, 63) * difference.std(ddof=1) / 8
    assert abs(difference.mean()) <= half_width, (difference.mean(), half_width)
    assert truth.mean() > 0.1 and half_width < 0.05  # a real signal, measured precisely enough to mean something


# ----- plateaus --------------------------------------------------------------------------


def plateau():
    """A sparse bandit whose one tiny hole no policy near the origin ever reaches."""
    return envs.make("cheese_bandit", dim=2, hole_radius=0.01, hole_spread=1.0, task_seed=0)


SMALL = dict(width=4, depth=1, eval_episodes=2, iterations_per_eval=3)


@pytest.mark.parametrize("algo, field, hparams", [
    ("openai_es", "theta", dict(population=8)),
    ("ars", "theta", dict(num_directions=4, top_directions=2)),
])
def test_search_methods_stand_still_on_a_plateau_with_default_hyperparameters(algo, field, hparams):
    trainer = rlab.trainers.make(algo, plateau(), **SMALL, **hparams)
    init, _ = rlab.run.training.compiled(trainer)
    start = init(rlab.run.training.seed_keys([0, 1]), {k: jnp.broadcast_to(v, (2,)) for k, v in trainer.hparams().items()})
    curves = rlab.train(trainer, [0, 1], 2, progress=False)
    assert np.all(curves.metrics["plateau_fraction"] == 1.0)
    np.testing.assert_array_equal(getattr(curves.final_state, field), getattr(start, field))
    assert np.all(curves.metrics["plateau_update_norm"] == 0.0)


@pytest.mark.parametrize("baseline, zero", [("none", True), ("leave_one_out", True), ("learned", False)])
def test_reinforce_on_a_plateau_is_exactly_zero_unless_the_baseline_is_learned(baseline, zero):
    trainer = rlab.trainers.make("reinforce", plateau(), num_envs=8, baseline=baseline, init_std=0.01, **SMALL)
    curves = rlab.train(trainer, [0], 2, progress=False)
    assert np.all(curves.metrics["plateau_fraction"] == 1.0)  # nothing to learn from...
    assert np.all((curves.metrics["zero_gradient"] == 1.0) == zero)  # ...and whether the estimate says so
    assert np.all((curves.metrics["plateau_update_norm"] == 0.0) == zero)


def test_ppo_on_a_plateau_reports_that_it_moves_without_reward():
    # Where states differ, a batch without reward still has advantages (value errors): PPO moves.
    states_differ = envs.make("cheese_point_mass", dim=2, hole_radius=0.01, reward="sparse", horizon=8)
    trainer = rlab.trainers.make("ppo", states_differ, num_envs=4, rollout_length=8, num_minibatches=2, **SMALL)
    curves = rlab.train(trainer, [0], 2, progress=False)
    assert np.all(curves.metrics["plateau_fraction"] == 1.0)
    assert np.all(curves.metrics["plateau_update_norm"] > 0.0)
    # On the bandit every state is the same, so the advantages of a batch without reward are one
    # value: exactly zero once normalised, and PPO stands still, at any minibatch size.
    for minibatches in (2, 3):
        trainer = rlab.trainers.make("ppo", plateau(), num_envs=4, rollout_length=6, num_minibatches=minibatches,
                                     **SMALL)
        curves = rlab.train(trainer, [0], 2, progress=False)
        assert np.all(curves.metrics["plateau_fraction"] == 1.0)
        assert np.all(curves.metrics["plateau_update_norm"] == 0.0), minibatches


def test_plateau_diagnostics_are_zero_where_every_batch_is_rewarded():
    # A hole as large as the action range: every episode is rewarded.
    env = envs.make("cheese_bandit", dim=1, hole_radius=50.0, hole_spread=1.0)
    for algo in rlab.trainers.registered():
        hparams = dict(num_envs=4) if algo == "reinforce" else {}
        curves = rlab.train(rlab.trainers.make(algo, env, **SMALL, **hparams), [0], 1, progress=False)
        assert curves.metrics["plateau_fraction"][0, 0] == 0.0, algo
        assert curves.metrics["plateau_update_norm"][0, 0] == 0.0, algo
