"""`rlab compare A B`: is A better than B, how sure is that, and how many seeds would settle it?

Each side is one configuration on one task: a sweep (or imported) directory,
a configuration in it (`--a`, `--b`: the names the report uses) and the
environment values (`--where dim=2`). The per-seed outcome is the final
evaluation: its return (`--metric return`), or whether it succeeded in at
least half its episodes (`--metric success`). The test is fixed in advance
by the metric, never chosen after looking at the data:

- return: Welch's t-test on the mean (two-sided), the difference of means
  with Welch's interval, the standardised effect (difference over the
  root-mean-square of the two SDs), and the seeds per side Welch's test
  needs for 80% power at that effect (exact power, `rlab.stats.welch_power`);
  beside it Mann-Whitney's p and a bootstrap interval of the IQM difference;
- success: Fisher's exact test on the two success counts, the difference of
  rates with Newcombe's interval (from Wilson's), and the seeds per side for
  80% power at the observed rates (normal approximation on Cohen's h).

Both give the probability of improvement P(A > B) with a bootstrap interval.
Sides trained at different env-step budgets, or on different tasks, or with
different evaluation settings, are refused, as the report refuses them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import scipy.stats as sps

from rlab import frames, stats, store
from rlab.errors import UsageError

METRICS = ("return", "success")
POWER = 0.8
# Seed counts beyond this are reported as "more than" it.
MAX_SEEDS = 100_000
# Hyperparameters that define the evaluation, not the learner: two sides must agree on them.
EVALUATION_SETTINGS = ("eval_episodes", "episode_length", "env_steps_per_eval")


@dataclasses.dataclass(frozen=True)
class Side:
    """One configuration's per-seed final outcomes, and what they were measured under."""

    label: str
    values: np.ndarray  # [seeds] final return, or 1.0 / 0.0 success; diverged seeds left out
    diverged: int
    steps: tuple[int, ...]  # env steps of every evaluation (the budget grid)
    env: dict  # environment values
    evaluation: dict  # evaluation settings (EVALUATION_SETTINGS found in the group's hyperparameters)


@dataclasses.dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    metric: str
    test: str
    pvalue: float
    alpha: float
    difference: stats.Interval  # A minus B: mean return or success rate
    standardised: float  # Cohen's d (return) or h (success)
    seeds_for_power: int | None  # per side, for POWER at the observed effect (None: no effect observed)
    improvement: stats.Interval  # P(A > B)
    others: dict  # further tests and intervals: name -> text

    @property
    def called(self) -> bool:
        return bool(self.pvalue < self.alpha)


def side(directory, config: str | None, where: dict[str, str], metric: str) -> Side:
    """The side of `directory`: one configuration at one set of environment values (UsageError if ambiguous)."""
    if metric not in METRICS:
        raise UsageError(f"--metric = {metric!r}; allowed: {', '.join(METRICS)}")
    frame = store.load(directory)
    if frame.empty:
        raise UsageError(f"{directory}: no stored rows")
    if metric == "success" and not store.read_manifest(directory).defines_success:
        raise UsageError(f"{directory}: its task defines no success; allowed here: --metric return")
    frame = frame.assign(config=frames.configurations(frame))
    for key, text in where.items():
        column = f"env.{key}"
        if column not in frame.columns:
            raise UsageError(f"--where {key}={text}: {directory} has no environment value {key!r}; it has "
                             f"{', '.join(c[4:] for c in frames.env_columns(frame)) or 'none'}")
        frame = frame[frame[column].astype(str) == text]
        if frame.empty:
            raise UsageError(f"--where {key}={text}: no rows of {directory} have it")
    configs = sorted(frame["config"].unique())
    if config is None and len(configs) > 1:
        raise UsageError(f"{directory} holds {len(configs)} configurations; choose one with --a/--b: "
                         + "; ".join(repr(c) for c in configs))
    config = config if config is not None else configs[0]
    if config not in configs:
        raise UsageError(f"configuration {config!r} is not in {directory}; allowed: "
                         + "; ".join(repr(c) for c in configs))
    rows = frame[frame["config"] == config]
    env_columns = frames.env_columns(rows)
    slices = rows[env_columns].drop_duplicates() if env_columns else pd.DataFrame([{}])
    if len(slices) > 1:
        raise UsageError(f"{directory}: {config!r} ran at {len(slices)} environment settings; choose one with "
                         f"--where, e.g. --where {env_columns[0][4:]}={slices.iloc[0][env_columns[0]]}")
    if metric == "success" and "eval_success" not in rows.columns:
        raise UsageError(f"{directory}: no eval_success recorded; allowed here: --metric return")
    _, returns = frames.curves(rows, "eval_return")
    finite = np.isfinite(returns).all(axis=1)
    if metric == "return":
        values = returns[finite, -1]
    else:
        _, success = frames.curves(rows, "eval_success")
        values = (success[finite, -1] >= frames.SUCCESS_SHARE).astype(float)
    manifest = store.read_manifest(directory)
    groups = manifest.groups
    hparams = {k: v for g in rows["group"].unique() for k, v in (groups.get(g) or {}).get("hparams", {}).items()}
    # The task: the environment id and its fixed parameters from the spec, then this side's axis values.
    env = {**manifest.environment, **{c[4:]: rows[c].iloc[0] for c in env_columns}}
    return Side(label=f"{directory}: {config}", values=values, diverged=int((~finite).sum()),
                steps=frames.step_grid(rows), env=env,
                evaluation={k: hparams[k] for k in EVALUATION_SETTINGS if k in hparams})


def refusal(a: Side, b: Side) -> str | None:
    """Why two sides cannot be compared (different budgets, tasks or evaluations), or None."""
    if a.steps != b.steps:
        return (f"different env-step budgets ({a.label}: {len(a.steps)} evaluations up to {a.steps[-1]:,} steps; "
                f"{b.label}: {len(b.steps)} up to {b.steps[-1]:,}); compare runs at the same budget")
    if {k: str(v) for k, v in a.env.items()} != {k: str(v) for k, v in b.env.items()}:
        return f"different tasks ({a.env} vs {b.env}); compare on the same environment values"
    shared = set(a.evaluation) & set(b.evaluation)
    differing = [k for k in sorted(shared) if a.evaluation[k] != b.evaluation[k]]
    if differing:
        return "different evaluations (" + ", ".join(f"{k}: {a.evaluation[k]} vs {b.evaluation[k]}"
                                                     for k in differing) + ")"
    return None


def compare(a: Side, b: Side, metric: str, rng: np.random.Generator, alpha: float = 0.05,
            n_resamples: int = 2000) -> Comparison:
    """The comparison of two sides (UsageError when `refusal` says they cannot be compared)."""
    why = refusal(a, b)
    if why:
        raise UsageError(f"not compared: {why}")
    for s in (a, b):
        if s.values.size < 2:
            raise UsageError(f"{s.label}: {s.values.size} seed(s) not diverged; a comparison needs at least 2 a side")
    return compare_samples(a.values, b.values, metric, rng, alpha, n_resamples, a, b)


def compare_samples(x: np.ndarray, y: np.ndarray, metric: str, rng: np.random.Generator, alpha: float = 0.05,
                    n_resamples: int = 2000, a: Side | None = None, b: Side | None = None) -> Comparison:
    """`compare` on two arrays of per-seed outcomes (returns, or 0/1 successes).

    `n_resamples = 0` skips the bootstrap intervals (P(A > B), the IQM
    difference) and the seed count for power, for simulations of the test
    alone: the intervals are NaN, the seed count None.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if n_resamples:
        improvement = stats.probability_of_improvement(x, y, rng, n_resamples)
    else:
        point = sps.mannwhitneyu(x, y).statistic / (x.size * y.size)
        improvement = stats.Interval(np.asarray(point), np.asarray(np.nan), np.asarray(np.nan))
    if metric == "return":
        welch = stats.welch_test(x, y)
        pvalue = float(welch.pvalue) if np.isfinite(welch.pvalue) else 1.0
        difference = float(x.mean() - y.mean())
        if np.isfinite(welch.pvalue):
            low, high = welch.confidence_interval(1 - alpha)
        else:  # no variance on either side: the difference is exact
            low = high = difference
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below, not warned about
            spread = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
        if not (math.isfinite(spread) and math.isfinite(difference)):
            raise UsageError("the returns are too large to compare (their mean or variance overflows float64, so "
                             "Welch's statistic is NaN): no p value or seed count can be given")
        standardised = difference / spread if spread > 0 else (0.0 if difference == 0 else math.inf)
        needed = _seeds_for_power_welch(standardised, alpha) if n_resamples else None
        others = {"Mann-Whitney p": f"{stats.mann_whitney(x, y).pvalue:.3g}"}
        if n_resamples:
            iqm = stats.difference_ci(x, y, "iqm", rng, n_resamples)
            others["IQM difference (bootstrap 95% CI)"] = (f"{float(iqm.point):.4g} [{float(iqm.low):.4g}, "
                                                          f"{float(iqm.high):.4g}]")
        test = "Welch's t-test on the mean final return (two-sided)"
    else:
        wins_x, wins_y = int(x.sum()), int(y.sum())
        pvalue = float(sps.fisher_exact([[wins_x, x.size - wins_x], [wins_y, y.size - wins_y]]).pvalue)
        rate_x = stats.success_rate(wins_x, x.size, confidence=1 - alpha)
        rate_y = stats.success_rate(wins_y, y.size, confidence=1 - alpha)
        difference = float(rate_x.point - rate_y.point)
        low = difference - math.sqrt((rate_x.point - rate_x.low) ** 2 + (rate_y.high - rate_y.point) ** 2)
        high = difference + math.sqrt((rate_x.high - rate_x.point) ** 2 + (rate_y.point - rate_y.low) ** 2)
        standardised = 2 * math.asin(math.sqrt(rate_x.point)) - 2 * math.asin(math.sqrt(rate_y.point))
        # Two samples of n each: the difference of arcsine-transformed rates has variance 2 / n, so
        # n = 2 ((z_{1-alpha/2} + z_power) / h)^2 per side (Cohen's h; checked by a Monte Carlo of Fisher's test).
        needed = None if standardised == 0 else min(MAX_SEEDS + 1, math.ceil(
            2 * ((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(POWER)) / abs(standardised)) ** 2))
        others = {"success A": f"{wins_x}/{x.size}", "success B": f"{wins_y}/{y.size}"}
        test = "Fisher's exact test on the success counts (two-sided)"
    return Comparison(a=a, b=b, metric=metric, test=test, pvalue=pvalue, alpha=alpha,
                      difference=stats.Interval(np.asarray(difference), np.asarray(low), np.asarray(high)),
                      standardised=float(standardised), seeds_for_power=needed, improvement=improvement,
                      others=others)


def _seeds_for_power_welch(effect: float, alpha: float) -> int | None:
    if effect == 0 or not math.isfinite(effect):
        return None if effect == 0 else 2
    try:
        return stats.seeds_for_power(abs(effect), POWER, alpha, "two-sided", max_seeds=MAX_SEEDS)
    except ValueError:  # a vanishing effect: more seeds than anyone runs
        return MAX_SEEDS + 1


def render(c: Comparison) -> str:
    """One screen of text."""
    what = "mean final return" if c.metric == "return" else "success rate"
    effect = "Cohen's d" if c.metric == "return" else "Cohen's h"
    lines = [
        f"A: {c.a.label} ({c.a.values.size} seeds{f', {c.a.diverged} diverged left out' if c.a.diverged else ''})",
        f"B: {c.b.label} ({c.b.values.size} seeds{f', {c.b.diverged} diverged left out' if c.b.diverged else ''})",
        f"budget: {len(c.a.steps)} evaluations up to {c.a.steps[-1]:,} env steps each; task: "
        + (", ".join(f"{k}={v}" for k, v in c.a.env.items()) or "(one)"),
        "",
        f"test: {c.test}",
        f"p = {c.pvalue:.3g}: " + (f"a difference at the {c.alpha:g} level" if c.called
                                   else f"no difference shown at the {c.alpha:g} level"),
        f"{what}, A minus B: {float(c.difference.point):.4g} "
        f"[{float(c.difference.low):.4g}, {float(c.difference.high):.4g}] ({1 - c.alpha:.0%} CI"
        + (", Welch)" if c.metric == "return" else ", Newcombe from Wilson)"),
        f"effect size ({effect}): {c.standardised:.3g}",
        f"P(A > B): {float(c.improvement.point):.3f} [{float(c.improvement.low):.3f}, "
        f"{float(c.improvement.high):.3f}] (bootstrap 95% CI over seeds)",
        f"seeds per side for {POWER:.0%} power at this effect: "
        + ("none is enough (no effect observed)" if c.seeds_for_power is None
           else f"more than {MAX_SEEDS:,}" if c.seeds_for_power > MAX_SEEDS else f"{c.seeds_for_power:,}"),
    ]
    lines += [f"{name}: {value}" for name, value in c.others.items()]
    return "\n".join(lines)
