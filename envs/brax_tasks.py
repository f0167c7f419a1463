"""`brax/<name>`: every standard Brax environment under rlab's registry and conventions.

    env = envs.make("brax/reacher", backend="mjx", episode_length=200)

The Brax environment itself is unchanged; rlab adds:

* `backend` as a validated parameter, defaulting to "mjx" (MuJoCo XLA), the
  fastest of Brax's pipelines where measured (`benchmarks/env_throughput.py`)
  and the one MuJoCo maintains;
* `episode_length`, the time limit. Brax tasks have no fixed horizon, so it is
  a *truncation*: the environment never sets `done` for it; trainers read
  `env.episode_length`, cut episodes there and bootstrap their values;
* `state.metrics["success"]`, always 0.0: these tasks define no success
  (`env.has_success` is False), so success rates are not reported for them.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

from envs import _quiet
from envs.mjx_task import BACKEND
from envs.params import Param
from envs.wrapped import WrappedTask

# Brax's swimmer is left out: Brax 0.14 builds it only on the "generalized"
# pipeline, whose fluid model calls `jnp.clip(a_min=...)`, removed in JAX 0.10.
BRAX_TASKS = (
    "ant", "halfcheetah", "hopper", "humanoid", "humanoidstandup", "inverted_pendulum",
    "inverted_double_pendulum", "pusher", "reacher", "walker2d",
)


class BraxTask(WrappedTask):
    """A Brax environment with rlab's parameters, time limit and success metric."""

    PARAMS = (
        BACKEND,
        Param("episode_length", int, 1000, "steps before an episode is truncated (time limit)", low=1),
    )
    brax_name: ClassVar[str] = ""

    def build_inner(self):
        with warnings.catch_warnings():
            # Brax warns on every system load that its own pipelines are not maintained.
            warnings.simplefilter("ignore", UserWarning)
            return _quiet.import_brax_envs().get_environment(self.brax_name, backend=self.params["backend"])

    @property
    def backend(self) -> str:
        return self.params["backend"]


def task_class(name: str) -> type[BraxTask]:
    """A BraxTask subclass for Brax environment `name`."""
    doc = f"Brax's {name.replace('_', ' ')} (no success definition; a time limit, not a horizon)."
    return type(f"Brax_{name}", (BraxTask,), {"brax_name": name, "__doc__": doc})
