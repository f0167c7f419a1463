"""REINFORCE (Williams 1992): the Monte Carlo policy gradient the Swiss-cheese argument is about.

Each iteration runs `num_envs` = N whole episodes from fresh resets, weighs
every step's score grad log pi(a|s) by its return-to-go minus a baseline, and
takes one Adam step on that estimate. Baselines, and when each estimate is
exactly zero (p: the chance that one episode earns a reward, reward in {0, 1}
at the final step as in the Swiss-cheese tasks):

* "leave_one_out" (default): episode i's baseline is the mean return-to-go at
  the same step of the other N - 1 episodes. Unbiased (the baseline does not
  depend on episode i's own actions). Zero when all N returns are equal:
  probability (1 - p)^N + p^N.
* "none": unbiased; zero exactly when no episode is rewarded: (1 - p)^N.
* "batch_mean": the mean over all N episodes, episode i's own included. Its
  expectation is (1 - 1/N) times the true gradient (biased towards zero);
  zero with probability (1 - p)^N + p^N. Kept for comparison.
* "learned": a value network fitted to the returns. With no reward anywhere
  the weights are -V(s), so the estimate is almost never exactly zero: it is
  noise that moves the policy across a plateau.

`zero_gradient` reports how often the estimate was exactly zero and the
plateau diagnostics (`plateau_fraction`: no rewarded episode in the batch)
how often there was nothing to learn from; the two differ per baseline.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from envs.params import Param
from rlab.trainers import networks, rollout
from rlab.trainers.advantages import reward_to_go
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.estimators import score_function_gradient

DESCRIPTION = "REINFORCE: Monte Carlo policy gradient with an optional batch-mean or learned baseline"

PARAMS = (
    Param("num_envs", int, 32, "episodes per iteration", low=1),
    Param(
        "baseline", str, "leave_one_out", "what is subtracted from returns",
        choices=("leave_one_out", "none", "batch_mean", "learned"),
    ),
    Param("std", str, "state_independent", "Gaussian std parameterisation", choices=("state_independent", "state_dependent")),
    Param("learning_rate", float, 3e-3, "Adam step size", low=0.0, low_open=True),
    Param("gamma", float, 1.0, "discount", low=0.0, high=1.0),
    Param("value_coef", float, 0.5, "value loss weight (learned baseline)", low=0.0),
    Param("init_std", float, 0.5, "initial Gaussian std", low=0.0, low_open=True),
    Param("output_scale", float, 0.01, "scale of the policy's initial output weights", low=0.0),
)

# A cheap shape for smoke and contract tests (seconds to compile and run).
SMALL = dict(num_envs=4)


@struct.dataclass
class ReinforceState:
    params: dict  # {"policy": ..., "value": ...}
    opt_state: optax.OptState
    keys: dict
    hparams: dict
    env_steps: jax.Array


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: `num_envs` whole episodes."""
    return static["num_envs"] * rollout.episode_length_of(env, static["episode_length"]), "num_envs * episode length"


def baseline_of(kind: str, returns: jax.Array, mask: jax.Array) -> jax.Array:
    """The non-learned baselines: `[T, N]` from returns-to-go and masks `[T, N]` (step t, episode i).

    kind: "none", "batch_mean" (mean of the N episodes' returns at step t, own
    included) or "leave_one_out" (mean of the other episodes' returns at t).
    Where all returns at step t are equal, both are exactly that return.
    """
    if kind == "none":
        return jnp.zeros_like(returns)
    total = jnp.sum(returns * mask, axis=1, keepdims=True)
    count = mask.sum(axis=1, keepdims=True)
    if kind == "batch_mean":
        mean = total / jnp.maximum(count, 1.0)
    else:
        mean = (total - returns * mask) / jnp.maximum(count - mask, 1.0)
    # Where every episode's return at step t is equal the mean is that return,
    # but XLA's division can miss it by an ulp (3 * (1/3)), leaving weights of
    # 1e-7 instead of the exact zero the estimator's law says. Return it exactly.
    live = mask > 0
    lowest = jnp.min(jnp.where(live, returns, jnp.inf), axis=1, keepdims=True)
    highest = jnp.max(jnp.where(live, returns, -jnp.inf), axis=1, keepdims=True)
    return jnp.where(lowest == highest, returns, mean)


def build(env, static: dict):
    policy = networks.policy_for(env, static["width"], static["depth"], static["std"])
    value_net = networks.value_network(static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    num_envs = static["num_envs"]
    optimizer = optax.scale_by_adam()

    def init_fn(streams, hp):
        policy_key, value_key = jax.random.split(streams["init"])
        params = {
            "policy": policy.init(policy_key, hp["output_scale"], hp["init_std"]),
            "value": value_net.init(value_key, jnp.zeros((env.observation_size,)))["params"],
        }
        return ReinforceState(params, optimizer.init(params), dict(streams), hp, jnp.zeros((), jnp.int32))

    def iteration(state: ReinforceState, _):
        hp = state.hparams
        keys, reset_key = split_key(state.keys, "env")
        keys, explore_key = split_key(keys, "explore")
        envs = rollout.reset_batch(env, reset_key, num_envs)
        act = lambda obs, key: policy.sample(state.params["policy"], obs, key)  # noqa: E731
        _, traj = rollout.collect(env, act, envs, explore_key, episode_length, episode_length)
        boundary = jnp.maximum(traj.termination, traj.truncation)
        # Only each environment's first episode is whole; mask anything after it.
        mask = 1.0 - (jnp.cumsum(boundary, axis=0) - boundary)
        returns = reward_to_go(traj.reward, boundary, hp["gamma"])
        values = value_net.apply({"params": state.params["value"]}, traj.obs)[..., 0]
        baseline = values if static["baseline"] == "learned" else baseline_of(static["baseline"], returns, mask)
        weights = (returns - baseline) * mask
        flat = lambda x: x.reshape((-1,) + x.shape[2:])  # noqa: E731
        pg = score_function_gradient(
            policy.log_prob, state.params["policy"], flat(traj.obs), flat(traj.action), flat(weights), num_envs
        )

        def value_loss(value_params):
            v = value_net.apply({"params": value_params}, traj.obs)[..., 0]
            return 0.5 * jnp.sum(mask * (v - returns) ** 2) / jnp.maximum(mask.sum(), 1.0)

        value_grad = jax.grad(value_loss)(state.params["value"])
        # Ascend the return: descend -pg. The value net only learns for the learned baseline.
        grads = {
            "policy": jax.tree.map(jnp.negative, pg),
            "value": jax.tree.map(lambda g: g * hp["value_coef"] * (static["baseline"] == "learned"), value_grad),
        }
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = jax.tree.map(lambda p, u: p - hp["learning_rate"] * u, state.params, updates)
        pg_norm = optax.tree.norm(pg)
        episode_return = jnp.sum(traj.reward * mask, axis=0)
        rewarded = jnp.any((traj.reward > 0) & (mask > 0), axis=0)  # [N]
        diagnostics = {
            "grad_norm": pg_norm,
            "zero_gradient": (pg_norm == 0).astype(jnp.float32),
            "no_reward_batch": 1.0 - jnp.max(rewarded.astype(jnp.float32)),
            "update_norm": optax.tree.norm(jax.tree.map(jnp.subtract, params["policy"], state.params["policy"])),
            "train_return": episode_return.mean(),
            "rewarded_fraction": jnp.mean(rewarded),
            "train_success": jnp.mean(jnp.max(traj.success * mask, axis=0)),
            "entropy": jnp.mean(jax.vmap(policy.entropy, in_axes=(None, 0))(state.params["policy"], flat(traj.obs))),
        }
        new_state = state.replace(
            params=params, opt_state=opt_state, keys=keys, env_steps=state.env_steps + num_envs * episode_length
        )
        return new_state, diagnostics

    def policy_params_of(state: ReinforceState):
        return state.params["policy"]


    return Program(init_fn, iteration, policy_params_of, policy.mode)


# Without reward every return is zero (no baseline) or equal to its leave-one-out mean: a zero update.
# A batch-mean baseline is zero too, but a learned one leaves -V(s) weights.
ALGORITHM = Algorithm(
    name="reinforce", description=DESCRIPTION, params=PARAMS, steps_per_iteration=steps_per_iteration, build=build,
    batch_param="num_envs",
    plateau=Plateau("episodes", lambda static: static["num_envs"],
                    lambda static, floats: static["baseline"] in ("none", "leave_one_out"), zero_law="score_function"),
    small=SMALL,
)
