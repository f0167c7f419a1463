"""Gradient quality on `cheese_bandit`: estimates against the exact gradient.

On the one-step bandit a Gaussian policy N(mean(theta), diag(std_j^2)) is
rewarded with the noncentral chi-square probability P(mean, std), so the
exact gradient of the objective J(theta) = P(mean(theta), std(theta)) follows
by the chain rule through the network (`exact_log_gradient`). For a linear
deterministic policy perturbed by OpenAI-ES's noise, the smoothed objective
J_sigma(theta) = E[J(theta + sigma eps)] is again a Gaussian hit probability,
with the action noise sigma A eps (A: the policy's Jacobian), so its gradient
is exact too (`exact_smoothed_log_gradient`).

Gradients are of log J: the same direction as grad J (they differ by the
positive factor 1 / J), finite in every dimension where J underflows.
Estimates come from the trainers' own pieces (`rlab.trainers.estimators`,
`rlab.trainers.reinforce.baseline_of`), not from re-derived formulas.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy import stats as scipy_stats

from rlab.run import xla
from rlab.errors import UsageError
from rlab.trainers import networks
from rlab.trainers.estimators import centred_ranks, es_gradient, score_function_gradient
from rlab.trainers.population import FlatPolicy
from rlab.trainers.reinforce import baseline_of

BASELINES = ("none", "leave_one_out", "batch_mean")


def require_bandit(env, what: str) -> None:
    """Refuses a task without the bandit's closed forms."""
    if not hasattr(env, "log_hit_probability_grads"):
        raise UsageError(
            f"{what} needs an exact gradient, which only cheese_bandit has in closed form; "
            f"got {getattr(env, 'env_id', type(env).__name__)}"
        )


def gaussian_policy(env, width: int = 16, depth: int = 1) -> networks.Policy:
    """The policy family REINFORCE uses on `env` (a state-independent log-std)."""
    return networks.policy_for(env, width, depth, "state_independent")


def _observation(env) -> jax.Array:
    return jnp.ones((env.observation_size,), jnp.float32)


def isotropic_std(log_std) -> float:
    """The common std of a per-dimension log-std vector; refuses an anisotropic one."""
    std = np.exp(np.asarray(log_std, np.float64))
    if np.ptp(std) > 1e-6 * std.max():
        raise UsageError(f"the exact bandit gradient needs one std for every dimension; got stds {std.tolist()}")
    return float(std[0])


def exact_log_gradient(env, policy: networks.Policy, params) -> np.ndarray:
    """grad_theta log J(theta) of a Gaussian policy on the bandit, flat `[P]` (float64).

    The chain rule: d log P / d mean and d log P / d std_j in closed form
    (`env.log_hit_probability_grads`), pulled back through the network's
    mean and log-std (d std_j / d log_std_j = std_j) by a vector-Jacobian product.
    """
    require_bandit(env, "exact_log_gradient")
    obs = _observation(env)
    (mean, log_std), pullback = jax.vjp(lambda p: policy.distribution(p, obs), params)
    std = isotropic_std(log_std)
    d_mean, d_std = env.log_hit_probability_grads(np.asarray(mean, np.float64), std)
    cotangent = (jnp.asarray(d_mean, jnp.float32), jnp.asarray(d_std * std, jnp.float32))
    (grad,) = pullback(cotangent)
    return np.asarray(ravel_pytree(grad)[0], np.float64)


def action_jacobian(env, flat_policy: FlatPolicy, theta) -> np.ndarray:
    """d action / d theta of a deterministic policy at the bandit's observation: `[dim, P]`."""
    obs = _observation(env)
    return np.asarray(jax.jacobian(lambda t: flat_policy.action(t, obs))(theta), np.float64)


def smoothing_scale(jacobian: np.ndarray) -> float:
    """c with A A^T = c I for a linear policy's Jacobian A; refuses anything else."""
    gram = jacobian @ jacobian.T
    c = float(np.mean(np.diag(gram)))
    if not np.allclose(gram, c * np.eye(gram.shape[0]), atol=1e-6 * c):
        raise UsageError("the exact smoothed gradient needs a linear policy (depth = 0) with isotropic action noise")
    return c


def exact_smoothed_log_gradient(env, flat_policy: FlatPolicy, theta, sigma: float) -> np.ndarray:
    """grad_theta log J_sigma(theta) for a linear deterministic policy on the bandit: `[P]` float64.

    The action of theta + sigma eps is A theta + sigma A eps with A eps ~ N(0, c I),
    so J_sigma = P(A theta, sigma sqrt(c)) and grad = A^T d log P / d mean.
    """
    require_bandit(env, "exact_smoothed_log_gradient")
    if flat_policy.policy.depth != 0:
        raise UsageError(f"the exact smoothed gradient needs depth = 0 (a linear policy); got depth = {flat_policy.policy.depth}")
    jacobian = action_jacobian(env, flat_policy, theta)
    scale = sigma * np.sqrt(smoothing_scale(jacobian))
    mean = np.asarray(flat_policy.action(theta, _observation(env)), np.float64)
    d_mean, _ = env.log_hit_probability_grads(mean, scale)
    return jacobian.T @ d_mean


def smoothed_hit_probability(env, flat_policy: FlatPolicy, theta, sigma: float) -> float:
    """J_sigma(theta) in closed form for a linear policy on the bandit."""
    jacobian = action_jacobian(env, flat_policy, theta)
    mean = np.asarray(flat_policy.action(theta, _observation(env)), np.float64)
    return float(env.hit_probability(mean, sigma * np.sqrt(smoothing_scale(jacobian))))


def _rewards(env, actions: jax.Array, key: jax.Array) -> jax.Array:
    """One-step rewards of `actions [n, dim]`, stepped through the environment itself."""
    keys = jax.random.split(key, actions.shape[0])
    return jax.vmap(lambda a, k: env.step(env.reset(k), a).reward)(actions, keys)


def reinforce_estimates(env, policy, params, batch_size: int, baseline: str, key, repeats: int) -> np.ndarray:
    """`repeats` independent REINFORCE estimates from `batch_size` episodes each: `[repeats, P]`.

    Each estimate is what REINFORCE's first iteration computes: sampled
    actions, the environment's rewards, the baseline (`baseline_of`) and the
    score-function gradient (`score_function_gradient`).
    """
    if baseline not in BASELINES:
        raise UsageError(f"baseline = {baseline!r}; allowed: {', '.join(BASELINES)}")
    obs = jnp.broadcast_to(_observation(env), (batch_size, env.observation_size))

    def one(key):
        action_key, env_key = jax.random.split(key)
        actions, _ = jax.vmap(policy.sample, in_axes=(None, 0, 0))(params, obs, jax.random.split(action_key, batch_size))
        rewards = _rewards(env, actions, env_key)[None, :]  # [T=1, N]
        weights = (rewards - baseline_of(baseline, rewards, jnp.ones_like(rewards)))[0]
        grad = score_function_gradient(policy.log_prob, params, obs, actions, weights, batch_size)
        return ravel_pytree(grad)[0]

    return np.asarray(xla.jit(lambda keys: jax.lax.map(one, keys))(jax.random.split(key, repeats)), np.float64)


def es_estimates(env, flat_policy: FlatPolicy, theta, sigma: float, population: int, key, repeats: int,
                 tie_break: str = "average") -> np.ndarray:
    """`repeats` OpenAI-ES directions, each from `population` antithetic members: `[repeats, P]`."""
    if population % 2:
        raise UsageError(f"population = {population} must be even (antithetic pairs)")
    obs = _observation(env)

    def one(key):
        noise_key, env_key = jax.random.split(key)
        eps = jax.random.normal(noise_key, (population // 2, flat_policy.size))
        noise = jnp.concatenate([eps, -eps])
        actions = jax.vmap(flat_policy.action, in_axes=(0, None))(theta + sigma * noise, obs)
        fitness = _rewards(env, actions, env_key)
        return es_gradient(eps, centred_ranks(fitness, tie_break), sigma)

    return np.asarray(xla.jit(lambda keys: jax.lax.map(one, keys))(jax.random.split(key, repeats)), np.float64)


def direction_quality(estimates: np.ndarray, exact: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """How well estimates `[R, P]` point along the exact gradient `[P]`.

    Returns:
      cosine (mean over the R estimates of cos(estimate, exact); an exactly
      zero estimate counts 0) with a t-interval (cosine_low, cosine_high);
      snr = ||E g|| / sqrt(tr Cov g), from the R estimates with the noise's
      contribution to ||mean||^2 removed (0 when noise dominates);
      zero_fraction: share of exactly-zero estimates; cosine_nonzero: the
      mean cosine of the others (NaN if none), so that a low `cosine` can be
      told apart into estimates that are zero and estimates that point wrong.
    """
    estimates = np.asarray(estimates, np.float64)
    repeats = estimates.shape[0]
    norms = np.linalg.norm(estimates, axis=1)
    cosines = np.where(norms > 0, estimates @ exact / np.maximum(norms, 1e-300) / np.linalg.norm(exact), 0.0)
    mean_cosine = float(cosines.mean())
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, repeats - 1) * cosines.std(ddof=1) / np.sqrt(repeats)) if repeats > 1 else np.nan
    centre = estimates.mean(axis=0)
    noise = float(np.sum(estimates.var(axis=0, ddof=1))) if repeats > 1 else np.nan
    signal = max(float(centre @ centre) - noise / repeats, 0.0)
    return {
        "cosine": mean_cosine, "cosine_low": mean_cosine - half, "cosine_high": mean_cosine + half,
        "snr": float(np.sqrt(signal / noise)) if noise > 0 else np.inf,
        "zero_fraction": float(np.mean(norms == 0)),
        "cosine_nonzero": float(cosines[norms > 0].mean()) if np.any(norms > 0) else np.nan,
    }
