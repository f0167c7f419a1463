"""`cheese_point_mass`: steer a point mass into a small ball by the end of a fixed horizon.

A point mass lives in the box [-1, 1]^dim. Each step it moves by
`max_step * clip(action, -1, 1)` (velocity control, clipped at the walls).
The episode lasts exactly `horizon` steps (a termination, not a truncation).

Sparse reward: 1 on the final step if the mass is inside a hole (a ball of
radius `hole_radius`; `num_holes` non-overlapping balls lying inside the box,
placed from `task_seed`), else 0 on every step. Dense reward: potential-based
shaping (Ng et al. 1999) with potential phi(x) = -(distance from x to the
nearest hole's edge, 0 inside), paid as discount * phi(x_{t+1}) - phi(x_t) on
every step. The discounted return sum_t discount^t r_t telescopes to
discount^T phi(x_T) - phi(x_0), so for a learner that discounts by
`discount` it is highest exactly for the episodes that end inside a hole: the
dense task has the same optimal policies and the same success as the sparse
one (inside a hole at the final step), but every step carries a learning
signal. Set `discount` to the trainer's gamma (the default 0.99 is PPO's);
with any other value the shaping is no longer exactly potential-based for
that learner.

`distractor_dims` adds a second, irrelevant point mass of that dimension: it
takes its own action components and shows its position in the observation,
but never affects reward or success. It is the "one more dimension" that the
policy must learn to ignore.

Observation `[dim + distractor_dims + 1]`: the mass's position, the
distractor's position, and the time fraction t / horizon.
Action `[dim + distractor_dims]`, each component used after clipping to [-1, 1].

The mass starts uniformly in the box (`start="uniform"`) or at the origin
(`start="center"`), from the reset key. With `start="uniform"`, an idle policy
succeeds with exactly the probability that a uniform point lies in a hole,
num_holes * V_d r^d / 2^d: the reference the tests check.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from envs import holes
from envs.base import REWARD, TASK_SEED, LabEnv
from envs.params import Param


@struct.dataclass
class PointMassCore:
    """Task state. position: `[dim]`; distractor: `[distractor_dims]` (float32)."""

    position: jax.Array
    distractor: jax.Array


class CheesePointMass(LabEnv):
    """Point mass in [-1,1]^dim; reward only if it ends the episode inside a small ball."""

    PARAMS = (
        Param("dim", int, 2, "dimension of the box the mass moves in", low=1, high=1024),
        Param("horizon", int, 10, "steps per episode; reward comes on the last one", low=1, high=100_000),
        Param("hole_radius", float, 0.15, "radius of every rewarding ball", low=0.0, high=1.0, low_open=True, high_open=True),
        Param("num_holes", int, 1, "number of rewarding balls", low=1, high=1024),
        Param("distractor_dims", int, 0, "extra action/observation dims that change nothing", low=0, high=1024),
        Param("max_step", float, 0.25, "largest move per step along each axis", low=0.0, low_open=True),
        Param("start", str, "uniform", "where episodes start", choices=("uniform", "center")),
        Param("discount", float, 0.99, "gamma of the dense shaping: set it to the trainer's", low=0.0, high=1.0),
        REWARD,
        TASK_SEED,
    )
    reference_policy_name = "idle (zero action)"

    def __init__(self, **params):
        super().__init__(**params)
        # Holes lie entirely inside the box so that the uniform-point closed form is exact.
        self.hole_centres = holes.place_holes(
            self.task_rng, self.num_holes, self.dim, self.hole_radius, 1.0 - self.hole_radius, self.env_id
        )

    @property
    def observation_size(self) -> int:
        return self.dim + self.distractor_dims + 1

    @property
    def action_size(self) -> int:
        return self.dim + self.distractor_dims

    def _init_core(self, key):
        size = self.dim + self.distractor_dims
        if self.start == "uniform":
            start = jax.random.uniform(key, (size,), jnp.float32, -1.0, 1.0)
        else:
            start = jnp.zeros((size,), jnp.float32)
        return PointMassCore(position=start[: self.dim], distractor=start[self.dim :])

    def _observe(self, core, t):
        time_fraction = (t / self.horizon).astype(jnp.float32)
        return jnp.concatenate([core.position, core.distractor, time_fraction[None]])

    def _transition(self, core, action, t):
        move = self.max_step * jnp.clip(action, -1.0, 1.0)
        position = jnp.clip(core.position + move[: self.dim], -1.0, 1.0)
        distractor = jnp.clip(core.distractor + move[self.dim :], -1.0, 1.0)
        distance = holes.nearest_hole_distance(position, jnp.asarray(self.hole_centres))
        is_last = t + 1 == self.horizon
        success = (is_last & (distance <= self.hole_radius)).astype(jnp.float32)
        if self.reward == "sparse":
            reward = success
        else:
            reward = self.discount * self._potential(position) - self._potential(core.position)
        return PointMassCore(position=position, distractor=distractor), reward, success

    def _potential(self, position):
        """Minus the distance from `position` to the nearest hole's edge (0 inside a hole)."""
        distance = holes.nearest_hole_distance(position, jnp.asarray(self.hole_centres))
        return -jnp.maximum(distance - self.hole_radius, 0.0)

    def reference_policy(self, key, obs):
        return jnp.zeros((self.action_size,), jnp.float32)

    def reference_success_probability(self) -> float:
        if self.start == "uniform":
            return holes.uniform_hit_probability(self.dim, self.hole_radius, self.num_holes, 1.0)
        distance = float(jnp.min(jnp.linalg.norm(jnp.asarray(self.hole_centres), axis=-1)))
        return float(distance <= self.hole_radius)
