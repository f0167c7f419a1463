"""How often an algorithm's first update is exactly zero, measured against its law.

The measurement runs the real trainer for one iteration per seed (the lane
runner, `iterations_per_eval = 1`) and reads whether the policy moved
(`update_norm == 0`). The prediction comes from each seed's *initial* policy,
independently of that run: its hit probability p in closed form (a Gaussian
policy on `cheese_bandit`) or from fresh Monte Carlo episodes, turned into the
law of the algorithm's estimator (`rlab.probes.laws`). Powers of Monte Carlo
probabilities use the unbiased U-statistic C(k, n) / C(R, n), so a few
thousand episodes predict (1 - p)^N without Jensen bias.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from rlab import stats, trainers
from rlab.run import lanes
from rlab.run import xla
from rlab.errors import UsageError
from rlab.probes import laws
from rlab.trainers import networks, rollout

# Keys of the prediction's own episodes: a stream no trainer uses.
PREDICTION_STREAM = 0x5EED


def unbiased_power(count, total: int, n: int) -> np.ndarray:
    """Unbiased estimate of q^n from `count` successes in `total` Bernoulli(q) draws: C(count, n) / C(total, n)."""
    count = np.asarray(count, np.float64)
    if n > total:
        raise ValueError(f"n = {n} exceeds the {total} draws; draw more episodes for the prediction")
    with np.errstate(divide="ignore", invalid="ignore"):
        log = (special.gammaln(count + 1) - special.gammaln(count - n + 1)
               - special.gammaln(total + 1) + special.gammaln(total - n + 1))
    return np.where(count >= n, np.exp(log), 0.0)


def make_probe_trainer(algo: str, env, hparams: dict):
    """The trainer whose first iteration is measured: one iteration per step, one evaluation episode."""
    with_law = [name for name, a in trainers.registered().items() if a.plateau.zero_law is not None]
    if algo not in with_law:
        raise UsageError(f"zero-update law for algo = {algo!r}: allowed: {', '.join(with_law)}")
    if getattr(env, "reward", "sparse") != "sparse":
        raise UsageError("the zero-update laws hold for sparse rewards in {0, 1}; set reward = 'sparse'")
    return trainers.make(algo, env, **{**hparams, "iterations_per_eval": 1, "eval_episodes": 1})


def measure(algo: str, env, hparams: dict, seeds, mc_episodes: int = 2048,
            lane_values: dict | None = None) -> dict[str, np.ndarray]:
    """First-update zero flags and their predicted probabilities, per seed.

    Args:
      hparams: the algorithm's hyperparameters (batch size included).
      lane_values: float hyperparameters given per seed (name -> `[S]`), so
        one compiled program measures a whole range of, say, `init_std`
        and with it of p.

    Returns:
      zero `[S]` bool (the policy did not move), no_reward `[S]` bool (the
      batch had no rewarded episode), predicted `[S]` float64 P(zero) of
      that seed's initial policy, p `[S]` its per-episode hit probability
      (NaN where the law needs pair probabilities instead).
    """
    trainer = make_probe_trainer(algo, env, hparams)
    seeds = np.asarray(list(seeds), np.int64)
    initial = lanes.initial_policies(trainer, seeds, lane_values)
    run = lanes.run_lanes(trainer, seeds, lane_values, 1, seeds.size)
    predicted, p = predict(trainer, initial, seeds, mc_episodes)
    return {
        "zero": run.metrics["update_norm"][:, 0] == 0,
        "no_reward": run.metrics["plateau_fraction"][:, 0] == 1,
        "predicted": predicted,
        "p": p,
    }


def predict(trainer, initial, seeds, mc_episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(P(first update is zero) `[S]`, p `[S]`) from the seeds' initial policies.

    PPO has a law only on a task with one constant observation and one step
    (the bandit): the value is then one number, so the normalised advantages
    are the rewards minus their batch mean, zero when all M = num_envs *
    rollout_length episodes agree: (1 - p)^M + p^M. Elsewhere its advantages
    vary with the state and no law is claimed (NaN).
    """
    law, static = trainer.algorithm.plateau.zero_law, trainer.static
    batch = trainer.batch_size
    nothing = np.full(len(seeds), np.nan)
    if law == "normalised_advantages":
        p, _ = hit_probabilities(trainer, initial, seeds, mc_episodes)
        if not laws.is_bandit(trainer.env):
            return nothing, p
        return laws.reinforce_zero(p, batch * static["rollout_length"], "batch_mean"), p
    if law == "score_function":
        p, misses = hit_probabilities(trainer, initial, seeds, mc_episodes)
        if static["baseline"] == "learned" or misses is None:
            return laws.reinforce_zero(p, batch, static["baseline"]), p
        law = unbiased_power(misses, mc_episodes, batch)
        if static["baseline"] != "none":
            law = law + unbiased_power(mc_episodes - misses, mc_episodes, batch)
        return law, p
    if static["episodes_per_member"] != 1:
        raise UsageError(f"{trainer.algo}: the zero-direction law is derived for episodes_per_member = 1")
    n00, n11 = pair_counts(trainer, initial, seeds, mc_episodes)
    member_p = 1.0 - (2 * n00 + (mc_episodes - n00 - n11)) / (2 * mc_episodes)
    if law == "centred_ranks":
        if static["tie_break"] == "order":
            return np.zeros(len(seeds)), member_p
        half = batch // 2
        # Every pair ties (laws.es_zero): an unbiased estimate of (P00 + P11)^half from the tied pairs.
        return unbiased_power(n00 + n11, mc_episodes, half), member_p
    return laws.ars_zero(n00 / mc_episodes, n11 / mc_episodes, batch, static["top_directions"]), member_p


def _log_std_leaf(params):
    """The `log_std` array of a Gaussian policy's parameters, wherever it sits in the pytree (None if absent)."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        if any(getattr(entry, "key", None) == "log_std" for entry in path):
            return leaf
    return None


def hit_probabilities(trainer, initial, seeds, mc_episodes: int):
    """Each seed's initial stochastic policy's p `[S]`, and its Monte Carlo miss counts (None when exact).

    Exact on the bandit for a Gaussian policy with one std for every
    dimension (mean from `trainer.act`, std from the `log_std` parameters);
    otherwise, for REINFORCE, from `mc_episodes` fresh episodes per seed of
    the policy it samples from.
    """
    env = trainer.env
    log_std = _log_std_leaf(initial)
    if laws.is_bandit(env) and log_std is not None and log_std.ndim == 2:
        obs = jnp.ones((env.observation_size,), jnp.float32)
        mean = np.asarray(jax.vmap(lambda params: trainer.act(params, obs))(initial), np.float64)
        std = np.exp(np.asarray(log_std, np.float64))
        if np.all(np.ptp(std, axis=1) <= 1e-6 * std.max(axis=1)):
            return np.array([env.hit_probability(m, s[0]) for m, s in zip(mean, std)]), None
    if trainer.algorithm.plateau.zero_law != "score_function":
        # Only a score-function learner acts with the sampled policy rebuilt below.
        return np.full(len(seeds), np.nan), None
    policy = networks.policy_for(env, trainer.static["width"], trainer.static["depth"], trainer.static["std"])
    length = rollout.episode_length_of(env, trainer.static["episode_length"])

    def one_seed(params, key):
        act = lambda obs, k: policy.sample(params, obs, k)  # noqa: E731
        return rollout.run_episodes(env, act, key, mc_episodes, length).rewarded

    rewarded = np.asarray(xla.jit(jax.vmap(one_seed))(initial, _prediction_keys(seeds)))
    misses = mc_episodes - rewarded.sum(axis=1)
    return 1.0 - misses / mc_episodes, misses


def pair_counts(trainer, initial, seeds, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo of antithetic pairs around each seed's initial theta: (#neither rewarded, #both) `[S]`.

    A pair theta +- noise_std * eps shares its episode's start state, as in the trainers.
    """
    env, sigma = trainer.env, float(trainer.defaults["noise_std"])
    length = rollout.episode_length_of(env, trainer.static["episode_length"])

    def with_theta(params, theta):
        return {**params, "theta": theta} if isinstance(params, dict) else theta

    def theta_of(params):
        return params["theta"] if isinstance(params, dict) else params

    def one_seed(params, key):
        noise_key, episode_key = jax.random.split(key)
        eps = jax.random.normal(noise_key, (pairs, theta_of(params).shape[0]))

        def pair(e, k):
            def member(sign):
                member_params = with_theta(params, theta_of(params) + sign * sigma * e)
                act = lambda obs, _: (trainer.act(member_params, obs), 0.0)  # noqa: E731
                return rollout.run_episodes(env, act, k, 1, length).rewarded[0]

            return member(1.0), member(-1.0)

        plus, minus = jax.vmap(pair)(eps, jax.random.split(episode_key, pairs))
        return jnp.sum((plus == 0) & (minus == 0)), jnp.sum((plus > 0) & (minus > 0))

    # One seed at a time: pairs x parameters per seed is already large.
    n00, n11 = xla.jit(lambda xs: jax.lax.map(lambda x: one_seed(*x), xs))((initial, _prediction_keys(seeds)))
    return np.asarray(n00, np.float64), np.asarray(n11, np.float64)


def _prediction_keys(seeds) -> jax.Array:
    return jax.vmap(lambda k: jax.random.fold_in(k, PREDICTION_STREAM))(lanes.seed_keys(seeds))


def summarise(flags: dict[str, np.ndarray], confidence: float = 0.99) -> dict[str, float]:
    """Measured zero fraction with its Wilson interval, beside the predicted mean over seeds."""
    zero = flags["zero"]
    interval = stats.success_rate(int(zero.sum()), zero.size, confidence)
    return {
        "seeds": zero.size, "zero_fraction": float(zero.mean()),
        "zero_low": float(interval.low), "zero_high": float(interval.high),
        "predicted": float(np.mean(flags["predicted"])), "p": float(np.nanmean(flags["p"])) if np.isfinite(flags["p"]).any() else np.nan,
        "no_reward_fraction": float(flags["no_reward"].mean()),
    }
