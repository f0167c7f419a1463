"""`deep_sea`: bsuite's deep-exploration chain, in pure JAX.

An N x N grid (N = `size`). The agent starts at the top-left cell; every step
it descends one row and moves one column left or right (clipped at the
edges), so an episode lasts exactly N steps. Which of the two discrete
actions means "right" is drawn per cell from `task_seed`
(`randomize_actions=True`, as in bsuite), so no fixed action sequence works
across tasks.

Sparse reward (bsuite semantics): 1 for moving right from the bottom-right
column on the last row, i.e. for choosing "right" on all N steps; every right
move costs `move_cost / N`. Dense reward: 1/N for every right move, no cost,
so that the optimal return is 1 in both. Success: the sparse reward's +1
event. A uniformly random policy succeeds with probability 2^-N.

Observation `[N * N]`: one-hot of the current cell (row-major); all zeros
once the episode is over. Actions: 2 (discrete; see `envs.base`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.base import REWARD, TASK_SEED, LabEnv
from envs.params import Param


class DeepSea(LabEnv):
    """bsuite deep sea: go right N times in a row, against a small cost per move."""

    PARAMS = (
        Param("size", int, 10, "grid side N; also the episode length", low=1, high=512),
        Param("randomize_actions", bool, True, "draw per cell which action means right"),
        Param("move_cost", float, 0.01, "total cost of N right moves (sparse reward)", low=0.0),
        REWARD,
        TASK_SEED,
    )
    num_actions = 2
    reference_policy_name = "uniform random actions"

    def __init__(self, **params):
        super().__init__(**params)
        self.horizon = self.size
        n = self.size
        if self.randomize_actions:
            mapping = self.task_rng.integers(0, 2, size=(n, n))
        else:
            mapping = np.ones((n, n))
        #: int32 `[N, N]`: the action that moves right in each cell (row, column).
        self.right_action = mapping.astype(np.int32)

    @property
    def observation_size(self) -> int:
        return self.size * self.size

    @property
    def action_size(self) -> int:
        return self.num_actions

    def _init_core(self, key):
        return jnp.zeros((), jnp.int32)  # the column; the row is the time step

    def _observe(self, column, t):
        cell = t * self.size + column
        return jax.nn.one_hot(cell, self.size * self.size, dtype=jnp.float32) * (t < self.size)

    def _transition(self, column, action, t):
        n = self.size
        row = jnp.minimum(t, n - 1)
        moves_right = action == jnp.asarray(self.right_action)[row, column]
        success = (moves_right & (column == n - 1)).astype(jnp.float32)
        next_column = jnp.clip(jnp.where(moves_right, column + 1, column - 1), 0, n - 1)
        if self.reward == "sparse":
            reward = success - moves_right * (self.move_cost / n)
        else:
            reward = moves_right / n
        return next_column.astype(jnp.int32), reward.astype(jnp.float32), success

    def reference_policy(self, key, obs):
        return jax.random.randint(key, (), 0, self.num_actions)

    def reference_success_probability(self) -> float:
        return 2.0 ** -self.size
