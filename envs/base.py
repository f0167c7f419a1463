"""The base class every rlab environment derives from.

A subclass writes only the pure core of its task: `_init_core`, `_transition`
and `_observe`. `LabEnv` adds what all tasks share:

* Brax's `Env` interface (`reset`, `step`, `observation_size`, `action_size`,
  `backend`), so Brax's wrappers and training code accept the environment;
* parameter validation from the class's declared `PARAMS`;
* a fixed horizon: `done` becomes 1.0 on step `horizon` (a termination, not a
  truncation), and stepping a finished episode is a no-op that pays nothing;
* `state.metrics["success"]`: 1.0 on the step where the task is achieved;
* discrete actions (see below).

Action conventions:

* Continuous environments have `num_actions = None` and take a float vector
  of shape `[action_size]`.
* Discrete environments have an integer `num_actions` and take an integer
  action (shape `[]`, any integer dtype, clipped to `[0, num_actions)`).
  Their `action_size` equals `num_actions`, and they also accept a float
  vector of that size, read as action preferences (its argmax is taken), so
  that generic continuous-action code such as Brax's trainers runs on them.
  rlab's trainers read `num_actions` and use a categorical policy.

Randomness: everything that fixes the task (hole centres, the combination,
deep sea's action mapping) comes from the `task_seed` parameter; everything
that varies from episode to episode comes from the key given to `reset`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from brax.envs.base import Env, State
from flax import struct

from envs import params as params_lib
from envs.task import Task

TASK_SEED = params_lib.Param(
    "task_seed", int, 0, "seed of the task itself (holes, code, action mapping)", low=0
)
REWARD = params_lib.Param(
    "reward",
    str,
    "sparse",
    "'sparse': reward only for success; 'dense': the same task, shaped",
    choices=("sparse", "dense"),
)


@struct.dataclass
class LabState:
    """What `LabEnv` keeps in `brax.envs.base.State.pipeline_state`.

    Attributes:
      t: int32 scalar, steps taken in this episode (0 after reset).
      core: the subclass's own pytree of task state.
    """

    t: jax.Array
    core: Any


class LabEnv(Task, Env):
    """Base class of rlab's pure-JAX environments (no physics pipeline)."""

    #: Number of steps in every episode (set by each subclass's constructor).
    horizon: int

    def __init__(self, **params: Any):
        for name, value in self.declare(params).items():
            setattr(self, name, value)
        self.task_rng = np.random.default_rng(self.params.get("task_seed", 0))

    # ----- what subclasses provide ------------------------------------------------

    def _init_core(self, key: jax.Array) -> Any:
        """Task state at the start of an episode, drawn with `key`."""
        raise NotImplementedError

    def _transition(self, core: Any, action: jax.Array, t: jax.Array) -> tuple[Any, jax.Array, jax.Array]:
        """One step from `core` at time `t` (before the step).

        Args:
          core: task state.
          action: `[action_size]` float32, or int32 scalar for discrete envs.
          t: int32 scalar in `[0, horizon)`.

        Returns:
          (next core, float32 reward, float32 success in {0, 1}).
        """
        raise NotImplementedError

    def _observe(self, core: Any, t: jax.Array) -> jax.Array:
        """Observation `[observation_size]` float32 of `core` at time `t`."""
        raise NotImplementedError

    # ----- Brax's Env interface ---------------------------------------------------

    def reset(self, rng: jax.Array) -> State:
        t = jnp.zeros((), jnp.int32)
        core = self._init_core(rng)
        return State(
            pipeline_state=LabState(t=t, core=core),
            obs=self._observe(core, t),
            reward=jnp.zeros((), jnp.float32),
            done=jnp.zeros((), jnp.float32),
            metrics={"success": jnp.zeros((), jnp.float32)},
            info={},
        )

    def step(self, state: State, action: jax.Array) -> State:
        lab: LabState = state.pipeline_state
        action = self._check_action(action)
        core, reward, success = self._transition(lab.core, action, lab.t)
        # Once the horizon is reached the episode is over: keep the final state
        # and pay nothing, so an over-long rollout cannot count a success twice.
        active = lab.t < self.horizon
        core = self.after_horizon(active, core, lab.core)
        t = jnp.where(active, lab.t + 1, lab.t)
        reward, success = (x.astype(jnp.float32) for x in self.after_horizon(active, (reward, success), (0.0, 0.0)))
        return state.replace(
            pipeline_state=LabState(t=t, core=core),
            obs=self._observe(core, t),
            reward=reward,
            done=(t >= self.horizon).astype(jnp.float32),
            metrics={**state.metrics, "success": success},
        )

    @property
    def observation_size(self) -> int:
        raise NotImplementedError

    @property
    def action_size(self) -> int:
        raise NotImplementedError

    @property
    def backend(self) -> str:
        """rlab's own tasks are plain JAX functions without a Brax physics pipeline."""
        return "jax"

    # ----- reference policy with a closed-form success probability -----------------

    def reference_policy(self, key: jax.Array, obs: jax.Array) -> jax.Array:
        """A fixed, task-independent policy whose success probability is known exactly."""
        raise NotImplementedError

    def reference_success_probability(self) -> float:
        """Closed-form probability that one episode of `reference_policy` succeeds."""
        raise NotImplementedError

    reference_policy_name: ClassVar[str] = ""

    # ----- helpers ----------------------------------------------------------------

    def _check_action(self, action: jax.Array) -> jax.Array:
        """Validates the action's shape (at trace time) and converts it."""
        action = jnp.asarray(action)
        if self.num_actions is None:
            if action.shape != (self.action_size,):
                raise ValueError(
                    f"{self.env_id}: action has shape {action.shape}; expected "
                    f"({self.action_size},) (step a batch with jax.vmap)"
                )
            return action.astype(jnp.float32)
        if jnp.issubdtype(action.dtype, jnp.integer):
            if action.shape not in ((), (1,)):
                raise ValueError(
                    f"{self.env_id}: integer action has shape {action.shape}; expected a scalar "
                    f"in [0, {self.num_actions})"
                )
            return jnp.clip(action.reshape(()), 0, self.num_actions - 1).astype(jnp.int32)
        if action.shape != (self.num_actions,):
            raise ValueError(
                f"{self.env_id}: discrete env takes an integer scalar action or a float vector "
                f"of {self.num_actions} preferences; got dtype {action.dtype}, shape {action.shape}"
            )
        return jnp.argmax(action).astype(jnp.int32)
