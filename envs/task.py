"""What every rlab environment adds to Brax's `Env`, whatever simulates it.

The lab's own pure-JAX tasks (`envs.base.LabEnv`), its MuJoCo tasks
(`envs.mjx_task.MjxTask`) and the ids that wrap another library's
environments (`envs.wrapped.WrappedTask`) all derive from `Task`: declared
parameters resolved once (`declare`), one `repr`, and one rule for the end
of a fixed-horizon episode (`after_horizon`).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from envs.params import Param, resolve


class Task:
    """A mixin before Brax's `Env` (or `PipelineEnv`) in an environment's bases."""

    #: Declared constructor parameters, in the order `rlab envs` lists them.
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    #: The id under which the class is registered (set by the registry).
    env_id: ClassVar[str] = ""
    #: `None` for continuous actions, else the number of discrete actions.
    num_actions: int | None = None
    #: Whether `metrics["success"]` means something (False for wrapped tasks that define none).
    has_success: ClassVar[bool] = True

    def declare(self, params: dict[str, Any]) -> dict[str, Any]:
        """Resolves `params` against PARAMS (defaults filled, every problem raised at once) into `self.params`."""
        self.params: dict[str, Any] = resolve(self.env_id or type(self).__name__, self.PARAMS, params)
        return self.params

    def traced_values(self) -> dict[str, float]:
        """The values of the parameters declared `traced` (see `envs.params.Param`), by name."""
        return {p.name: self.params[p.name] for p in self.PARAMS if p.traced}

    def with_values(self, values: dict[str, Any]):
        """A shallow copy whose traced parameters take `values` (JAX arrays or tracers, not validated).

        Trainers call it inside their programs with values carried in their
        state, so the copy must only be used where those values are live.
        """
        unknown = set(values) - set(self.traced_values())
        if unknown:
            raise ValueError(f"{self!r}: {sorted(unknown)} are not traced parameters")
        bound = copy.copy(self)
        bound.params = {**self.params, **values}
        return bound

    @staticmethod
    def after_horizon(active: jax.Array, new, old):
        """`new` while the episode is `active`, else `old`: once the horizon is reached a step changes nothing.

        Args:
          active: bool scalar, the step was taken before the horizon.
          new, old: pytrees of the same structure (states, or reward and success).
        """
        return jax.tree.map(lambda n, o: jnp.where(active, n, o), new, old)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.env_id or type(self).__name__}({args})"
