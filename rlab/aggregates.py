"""Aggregate performance over runs x tasks with stratified bootstrap intervals: rliable's estimators, kept alive.

rliable (Agarwal et al., NeurIPS 2021) is the reference implementation of
IQM with stratified bootstrap confidence intervals; it was archived in 2025,
and its pinned `arch < 8` no longer imports beside pandas 3. This module
computes the same estimators on the same data shapes, with an explicit
`numpy.random.Generator`:

    scores: {algorithm: array [runs, tasks]}            final scores
            {algorithm: array [runs, tasks, evals]}     curves (statistics per evaluation)

    from rlab import aggregates
    rng = np.random.default_rng(0)
    points, intervals = aggregates.interval_estimates(scores, aggregates.iqm, rng)
    profiles, bands = aggregates.performance_profiles(scores, taus, rng)
    poi = aggregates.probability_of_improvement_interval(scores["A"], scores["B"], rng)

Point estimates equal rliable's to rounding (tested to 1e-12 on three score
sets, `tests/rlab/test_aggregates.py`); interval endpoints agree within
bootstrap error. The bootstrap is rliable's: each (task[, evaluation]) cell
resamples its runs independently ("stratified" by task), percentile
intervals (NumPy's linear interpolation, as arch uses).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import scipy.stats

# Bootstrap replications: rliable's defaults for interval estimates and for performance profiles.
REPS, PROFILE_REPS = 50_000, 2_000
# Replications evaluated at once: bounds the memory of the resampled arrays.
_BATCH = 1_000


def mean(scores: np.ndarray) -> float:
    """Mean over tasks of each task's mean score over runs. `scores`: [runs, tasks]."""
    return float(np.mean(np.mean(scores, axis=0), axis=0))


def median(scores: np.ndarray) -> float:
    """Median over tasks of each task's mean score over runs. `scores`: [runs, tasks]."""
    return float(np.median(np.mean(scores, axis=0), axis=0))


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of every run's score on every task pooled (25% trimmed at each end)."""
    return float(scipy.stats.trim_mean(scores, proportiontocut=0.25, axis=None))


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> float:
    """How far scores fall short of `gamma`, on average over runs and tasks (scores above it count as gamma)."""
    return float(gamma - np.mean(np.minimum(scores, gamma)))


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """P(X > Y) per task (ties count half: the Mann-Whitney U over its maximum), averaged over tasks.

    `scores_x` [runs_x, tasks], `scores_y` [runs_y, tasks]; a task where both
    hold the same runs counts 0.5, as rliable does.
    """
    probabilities = []
    for task in range(scores_x.shape[1]):
        x, y = scores_x[:, task], scores_y[:, task]
        if np.array_equal(x, y):
            probabilities.append(0.5)
        else:
            greater = (x[:, None] > y[None, :]).sum() + 0.5 * (x[:, None] == y[None, :]).sum()
            probabilities.append(greater / (x.size * y.size))
    return float(np.mean(probabilities))


def score_distribution(scores: np.ndarray, taus) -> np.ndarray:
    """Performance profile: the fraction of all runs x tasks scoring above each tau. Returns [len(taus)]."""
    taus = np.asarray(taus, dtype=float)
    return np.mean(scores.reshape(-1)[None, :] > taus[:, None], axis=1)


def _batched(statistic: Callable, resampled: np.ndarray) -> np.ndarray:
    """`statistic` of each replication of `resampled` [B, runs, tasks, ...] -> [B, k]."""
    if statistic is iqm:  # the hot case, vectorised: sort each replication, keep its middle half
        flat = np.sort(resampled.reshape(resampled.shape[0], -1), axis=1)
        cut = int(0.25 * flat.shape[1])
        return flat[:, cut:flat.shape[1] - cut].mean(axis=1, keepdims=True)
    return np.stack([np.atleast_1d(np.asarray(statistic(r), dtype=float)) for r in resampled])


def _resample(scores: np.ndarray, rng: np.random.Generator, count: int, task_bootstrap: bool) -> np.ndarray:
    """`count` stratified resamples of `scores` [runs, tasks, ...]: [count, runs, tasks, ...].

    Every (run slot, task, further index) draws its run independently, as
    rliable's StratifiedBootstrap does; with `task_bootstrap` tasks are drawn too.
    """
    runs = scores.shape[0]
    indices = rng.integers(0, runs, size=(count, *scores.shape))
    grid = list(np.ogrid[tuple(slice(n) for n in scores.shape[1:])])
    if task_bootstrap:
        grid[0] = rng.integers(0, scores.shape[1], size=(count, *grid[0].shape))
    return scores[(indices, *grid)]


def bootstrap_interval(
    scores: np.ndarray, statistic: Callable, rng: np.random.Generator, reps: int = REPS,
    confidence: float = 0.95, task_bootstrap: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point [k], low [k], high [k]) of `statistic` on `scores` [runs, tasks, ...], stratified percentile bootstrap.

    `statistic(scores) -> float or [k]` (e.g. `iqm`, or a function giving
    one value per evaluation of a curve array).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim < 2 or min(scores.shape) < 1:
        raise ValueError(f"scores of shape {scores.shape}; allowed: [runs, tasks] or [runs, tasks, ...], non-empty")
    point = np.atleast_1d(np.asarray(statistic(scores), dtype=float))
    results = []
    for start in range(0, reps, _BATCH):
        count = min(_BATCH, reps - start)
        results.append(_batched(statistic, _resample(scores, rng, count, task_bootstrap)))
    return point, *_percentiles(np.concatenate(results), confidence)


def _percentiles(results: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = 100 * (1.0 - confidence) / 2
    return np.percentile(results, alpha, axis=0), np.percentile(results, 100 - alpha, axis=0)


def interval_estimates(
    score_dict: Mapping[str, np.ndarray], statistic: Callable, rng: np.random.Generator, reps: int = REPS,
    confidence: float = 0.95, task_bootstrap: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """rliable's `get_interval_estimates`: per algorithm, the point estimate [k] and the interval [2, k] (low; high)."""
    points, intervals = {}, {}
    for name, scores in score_dict.items():
        point, low, high = bootstrap_interval(scores, statistic, rng, reps, confidence, task_bootstrap)
        points[name], intervals[name] = point, np.stack([low, high])
    return points, intervals


def performance_profiles(
    score_dict: Mapping[str, np.ndarray], taus, rng: np.random.Generator, reps: int = PROFILE_REPS,
    confidence: float = 0.95,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (fraction of runs x tasks above each tau) with stratified bootstrap bands [2, len(taus)]."""
    taus = np.asarray(taus, dtype=float)
    return interval_estimates(score_dict, lambda s: score_distribution(s, taus), rng, reps, confidence)


def probability_of_improvement_interval(
    scores_x: np.ndarray, scores_y: np.ndarray, rng: np.random.Generator, reps: int = REPS, confidence: float = 0.95,
) -> tuple[float, float, float]:
    """(point, low, high) of the average probability of improvement of X over Y.

    X's and Y's runs are resampled independently, each stratified by task
    (rliable's StratifiedIndependentBootstrap).
    """
    scores_x, scores_y = np.asarray(scores_x, dtype=float), np.asarray(scores_y, dtype=float)
    if scores_x.ndim != 2 or scores_y.ndim != 2 or scores_x.shape[1] != scores_y.shape[1]:
        raise ValueError(f"scores of shapes {scores_x.shape} and {scores_y.shape}; allowed: [runs, tasks] each, "
                         "the same tasks")
    results = np.empty(reps)
    for start in range(0, reps, _BATCH):
        count = min(_BATCH, reps - start)
        xs, ys = _resample(scores_x, rng, count, False), _resample(scores_y, rng, count, False)
        results[start:start + count] = _poi_batch(xs, ys)
    low, high = _percentiles(results[:, None], confidence)
    return probability_of_improvement(scores_x, scores_y), float(low[0]), float(high[0])


def _poi_batch(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """`probability_of_improvement` of each replication: xs [B, n, tasks], ys [B, m, tasks] -> [B]."""
    greater = (xs[:, :, None, :] > ys[:, None, :, :]).sum(axis=(1, 2))
    ties = (xs[:, :, None, :] == ys[:, None, :, :]).sum(axis=(1, 2))
    per_task = (greater + 0.5 * ties) / (xs.shape[1] * ys.shape[1])
    if xs.shape[1] == ys.shape[1]:  # rliable's rule: a task where both resamples are equal counts 0.5
        per_task = np.where(np.all(xs == ys, axis=1), 0.5, per_task)
    return per_task.mean(axis=1)
