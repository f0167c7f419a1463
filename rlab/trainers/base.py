"""What every trainer is: a pure program for ONE seed, plus its declared hyperparameters.

An algorithm is one record (`Algorithm`): its hyperparameters, the env
steps one iteration costs, which hyperparameter is its batch, how it
behaves on a plateau, and `build`, which makes the pure pieces of one seed's
program (`Program`: init, one training iteration, the policy's parameters
and its deterministic action). `rlab.trainers.make` composes those pieces
with the shared train-then-evaluate loop (`train_then_evaluate`) into a
`Trainer`:

    trainer = rlab.trainers.make("ppo", env, learning_rate=1e-3)
    state = trainer.init(key)                 # jittable, vmappable over keys
    state, metrics = trainer.step(state)      # one evaluation interval: train, then evaluate
    params = trainer.policy_params(state)     # the policy as a pytree (what a store saves)
    action = trainer.act(params, obs)         # the deterministic action evaluation runs

Hyperparameters come in two kinds, by their declared type:

* float hyperparameters (learning rate, entropy coefficient, clip range, noise
  std, step size...) are pytree leaves carried in `state.hparams`, so one
  compiled program trains a whole grid of values: `jax.vmap(trainer.init)(keys,
  {"learning_rate": lrs})`;
* everything else (numbers of envs, rollout length, population size, network
  width, option strings) is static: it fixes shapes or code paths.

A trainer never vmaps over seeds, never touches devices, files or progress
bars: that is the runner's job.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from envs.params import Param, ParamError
from rlab.seeds import as_streams
from rlab.trainers import rollout

# Metrics every trainer reports, per evaluation (besides its own diagnostics).
# plateau_fraction: share of the interval's updates made from a batch in which no
# episode earned a positive reward; plateau_update_norm: the mean norm of the
# policy-parameter change over those updates (0 when there were none).
COMMON_METRICS = (
    "eval_return", "eval_success", "env_steps", "rewarded_fraction", "train_success",
    "plateau_fraction", "plateau_update_norm",
)

COMMON_PARAMS = (
    Param("width", int, 64, "hidden units per layer", low=1, high=65_536),
    Param("depth", int, 2, "hidden layers (0: a linear policy)", low=0, high=64),
    Param("episode_length", int, 0, "steps before truncation; 0: the env's own horizon", low=0),
    Param("eval_episodes", int, 32, "deterministic evaluation episodes per step", low=1),
    Param("iterations_per_eval", int, 10, "training iterations in one step", low=1),
    Param(
        "env_steps_per_eval", int, 0,
        "training env steps in one step (the budget; sets iterations_per_eval); 0: iterations_per_eval decides",
        low=0,
    ),
)


@dataclasses.dataclass(frozen=True)
class Program:
    """The pure pieces of one seed's training that an algorithm's `build` makes.

    Attributes:
      init: `(streams, float hyperparameters) -> state`; the state has `keys`
        (the named streams), `hparams` and `env_steps` fields.
      iteration: `(state, None) -> (state, diagnostics)`, one training
        iteration (a `lax.scan` body); see `train_then_evaluate` for the
        diagnostics it must report.
      policy_params: `state -> policy parameters` (a pytree).
      act: `(policy parameters, obs [obs_size]) -> deterministic action`.
    """

    init: Callable
    iteration: Callable
    policy_params: Callable
    act: Callable


# What one iteration's batch is made of, for the laws of a plateau (`Plateau.batch_of`).
BATCH_KINDS = ("episodes", "antithetic_pairs", "policy_draws")
# Why a first update can be exactly zero on sparse {0, 1} rewards (`Plateau.zero_law`; the laws are in
# `rlab.probes.laws`): score-function weights that all vanish, normalised advantages of a one-step
# one-observation task that all agree, all-equal centred ranks, top directions without a difference.
ZERO_LAWS = ("score_function", "normalised_advantages", "centred_ranks", "top_directions")


@dataclasses.dataclass(frozen=True)
class Plateau:
    """How an algorithm behaves on a plateau, where no episode of a batch is rewarded.

    Attributes:
      batch_of: what one iteration's batch is made of (BATCH_KINDS): independent
        "episodes" of one stochastic policy (a miss has chance 1 - p each),
        "antithetic_pairs" theta +- sigma eps sharing a start state (a miss:
        neither member rewarded, P00), or fresh "policy_draws" from the
        initialisation distribution.
      batch_size: `static -> how many of them one iteration has`.
      stands_still: `(static, float defaults) -> whether an update from a
        batch without reward is exactly zero` (then the policy, and the chance
        of a miss, are unchanged until the first rewarded batch).
      zero_law: which law of ZERO_LAWS gives the chance that its first update
        is exactly zero, or None when none is derived.
    """

    batch_of: str
    batch_size: Callable[[Mapping[str, Any]], int]
    stands_still: Callable[[Mapping[str, Any], Mapping[str, float]], bool]
    zero_law: str | None = None

    def __post_init__(self):
        if self.batch_of not in BATCH_KINDS:
            raise ValueError(f"batch_of = {self.batch_of!r}; allowed: {', '.join(BATCH_KINDS)}")
        if self.zero_law is not None and self.zero_law not in ZERO_LAWS:
            raise ValueError(f"zero_law = {self.zero_law!r}; allowed: {', '.join(ZERO_LAWS)} or None")


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """A registered algorithm: everything the lab asks of it, by name.

    Attributes:
      name: the registered id (specs, `rlab algos`, `rlab.trainers.make`).
      description: one line.
      params: its own hyperparameters (`rlab.trainers.register` puts the
        common ones, `COMMON_PARAMS`, before them).
      steps_per_iteration: `(env, static) -> (env steps, "how they arise")`,
        what one training iteration costs: the budget's unit.
      build: `(env, static) -> Program`.
      batch_param: the hyperparameter that sets how many episodes (or
        policies) one update sees: what a probe varies as "the batch size N".
      plateau: how it behaves where no episode is rewarded (`Plateau`).
      small: a cheap setting of its shape hyperparameters (seconds to
        compile and run: smoke tests, contract tests, examples).
    """

    name: str
    description: str
    params: tuple[Param, ...]
    steps_per_iteration: Callable
    build: Callable
    batch_param: str
    plateau: Plateau
    small: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


@dataclasses.dataclass(frozen=True, eq=False)
class Trainer:
    """A built trainer for one environment and one set of static hyperparameters.

    Attributes:
      algo: the algorithm's registered name.
      algorithm: its record (batch hyperparameter, plateau behaviour, ...).
      env: the environment it trains on.
      static: shape-fixing hyperparameters (ints, strings, bools).
      defaults: float hyperparameters used when `init` is given no override.
      float_params: their declarations (for range checks of overrides).
      env_steps_per_eval: the budget: training env steps one `step` (one evaluation interval) consumes.
      policy_params_fn: `state -> policy parameters` (a pytree), see `policy_params`.
      act_fn: `(policy parameters, obs) -> deterministic action`, see `act`.
    """

    algo: str
    algorithm: Algorithm
    env: Any
    static: Mapping[str, Any]
    defaults: Mapping[str, float]
    float_params: tuple[Param, ...]
    env_steps_per_eval: int
    init_fn: Callable
    step_fn: Callable
    policy_params_fn: Callable
    act_fn: Callable

    def init(self, key, hparams: Mapping[str, Any] | None = None):
        """Initial training state of one seed.

        Args:
          key: the seed's root PRNG key, or a dict of stream keys (see `rlab.seeds`).
          hparams: overrides of float hyperparameters (scalars, or traced values
            under vmap); the rest take `defaults`.
        """
        return self.init_fn(as_streams(key), self.hparams(hparams))

    def step(self, state):
        """(state after one evaluation interval, metrics dict of scalars)."""
        return self.step_fn(state)

    def policy_params(self, state):
        """Everything one seed's policy acts with (weights, observation statistics), as a pytree.

        This, not the trainer state's field names, is what a store saves and
        what `act` takes back.
        """
        return self.policy_params_fn(state)

    def act(self, params, obs: jax.Array) -> jax.Array:
        """The deterministic action of policy `params` at `obs [obs_size]`: pure, jittable.

        The action is float32 `[action_size]`, or an int32 scalar for a
        discrete-action environment; it is the one evaluation runs.
        """
        return self.act_fn(params, obs)

    def policy(self, state) -> Callable[[jax.Array], jax.Array]:
        """The deterministic policy of one seed's state: `obs [obs_size] -> action`."""
        params = self.policy_params(state)
        return lambda obs: self.act(params, obs)

    @property
    def batch_size(self) -> int:
        """The value of the algorithm's batch hyperparameter (`Algorithm.batch_param`)."""
        return self.static[self.algorithm.batch_param]

    def stands_still_on_a_plateau(self) -> bool:
        """Whether an update from a batch without reward is exactly zero (`Plateau.stands_still`)."""
        return bool(self.algorithm.plateau.stands_still(self.static, self.defaults))

    def hparams(self, overrides: Mapping[str, Any] | None = None) -> dict[str, jax.Array]:
        """The float-hyperparameter pytree: defaults updated by `overrides`, as float32."""
        overrides = dict(overrides or {})
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise ParamError(
                f"{self.algo}: {', '.join(sorted(map(repr, unknown)))} not float hyperparameters; "
                f"float hyperparameters: {', '.join(self.defaults)}"
            )
        for param in self.float_params:
            if param.name in overrides:
                _check_concrete(param, overrides[param.name], self.algo)
        merged = {**self.defaults, **overrides}
        return {name: jnp.asarray(value, jnp.float32) for name, value in merged.items()}


def _check_concrete(param: Param, value: Any, owner: str) -> None:
    """Range-checks an override when its value is known (not inside a trace)."""
    if isinstance(value, jax.core.Tracer):
        return
    for item in np.ravel(np.asarray(value, dtype=np.float64)):
        try:
            param.check(float(item))
        except ParamError as err:
            raise ParamError(f"{owner}: {err}") from None


def iterations_for_budget(algo: str, budget: int, per_iteration: int, how: str) -> int:
    """Training iterations that spend exactly `budget` env steps per evaluation.

    Args:
      per_iteration: env steps one iteration of `algo` takes; `how`: the
        hyperparameters that make it, for the error message.

    Raises:
      ParamError: when `budget` is not a positive multiple of `per_iteration`,
        naming the nearest budgets this configuration can reach.
    """
    if budget % per_iteration == 0:
        return budget // per_iteration
    below = (budget // per_iteration) * per_iteration
    reachable = [v for v in (below, below + per_iteration) if v > 0]
    raise ParamError(
        f"{algo}: env_steps_per_eval = {budget} is not a multiple of the {per_iteration} env steps one "
        f"iteration takes ({how}); allowed: a multiple such as {' or '.join(map(str, reachable))}, "
        f"or hyperparameters whose product divides {budget}"
    )


def split_key(keys: Mapping[str, jax.Array], stream: str) -> tuple[dict, jax.Array]:
    """Advances one stream: (keys with that stream replaced, a fresh subkey)."""
    next_key, sub = jax.random.split(keys[stream])
    return {**keys, stream: next_key}, sub


def train_then_evaluate(
    env, iteration: Callable, state, static: Mapping[str, Any], policy_params_of: Callable, act: Callable,
    episode_length: int,
):
    """One trainer step: `iterations_per_eval` scanned iterations, then an evaluation.

    Args:
      iteration: `(state, None) -> (state, diagnostics dict)`; the diagnostics
        must hold `no_reward_batch` (1.0 when no episode of the iteration's
        batch earned a positive reward) and `update_norm` (norm of the
        policy-parameter change the iteration made).
      state: a trainer state with `keys` and `env_steps` fields.
      policy_params_of, act: the trainer's policy (see `Trainer.policy_params`, `Trainer.act`).

    Returns:
      (state, metrics): diagnostics averaged over the iterations, the plateau
      diagnostics (see COMMON_METRICS), eval_return, eval_success and env_steps.
    """
    state, diagnostics = jax.lax.scan(iteration, state, None, length=static["iterations_per_eval"])
    keys, eval_key = split_key(state.keys, "eval")
    state = state.replace(keys=keys)
    params = policy_params_of(state)
    metrics = rollout.evaluate(env, lambda obs: act(params, obs), eval_key, static["eval_episodes"], episode_length)
    plateau = diagnostics.pop("no_reward_batch")
    metrics.update(jax.tree.map(jnp.mean, diagnostics))
    metrics["plateau_fraction"] = jnp.mean(plateau)
    metrics["plateau_update_norm"] = jnp.sum(plateau * diagnostics["update_norm"]) / jnp.maximum(jnp.sum(plateau), 1.0)
    metrics["env_steps"] = state.env_steps
    return state, metrics
