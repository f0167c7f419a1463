"""`cheese_bandit`: a one-step continuous bandit whose reward lives in a few small balls.

The agent sees a constant observation and answers with one unbounded action
a in R^dim. Sparse reward: 1 if a lies in a hole (a ball of radius
`hole_radius` around one of `num_holes` centres drawn uniformly in
[-hole_spread, hole_spread]^dim from `task_seed`), else 0. Dense reward: minus
the distance from a to the nearest hole (0 inside one); success means the
same in both.

Because actions are unbounded, a Gaussian policy N(mean, std^2 I) succeeds with
exactly the noncentral chi-square probability of `hit_probability`, and
`hit_probability_grad` is the exact policy gradient: the ground truth that
policy-gradient estimators and landscape probes are checked against.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs import holes
from envs.base import REWARD, TASK_SEED, LabEnv
from envs.params import Param


class CheeseBandit(LabEnv):
    """One-step bandit in R^dim; reward 1 only inside small balls."""

    PARAMS = (
        Param("dim", int, 2, "action dimension", low=1, high=4096),
        Param("num_holes", int, 1, "number of rewarding balls", low=1, high=1024),
        Param("hole_radius", float, 0.1, "radius of every ball", low=0.0, low_open=True),
        Param(
            "hole_spread", float, 1.0, "centres lie in [-hole_spread, hole_spread]^dim",
            low=0.0, low_open=True,
        ),
        REWARD,
        TASK_SEED,
    )
    reference_policy_name = "Gaussian N(0, hole_spread^2 I)"

    def __init__(self, **params):
        super().__init__(**params)
        self.horizon = 1
        centres = holes.place_holes(
            self.task_rng, self.num_holes, self.dim, self.hole_radius, self.hole_spread, self.env_id
        )
        #: float32 `[num_holes, dim]` hole centres (fixed by `task_seed`).
        self.hole_centres = centres

    @property
    def observation_size(self) -> int:
        return 1

    @property
    def action_size(self) -> int:
        return self.dim

    def _init_core(self, key):
        return ()

    def _observe(self, core, t):
        return jnp.ones((1,), jnp.float32)

    def _transition(self, core, action, t):
        distance = holes.nearest_hole_distance(action, jnp.asarray(self.hole_centres))
        inside = (distance <= self.hole_radius).astype(jnp.float32)
        if self.reward == "sparse":
            reward = inside
        else:
            reward = -jnp.maximum(distance - self.hole_radius, 0.0)
        return core, reward, inside

    # ----- closed forms -------------------------------------------------------------

    def hit_probability(self, mean, std: float) -> np.ndarray:
        """Exact success probability of a Gaussian policy N(mean, std^2 I).

        Args:
          mean: `[..., dim]` policy means.
          std: isotropic standard deviation, > 0.

        Returns:
          float64 `[...]`: the expected sparse reward.
        """
        self._check_gaussian(mean, std)
        return holes.gaussian_hit_probability(self.hole_centres, self.hole_radius, mean, std)

    def log_hit_probability(self, mean, std: float) -> np.ndarray:
        """log of `hit_probability`, finite for every `dim` (up to 4096) where the probability underflows.

        Returns:
          float64 `[...]`.
        """
        self._check_gaussian(mean, std)
        return holes.log_gaussian_hit_probability(self.hole_centres, self.hole_radius, mean, std)

    def hit_probability_grad(self, mean, std: float) -> np.ndarray:
        """Exact gradient of `hit_probability` with respect to `mean`: `[..., dim]`."""
        self._check_gaussian(mean, std)
        return holes.gaussian_hit_probability_grad(self.hole_centres, self.hole_radius, mean, std)

    def log_hit_probability_grads(self, mean, std: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact (d log P / d mean, d log P / d std_j), each `[..., dim]`, at isotropic std; finite in every dim.

        d/d std_j is the derivative with respect to one dimension's standard
        deviation of N(mean, diag(std_j^2)), taken where every std_j = `std`:
        what a policy with a per-dimension log-std needs for its chain rule.
        """
        self._check_gaussian(mean, std)
        return holes.log_gaussian_hit_probability_grads(self.hole_centres, self.hole_radius, mean, std)

    def _check_gaussian(self, mean, std) -> None:
        if np.shape(mean)[-1:] != (self.dim,):
            raise ValueError(f"mean has shape {np.shape(mean)}; its last axis must be dim={self.dim}")
        if not std > 0:
            raise ValueError(f"std = {std!r}; allowed: a number > 0")

    def reference_policy(self, key, obs):
        return self.hole_spread * jax.random.normal(key, (self.dim,), jnp.float32)

    def reference_success_probability(self) -> float:
        return float(self.hit_probability(np.zeros(self.dim), self.hole_spread))
