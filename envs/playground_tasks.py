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

`playground/Swimmer` is Playground's swimmer with its size as a parameter,
`n_links` (bodies in the chain, 3 to 12; Playground registers only the 6-body
`SwimmerSwimmer6`): each value is a new MJCF model, so a sweep over
`[env_axes] n_links` compiles one program per length, and "add a dimension
and watch it degrade" runs on a standard task.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from typing import ClassVar

import jax

from envs.params import Param
from envs.wrapped import WrappedTask

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


class PlaygroundTask(WrappedTask):
    """A MuJoCo Playground environment with rlab's parameters, time limit and success metric."""

    PARAMS = (
        Param(
            "episode_length", int, DEFAULT_EPISODE_LENGTH,
            "control steps before an episode is truncated (time limit)", low=1,
        ),
    )
    playground_name: ClassVar[str] = ""

    def build_inner(self):
        from mujoco_playground import registry

        return registry.load(
            self.playground_name,
            config_overrides={"impl": "jax", "episode_length": self.params["episode_length"]},
        )

    @property
    def backend(self) -> str:
        return "mjx"


def task_class(name: str) -> type[PlaygroundTask]:
    """A PlaygroundTask subclass for Playground's Control Suite task `name`."""
    doc = f"MuJoCo Playground's {name} (DeepMind Control Suite; a time limit, no success definition)."
    return type(f"Playground_{name}", (PlaygroundTask,), {"playground_name": name, "__doc__": doc})


SWIMMER = "Swimmer"
# Playground asks for full-precision matmuls in chains longer than this (its own threshold).
SWIMMER_FULL_PRECISION_ABOVE = 6


class Swimmer(PlaygroundTask):
    """MuJoCo Playground's swimmer (Control Suite) with `n_links` bodies: a size knob on a standard task."""

    PARAMS = PlaygroundTask.PARAMS + (
        Param("n_links", int, 6, "bodies in the swimmer's chain (each adds a joint and an actuator)", low=3,
              high=12),
    )

    def build_inner(self):
        from mujoco_playground._src.dm_control_suite import swimmer

        overrides = {"impl": "jax", "episode_length": self.params["episode_length"]}
        # Above six bodies Playground switches JAX's matmul precision to "highest" for the whole
        # process, which would change every other program a sweep compiles after it. The setting is
        # put back here, and this task's own reset and step run under it (`_precision`) instead.
        before = jax.config.jax_default_matmul_precision
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Globally setting jax_default_matmul_precision")
                return swimmer.Swim(n_links=self.params["n_links"], config=swimmer.default_config(),
                                    config_overrides=overrides)
        finally:
            jax.config.update("jax_default_matmul_precision", before)

    def _precision(self):
        if self.params["n_links"] > SWIMMER_FULL_PRECISION_ABOVE:
            return jax.default_matmul_precision("highest")
        return contextlib.nullcontext()

    def reset(self, rng):
        with self._precision():
            return super().reset(rng)

    def step(self, state, action):
        with self._precision():
            return super().step(state, action)
