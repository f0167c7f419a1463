"""Statistics of reward distributions across seeds (numpy and scipy only).

Two things are kept apart everywhere: the *uncertainty of an aggregate* (a
confidence interval that shrinks as seeds are added) and the *spread across
seeds* (IQR, 5th-95th percentile range, CVaR of the worst seeds), which does
not shrink. Every random resampling takes an explicit `numpy.random.Generator`,
so results are reproducible.

Shapes: `scores` is `[S]` (one value per seed) or `[S, E]` (seeds x
evaluations); aggregates are vectorised over the trailing axes. Seeds with a
non-finite value (diverged runs) must be removed with `drop_diverged` first,
which also reports how many were dropped: nothing here averages NaN away
silently.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Callable, Mapping

import numpy as np
from scipy import stats as sps

QUANTILES = (5, 25, 50, 75, 95)


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval (arrays of one shape)."""

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray


def drop_diverged(scores: np.ndarray) -> tuple[np.ndarray, int]:
    """(the seeds whose values are all finite, the number of seeds dropped)."""
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return scores, 0
    keep = np.isfinite(scores.reshape(scores.shape[0], -1)).all(axis=1)
    return scores[keep], int((~keep).sum())


# ----- aggregates ----------------------------------------------------------------------


def iqm(scores: np.ndarray, axis: int = 0) -> np.ndarray:
    """Interquartile mean: the 25% trimmed mean (robust to outlier seeds, efficient)."""
    return sps.trim_mean(scores, 0.25, axis=axis)


def optimality_gap(scores: np.ndarray, target: float = 1.0, axis: int = 0) -> np.ndarray:
    """Mean shortfall below `target`: mean(max(target - x, 0))."""
    return np.mean(np.maximum(target - scores, 0.0), axis=axis)


AGGREGATES: dict[str, Callable] = {
    "mean": lambda x, axis=0: np.mean(x, axis=axis),
    "median": lambda x, axis=0: np.median(x, axis=axis),
    "iqm": iqm,
    "optimality_gap": optimality_gap,
}


def quantile_bands(curves: np.ndarray, quantiles=QUANTILES) -> dict[int, np.ndarray]:
    """Per-evaluation quantiles across seeds: {q: [E]} for curves `[S, E]`."""
    return {q: np.percentile(curves, q, axis=0) for q in quantiles}


def bootstrap_ci(
    scores: np.ndarray,
    statistic: str | Callable = "iqm",
    rng: np.random.Generator | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    batch: int = 250,
    stratified: bool = False,
) -> Interval:
    """Percentile-bootstrap interval of an aggregate, vectorised over trailing axes.

    Seeds (rows, axis 0) are resampled with replacement and the statistic is
    taken over axis 0; trailing axes (evaluations...) are kept. With
    `stratified=True`, `scores` is `[S, T, ...]` with T tasks: seeds are drawn
    within each task column independently (`resample_runs`, rliable's
    stratified bootstrap, Agarwal et al. 2021) and the statistic is taken
    over seeds and tasks together. Stratification is never guessed from the
    array's rank.

    Args:
      scores: `[S, ...]`, or `[S, T, ...]` when stratified; all finite.
      statistic: a name in `AGGREGATES` or a function `f(x, axis)`.
      rng: the generator that makes the resampling reproducible (required).
      n_resamples: bootstrap resamples (rliable uses 50,000 for final figures).
      stratified: resample seeds within each task column (axis 1).

    Returns:
      Interval of the statistic's shape (`scores.shape[1:]`, or
      `scores.shape[2:]` when stratified).
    """
    if rng is None:
        raise ValueError("rng: pass a numpy.random.Generator, e.g. np.random.default_rng(0)")
    fn = AGGREGATES[statistic] if isinstance(statistic, str) else statistic
    scores = np.asarray(scores, dtype=float)
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf: remove diverged seeds with drop_diverged first")
    num_seeds = scores.shape[0]
    if stratified and scores.ndim < 2:
        raise ValueError(f"stratified: scores need shape [seeds, tasks, ...]; got {scores.shape}")
    if stratified:
        fn = _over_runs_and_tasks(statistic, fn)
    point = fn(scores, axis=0)
    draws = []
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        if stratified:
            sample = resample_runs(scores, rng, size)  # [b, S, T, ...]
        else:
            index = rng.integers(0, num_seeds, size=(size, num_seeds))
            sample = scores[index]  # [b, S, ...]
        draws.append(fn(sample, axis=1))
    draws = np.concatenate(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return Interval(np.asarray(point), low, high)


# ----- over runs x tasks: rliable's estimators ------------------------------------------------
#
# rliable (Agarwal et al., NeurIPS 2021) is the reference implementation of these; it was archived in
# 2025 and its pinned `arch < 8` no longer imports beside pandas 3. Scores are `[runs, tasks]` (final
# scores) or `[runs, tasks, evals]` (curves); point estimates equal rliable's to rounding and intervals
# agree within bootstrap error (`tests/rlab/test_stats_rliable.py`, on rliable's own committed estimates).

# Bootstrap replications: rliable's defaults for interval estimates and for performance profiles.
REPS, PROFILE_REPS = 50_000, 2_000
# Replications drawn at once: bounds the memory of the resampled arrays.
_BATCH = 1_000


def mean_of_task_means(scores: np.ndarray) -> float:
    """rliable's mean: the mean over tasks of each task's mean over runs. `scores`: `[runs, tasks]`."""
    return float(np.mean(np.mean(scores, axis=0), axis=0))


def median_of_task_means(scores: np.ndarray) -> float:
    """rliable's median: the median over tasks of each task's mean over runs (not a median over seeds)."""
    return float(np.median(np.mean(scores, axis=0), axis=0))


def pooled_iqm(scores: np.ndarray) -> float:
    """The IQM of every run's score on every task pooled (`iqm` over all cells)."""
    return float(iqm(scores, axis=None))


def pooled_optimality_gap(scores: np.ndarray, target: float = 1.0) -> float:
    """`optimality_gap` over every run and task pooled."""
    return float(optimality_gap(scores, target, axis=None))


def score_distribution(scores: np.ndarray, taus) -> np.ndarray:
    """Performance profile: the fraction of all runs x tasks scoring above each tau. Returns `[len(taus)]`."""
    taus = np.asarray(taus, dtype=float)
    return np.mean(np.asarray(scores).reshape(-1)[None, :] > taus[:, None], axis=1)


def resample_runs(scores: np.ndarray, rng: np.random.Generator, count: int, task_bootstrap: bool = False) -> np.ndarray:
    """`count` stratified resamples of `scores` `[runs, tasks, ...]`: `[count, runs, tasks, ...]`.

    Every (run slot, task, further index) draws its run independently, as
    rliable's StratifiedBootstrap does; with `task_bootstrap` tasks are drawn too.
    """
    runs, tasks = scores.shape[0], scores.shape[1]
    indices = rng.integers(0, runs, size=(count, *scores.shape))
    grid = list(np.ogrid[tuple(slice(n) for n in scores.shape[1:])])
    if task_bootstrap:  # one task drawn per (replication, task slot), shared by the runs and evaluations of the slot
        grid[0] = rng.integers(0, tasks, size=(count, 1, tasks) + (1,) * (scores.ndim - 2))
    return scores[(indices, *grid)]


def _each_replication(statistic: Callable, resampled: np.ndarray) -> np.ndarray:
    """`statistic` of each replication of `resampled` `[B, runs, tasks, ...]` -> `[B, k]`."""
    if statistic is pooled_iqm:  # the hot case, vectorised: sort each replication, keep its middle half
        flat = np.sort(resampled.reshape(resampled.shape[0], -1), axis=1)
        cut = int(0.25 * flat.shape[1])
        return flat[:, cut:flat.shape[1] - cut].mean(axis=1, keepdims=True)
    return np.stack([np.atleast_1d(np.asarray(statistic(r), dtype=float)) for r in resampled])


def interval_estimate(
    scores: np.ndarray, statistic: Callable, rng: np.random.Generator, reps: int = REPS,
    confidence: float = 0.95, task_bootstrap: bool = False,
) -> Interval:
    """`statistic` of `scores` `[runs, tasks, ...]` with its stratified percentile-bootstrap interval (`[k]` each).

    `statistic(scores) -> float or [k]` (e.g. `pooled_iqm`, or a function
    giving one value per evaluation of a curve array).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim < 2 or min(scores.shape) < 1:
        raise ValueError(f"scores of shape {scores.shape}; allowed: [runs, tasks] or [runs, tasks, ...], non-empty")
    point = np.atleast_1d(np.asarray(statistic(scores), dtype=float))
    draws = np.concatenate([_each_replication(statistic, resample_runs(scores, rng, min(_BATCH, reps - start),
                                                                       task_bootstrap))
                            for start in range(0, reps, _BATCH)])
    return Interval(point, *_percentile_interval(draws, confidence))


def interval_estimates(
    score_dict: Mapping[str, np.ndarray], statistic: Callable, rng: np.random.Generator, reps: int = REPS,
    confidence: float = 0.95, task_bootstrap: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """rliable's `get_interval_estimates`: per algorithm, the point estimate `[k]` and the interval `[2, k]`."""
    points, intervals = {}, {}
    for name, scores in score_dict.items():
        estimate = interval_estimate(scores, statistic, rng, reps, confidence, task_bootstrap)
        points[name], intervals[name] = estimate.point, np.stack([estimate.low, estimate.high])
    return points, intervals


def performance_profiles(
    score_dict: Mapping[str, np.ndarray], taus, rng: np.random.Generator, reps: int = PROFILE_REPS,
    confidence: float = 0.95,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Score distributions (fraction of runs x tasks above each tau) with stratified bootstrap bands `[2, len(taus)]`."""
    taus = np.asarray(taus, dtype=float)
    return interval_estimates(score_dict, lambda s: score_distribution(s, taus), rng, reps, confidence)


def _over_runs_and_tasks(statistic: str | Callable, fn: Callable) -> Callable:
    """A statistic of `[..., runs, tasks, ...]` at `axis` (runs) and `axis + 1` (tasks), as rliable defines it.

    The median is the median over tasks of each task's mean over runs
    (`median_of_task_means`); every other statistic pools runs and tasks
    (for the mean the two coincide).
    """
    if statistic == "median":
        return lambda x, axis=0: np.median(np.mean(x, axis=axis), axis=axis)
    return lambda x, axis=0: fn(x.reshape(x.shape[:axis] + (-1,) + x.shape[axis + 2:]), axis=axis)


# ----- success rates ---------------------------------------------------------------------


def success_rate(successes: int, trials: int, confidence: float = 0.95, method: str = "wilson") -> Interval:
    """Binomial interval of a success rate: Wilson (default) or exact Clopper-Pearson.

    Never a bootstrap: with 0 successes in 5 seeds the bootstrap interval is
    [0, 0], while the true rate may still be ~0.45.
    """
    if method not in ("wilson", "clopper-pearson"):
        raise ValueError(f"method = {method!r}; allowed: 'wilson', 'clopper-pearson'")
    if trials < 1:
        raise ValueError(f"trials = {trials}; allowed: an integer >= 1")
    scipy_method = "exact" if method == "clopper-pearson" else "wilson"
    ci = sps.binomtest(int(successes), int(trials)).proportion_ci(confidence, method=scipy_method)
    return Interval(np.asarray(successes / trials), np.asarray(ci.low), np.asarray(ci.high))


# ----- spread across seeds -----------------------------------------------------------------


def cvar(scores: np.ndarray, fraction: float, axis: int = 0) -> np.ndarray:
    """Conditional value at risk: the mean of the worst `fraction` of seeds (at least one)."""
    ordered = np.sort(scores, axis=axis)
    count = max(1, int(np.floor(fraction * scores.shape[axis])))
    return np.mean(np.take(ordered, np.arange(count), axis=axis), axis=axis)


SPREADS: dict[str, Callable] = {
    "iqr": lambda x, axis=0: np.subtract(*np.percentile(x, [75, 25], axis=axis)),
    "p5_p95_range": lambda x, axis=0: np.subtract(*np.percentile(x, [95, 5], axis=axis)),
    "cvar_5": lambda x, axis=0: cvar(x, 0.05, axis),
    "cvar_10": lambda x, axis=0: cvar(x, 0.10, axis),
}


def spread(scores: np.ndarray, rng: np.random.Generator, n_resamples: int = 2000) -> dict[str, Interval]:
    """Spread across seeds, each measure with a bootstrap interval."""
    return {name: bootstrap_ci(scores, fn, rng, n_resamples) for name, fn in SPREADS.items()}


# ----- comparisons -----------------------------------------------------------------------------


def tolerance_interval(scores, coverage: float = 0.9, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free two-sided tolerance interval: where at least `coverage` of seeds fall, with `confidence`.

    The interval is [x_(r), x_(n+1-r)] of the sorted scores, with the largest
    r whose coverage, distributed Beta(n + 1 - 2r, 2r) for any continuous
    seed distribution, is at least `coverage` with probability `confidence`.
    Unlike a confidence interval of the mean it does not shrink with more
    seeds: it says where the next seed will land.

    Raises:
      ValueError: too few seeds for the asked coverage and confidence.
    """
    x = np.sort(np.asarray(scores, float))
    n = x.size
    best = 0
    for r in range(1, n // 2 + 1):
        if sps.beta.sf(coverage, n + 1 - 2 * r, 2 * r) >= confidence:
            best = r
        else:
            break
    if best == 0:
        raise ValueError(f"{n} seeds are too few for a {coverage:.0%} / {confidence:.0%} tolerance interval")
    return float(x[best - 1]), float(x[n - best])


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_resamples: int = 2000, confidence: float = 0.95
) -> Interval:
    """P(X > Y) + P(X = Y) / 2 (the Mann-Whitney U over n_x n_y), averaged over tasks, with a bootstrap interval.

    `x` `[S_x]` or `[S_x, T]`, `y` `[S_y]` or `[S_y, T]` (the same T tasks).
    X's and Y's runs are resampled independently, each within its task
    (rliable's stratified independent bootstrap); a task where both hold the
    same runs counts 0.5, as rliable does.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    x, y = (x[:, None] if x.ndim == 1 else x), (y[:, None] if y.ndim == 1 else y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or not (x.size and y.size):
        raise ValueError(f"scores of shapes {x.shape} and {y.shape}; allowed: [runs] or [runs, tasks] each, "
                         "non-empty, the same tasks")
    point = _improvement(x[None], y[None])[0]
    # Replications at once: bounds the [b, runs_x, runs_y, tasks] comparison arrays to about 20 M cells.
    batch = int(max(1, min(_BATCH, 20_000_000 // (x.shape[0] * y.shape[0] * x.shape[1]))))
    draws = np.empty(n_resamples)
    for start in range(0, n_resamples, batch):
        count = min(batch, n_resamples - start)
        draws[start:start + count] = _improvement(resample_runs(x, rng, count), resample_runs(y, rng, count))
    low, high = _percentile_interval(draws, confidence)
    return Interval(np.asarray(point), np.asarray(low), np.asarray(high))


def _improvement(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Probability of improvement of each replication: xs `[B, n, T]`, ys `[B, m, T]` -> `[B]`."""
    greater = (xs[:, :, None, :] > ys[:, None, :, :]).sum(axis=(1, 2))
    ties = (xs[:, :, None, :] == ys[:, None, :, :]).sum(axis=(1, 2))
    per_task = (greater + 0.5 * ties) / (xs.shape[1] * ys.shape[1])
    if xs.shape[1] == ys.shape[1]:  # rliable's rule: a task where both hold the same runs counts 0.5
        per_task = np.where(np.all(xs == ys, axis=1), 0.5, per_task)
    return per_task.mean(axis=1)


def _percentile_interval(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of bootstrap draws over axis 0 (NumPy's linear interpolation, as rliable's arch)."""
    tail = (1 - confidence) / 2 * 100
    return np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def welch_test(x, y, alternative: str = "two-sided"):
    """Welch's unequal-variance t-test (scipy's result: statistic, pvalue).

    Groups without variance (every seed of a plateau scored the same) give
    scipy's NaN p-value without its precision-loss warning: callers decide
    what no evidence means (the report counts it as p = 1).
    """
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return sps.ttest_ind(x, y, equal_var=False, alternative=alternative)


def mann_whitney(x, y, alternative: str = "two-sided"):
    """Mann-Whitney U test (scipy's result: statistic, pvalue)."""
    return sps.mannwhitneyu(x, y, alternative=alternative)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    p = np.asarray(pvalues, float)
    order = np.argsort(p)
    m = p.size
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    return result


def difference_ci(x, y, statistic: str | Callable, rng: np.random.Generator, n_resamples: int = 2000,
                  confidence: float = 0.95) -> Interval:
    """Bootstrap interval of statistic(x) - statistic(y), seeds resampled within each group."""
    fn = AGGREGATES[statistic] if isinstance(statistic, str) else statistic
    x, y = np.asarray(x, float), np.asarray(y, float)
    xs = x[rng.integers(0, x.shape[0], (n_resamples, x.shape[0]))]
    ys = y[rng.integers(0, y.shape[0], (n_resamples, y.shape[0]))]
    draws = fn(xs, axis=1) - fn(ys, axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return Interval(np.asarray(fn(x, axis=0) - fn(y, axis=0)), low, high)


# ----- seed-count planning ------------------------------------------------------------------------


def welch_power(mean_difference: float, sd_x: float, sd_y: float, n: int, alpha: float = 0.05,
                alternative: str = "one-sided", method: str = "exact", n_y: int | None = None) -> float:
    """Power of Welch's t-test (scipy's `ttest_ind(equal_var=False)`) on normal data.

    method "exact": the test's own power, by numerical integration. Given the
    two sample variances, the mean difference is normal and independent of
    them, so the rejection probability is a normal probability; it is
    integrated over the scaled chi-square laws of both sample variances
    (Gauss-Legendre on their quantiles, error below 1e-4). Checked against a
    Monte Carlo of scipy's test.
    method "shifted_t": the approximation of Colas et al. (2018), a central t
    at the Welch-Satterthwaite degrees of freedom of the true SDs, shifted by
    the standardised difference; it reproduces their published numbers and
    is off by 0.01-0.02 at 5 seeds.

    Args:
      mean_difference: E[X] - E[Y]; one-sided tests reject for X > Y.
      sd_x, sd_y: true standard deviations (> 0); n: seeds in X (and in Y
        unless `n_y` is given), >= 2.
    """
    n_x, n_y = int(n), int(n_y or n)
    if min(n_x, n_y) < 2:
        raise ValueError(f"n = {n_x}, n_y = {n_y}; allowed: at least 2 seeds per group")
    if not (sd_x > 0 and sd_y > 0):
        raise ValueError(f"sd_x = {sd_x}, sd_y = {sd_y}; allowed: numbers > 0")
    if alternative not in ("one-sided", "two-sided"):
        raise ValueError(f"alternative = {alternative!r}; allowed: 'one-sided', 'two-sided'")
    tail = alpha if alternative == "one-sided" else alpha / 2
    if method == "shifted_t":
        if alternative != "one-sided":
            raise ValueError("method 'shifted_t' is one-sided only")
        var_x, var_y = sd_x**2 / n_x, sd_y**2 / n_y
        df = (var_x + var_y) ** 2 / (var_x**2 / (n_x - 1) + var_y**2 / (n_y - 1))
        return float(sps.t.sf(sps.t.ppf(1 - alpha, df) - mean_difference / np.sqrt(var_x + var_y), df))
    if method != "exact":
        raise ValueError(f"method = {method!r}; allowed: 'exact', 'shifted_t'")
    critical, weight_x, weight_y = _welch_critical_differences(float(sd_x), float(sd_y), n_x, n_y, tail)
    spread = np.sqrt(sd_x**2 / n_x + sd_y**2 / n_y)  # true SD of the mean difference
    reject = sps.norm.cdf((mean_difference - critical) / spread)
    if alternative == "two-sided":
        reject = reject + sps.norm.cdf((-critical - mean_difference) / spread)
    return float(weight_x @ reject @ weight_y)


@functools.lru_cache(maxsize=256)
def _welch_critical_differences(sd_x: float, sd_y: float, n_x: int, n_y: int, tail: float):
    """(mean differences at which Welch's test rejects `[nodes, nodes]`, weights of s_x^2, weights of s_y^2).

    One value per pair of quadrature nodes of the two sample variances; they
    do not depend on the true mean difference, so a power curve over several
    effects computes them once (the t quantiles are most of the cost).
    Read-only: the cached arrays are shared between calls.
    """
    ratio_x, weight_x = _variance_ratio_nodes(n_x - 1)
    ratio_y, weight_y = _variance_ratio_nodes(n_y - 1)
    var_x = sd_x**2 * ratio_x[:, None] / n_x  # sample s_x^2 / n_x at each node
    var_y = sd_y**2 * ratio_y[None, :] / n_y
    se = np.sqrt(var_x + var_y)
    df = (var_x + var_y) ** 2 / (var_x**2 / (n_x - 1) + var_y**2 / (n_y - 1))
    critical = sps.t.ppf(1 - tail, df) * se  # reject when the mean difference exceeds this
    for array in (critical, weight_x, weight_y):
        array.flags.writeable = False
    return critical, weight_x, weight_y


@functools.lru_cache(maxsize=256)
def _variance_ratio_nodes(df: int, nodes: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature over s^2 / sigma^2 ~ chi2(df) / df: (values `[nodes]`, weights summing to 1).

    Gauss-Legendre in u on (0, 1), mapped through the quantile function at
    u^4: the substitution puts nodes near 0, where small sample variances
    make the integrand steep.
    """
    u, w = np.polynomial.legendre.leggauss(nodes)
    u, w = (u + 1) / 2, w / 2
    return sps.chi2.ppf(u**4, df) / df, w * 4 * u**3


def seeds_for_power(effect_size: float, power: float = 0.8, alpha: float = 0.05,
                    alternative: str = "two-sided", max_seeds: int = 100_000) -> int:
    """Smallest number of seeds per group reaching `power` for a standardised effect (equal SDs).

    Uses the exact Welch power, which grows with n: found by doubling, then bisection.
    """
    def enough(n):
        return welch_power(effect_size, 1.0, 1.0, n, alpha, alternative) >= power

    high = 2
    while not enough(high):
        if high >= max_seeds:
            raise ValueError(f"more than {max_seeds} seeds per group needed for effect size {effect_size}")
        high = min(2 * high, max_seeds)
    low = max(high // 2, 1)  # not enough at low (or low < 2)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def bootstrap_power(x_pilot, y_pilot, n: int, rng: np.random.Generator, n_experiments: int = 1000,
                    alpha: float = 0.05, test: str = "mann_whitney") -> float:
    """Power of a future n-vs-n comparison, simulated by resampling pilot seeds of each group.

    `test`: "mann_whitney" (for IQM-like, distribution-free comparisons),
    "welch" (means) or "fisher" (success rates: pilots of 0/1 outcomes).
    """
    x_pilot, y_pilot = np.asarray(x_pilot, float), np.asarray(y_pilot, float)
    xs = x_pilot[rng.integers(0, x_pilot.size, (n_experiments, n))]
    ys = y_pilot[rng.integers(0, y_pilot.size, (n_experiments, n))]
    return float(np.mean(_pvalues(xs, ys, test) < alpha))


TESTS = ("welch", "mann_whitney", "fisher", "bootstrap", "pooled_welch")


def bootstrap_test_pvalues(xs: np.ndarray, ys: np.ndarray, rng: np.random.Generator, resamples: int = 1000) -> np.ndarray:
    """Two-sided p-values of the bootstrap test of a difference of means (Colas et al. 2018), row-wise.

    Each group is resampled with replacement on its own; the p-value is
    2 * min(P*(d <= 0), P*(d >= 0)) over the resampled differences d of the
    means, so that p < alpha exactly when the (1 - alpha) percentile
    bootstrap interval of the difference excludes 0.

    Args:
      xs: `[K, n]`; ys: `[K, m]`.

    Returns:
      `[K]`.
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    rows = np.arange(xs.shape[0])[:, None, None]
    x_means = xs[rows, rng.integers(0, xs.shape[1], (xs.shape[0], resamples, xs.shape[1]))].mean(axis=2)
    y_means = ys[rows, rng.integers(0, ys.shape[1], (ys.shape[0], resamples, ys.shape[1]))].mean(axis=2)
    difference = x_means - y_means
    return np.minimum(2 * np.minimum(np.mean(difference <= 0, axis=1), np.mean(difference >= 0, axis=1)), 1.0)


def _pvalues(xs: np.ndarray, ys: np.ndarray, test: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Two-sided p-values of row-wise comparisons of `[K, n]` samples (`[K, n, E]` curves for "pooled_welch")."""
    if test == "pooled_welch":
        # The "Deep RL that matters" protocol: every evaluation point of every seed as one sample.
        return _pvalues(xs.reshape(xs.shape[0], -1), ys.reshape(ys.shape[0], -1), "welch")
    if test == "bootstrap":
        if rng is None:
            raise ValueError("the bootstrap test needs an explicit rng")
        return bootstrap_test_pvalues(xs, ys, rng)
    if test == "welch":
        # Groups of identical values (a plateau: every seed scored 0) have no
        # variance: no evidence of a difference, p = 1, and no warning.
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p = sps.ttest_ind(xs, ys, axis=1, equal_var=False).pvalue
        return np.nan_to_num(p, nan=1.0)
    if test == "mann_whitney":
        return sps.mannwhitneyu(xs, ys, axis=1).pvalue
    if test == "fisher":
        n = xs.shape[1]
        return np.array([
            sps.fisher_exact([[a, n - a], [b, n - b]]).pvalue for a, b in zip(xs.sum(1).astype(int), ys.sum(1).astype(int))
        ])
    raise ValueError(f"test = {test!r}; allowed: {', '.join(TESTS)}")


def false_positive_rate(scores, k: int, rng: np.random.Generator, n_experiments: int = 2000,
                        alpha: float = 0.05, test: str = "welch", pool_resamples: int = 100,
                        confidence: float = 0.95) -> Interval:
    """How often two disjoint groups of k seeds of the SAME configuration differ "significantly".

    Each experiment draws 2k distinct seeds from the pool, splits them into
    two groups of k and tests at level `alpha`; the rate is the share of
    rejections over `n_experiments` experiments.

    What the interval covers: the rate a fresh pool from the same seed
    distribution would give, i.e. both the Monte Carlo error of the
    experiments and the error of having one finite pool. The pool's part is
    measured by bootstrapping the pool (`pool_resamples` resampled pools, each
    tested with `n_experiments` experiments; their variance minus the
    binomial Monte Carlo variance), added to the Monte Carlo variance of the
    estimate, and the interval is normal, clipped to [0, 1].

    Args:
      scores: `[M]` final scores of one configuration, M >= 2k; for
        "pooled_welch", `[M, E]` curves (every evaluation point of a seed is a sample).
      test: "welch", "mann_whitney", "fisher" (see `bootstrap_power`),
        "bootstrap" (`bootstrap_test_pvalues`) or "pooled_welch".
    """
    scores = np.asarray(scores, float)
    seeds = scores.shape[0]
    if (scores.ndim == 2) != (test == "pooled_welch"):
        raise ValueError(f"test = {test!r} takes scores of shape {'[M, E]' if test == 'pooled_welch' else '[M]'}; got {scores.shape}")
    if 2 * k > seeds:
        raise ValueError(f"k = {k}: need 2k <= {seeds} seeds")

    def rate(pool):
        picks = np.argsort(rng.random((n_experiments, seeds)), axis=1)[:, : 2 * k]
        sample = pool[picks]
        return float(np.mean(_pvalues(sample[:, :k], sample[:, k:], test, rng) < alpha))

    point = rate(scores)
    resampled = np.array([rate(scores[rng.integers(0, seeds, seeds)]) for _ in range(pool_resamples)])
    monte_carlo_var = point * (1 - point) / n_experiments
    pool_var = max(float(np.var(resampled, ddof=1)) - monte_carlo_var, 0.0)
    half = sps.norm.ppf(0.5 + confidence / 2) * np.sqrt(pool_var + monte_carlo_var)
    return Interval(np.asarray(point), np.asarray(max(point - half, 0.0)), np.asarray(min(point + half, 1.0)))


def bootstrap_coverage(scores, k: int, statistic: str | Callable, rng: np.random.Generator, n_experiments: int = 1000,
                       n_resamples: int = 2000, confidence: float = 0.95) -> Interval:
    """How often a percentile-bootstrap interval from k seeds covers the pool's value of the statistic.

    Each experiment draws k distinct seeds from the pool of `scores` `[M]`,
    computes the `confidence` percentile-bootstrap interval of `statistic`
    ("mean", "median", "iqm" or a function of an array along axis -1), and
    checks whether it contains the statistic of the whole pool (the truth
    for a pool much larger than k). Returns the coverage with a Wilson 95%
    interval over the experiments.
    """
    scores = np.asarray(scores, float)
    fn = {"mean": np.mean, "median": np.median, "iqm": iqm}.get(statistic, statistic) if isinstance(statistic, str) else statistic
    if isinstance(statistic, str) and statistic not in ("mean", "median", "iqm"):
        raise ValueError(f"statistic = {statistic!r}; allowed: 'mean', 'median', 'iqm' or a function")
    if k > scores.size:
        raise ValueError(f"k = {k}: need k <= {scores.size} seeds")
    truth = float(fn(scores[None, :], axis=-1)[0])
    picks = np.argsort(rng.random((n_experiments, scores.size)), axis=1)[:, :k]
    samples = scores[picks]  # [n_experiments, k]
    covered = 0
    tail = (1 - confidence) / 2
    for start in range(0, n_experiments, 100):  # bounded memory: 100 experiments x n_resamples x k at a time
        block = samples[start : start + 100]
        resampled = block[np.arange(block.shape[0])[:, None, None], rng.integers(0, k, (block.shape[0], n_resamples, k))]
        values = fn(resampled, axis=-1)  # [block, n_resamples]
        low, high = np.quantile(values, [tail, 1 - tail], axis=1)
        covered += int(np.sum((low <= truth) & (truth <= high)))
    return success_rate(covered, n_experiments)


# ----- degradation along a sweep axis ---------------------------------------------------------------


CLIFF_THRESHOLDS = (0.8, 0.1)


@dataclasses.dataclass(frozen=True)
class Crossing:
    """Where a decreasing success rate crosses a threshold along a sweep axis, with an interval.

    `point`, `low`, `high` are levels; +inf means "not within the sweep: above
    its last level" (right-censored), -inf "already below at the first level"
    (left-censored). The interval is the bootstrap percentile interval over
    all draws, censored ones included, so it may be open-ended.
    """

    threshold: float
    point: float
    low: float
    high: float
    first_level: float
    last_level: float

    def describe(self, digits: int = 2) -> str:
        """E.g. "3.4 [2.9, 4.1]", "> 8 [6.1, > 8]" or "< 1"."""
        def show(value):
            if value == np.inf:
                return f"> {self.last_level:g}"
            if value == -np.inf:
                return f"< {self.first_level:g}"
            return f"{value:.{digits}f}"

        if self.low == self.high == self.point:
            return show(self.point)
        return f"{show(self.point)} [{show(self.low)}, {show(self.high)}]"


def monotone_rates(rates, weights) -> np.ndarray:
    """The non-increasing least-squares fit of success rates along a sweep axis (isotonic regression)."""
    from scipy.optimize import isotonic_regression

    return isotonic_regression(np.asarray(rates, float), weights=np.asarray(weights, float), increasing=False).x


def crossing_level(levels, fitted, threshold: float) -> float:
    """Where the non-increasing `fitted` rates first fall below `threshold`, linearly interpolated.

    -inf when the first level is already below (left-censored); +inf when no
    level is (right-censored).
    """
    levels, fitted = np.asarray(levels, float), np.asarray(fitted, float)
    below = np.flatnonzero(fitted < threshold)
    if below.size == 0:
        return np.inf
    i = below[0]
    if i == 0:
        return -np.inf
    fraction = (fitted[i - 1] - threshold) / (fitted[i - 1] - fitted[i])
    return float(levels[i - 1] + fraction * (levels[i] - levels[i - 1]))


def degradation(levels, outcomes: list, rng: np.random.Generator, thresholds=CLIFF_THRESHOLDS,
                n_resamples: int = 2000, confidence: float = 0.95) -> dict:
    """Success against a sweep axis: Wilson intervals per level, a monotone fit, and the cliff.

    The cliff is where the isotonic (non-increasing) fit of the success rate
    crosses each threshold (by default 0.8 and 0.1), each with a bootstrap
    interval: seeds are resampled within each level, the fit and crossings
    recomputed, and no draw is dropped: draws that never cross count as "> last
    level", draws already below at the first level as "< first level".

    Args:
      levels: sweep-axis values, increasing (e.g. dimensions).
      outcomes: per level, a `[S_level]` array of 0/1 outcomes (success per seed).

    Returns:
      {"levels", "rates": [Interval] (Wilson), "fit": `[L]` monotone rates,
       "crossings": {threshold: Crossing}, "seeds": seeds per level}.
    """
    levels = np.asarray(levels, float)
    outcomes = [np.asarray(o, float) for o in outcomes]
    if len(outcomes) != levels.size or any(o.size == 0 for o in outcomes):
        raise ValueError("outcomes: give one non-empty array of 0/1 outcomes per level")
    sizes = np.array([o.size for o in outcomes])
    rates = [success_rate(int(o.sum()), o.size) for o in outcomes]
    fit = monotone_rates([o.mean() for o in outcomes], sizes)
    draws = np.array([
        monotone_rates([o[rng.integers(0, o.size, o.size)].mean() for o in outcomes], sizes)
        for _ in range(n_resamples)
    ])  # [n_resamples, L]
    crossings = {}
    for threshold in thresholds:
        per_draw = np.sort([crossing_level(levels, d, threshold) for d in draws])
        # Order statistics, not interpolation: draws may be infinite.
        tail = (1 - confidence) / 2
        low = per_draw[int(np.floor(tail * (n_resamples - 1)))]
        high = per_draw[int(np.ceil((1 - tail) * (n_resamples - 1)))]
        crossings[threshold] = Crossing(
            threshold, crossing_level(levels, fit, threshold), float(low), float(high), levels[0], levels[-1]
        )
    return {"levels": levels, "rates": rates, "fit": fit, "crossings": crossings,
            "seeds": [int(np.asarray(o).size) for o in outcomes]}


# ----- sparse reward: time to first success ----------------------------------------------------------


def time_to_first_success(success_curves: np.ndarray, steps: np.ndarray, threshold: float = 0.0):
    """Per seed, the env steps at the first evaluation whose success rate exceeds `threshold`.

    Args:
      success_curves: `[S, E]` evaluation success rates; steps: `[E]` env steps.

    Returns:
      (times `[S]`, observed `[S]` bool): seeds that never succeed are censored
      at the budget (the last evaluation's steps), with observed False.
    """
    hit = success_curves > threshold
    observed = hit.any(axis=1)
    first = np.argmax(hit, axis=1)
    times = np.where(observed, np.asarray(steps)[first], np.asarray(steps)[-1])
    return times.astype(float), observed


def survival_curve(times, observed):
    """Kaplan-Meier estimate of P(no success yet by t), censored at the budget (scipy.stats.ecdf).

    The 95% band is exact where it can be: up to the first censored seed
    (for a sweep, every seed still without success is censored at the
    budget, so that is the whole curve) the estimate is k survivors of n
    seeds, a binomial share, and the band is its Clopper-Pearson interval,
    also near 0 and 1 where Greenwood's interval undercovers (2 of 64:
    [0.004, 0.108], where Greenwood's gives [0, 0.074]) or is undefined.
    After a censored seed, scipy's log-log interval. When no seed
    succeeds, the curve is flat at 1 with the exact lower bound
    (alpha / 2)^(1/n) up to the budget.

    Returns:
      (t `[K]`, survival `[K]`, low `[K]`, high `[K]`) with 95% intervals.
    """
    times, observed = np.asarray(times, float), np.asarray(observed, bool)
    n = times.size
    if not observed.any():
        # No event: the bound holds at every time up to the budget.
        low = 1.0 - float(success_rate(0, n, method="clopper-pearson").high)
        return np.array([0.0, times.max()]), np.ones(2), np.full(2, low), np.ones(2)
    data = sps.CensoredData(uncensored=times[observed], right=times[~observed])
    result = sps.ecdf(data).sf
    with warnings.catch_warnings():
        # The log-log interval is undefined where the estimate reaches 0 or 1; those points are exact below.
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = result.confidence_interval(0.95, method="log-log")
    low = np.nan_to_num(ci.low.probabilities, nan=0.0)
    high = np.nan_to_num(ci.high.probabilities, nan=1.0)
    first_censored = times[~observed].min() if (~observed).any() else np.inf
    # Before any seed is censored, k = n S(t) seeds are left of n: a binomial count.
    for index in np.flatnonzero(result.quantiles < first_censored):
        survivors = int(round(result.probabilities[index] * n))
        interval = success_rate(survivors, n, method="clopper-pearson")
        low[index], high[index] = float(interval.low), float(interval.high)
    return result.quantiles, result.probabilities, low, high
