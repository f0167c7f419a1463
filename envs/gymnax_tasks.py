"""`gymnax/<id>`: gymnax's environments under rlab's registry and conventions.

    env = envs.make("gymnax/CartPole-v1", length=0.7)     # a parameter of gymnax's EnvParams, sweepable

gymnax (Lange 2022) reimplements classic control, bsuite and MinAtar tasks in
JAX with a `reset(key, params)` / `step(key, state, action, params)` API. The
adapter keeps gymnax's dynamics and rewards and gives them Brax's `Env`
interface, the one every rlab trainer reads:

* the episode key lives in the state, so `step(state, action)` needs none;
  gymnax's own auto-reset is not used (`step_env`): rlab's rollouts reset
  finished episodes themselves, each from a fresh start state;
* gymnax's time limit becomes rlab's `episode_length` (a truncation, which
  trainers bootstrap) with gymnax's own limit as its default; gymnax's
  internal limit is lifted so that only termination ends an episode there;
* the numeric and boolean fields of gymnax's `EnvParams` are parameters
  (typed by their defaults; gymnax does not check them, nor do derived
  fields such as CartPole's `total_mass` follow the ones they derive from);
* observations are flattened to one float32 vector; discrete actions are an
  integer (or a vector of preferences, whose argmax is taken);
* `metrics["success"]` is 0: gymnax defines no success, so reports show returns.

gymnax is optional (`pip install 'rlab[gymnax]'`); the ids are registered
only where it imports.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State

from envs.params import Param
from envs.task import Task

PREFIX = "gymnax/"
# The ids registered: classic control (discrete and continuous) and bsuite's DeepSea and Catch.
IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1",
       "DeepSea-bsuite", "Catch-bsuite")
# gymnax's limit is replaced by one no episode reaches; rlab's episode_length truncates instead.
_NO_LIMIT = 2**30


def available() -> bool:
    try:
        import gymnax  # noqa: F401
    except ImportError:
        return False
    return True


class GymnaxTask(Task, Env):
    """A gymnax environment with Brax's interface and rlab's conventions (see the module docstring)."""

    gymnax_id: str = ""
    has_success = False

    def __init__(self, **params: Any):
        self.declare(params)
        self.episode_length = self.params["episode_length"]
        self.inner, defaults = _make(self.gymnax_id)
        fields = {k: v for k, v in self.params.items() if k != "episode_length"}
        self.inner_params = defaults.replace(max_steps_in_episode=_NO_LIMIT, **fields)
        space = self.inner.action_space(self.inner_params)
        self.num_actions = int(space.n) if hasattr(space, "n") else None

    def reset(self, rng):
        key, reset_key = jax.random.split(rng)
        obs, inner = self.inner.reset_env(reset_key, self.inner_params)
        zero = jnp.zeros((), jnp.float32)
        return State(pipeline_state=(inner, key), obs=self._flat(obs), reward=zero, done=zero,
                     metrics={"success": zero}, info={})

    def step(self, state, action):
        inner, key = state.pipeline_state
        key, step_key = jax.random.split(key)
        if self.num_actions is not None:
            action = jnp.argmax(action) if jnp.ndim(action) else jnp.clip(action.astype(jnp.int32), 0,
                                                                          self.num_actions - 1)
        obs, inner, reward, done, _ = self.inner.step_env(step_key, inner, action, self.inner_params)
        return state.replace(pipeline_state=(inner, key), obs=self._flat(obs),
                             reward=jnp.asarray(reward, jnp.float32), done=jnp.asarray(done, jnp.float32))

    @staticmethod
    def _flat(obs):
        return jnp.ravel(obs).astype(jnp.float32)

    @functools.cached_property
    def observation_size(self) -> int:
        return int(jax.eval_shape(self.reset, jax.random.PRNGKey(0)).obs.shape[0])

    @property
    def action_size(self) -> int:
        if self.num_actions is not None:
            return self.num_actions
        return int(self.inner.action_space(self.inner_params).shape[0])

    @property
    def backend(self) -> str:
        return "gymnax"


def _make(gymnax_id: str):
    import gymnax

    return gymnax.make(gymnax_id)


def task_class(gymnax_id: str) -> type[GymnaxTask]:
    """A GymnaxTask subclass for gymnax's `gymnax_id`, its parameters read from gymnax's default EnvParams."""
    _, defaults = _make(gymnax_id)
    params = [Param("episode_length", int, int(defaults.max_steps_in_episode),
                    "steps before an episode is truncated (gymnax's own time limit by default)", low=1)]
    for field in dataclasses.fields(defaults):
        value = getattr(defaults, field.name)
        kind = next((k for k in (bool, int, float) if type(value) is k), None)
        if field.name != "max_steps_in_episode" and kind is not None:
            params.append(Param(field.name, kind, value, f"gymnax's EnvParams.{field.name}"))
    doc = f"gymnax's {gymnax_id} (no success definition; gymnax's dynamics and rewards)."
    return type(f"Gymnax_{gymnax_id.replace('-', '_')}", (GymnaxTask,),
                {"gymnax_id": gymnax_id, "PARAMS": tuple(params), "__doc__": doc})
