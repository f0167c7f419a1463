"""Base of rlab's MuJoCo tasks: generated MJCF simulated with MJX through Brax's pipeline.

A subclass gives its MJCF (`make_mjcf`), its start state (`_start`), its
observation (`_observe`) and its reward and success (`_judge`). The base adds
what the Swiss-cheese family also has: validated parameters, a fixed
`horizon` (a termination), a no-op step after the end, and
`state.metrics["success"]` (1.0 on the final step when the task is achieved).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from brax.envs.base import PipelineEnv, State

from envs.params import Param
from envs.task import Task

BACKENDS = ("mjx", "generalized", "positional", "spring")
BACKEND = Param("backend", str, "mjx", "Brax physics pipeline", choices=BACKENDS)


class MjxTask(Task, PipelineEnv):
    """A fixed-horizon MuJoCo task with rlab's conventions (subclasses fill in the task)."""

    n_frames: ClassVar[int] = 2

    def __init__(self, **params: Any):
        from brax.io import mjcf

        self.declare(params)
        self.horizon = self.params["horizon"]
        self.xml = self.make_mjcf()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Brax's notice about its own pipelines
            system = mjcf.loads(self.xml)
        super().__init__(sys=system, backend=self.params["backend"], n_frames=self.n_frames)

    # ----- what subclasses provide ----------------------------------------------------

    def make_mjcf(self) -> str:
        raise NotImplementedError

    def _start(self, key: jax.Array) -> tuple[jax.Array, jax.Array, dict]:
        """(q, qd, extra info such as a target) of a new episode."""
        raise NotImplementedError

    def _observe(self, pipeline_state, info: dict, t: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _judge(self, before, after, info: dict, is_last: jax.Array) -> tuple[jax.Array, jax.Array, dict]:
        """(reward, success in {0, 1}, extra metrics) of the step from `before` to `after`."""
        raise NotImplementedError

    # ----- Brax's Env interface -------------------------------------------------------

    def reset(self, rng: jax.Array) -> State:
        q, qd, info = self._start(rng)
        pipeline_state = self.pipeline_init(q, qd)
        t = jnp.zeros((), jnp.int32)
        info = {**info, "t": t}
        zero = jnp.zeros((), jnp.float32)
        _, _, extra = self._judge(pipeline_state, pipeline_state, info, jnp.zeros((), bool))
        return State(
            pipeline_state=pipeline_state, obs=self._observe(pipeline_state, info, t), reward=zero, done=zero,
            metrics={"success": zero, **extra}, info=info,
        )

    def step(self, state: State, action: jax.Array) -> State:
        t = state.info["t"]
        active = t < self.horizon
        stepped = self.pipeline_step(state.pipeline_state, jnp.clip(action, -1.0, 1.0))
        # After the horizon the episode is over: the state stays and nothing is paid.
        pipeline_state = self.after_horizon(active, stepped, state.pipeline_state)
        t_next = jnp.where(active, t + 1, t)
        reward, success, extra = self._judge(state.pipeline_state, pipeline_state, state.info, t_next == self.horizon)
        info = {**state.info, "t": t_next}
        return state.replace(
            pipeline_state=pipeline_state,
            obs=self._observe(pipeline_state, info, t_next),
            reward=self.after_horizon(active, reward, 0.0).astype(jnp.float32),
            done=(t_next >= self.horizon).astype(jnp.float32),
            metrics={**state.metrics, "success": self.after_horizon(active, success, 0.0).astype(jnp.float32), **extra},
            info=info,
        )

    # ----- a reference policy (success by Monte Carlo: physics has no closed form) -----

    reference_policy_name: ClassVar[str] = "uniform random actions"

    def reference_policy(self, key: jax.Array, obs: jax.Array) -> jax.Array:
        """Independent uniform actions in [-1, 1]^action_size every step: the random policy whose
        success rate per dimension `envs.rollout.reference_successes` estimates."""
        return jax.random.uniform(key, (self.action_size,), minval=-1.0, maxval=1.0)

    def markers(self, state: State) -> list:
        """Task features that are not bodies of the model (targets), drawn by renderers:
        a list of (position [3], radius, rgba) spheres. None by default."""
        return []

    def time_fraction(self, t: jax.Array) -> jax.Array:
        return (t / self.horizon).astype(jnp.float32)[None]
