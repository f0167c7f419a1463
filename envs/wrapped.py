"""Base of the ids that wrap another library's environments (`brax/<name>`, `playground/<Name>`).

A wrapped task keeps the other environment's dynamics and rewards unchanged and
adds what rlab's trainers and reports read: validated parameters, a time limit
`episode_length` (a *truncation*: the environment never sets `done` for it;
trainers cut episodes there and bootstrap their values), and
`state.metrics["success"]`, always 0.0, since these tasks define no success
(`has_success` is False).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from brax.envs.base import Env

from envs.task import Task


class WrappedTask(Task, Env):
    """Another library's environment (`self.inner`, built by `build_inner`) under rlab's conventions."""

    has_success = False

    def __init__(self, **params: Any):
        self.declare(params)
        self.episode_length = self.params["episode_length"]
        self.inner = self.build_inner()

    def build_inner(self):
        """The wrapped environment, from `self.params`."""
        raise NotImplementedError

    def reset(self, rng):
        return self._with_success(self.inner.reset(rng))

    def step(self, state, action):
        return self._with_success(self.inner.step(state, action))

    @staticmethod
    def _with_success(state):
        return state.replace(metrics={**state.metrics, "success": jnp.zeros_like(state.reward)})

    @functools.cached_property
    def observation_size(self) -> int:
        # Brax's own property runs a reset eagerly: many small compiles for a large model
        # in a fresh process, on every access. The shape alone needs only a trace.
        obs = jax.eval_shape(self.inner.reset, jax.random.PRNGKey(0)).obs
        if not hasattr(obs, "shape"):
            raise TypeError(f"{self.env_id}: dictionary observations are not supported")
        return obs.shape[-1]

    @property
    def action_size(self) -> int:
        return self.inner.action_size
