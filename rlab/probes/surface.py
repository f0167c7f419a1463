"""The objective along a line and over a plane through a policy's parameters.

Directions are Gaussian, normalised per layer (each parameter array of the
direction is scaled to the norm of the matching array of the policy, as in
Li et al. 2018's filter normalisation, so that a step of 1 changes every
layer by its own size); the policy's log-std is not moved. On each grid point
three objectives are computed:

* `deterministic`: J of the policy's mean action (what ES, ARS and random
  search evaluate). Exact on `cheese_bandit` (0 or 1), else the mean of
  `episodes` Monte Carlo episodes;
* `gaussian`: J of the Gaussian policy (what a policy gradient follows).
  Exact on the bandit (the noncentral chi-square probability), else Monte Carlo;
* `smoothed`: J_sigma = E[J_det(theta + sigma eps)], the objective OpenAI-ES
  climbs at noise `noise_std`. Exact on the bandit for a linear policy, else
  the mean over `perturbations` draws of eps shared by every grid point
  (common random numbers, so the surface is smooth in the grid).

`holes` is the index of the hole the mean action lands in (bandit; -1 for
none, and -1 everywhere on other tasks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from rlab.run import xla
from rlab.probes import gradients, laws
from rlab.trainers import rollout
from rlab.trainers.population import FlatPolicy

KINDS = ("deterministic", "gaussian", "smoothed")
FLAT_BELOW = 1e-6  # a grid point is flat when its objective is at most this


def layer_normalised_direction(key, params) -> dict:
    """A random direction pytree like `params`, each array scaled to that array's norm; log_std fixed."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, len(leaves))
    out = []
    for (path, leaf), k in zip(leaves, keys):
        if any(getattr(entry, "key", None) == "log_std" for entry in path):
            out.append(jnp.zeros_like(leaf))
            continue
        noise = jax.random.normal(k, leaf.shape)
        out.append(noise * jnp.linalg.norm(leaf) / jnp.maximum(jnp.linalg.norm(noise), 1e-12))
    return jax.tree_util.tree_unflatten(treedef, out)


def grid(points: int, span: float, planes: bool) -> np.ndarray:
    """Coordinates `[G, 2]` (alpha, beta): a line (beta = 0) or a square plane, from -span to span."""
    axis = np.linspace(-span, span, points)
    if not planes:
        return np.c_[axis, np.zeros_like(axis)]
    alpha, beta = np.meshgrid(axis, axis, indexing="ij")
    return np.c_[alpha.ravel(), beta.ravel()]


def measure(env, seed: int = 0, width: int = 16, depth: int = 1, output_scale: float = 1.0, init_std: float = 0.5,
            noise_std: float = 0.05, points: int = 101, span: float = 1.0, plane: bool = False,
            episodes: int = 64, perturbations: int = 256) -> pd.DataFrame:
    """The three objectives on a line (or plane) through seed `seed`'s initial policy.

    Returns:
      One row per grid point: alpha, beta, deterministic, gaussian, smoothed, hole.
    """
    policy = gradients.gaussian_policy(env, width, depth)
    init_key, d1_key, d2_key, mc_key = jax.random.split(jax.random.PRNGKey(seed), 4)
    params = policy.init(init_key, output_scale, init_std)
    d1, d2 = layer_normalised_direction(d1_key, params), layer_normalised_direction(d2_key, params)
    coords = grid(points, span, plane)
    moved = jax.vmap(lambda a, b: jax.tree.map(lambda p, x, y: p + a * x + b * y, params, d1, d2))(
        jnp.asarray(coords[:, 0], jnp.float32), jnp.asarray(coords[:, 1], jnp.float32)
    )
    flat = FlatPolicy(env, width, depth)
    weights = lambda p: {k: v for k, v in p.items() if k != "log_std"}  # noqa: E731
    thetas = jax.vmap(lambda p: jax.flatten_util.ravel_pytree(weights(p))[0])(moved)
    std = float(np.exp(np.asarray(params["log_std"])[0])) if "log_std" in params else init_std
    if laws.is_bandit(env):
        frame = _bandit(env, policy, flat, moved, thetas, std, noise_std, perturbations, mc_key)
    else:
        frame = _monte_carlo(env, policy, flat, moved, thetas, noise_std, episodes, perturbations, mc_key)
    return pd.DataFrame({"alpha": coords[:, 0], "beta": coords[:, 1], **frame})


def _bandit(env, policy, flat, moved, thetas, std, noise_std, perturbations, key) -> dict:
    obs = jnp.ones((env.observation_size,), jnp.float32)
    means = np.asarray(jax.vmap(lambda p: policy.mode(p, obs))(moved), np.float64)  # [G, dim]
    centres = np.asarray(env.hole_centres, np.float64)
    distances = np.linalg.norm(means[:, None, :] - centres[None], axis=-1)  # [G, holes]
    inside = distances <= env.hole_radius
    hole = np.where(inside.any(axis=1), inside.argmax(axis=1), -1)
    gaussian = env.hit_probability(means, std)
    if flat.policy.depth == 0:
        scale = noise_std * np.sqrt(gradients.smoothing_scale(gradients.action_jacobian(env, flat, thetas[0])))
        smoothed = env.hit_probability(means, scale)
    else:
        eps = jax.random.normal(key, (perturbations, flat.size))

        def smoothed_at(theta):
            actions = jax.vmap(lambda e: flat.action(theta + noise_std * e, obs))(eps)
            nearest = jnp.min(jnp.linalg.norm(actions[:, None, :] - jnp.asarray(centres, jnp.float32), axis=-1), axis=1)
            return jnp.mean(nearest <= env.hole_radius)

        smoothed = np.asarray(xla.jit(lambda ts: jax.lax.map(smoothed_at, ts))(thetas), np.float64)
    return {"deterministic": (hole >= 0).astype(np.float64), "gaussian": gaussian, "smoothed": smoothed, "hole": hole}


def _monte_carlo(env, policy, flat, moved, thetas, noise_std, episodes, perturbations, key) -> dict:
    length = rollout.episode_length_of(env, 0)
    episode_key, noise_key = jax.random.split(key)
    eps = jax.random.normal(noise_key, (perturbations, flat.size))

    def at(params, theta):
        # Common random numbers: every grid point sees the same start states and perturbations.
        det = rollout.run_episodes(env, lambda obs, _: (policy.mode(params, obs), 0.0), episode_key, episodes, length)
        gauss = rollout.run_episodes(env, lambda obs, k: policy.sample(params, obs, k), episode_key, episodes, length)

        def perturbed(e, k):
            return rollout.run_episodes(env, lambda obs, _: (flat.action(theta + noise_std * e, obs), 0.0), k, 1, length).success[0]

        smooth = jax.vmap(perturbed)(eps, jax.random.split(episode_key, perturbations))
        return det.success.mean(), gauss.success.mean(), smooth.mean()

    det, gauss, smooth = xla.jit(lambda xs: jax.lax.map(lambda x: at(*x), xs))((moved, thetas))
    size = thetas.shape[0]
    return {"deterministic": np.asarray(det, np.float64), "gaussian": np.asarray(gauss, np.float64),
            "smoothed": np.asarray(smooth, np.float64), "hole": np.full(size, -1)}


def summarise(frame: pd.DataFrame) -> dict[str, float]:
    """Flat fraction of each objective and the number of distinct holes the mean action crosses."""
    summary = {f"flat_{kind}": float(np.mean(frame[kind] <= FLAT_BELOW)) for kind in KINDS}
    summary["holes_crossed"] = int(np.unique(frame["hole"][frame["hole"] >= 0]).size)
    return summary
