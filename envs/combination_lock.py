"""`combination_lock`: enter one exact sequence of discrete actions.

The code is a sequence of `length` digits in [0, num_actions), drawn from
`task_seed`. Every episode lasts `length` steps; on step t the agent enters
one digit. Sparse reward: 1 on the last step if every digit matched the code,
else 0 everywhere. Dense reward: 1/length for each digit that matches the
code at its position. Success: the whole code matched, in both versions.

A uniformly random policy succeeds with probability num_actions^-length.

Observation `[length + 1]`: one-hot of the time step. Actions: `num_actions`
(discrete; see `envs.base`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.base import REWARD, TASK_SEED, LabEnv
from envs.params import Param


class CombinationLock(LabEnv):
    """Enter the one exact code of `length` digits; nothing is paid otherwise."""

    PARAMS = (
        Param("length", int, 5, "digits in the code; also the episode length", low=1, high=10_000),
        Param("num_actions", int, 4, "possible values of each digit", low=2, high=10_000),
        REWARD,
        TASK_SEED,
    )
    reference_policy_name = "uniform random actions"

    def __init__(self, **params):
        super().__init__(**params)
        self.horizon = self.length
        #: int32 `[length]`: the code, fixed by `task_seed`.
        self.code = self.task_rng.integers(0, self.num_actions, size=self.length).astype(np.int32)

    @property
    def observation_size(self) -> int:
        return self.length + 1

    @property
    def action_size(self) -> int:
        return self.num_actions

    def _init_core(self, key):
        return jnp.ones((), jnp.bool_)  # every digit so far was right

    def _observe(self, all_right, t):
        return jax.nn.one_hot(t, self.length + 1, dtype=jnp.float32)

    def _transition(self, all_right, action, t):
        digit_ok = action == jnp.asarray(self.code)[jnp.minimum(t, self.length - 1)]
        all_right = all_right & digit_ok
        success = (all_right & (t + 1 == self.length)).astype(jnp.float32)
        if self.reward == "sparse":
            reward = success
        else:
            reward = digit_ok.astype(jnp.float32) / self.length
        return all_right, reward, success

    def reference_policy(self, key, obs):
        return jax.random.randint(key, (), 0, self.num_actions)

    def reference_success_probability(self) -> float:
        return float(self.num_actions) ** -self.length
