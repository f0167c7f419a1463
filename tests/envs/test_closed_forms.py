"""Monte Carlo success rates of the Swiss-cheese family against closed-form probabilities.

Each check runs many vmapped episodes and asks whether the closed-form
probability lies inside the 99.9% Wilson interval of the measured rate.
Seeds are fixed, so the tests are deterministic; the wide interval keeps
them meaningful if someone changes a seed.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import envs
from envs import holes
from envs.rollout import reference_successes

CONFIDENCE = 0.999


def assert_rate_matches(successes: int, trials: int, expected: float):
    interval = stats.binomtest(successes, trials).proportion_ci(CONFIDENCE, method="wilson")
    assert interval.low <= expected <= interval.high, (
        f"measured {successes}/{trials} = {successes / trials:.5g}, "
        f"{CONFIDENCE:.1%} interval [{interval.low:.5g}, {interval.high:.5g}], expected {expected:.5g}"
    )


# ----- closed forms against independent formulas and the science note -------------------


@pytest.mark.parametrize(
    "dim, expected", [(1, "0.333"), (2, "0.087"), (3, "0.019"), (4, "0.0038"), (8, "2.4e-6")]
)
def test_uniform_hit_probability_matches_reference_numbers(dim, expected):
    # A ball of radius 0.05 in a box of side 0.3, the reference rounded as published.
    p = holes.uniform_hit_probability(dim, 0.05, num_holes=1, half_width=0.15)
    significant = len(expected.split("e")[0].replace(".", "").lstrip("0"))
    assert float(f"{p:.{significant}g}") == float(expected)


def test_ball_volume_in_low_dimensions():
    assert holes.ball_volume(1, 2.0) == pytest.approx(4.0)
    assert holes.ball_volume(2, 2.0) == pytest.approx(math.pi * 4)
    assert holes.ball_volume(3, 2.0) == pytest.approx(4 / 3 * math.pi * 8)


def test_gaussian_hit_probability_in_1d_is_a_normal_interval():
    env = envs.make("cheese_bandit", dim=1, hole_radius=0.3)
    (centre,) = env.hole_centres[0]
    for mean, std in [(0.0, 1.0), (centre + 0.1, 0.2), (2.0, 0.5)]:
        expected = stats.norm.cdf(centre + 0.3, mean, std) - stats.norm.cdf(centre - 0.3, mean, std)
        assert env.hit_probability(np.array([mean]), std) == pytest.approx(expected, rel=1e-6)


def test_gaussian_hit_probability_in_2d_is_a_rice_cdf():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.25)
    centre = env.hole_centres[0].astype(np.float64)
    for offset, std in [(0.0, 0.3), (0.4, 0.3), (1.5, 1.0)]:
        mean = centre + np.array([offset, 0.0])
        expected = stats.rice.cdf(0.25 / std, offset / std)
        assert env.hit_probability(mean, std) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dim", [1, 2, 3, 6])
def test_gaussian_hit_probability_grad_matches_finite_differences(dim):
    env = envs.make("cheese_bandit", dim=dim, num_holes=2, hole_radius=0.3, task_seed=4)
    rng = np.random.default_rng(dim)
    mean, std = env.hole_centres[0] + 0.2 * rng.standard_normal(dim), 0.4
    grad = env.hit_probability_grad(mean, std)
    eps = 1e-5
    numeric = np.array(
        [
            (env.hit_probability(mean + eps * e, std) - env.hit_probability(mean - eps * e, std)) / (2 * eps)
            for e in np.eye(dim)
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-8)
    assert np.linalg.norm(grad) > 1e-3  # a real, non-trivial gradient was compared


# ----- Monte Carlo against closed forms --------------------------------------------------


def gaussian_bandit_successes(env, mean, std, key, num_episodes):
    """Vmapped one-step episodes of the Gaussian policy N(mean, std^2 I)."""

    def episode(k):
        state = env.reset(k)
        action = mean + std * jax.random.normal(jax.random.fold_in(k, 1), (env.dim,))
        return env.step(state, action).metrics["success"]

    return jax.jit(jax.vmap(episode))(jax.random.split(key, num_episodes))


@pytest.mark.parametrize("dim", [1, 2, 3, 5, 8])
def test_cheese_bandit_gaussian_policy_hits_at_the_noncentral_chi2_rate(dim):
    env = envs.make("cheese_bandit", dim=dim, num_holes=3, hole_radius=0.4, task_seed=dim)
    mean = env.hole_centres[0] + 0.1
    std = 0.35
    n = 40_000
    successes = int(gaussian_bandit_successes(env, jnp.asarray(mean), std, jax.random.PRNGKey(dim), n).sum())
    assert_rate_matches(successes, n, float(env.hit_probability(mean, std)))


REFERENCE_CASES = [
    ("cheese_bandit", {"dim": 1, "hole_radius": 0.2, "num_holes": 2}),
    ("cheese_bandit", {"dim": 2, "hole_radius": 0.3, "num_holes": 3}),
    ("cheese_bandit", {"dim": 3, "hole_radius": 0.5, "num_holes": 2}),
    ("cheese_point_mass", {"dim": 1, "hole_radius": 0.1, "num_holes": 3}),
    ("cheese_point_mass", {"dim": 2, "hole_radius": 0.2, "num_holes": 2}),
    ("cheese_point_mass", {"dim": 3, "hole_radius": 0.4}),
    ("cheese_point_mass", {"dim": 4, "hole_radius": 0.6, "distractor_dims": 2}),
    ("deep_sea", {"size": 1}),
    ("deep_sea", {"size": 3}),
    ("deep_sea", {"size": 6}),
    ("combination_lock", {"length": 2, "num_actions": 3}),
    ("combination_lock", {"length": 4, "num_actions": 2}),
    ("combination_lock", {"length": 3, "num_actions": 5}),
]


@pytest.mark.parametrize(
    "env_id, params", REFERENCE_CASES, ids=[f"{e}-{'-'.join(map(str, p.values()))}" for e, p in REFERENCE_CASES]
)
def test_reference_policy_succeeds_at_the_closed_form_rate(env_id, params):
    env = envs.make(env_id, **params)
    n = 40_000
    successes = int(reference_successes(env, jax.random.PRNGKey(11), n).sum())
    expected = env.reference_success_probability()
    assert 0.004 < expected < 0.9, "choose parameters with a measurable rate"
    assert_rate_matches(successes, n, expected)


@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.parametrize("dim", [1, 2, 3, 4, 5, 6])
def test_point_mass_volume_fraction_to_three_significant_digits(dim):
    """Two million episodes per dimension pin the rate to about 1% relative error."""
    env = envs.make("cheese_point_mass", dim=dim, hole_radius=0.5, num_holes=1, task_seed=dim)
    n = 2_000_000
    successes = int(reference_successes(env, jax.random.PRNGKey(dim), n).sum())
    assert_rate_matches(successes, n, env.reference_success_probability())


@pytest.mark.slow
@pytest.mark.parametrize("size", [8, 10, 12])
def test_deep_sea_random_policy_at_larger_sizes(size):
    env = envs.make("deep_sea", size=size)
    n = 4_000_000
    successes = int(reference_successes(env, jax.random.PRNGKey(size), n).sum())
    assert_rate_matches(successes, n, 2.0**-size)


# ----- log space: dimensions where the probability underflows ------------------------------


def _mpmath_log_hit_probability(env, mean, std):
    """log P(hit) of N(mean, std^2 I) by the Poisson mixture of the noncentral chi-square, in 50 digits."""
    import mpmath

    mpmath.mp.dps = 50
    x = mpmath.mpf(env.hole_radius) ** 2 / std**2 / 2
    total = mpmath.mpf(0)
    for centre in env.hole_centres.astype(np.float64):
        half = mpmath.mpf(float(np.sum((mean - centre) ** 2))) / std**2 / 2
        total += mpmath.nsum(
            lambda j: mpmath.exp(-half) * half**j / mpmath.factorial(j)
            * mpmath.gammainc(env.dim / 2 + j, 0, x, regularized=True),
            [0, mpmath.inf],
        )
    return float(mpmath.log(total))


@pytest.mark.parametrize("dim, num_holes", [(64, 1), (256, 2), (1024, 1)])
def test_bandit_log_hit_probability_matches_high_precision_where_it_underflows(dim, num_holes):
    env = envs.make("cheese_bandit", dim=dim, num_holes=num_holes, hole_radius=0.2, task_seed=dim)
    mean = np.full(dim, 0.01)
    log_p = env.log_hit_probability(mean, 0.8)
    assert log_p == pytest.approx(_mpmath_log_hit_probability(env, mean, 0.8), rel=1e-9)
    if dim >= 256:
        assert env.hit_probability(mean, 0.8) == 0.0 and np.isfinite(log_p)  # float64 cannot hold it


def test_bandit_log_hit_probability_agrees_with_scipy_where_both_are_representable():
    env = envs.make("cheese_bandit", dim=8, num_holes=3, hole_radius=0.3, task_seed=1)
    means = np.random.default_rng(0).normal(0, 0.5, (5, 8))
    direct = stats.ncx2.cdf(0.09 / 0.4**2, 8, np.sum((means[:, None] - env.hole_centres) ** 2, -1) / 0.4**2).sum(-1)
    np.testing.assert_allclose(env.log_hit_probability(means, 0.4), np.log(direct), rtol=1e-12)
