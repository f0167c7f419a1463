"""Acting in an environment: training rollouts with resets, and whole evaluation episodes.

Shapes: `T` steps, `B` parallel environments, `E` episodes.

Episodes end by termination (`state.done` from the environment, e.g. rlab's
fixed horizons) or by truncation (`episode_length` steps without termination).
The two are kept apart all the way into the advantage estimate: a truncated
episode's value is bootstrapped, a terminated one's is not. Finished
environments are reset with fresh keys from the env stream, so every episode
gets its own start state (unlike Brax's AutoResetWrapper, which replays the
first one); the start states are drawn once per `collect` call, as many as
can be needed (see `collect`).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct

from envs.params import ParamError

# act(obs, key) -> (action, log_prob) for ONE observation; callers vmap it.
ActFn = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


def episode_length_of(env, requested: int) -> int:
    """`requested` if > 0, else the environment's own horizon or time limit (`episode_length`)."""
    if requested > 0:
        return requested
    horizon = getattr(env, "horizon", None) or getattr(env, "episode_length", None)
    if horizon is None:
        raise ParamError(
            f"episode_length = 0 means the environment's own horizon, but {type(env).__name__} "
            "has none; allowed: an integer >= 1 (steps before an episode is truncated)"
        )
    return int(horizon)


def env_functions(env) -> tuple[Callable, Callable]:
    """(reset, step) of `env`, each wrapped in `jax.jit` once per environment object.

    A trainer's program calls reset in up to three places (the first batch,
    the start states of `collect`, evaluation episodes) and step in two, and
    a population method calls them again per member. Inside a traced program
    a jitted function is traced once per argument shape and reused, so an MJX
    forward pass (seconds of Python tracing) is traced once instead of at
    every call site. XLA inlines the calls, so the compiled program is the same.
    The pair is kept on the environment object itself (not in a registry
    that would keep every environment alive).
    """
    attributes = getattr(env, "__dict__", None)
    if attributes is None:  # an environment without instance attributes: nothing to share
        return env.reset, env.step
    if _FUNCTIONS not in attributes:
        attributes[_FUNCTIONS] = (jax.jit(env.reset), jax.jit(env.step))
    return attributes[_FUNCTIONS]


_FUNCTIONS = "_rlab_jitted_reset_and_step"


def _success(state) -> jax.Array:
    return state.metrics.get("success", jnp.zeros_like(state.reward))


@struct.dataclass
class Transition:
    """One step of B environments; stacked by `collect` to `[T, B, ...]`.

    obs, next_obs: `[B, obs_size]` (next_obs is the true successor, before any reset);
    action: `[B, action_size]` float or `[B]` int; log_prob, reward, termination,
    truncation, success: `[B]` float32.
    """

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    reward: jax.Array
    termination: jax.Array
    truncation: jax.Array
    next_obs: jax.Array
    success: jax.Array


@struct.dataclass
class EnvBatch:
    """B environments mid-episode: their states and steps taken in the current episode `[B]`."""

    state: object
    episode_step: jax.Array


def reset_batch(env, key: jax.Array, num_envs: int) -> EnvBatch:
    reset, _ = env_functions(env)
    state = jax.vmap(reset)(jax.random.split(key, num_envs))
    return EnvBatch(state=state, episode_step=jnp.zeros((num_envs,), jnp.int32))


def min_episode_length(env, episode_length: int) -> int:
    """The fewest steps any episode can last: `min(horizon, episode_length)` for fixed-horizon tasks, else 1.

    rlab's own tasks end exactly at their `horizon` (`done` never comes
    earlier); other environments (Brax's) may terminate on any step.
    """
    horizon = getattr(env, "horizon", None)
    return min(int(horizon), episode_length) if horizon else 1


def collect(
    env, act: ActFn, batch: EnvBatch, key: jax.Array, num_steps: int, episode_length: int
) -> tuple[EnvBatch, Transition]:
    """Steps B environments `num_steps` times with `act`, resetting finished ones.

    Each environment can finish at most R = ceil(T / shortest episode) times
    in T steps, so R fresh start states per environment are drawn once, up
    front, and an environment that finishes takes its next unused one. For a
    fixed-horizon physics task whose horizon is at least T that is one reset
    per environment per call instead of one per step: resets are a physics
    forward pass each, and computing them for every environment on every step
    (then discarding most) cost as much as the steps themselves.

    Returns:
      (the environments after the last step, Transition with leaves `[T, B, ...]`).
    """
    num_envs = batch.episode_step.shape[0]
    resets = -(-num_steps // min_episode_length(env, episode_length))
    steps_key, reset_key = jax.random.split(key)
    reset, step = env_functions(env)
    fresh = jax.vmap(reset)(jax.random.split(reset_key, resets * num_envs))
    fresh = jax.tree.map(lambda x: x.reshape((resets, num_envs) + x.shape[1:]), fresh)  # [R, B, ...]
    env_index = jnp.arange(num_envs)

    def one_step(carry, act_key):
        batch, used = carry
        obs = batch.state.obs
        action, log_prob = jax.vmap(act)(obs, jax.random.split(act_key, num_envs))
        state = jax.vmap(step)(batch.state, action)
        episode_step = batch.episode_step + 1
        termination = state.done.astype(jnp.float32)
        truncation = ((episode_step >= episode_length) & (termination == 0)).astype(jnp.float32)
        boundary = (termination + truncation) > 0
        transition = Transition(
            obs=obs,
            action=action,
            log_prob=log_prob,
            reward=state.reward,
            termination=termination,
            truncation=truncation,
            next_obs=state.obs,
            success=_success(state),
        )
        slot = jnp.minimum(used, resets - 1)
        state = jax.tree.map(
            lambda pool, old: jnp.where(boundary.reshape((-1,) + (1,) * (old.ndim - 1)), pool[slot, env_index], old),
            fresh,
            state,
        )
        batch = EnvBatch(state, jnp.where(boundary, 0, episode_step))
        return (batch, used + boundary.astype(jnp.int32)), transition

    (batch, _), transitions = jax.lax.scan(
        one_step, (batch, jnp.zeros((num_envs,), jnp.int32)), jax.random.split(steps_key, num_steps)
    )
    return batch, transitions


@struct.dataclass
class EpisodeStats:
    """Outcomes of E whole episodes.

    episode_return, success (1.0 if it succeeded at any step), rewarded (1.0 if
    any step paid a positive reward): `[E]`. obs_count, obs_sum `[obs_size]`,
    obs_sum_sq `[obs_size]`: moments of the observations the policy acted on
    (for running observation normalisation).
    """

    episode_return: jax.Array
    success: jax.Array
    rewarded: jax.Array
    obs_count: jax.Array
    obs_sum: jax.Array
    obs_sum_sq: jax.Array


def run_episodes(env, act: ActFn, key: jax.Array, num_episodes: int, episode_length: int) -> EpisodeStats:
    """Runs E independent episodes from fresh resets, each until it ends or `episode_length` steps."""

    reset, step = env_functions(env)

    def episode(key):
        reset_key, act_key = jax.random.split(key)
        state = reset(reset_key)
        zeros_obs = jnp.zeros_like(state.obs)
        init = (state, jnp.ones(()), jnp.zeros(()), jnp.zeros(()), jnp.zeros(()), jnp.zeros(()), zeros_obs, zeros_obs)

        def one_step(carry, step_key):
            state, alive, total, success, rewarded, count, obs_sum, obs_sq = carry
            action, _ = act(state.obs, step_key)
            obs_sum, obs_sq = obs_sum + alive * state.obs, obs_sq + alive * state.obs**2
            count = count + alive
            state = step(state, action)
            total = total + alive * state.reward
            success = jnp.maximum(success, alive * _success(state))
            rewarded = jnp.maximum(rewarded, alive * (state.reward > 0))
            alive = alive * (1.0 - state.done)
            return (state, alive, total, success, rewarded, count, obs_sum, obs_sq), None

        carry, _ = jax.lax.scan(one_step, init, jax.random.split(act_key, episode_length))
        return EpisodeStats(*carry[2:])

    return jax.vmap(episode)(jax.random.split(key, num_episodes))


def evaluate(env, action_fn: Callable, key: jax.Array, num_episodes: int, episode_length: int) -> dict:
    """Mean return and success rate of a deterministic policy `action_fn(obs) -> action`.

    Returns:
      {"eval_return": scalar, "eval_success": scalar in [0, 1]}.
    """
    stats = run_episodes(env, lambda obs, _: (action_fn(obs), 0.0), key, num_episodes, episode_length)
    return {"eval_return": stats.episode_return.mean(), "eval_success": stats.success.mean()}
