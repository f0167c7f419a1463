"""`playground/<Name>`: MuJoCo Playground's DeepMind Control Suite tasks, when it is installed.

    pip install "rlab[playground]"
    env = envs.make("playground/CartpoleSwingupSparse", episode_length=500)

MuJoCo Playground (the `playground` distribution, module `mujoco_playground`)
is optional: without it these ids are simply not registered. Its tasks are
built with the pure-JAX MJX implementation (`impl="jax"`), the one that runs
on a CPU as well as on accelerators.

As with `brax/<name>`, rlab adds a validated `episode_length` (Playground's
own default, a *truncation* that trainers apply: the environment never sets
`done` for it) and `state.metrics["success"]`, always 0.0: the suite defines
rewards in [0, 1] per step but no success (`env.has_success` is False).
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, ClassVar

import jax.numpy as jnp
from brax.envs.base import Env

from envs.params import Param, resolve

PREFIX = "playground/"
DEFAULT_EPISODE_LENGTH = 1000  # every Control Suite task in Playground uses 1000 control steps


def installed() -> bool:
    """True if MuJoCo Playground can be imported."""
    return importlib.util.find_spec("mujoco_playground") is not None


def suite_names() -> tuple[str, ...]:
    """Playground's Control Suite task names, or () when it is not installed."""
    if not installed():
        return ()
    from mujoco_playground._src import dm_control_suite

    return tuple(dm_control_suite.ALL_ENVS)


class PlaygroundTask(Env):
    """A MuJoCo Playground environment with rlab's parameters, time limit and success metric."""

    PARAMS = (
        Param(
            "episode_length", int, DEFAULT_EPISODE_LENGTH,
            "control steps before an episode is truncated (time limit)", low=1,
        ),
    )
    env_id: ClassVar[str] = ""
    playground_name: ClassVar[str] = ""
    num_actions = None
    has_success = False

    def __init__(self, **params: Any):
        from mujoco_playground import registry

        self.params = resolve(self.env_id, self.PARAMS, params)
        self.episode_length = self.params["episode_length"]
        self.playground_env = registry.load(
            self.playground_name,
            config_overrides={"impl": "jax", "episode_length": self.episode_length},
        )

    def reset(self, rng):
        state = self.playground_env.reset(rng)
        return state.replace(metrics={**state.metrics, "success": jnp.zeros_like(state.reward)})

    def step(self, state, action):
        state = self.playground_env.step(state, action)
        return state.replace(metrics={**state.metrics, "success": jnp.zeros_like(state.reward)})

    @functools.cached_property
    def observation_size(self) -> int:
        size = self.playground_env.observation_size  # traces a reset: computed once
        if not isinstance(size, int):
            raise TypeError(f"{self.env_id}: dictionary observations ({size}) are not supported")
        return size

    @property
    def action_size(self) -> int:
        return self.playground_env.action_size

    @property
    def backend(self) -> str:
        return "mjx"

    def __repr__(self) -> str:
        return f"{self.env_id}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


def task_class(name: str) -> type[PlaygroundTask]:
    """A PlaygroundTask subclass for Playground's Control Suite task `name`."""
    doc = f"MuJoCo Playground's {name} (DeepMind Control Suite; a time limit, no success definition)."
    return type(f"Playground_{name}", (PlaygroundTask,), {"playground_name": name, "__doc__": doc})
