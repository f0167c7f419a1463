"""A task and an algorithm variant of a user's own, outside rlab (the example of docs/your_own.md).

    rlab sweep corridor.toml --out runs/corridor     # with this folder on PYTHONPATH

The tests copy this file into a temporary folder and run it there.
"""

import dataclasses

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State

from rlab.trainers import es


class Corridor(Env):
    """Walk a point to the goal at the end of a corridor of `length` cells."""

    def __init__(self, length: int = 4, step_size: float = 0.5):
        self.length, self.step_size = length, step_size

    def reset(self, rng):
        position = jax.random.uniform(rng, (1,), minval=-1.0, maxval=1.0)
        zero = jnp.zeros(())
        return State(pipeline_state=position, obs=position, reward=zero, done=zero,
                     metrics={"success": zero}, info={})

    def step(self, state, action):
        position = jnp.clip(state.pipeline_state + self.step_size * jnp.clip(action, -1, 1), -1.0, self.length)
        distance = jnp.abs(position[0] - self.length)
        success = (distance < 0.25).astype(jnp.float32)
        return state.replace(pipeline_state=position, obs=position / self.length, reward=-distance,
                             done=success, metrics={"success": success})

    @property
    def observation_size(self):
        return 1

    @property
    def action_size(self):
        return 1

    @property
    def backend(self):
        return "user"


def make_noisy_corridor(length: int = 4, noise: float = 0.1):
    """A function returning an environment (no success metric of its own)."""
    return NoSuccess(length)


class NoSuccess(Corridor):
    def reset(self, rng):
        state = super().reset(rng)
        return state.replace(metrics={})

    def step(self, state, action):
        state = super().step(state, action)
        return state.replace(metrics={})


# An algorithm variant: OpenAI-ES's record with another default noise.
WIDE_ES = dataclasses.replace(es.ALGORITHM, name="wide_es", params=tuple(
    dataclasses.replace(p, default=0.2) if p.name == "noise_std" else p for p in es.ALGORITHM.params))


def _twice_the_steps(env, static):
    steps, how = es.ALGORITHM.steps_per_iteration(env, static)
    return 2 * steps, how


# A record that breaks a promise on purpose: it claims twice the env steps it takes (the budget).
MISCOUNTED_ES = dataclasses.replace(es.ALGORITHM, name="miscounted_es", steps_per_iteration=_twice_the_steps)
