"""Policy and value networks shared by every trainer, so results compare across algorithms.

A policy maps an observation `[obs_size]` to an action distribution:

* continuous envs (`env.num_actions is None`): a diagonal Gaussian whose mean
  is an MLP output `[action_size]` and whose log std is either one learned
  vector (`std="state_independent"`) or a second MLP output head
  (`std="state_dependent"`). Samples are not squashed: the environment clips
  what it must, and log-probabilities stay exact;
* discrete envs: a categorical distribution over `num_actions` logits.

`depth=0` gives a linear policy (ARS's choice). Parameters are plain pytrees.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

_LOG_2PI = math.log(2 * math.pi)


class MLP(nn.Module):
    """`depth` tanh layers of `width` units, then a linear layer of `out_size`."""

    width: int
    depth: int
    out_size: int

    @nn.compact
    def __call__(self, x):
        for _ in range(self.depth):
            x = jnp.tanh(nn.Dense(self.width)(x))
        return nn.Dense(self.out_size, name="output")(x)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A policy network family for one environment's observation and action spaces."""

    obs_size: int
    action_size: int
    num_actions: int | None
    width: int = 64
    depth: int = 2
    std: str = "state_independent"

    @property
    def discrete(self) -> bool:
        return self.num_actions is not None

    def _network(self) -> MLP:
        if self.discrete:
            out = self.num_actions
        else:
            out = self.action_size * (2 if self.std == "state_dependent" else 1)
        return MLP(self.width, self.depth, out)

    def init(self, key: jax.Array, output_scale: jax.Array, init_std: jax.Array) -> dict:
        """Fresh parameters; the output layer's weights are scaled by `output_scale`."""
        params = self._network().init(key, jnp.zeros((self.obs_size,)))["params"]
        params["output"]["kernel"] = params["output"]["kernel"] * output_scale
        if not self.discrete and self.std == "state_independent":
            params["log_std"] = jnp.full((self.action_size,), jnp.log(init_std), jnp.float32)
        elif not self.discrete:
            bias = params["output"]["bias"]
            params["output"]["bias"] = bias.at[self.action_size :].set(jnp.log(init_std))
        return params

    def _head(self, params: dict, obs: jax.Array) -> jax.Array:
        net_params = {k: v for k, v in params.items() if k != "log_std"}
        return self._network().apply({"params": net_params}, obs)

    def distribution(self, params: dict, obs: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        """(mean `[..., A]`, log_std `[..., A]`) for continuous, (logits `[..., N]`, None) for discrete."""
        out = self._head(params, obs)
        if self.discrete:
            return out, None
        if self.std == "state_dependent":
            mean, log_std = jnp.split(out, 2, axis=-1)
            return mean, jnp.clip(log_std, -10.0, 2.0)
        return out, jnp.broadcast_to(params["log_std"], out.shape)

    def sample(self, params: dict, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(action, log_prob) for one observation `[obs_size]` (vmap for batches)."""
        head, log_std = self.distribution(params, obs)
        if self.discrete:
            action = jax.random.categorical(key, head)
        else:
            action = head + jnp.exp(log_std) * jax.random.normal(key, head.shape)
        return action, self._log_prob(head, log_std, action)

    def log_prob(self, params: dict, obs: jax.Array, action: jax.Array) -> jax.Array:
        head, log_std = self.distribution(params, obs)
        return self._log_prob(head, log_std, action)

    def _log_prob(self, head, log_std, action):
        if self.discrete:
            log_p = jax.nn.log_softmax(head)
            return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), axis=-1)[..., 0]
        z = (action - head) * jnp.exp(-log_std)
        return jnp.sum(-0.5 * z**2 - log_std - 0.5 * _LOG_2PI, axis=-1)

    def entropy(self, params: dict, obs: jax.Array) -> jax.Array:
        head, log_std = self.distribution(params, obs)
        if self.discrete:
            log_p = jax.nn.log_softmax(head)
            return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)
        return jnp.sum(log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)

    def mode(self, params: dict, obs: jax.Array) -> jax.Array:
        """The deterministic action: the Gaussian mean, or the most likely discrete action.

        Needs only the network's weights (no `log_std`), so search methods that
        perturb the weights alone can call it.
        """
        out = self._head(params, obs)
        if self.discrete:
            return jnp.argmax(out, axis=-1)
        return out[..., : self.action_size]


def value_network(width: int, depth: int) -> MLP:
    """A state-value network `[obs_size] -> [1]`."""
    return MLP(width, depth, 1)


def policy_for(env, width: int, depth: int, std: str = "state_independent") -> Policy:
    """The policy family matching `env`'s observation and action spaces."""
    return Policy(
        obs_size=env.observation_size,
        action_size=env.action_size,
        num_actions=getattr(env, "num_actions", None),
        width=width,
        depth=depth,
        std=std,
    )
