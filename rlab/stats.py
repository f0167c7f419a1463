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
from typing import Callable

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
) -> Interval:
    """Percentile-bootstrap interval of an aggregate, vectorised over trailing axes.

    Seeds are resampled with replacement; for `scores` of shape `[S, T, ...]`
    with `T` tasks, resampling is stratified: seeds are drawn within each task
    column independently (as in Agarwal et al. 2021), and the statistic is
    taken over seeds and tasks together.

    Args:
      scores: `[S]`, `[S, E]` or `[S, T, E]`, all finite.
      statistic: a name in `AGGREGATES` or a function `f(x, axis)`.
      rng: the generator that makes the resampling reproducible (required).
      n_resamples: bootstrap resamples (rliable uses 50,000 for final figures).

    Returns:
      Interval of the statistic's shape (`[]`, `[E]`).
    """
    if rng is None:
        raise ValueError("rng: pass a numpy.random.Generator, e.g. np.random.default_rng(0)")
    fn = AGGREGATES[statistic] if isinstance(statistic, str) else statistic
    scores = np.asarray(scores, dtype=float)
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf: remove diverged seeds with drop_diverged first")
    num_seeds = scores.shape[0]
    stratified = scores.ndim == 3
    point = fn(scores.reshape((-1,) + scores.shape[2:]) if stratified else scores, axis=0)
    draws = []
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        if stratified:
            tasks = scores.shape[1]
            index = rng.integers(0, num_seeds, size=(size, num_seeds, tasks))
            sample = np.take_along_axis(scores[None], index[..., None], axis=1)  # [b, S, T, E]
            sample = sample.reshape((size, -1) + scores.shape[2:])
        else:
            index = rng.integers(0, num_seeds, size=(size, num_seeds))
            sample = scores[index]  # [b, S, ...]
        draws.append(fn(sample, axis=1))
    draws = np.concatenate(draws)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return Interval(np.asarray(point), low, high)


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


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_resamples: int = 2000, confidence: float = 0.95
) -> Interval:
    """P(X > Y) + P(X = Y) / 2 = Mann-Whitney U / (n_x n_y), with a bootstrap interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)

    def estimate(a, b):
        return sps.mannwhitneyu(a, b, axis=-1).statistic / (a.shape[-1] * b.shape[-1])

    point = estimate(x, y)
    xs = x[rng.integers(0, x.size, (n_resamples, x.size))]
    ys = y[rng.integers(0, y.size, (n_resamples, y.size))]
    draws = estimate(xs, ys)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(np.asarray(point), low, high)


def welch_test(x, y, alternative: str = "two-sided"):
    """Welch's unequal-variance t-test (scipy's result: statistic, pvalue)."""
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
                alternative: str = "one-sided", method: str = "noncentral") -> float:
    """Power of Welch's t-test with n seeds per group (Welch-Satterthwaite degrees of freedom).

    method: "noncentral" (exact under normality: the noncentral t distribution)
    or "shifted_t" (the approximation of Colas et al. 2018, a central t shifted
    by the noncentrality, which reproduces their published numbers).
    """
    var = sd_x**2 / n + sd_y**2 / n
    df = var**2 / ((sd_x**2 / n) ** 2 / (n - 1) + (sd_y**2 / n) ** 2 / (n - 1))
    ncp = mean_difference / np.sqrt(var)
    if method == "shifted_t":
        if alternative != "one-sided":
            raise ValueError("method 'shifted_t' is one-sided only")
        return float(sps.t.sf(sps.t.ppf(1 - alpha, df) - ncp, df))
    if method != "noncentral":
        raise ValueError(f"method = {method!r}; allowed: 'noncentral', 'shifted_t'")
    if alternative == "one-sided":
        return float(sps.nct.sf(sps.t.ppf(1 - alpha, df), df, ncp))
    if alternative == "two-sided":
        critical = sps.t.ppf(1 - alpha / 2, df)
        return float(sps.nct.sf(critical, df, ncp) + sps.nct.cdf(-critical, df, ncp))
    raise ValueError(f"alternative = {alternative!r}; allowed: 'one-sided', 'two-sided'")


def seeds_for_power(effect_size: float, power: float = 0.8, alpha: float = 0.05,
                    alternative: str = "two-sided", max_seeds: int = 100_000) -> int:
    """Smallest number of seeds per group reaching `power` for a standardised effect (equal SDs)."""
    for n in range(2, max_seeds + 1):
        if welch_power(effect_size, 1.0, 1.0, n, alpha, alternative) >= power:
            return n
    raise ValueError(f"more than {max_seeds} seeds per group needed for effect size {effect_size}")


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


def _pvalues(xs: np.ndarray, ys: np.ndarray, test: str) -> np.ndarray:
    """Two-sided p-values of row-wise comparisons of `[K, n]` samples."""
    if test == "welch":
        with np.errstate(invalid="ignore", divide="ignore"):
            p = sps.ttest_ind(xs, ys, axis=1, equal_var=False).pvalue
        return np.nan_to_num(p, nan=1.0)
    if test == "mann_whitney":
        return sps.mannwhitneyu(xs, ys, axis=1).pvalue
    if test == "fisher":
        n = xs.shape[1]
        return np.array([
            sps.fisher_exact([[a, n - a], [b, n - b]]).pvalue for a, b in zip(xs.sum(1).astype(int), ys.sum(1).astype(int))
        ])
    raise ValueError(f"test = {test!r}; allowed: 'mann_whitney', 'welch', 'fisher'")


def false_positive_rate(scores, k: int, rng: np.random.Generator, n_experiments: int = 1000,
                        alpha: float = 0.05, test: str = "welch") -> Interval:
    """How often two disjoint groups of k seeds of the SAME configuration differ "significantly".

    Draws 2k distinct seeds from a large sweep per experiment, splits them into
    two groups and tests; the rate comes with a Wilson interval.
    """
    scores = np.asarray(scores, float)
    if 2 * k > scores.size:
        raise ValueError(f"k = {k}: need 2k <= {scores.size} seeds")
    picks = np.argsort(rng.random((n_experiments, scores.size)), axis=1)[:, : 2 * k]
    sample = scores[picks]
    rejections = int(np.sum(_pvalues(sample[:, :k], sample[:, k:], test) < alpha))
    return success_rate(rejections, n_experiments)


# ----- degradation along a sweep axis ---------------------------------------------------------------


def breaking_point(levels, rates, threshold: float = 0.5) -> float:
    """The first level where the rate falls below `threshold`, linearly interpolated; NaN if never."""
    levels, rates = np.asarray(levels, float), np.asarray(rates, float)
    if rates[0] < threshold:
        return float(levels[0])
    for i in range(1, len(rates)):
        if rates[i] < threshold <= rates[i - 1]:
            fraction = (rates[i - 1] - threshold) / (rates[i - 1] - rates[i])
            return float(levels[i - 1] + fraction * (levels[i] - levels[i - 1]))
    return float("nan")


def degradation(levels, outcomes: list, rng: np.random.Generator, threshold: float = 0.5,
                n_resamples: int = 2000) -> dict:
    """Success rate per level with Wilson intervals, and the breaking point with a bootstrap interval.

    Args:
      levels: sweep-axis values, increasing (e.g. dimensions).
      outcomes: per level, a `[S_level]` array of 0/1 outcomes (success per seed).
    """
    outcomes = [np.asarray(o, float) for o in outcomes]
    rates = [success_rate(int(o.sum()), o.size) for o in outcomes]
    point = breaking_point(levels, [r.point for r in rates], threshold)
    draws = np.array([
        breaking_point(levels, [o[rng.integers(0, o.size, o.size)].mean() for o in outcomes], threshold)
        for _ in range(n_resamples)
    ])
    finite = draws[np.isfinite(draws)]
    low, high = (np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan))
    return {
        "levels": np.asarray(levels),
        "rates": rates,
        "breaking_point": Interval(np.asarray(point), np.asarray(low), np.asarray(high)),
        "never_breaks_fraction": float(np.mean(~np.isfinite(draws))),
    }


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

    Returns:
      (t `[K]`, survival `[K]`, low `[K]`, high `[K]`) with 95% intervals.
    """
    times, observed = np.asarray(times, float), np.asarray(observed, bool)
    import warnings

    data = sps.CensoredData(uncensored=times[observed], right=times[~observed])
    result = sps.ecdf(data).sf
    with warnings.catch_warnings():
        # Greenwood's interval is undefined where the estimate reaches 0; those ends are filled below.
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = result.confidence_interval(0.95)
    low = np.nan_to_num(ci.low.probabilities, nan=0.0)
    high = np.nan_to_num(ci.high.probabilities, nan=1.0)
    return result.quantiles, result.probabilities, low, high
