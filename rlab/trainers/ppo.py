"""Proximal policy optimisation (Schulman et al. 2017) for one seed.

One iteration: `num_envs` environments act for `rollout_length` steps
(resetting finished episodes), GAE advantages with bootstrapping on truncation
but not on termination, then `num_epochs` passes of `num_minibatches` clipped
surrogate updates (Adam, global-norm clipping). Observations are normalised
with running statistics when `normalize_observations`; the normalised
observations the policy acted on are the ones the update uses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from envs.params import Param, ParamError
from rlab.trainers import networks, rollout
from rlab.trainers.advantages import gae
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.normalization import RunningStats

DESCRIPTION = "PPO: clipped-surrogate policy gradient with GAE, minibatch epochs, observation normalisation"

PARAMS = (
    Param("num_envs", int, 16, "parallel environments per seed", low=1),
    Param("rollout_length", int, 32, "steps per environment per iteration", low=1),
    Param("num_epochs", int, 4, "passes over each batch", low=1),
    Param("num_minibatches", int, 4, "minibatches per pass", low=1),
    Param("std", str, "state_independent", "Gaussian std parameterisation", choices=("state_independent", "state_dependent")),
    Param("normalize_observations", bool, True, "running mean/std observation normalisation"),
    Param("clip_value_loss", bool, False, "clip the value update like the policy's"),
    Param("learning_rate", float, 3e-4, "Adam step size", low=0.0, low_open=True),
    Param("gamma", float, 0.99, "discount", low=0.0, high=1.0),
    Param("gae_lambda", float, 0.95, "GAE lambda", low=0.0, high=1.0),
    Param("clip_range", float, 0.2, "ratio clip epsilon", low=0.0, low_open=True),
    Param("entropy_coef", float, 0.0, "entropy bonus weight", low=0.0),
    Param("value_coef", float, 0.5, "value loss weight", low=0.0),
    Param("max_grad_norm", float, 0.5, "global gradient-norm clip", low=0.0, low_open=True),
    Param("init_std", float, 0.5, "initial Gaussian std", low=0.0, low_open=True),
    Param("output_scale", float, 0.01, "scale of the policy's initial output weights", low=0.0),
)

# Advantages of a minibatch that differ by less than this, relative to their size (at least 1),
# are one value up to float32 rounding: normalised, they would be noise scaled to unit size.
CONSTANT_SPREAD = 1e-5

# A cheap shape for smoke and contract tests (seconds to compile and run).
SMALL = dict(num_envs=4, rollout_length=8, num_epochs=2, num_minibatches=2)


@struct.dataclass
class PPOState:
    params: dict  # {"policy": ..., "value": ...}
    opt_state: optax.OptState
    obs_stats: RunningStats
    envs: rollout.EnvBatch
    keys: dict
    hparams: dict
    env_steps: jax.Array


def _optimizer(hp):
    # Built inside the traced step from leaf values; its state's structure does not depend on them.
    return optax.chain(optax.clip_by_global_norm(hp["max_grad_norm"]), optax.scale_by_adam())


def normalised_advantages(advantages: jax.Array, values: jax.Array, targets: jax.Array) -> jax.Array:
    """A minibatch's advantages `[B]` at zero mean and unit scale; exactly zero where they are one constant.

    A constant minibatch prefers no action: that is made exact. Equal advantages come out of float32
    arithmetic a few ulps apart (vectorised and remainder rows of a batch whose size is not a power
    of two round differently), and normalising that residue to unit scale gave advantages of order
    one. A residue is a few ulps of the numbers the advantages are computed from (targets minus
    values), so a spread below CONSTANT_SPREAD of their largest magnitude is one: the cut-off is
    relative to the task's own scale, and advantages of rewards of order 1e-6 still teach.
    """
    spread = jnp.max(advantages) - jnp.min(advantages)
    scale = jnp.maximum(jnp.max(jnp.abs(advantages)), jnp.maximum(jnp.max(jnp.abs(values)), jnp.max(jnp.abs(targets))))
    constant = spread <= CONSTANT_SPREAD * scale
    centred = advantages - advantages.mean()
    return jnp.where(constant, 0.0, centred / (advantages.std() + 1e-8))


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: the rollout batch."""
    return static["num_envs"] * static["rollout_length"], "num_envs * rollout_length"


def build(env, static: dict):
    """The pure pieces of PPO on `env` (see `Program`)."""
    batch_size = static["num_envs"] * static["rollout_length"]
    if batch_size % static["num_minibatches"]:
        raise ParamError(
            f"ppo: num_envs * rollout_length = {batch_size} must be divisible by "
            f"num_minibatches = {static['num_minibatches']}"
        )
    policy = networks.policy_for(env, static["width"], static["depth"], static["std"])
    value_net = networks.value_network(static["width"], static["depth"])
    episode_length = rollout.episode_length_of(env, static["episode_length"])
    minibatch = batch_size // static["num_minibatches"]

    def normalize(stats, obs):
        return stats.normalize(obs) if static["normalize_observations"] else obs

    def init_fn(streams, hp):
        policy_key, value_key = jax.random.split(streams["init"])
        params = {
            "policy": policy.init(policy_key, hp["output_scale"], hp["init_std"]),
            "value": value_net.init(value_key, jnp.zeros((env.observation_size,)))["params"],
        }
        keys, reset_key = split_key(streams, "env")
        return PPOState(
            params=params,
            opt_state=_optimizer(hp).init(params),
            obs_stats=RunningStats.zeros(env.observation_size),
            envs=rollout.reset_batch(env, reset_key, static["num_envs"]),
            keys=keys,
            hparams=hp,
            env_steps=jnp.zeros((), jnp.int32),
        )

    def value(params, obs):
        return value_net.apply({"params": params["value"]}, obs)[..., 0]

    def loss_fn(params, batch, hp):
        log_prob = jax.vmap(policy.log_prob, in_axes=(None, 0, 0))(params["policy"], batch["obs"], batch["action"])
        log_ratio = log_prob - batch["log_prob"]
        ratio = jnp.exp(log_ratio)
        adv = normalised_advantages(batch["advantage"], batch["value"], batch["target"])
        clipped = jnp.clip(ratio, 1.0 - hp["clip_range"], 1.0 + hp["clip_range"])
        policy_loss = -jnp.mean(jnp.minimum(ratio * adv, clipped * adv))
        v = value(params, batch["obs"])
        value_error = (v - batch["target"]) ** 2
        if static["clip_value_loss"]:
            v_clipped = batch["value"] + jnp.clip(v - batch["value"], -hp["clip_range"], hp["clip_range"])
            value_error = jnp.maximum(value_error, (v_clipped - batch["target"]) ** 2)
        value_loss = 0.5 * jnp.mean(value_error)
        entropy = jnp.mean(jax.vmap(policy.entropy, in_axes=(None, 0))(params["policy"], batch["obs"]))
        total = policy_loss + hp["value_coef"] * value_loss - hp["entropy_coef"] * entropy
        diagnostics = {
            "policy_loss": policy_loss,
            "value_loss": value_loss,
            "entropy": entropy,
            "approx_kl": jnp.mean(ratio - 1.0 - log_ratio),
            "clip_fraction": jnp.mean(jnp.abs(ratio - 1.0) > hp["clip_range"]),
        }
        return total, diagnostics

    def sgd_step(carry, batch):
        params, opt_state, hp = carry
        grads, diagnostics = jax.grad(loss_fn, has_aux=True)(params, batch, hp)
        updates, opt_state = _optimizer(hp).update(grads, opt_state, params)
        params = jax.tree.map(lambda p, u: p - hp["learning_rate"] * u, params, updates)
        diagnostics["grad_norm"] = optax.tree.norm(grads)
        return (params, opt_state, hp), diagnostics

    def iteration(state: PPOState, _):
        hp = state.hparams
        keys, explore_key = split_key(state.keys, "explore")
        keys, shuffle_key = split_key(keys, "explore")
        stats = state.obs_stats

        def act(obs, key):
            return policy.sample(state.params["policy"], normalize(stats, obs), key)

        envs, traj = rollout.collect(env, act, state.envs, explore_key, static["rollout_length"], episode_length)
        obs, next_obs = normalize(stats, traj.obs), normalize(stats, traj.next_obs)
        values, next_values = value(state.params, obs), value(state.params, next_obs)
        advantages, targets = gae(
            traj.reward, values, next_values, traj.termination, traj.truncation, hp["gamma"], hp["gae_lambda"]
        )
        flat = jax.tree.map(
            lambda x: x.reshape((batch_size,) + x.shape[2:]),
            {"obs": obs, "action": traj.action, "log_prob": traj.log_prob,
             "advantage": advantages, "target": targets, "value": values},
        )

        def epoch(carry, key):
            order = jax.random.permutation(key, batch_size)
            shuffled = jax.tree.map(lambda x: x[order].reshape((static["num_minibatches"], minibatch) + x.shape[1:]), flat)
            return jax.lax.scan(sgd_step, carry, shuffled)

        (params, opt_state, _), diagnostics = jax.lax.scan(
            epoch, (state.params, state.opt_state, hp), jax.random.split(shuffle_key, static["num_epochs"])
        )
        if static["normalize_observations"]:
            stats = stats.merge(traj.obs)
        diagnostics = jax.tree.map(jnp.mean, diagnostics)
        diagnostics["rewarded_fraction"] = jnp.mean(jnp.any(traj.reward > 0, axis=0))
        # With no reward in the batch the advantages are value errors, normalised to unit scale:
        # where states differ PPO still moves. The plateau diagnostics (train_then_evaluate) show it.
        diagnostics["no_reward_batch"] = jnp.all(traj.reward <= 0).astype(jnp.float32)
        diagnostics["update_norm"] = optax.tree.norm(jax.tree.map(jnp.subtract, params["policy"], state.params["policy"]))
        diagnostics["train_success"] = jnp.sum(traj.success) / jnp.maximum(
            jnp.sum(jnp.maximum(traj.termination, traj.truncation)), 1.0
        )
        new_state = state.replace(
            params=params, opt_state=opt_state, obs_stats=stats, envs=envs, keys=keys,
            env_steps=state.env_steps + batch_size,
        )
        return new_state, diagnostics

    def policy_params_of(state: PPOState):
        return {"policy": state.params["policy"], "obs_stats": state.obs_stats}

    def act(params, obs):
        return policy.mode(params["policy"], normalize(params["obs_stats"], obs))


    return Program(init_fn, iteration, policy_params_of, act)


# On a batch without reward the advantages are normalised value errors: PPO moves where states differ.
ALGORITHM = Algorithm(
    name="ppo", description=DESCRIPTION, params=PARAMS, steps_per_iteration=steps_per_iteration, build=build,
    batch_param="num_envs",
    plateau=Plateau("episodes", lambda static: static["num_envs"], lambda static, floats: False,
                    zero_law="normalised_advantages"),
    small=SMALL,
)
