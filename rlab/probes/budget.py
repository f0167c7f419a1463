"""At one env-step budget: when does a training batch first hit a hole, and which method succeeds?

Each seed of each algorithm trains with one iteration per evaluation, so the
per-iteration plateau flag (`plateau_fraction`: 1 when no episode of the
batch was rewarded) dates the first rewarded batch, and the final evaluation
says whether the method succeeded within the budget. All algorithms get the
same training env steps (`budget`), evaluated the same way.

Predictions, from each seed's initial policy (`rlab.probes.laws`): while no
batch has been rewarded, REINFORCE (no baseline or leave-one-out), OpenAI-ES
(average ranks, no weight decay) and ARS V1 do not move, so their batches are
independent and the first rewarded one arrives after a geometric number of
iterations: P(none in k iterations) = mean over seeds of m_s^k, with m_s the
seed's chance of an unrewarded batch. Random search on a deterministic task
(the bandit) has found a rewarded policy after S candidates with probability
1 - (1 - p)^S, p the chance that a policy drawn from the initialisation
distribution is rewarded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from envs.params import ParamError
from rlab import stats, trainers
from rlab.errors import UsageError
from rlab.probes import laws, zero_law
from rlab.run import lanes, xla
from rlab.trainers import rollout
from rlab.trainers.base import iterations_for_budget

# Policies drawn to estimate random search's p: its standard error must stay well inside a
# 1 - (1 - p)^S interval over hundreds of seeds, whose slope in p is about S / 2.
RANDOM_POLICY_DRAWS = 2**18
SUCCESS_SHARE = 0.5  # a seed succeeds when its final evaluation succeeds in at least this share of episodes


def make_budget_trainer(algo: str, env, hparams: dict, budget: int, eval_episodes: int):
    """The trainer, stepping one iteration per evaluation, and the number of iterations `budget` buys."""
    trainer = trainers.make(algo, env, **{**hparams, "iterations_per_eval": 1, "eval_episodes": eval_episodes})
    per_iteration, how = trainer.algorithm.steps_per_iteration(env, trainer.static)
    try:  # the trainers' own rule: a budget is spent exactly, never rounded
        return trainer, iterations_for_budget(algo, budget, per_iteration, how)
    except ParamError as err:
        raise UsageError(f"budget: {err}") from None


def measure(algo: str, env, hparams: dict, seeds, budget: int, eval_episodes: int = 16,
            mc_episodes: int = 4096) -> pd.DataFrame:
    """One row per seed: first rewarded iteration, final success, and the predictions.

    Columns: seed, iterations, steps_per_iteration, first_hit (iteration
    1..iterations of the first rewarded batch, 0 when none: censored),
    final_success (final evaluation success rate), success (>= SUCCESS_SHARE),
    p (the initial policy's per-episode hit probability), predicted_success
    (random search on a deterministic task, else NaN), and the first-hit law
    of the seed, NaN where there is none: miss_per_iteration (its chance of
    an unrewarded batch, when exact) or, from Monte Carlo, miss_count
    unrewarded draws out of miss_draws, a batch being miss_batch draws (an
    episode for REINFORCE, an antithetic pair for ES and ARS), so that
    P(no reward in k iterations) = C(miss_count, k miss_batch) / C(miss_draws, k miss_batch)
    without the bias of a power of an estimate.
    """
    trainer, iterations = make_budget_trainer(algo, env, hparams, budget, eval_episodes)
    seeds = np.asarray(list(seeds), np.int64)
    run = lanes.run_lanes(trainer, seeds, None, iterations, seeds.size)
    rewarded = run.metrics["plateau_fraction"] < 1  # [S, iterations]
    first_hit = np.where(rewarded.any(axis=1), rewarded.argmax(axis=1) + 1, 0)
    final = run.metrics["eval_success"][:, -1]
    law = _predict(trainer, seeds, iterations, mc_episodes)
    return pd.DataFrame({
        "seed": seeds, "iterations": iterations, "steps_per_iteration": trainer.env_steps_per_eval,
        "first_hit": first_hit, "final_success": final, "success": final >= SUCCESS_SHARE, **law,
    })


def _predict(trainer, seeds, iterations: int, mc_episodes: int) -> dict[str, np.ndarray]:
    plateau, static, env = trainer.algorithm.plateau, trainer.static, trainer.env
    size = len(seeds)
    nothing = np.full(size, np.nan)
    law = {"p": nothing, "predicted_success": nothing, "miss_per_iteration": nothing,
           "miss_count": nothing, "miss_draws": nothing, "miss_batch": nothing}
    batch = plateau.batch_size(static)
    if plateau.batch_of == "policy_draws":
        if laws.is_bandit(env):
            p = random_policy_hit_probability(trainer, RANDOM_POLICY_DRAWS)
            miss = laws.no_hit_per_iteration(plateau.batch_of, batch, p=p)
            law.update(p=np.full(size, p), miss_per_iteration=np.full(size, miss),
                       predicted_success=np.full(size, laws.random_search_success(p, batch * iterations)))
        return law
    stands_still = trainer.stands_still_on_a_plateau()
    initial = lanes.initial_policies(trainer, seeds)
    if plateau.batch_of == "episodes":
        p, misses = zero_law.hit_probabilities(trainer, initial, seeds, mc_episodes)
        law["p"] = p
        if stands_still and misses is None:
            law["miss_per_iteration"] = laws.no_hit_per_iteration(plateau.batch_of, batch, p=p)
        elif stands_still:
            law.update(miss_count=misses.astype(float), miss_draws=np.full(size, float(mc_episodes)),
                       miss_batch=np.full(size, float(batch)))
        return law
    if static.get("episodes_per_member", 1) != 1:
        return law
    n00, n11 = zero_law.pair_counts(trainer, initial, seeds, mc_episodes)
    law["p"] = 1.0 - (2 * n00 + (mc_episodes - n00 - n11)) / (2 * mc_episodes)
    if stands_still:
        law.update(miss_count=n00, miss_draws=np.full(size, float(mc_episodes)), miss_batch=np.full(size, float(batch)))
    return law


def random_policy_hit_probability(trainer, draws: int, seed: int = zero_law.PREDICTION_STREAM) -> float:
    """Monte Carlo chance that a policy drawn as random search draws it is rewarded in one episode.

    Uses the trainer's own first state for the draw (its `init` stream), so the
    policies are drawn from exactly the initialisation distribution random search samples.
    """
    env = trainer.env
    length = rollout.episode_length_of(env, trainer.static["episode_length"])
    keys = jax.random.split(jax.random.PRNGKey(seed), draws)
    hparams = trainer.hparams()

    def one(key):
        draw_key, episode_key = jax.random.split(key)
        theta = trainer.policy_params(trainer.init(draw_key, hparams))
        act = lambda obs, _: (trainer.act(theta, obs), 0.0)  # noqa: E731
        return rollout.run_episodes(env, act, episode_key, 1, length).rewarded[0]

    hits = xla.jit(lambda ks: jax.lax.map(one, ks, batch_size=1024))(keys)
    return float(jnp.mean(hits))


def survival_table(rows: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Measured P(no rewarded batch after k iterations) with Wilson intervals, beside the law, per k.

    Every seed runs the same number of iterations, so censoring happens only
    at the end and the empirical survival is a plain binomial proportion.
    """
    iterations = int(rows["iterations"].iloc[0])
    first = rows["first_hit"].to_numpy()
    not_yet = np.where(first == 0, iterations + 1, first)
    k = np.arange(0, iterations + 1)
    survived = (not_yet[None, :] > k[:, None]).sum(axis=1)
    intervals = [stats.success_rate(int(count), len(first), confidence) for count in survived]
    predicted = predicted_survival(rows, k)
    return pd.DataFrame({
        "iteration": k, "env_steps": k * int(rows["steps_per_iteration"].iloc[0]),
        "survival": survived / len(first), "low": [float(i.low) for i in intervals], "high": [float(i.high) for i in intervals], "predicted": predicted,
    })


def predicted_survival(rows: pd.DataFrame, iterations: np.ndarray) -> np.ndarray:
    """P(no rewarded batch in the first k iterations), mean over the rows' seeds: `[len(iterations)]` (NaN: no law)."""
    k = np.asarray(iterations)
    exact = rows["miss_per_iteration"].to_numpy()
    if np.isfinite(exact).all():
        return laws.survival(exact, k)
    if "miss_count" not in rows or not np.isfinite(rows["miss_count"].to_numpy()).all():
        return np.full(k.size, np.nan)
    count, draws, batch = (rows[c].to_numpy() for c in ("miss_count", "miss_draws", "miss_batch"))
    result = np.full(k.size, np.nan)
    for i, steps in enumerate(k):
        need = steps * batch  # draws one seed's k batches take
        if np.all(need <= draws):
            result[i] = np.mean([zero_law.unbiased_power(c, int(d), int(n)) for c, d, n in zip(count, draws, need)])
    return result
