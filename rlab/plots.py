"""Figures of seed distributions (matplotlib). Every function returns `(fig, ax)`.

Inputs are plain arrays or dicts of arrays keyed by configuration name, so the
figures work on results from anywhere. Colours come from the Okabe-Ito
colour-blind-safe palette and are fixed per algorithm name across figures.
"""

from __future__ import annotations

import pathlib
from typing import Mapping

import matplotlib

matplotlib.use("Agg")  # files, not windows: works on headless machines
# Names come from users and other tools (W&B run names hold "$"): every text is drawn as it is written, never
# parsed as mathtext, where an unbalanced "$" raised and took the whole report with it.
matplotlib.rcParams["text.parse_math"] = False

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rlab import stats  # noqa: E402

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_KNOWN = ("ppo", "openai_es", "random_search", "reinforce", "ars")


def color_for(name: str) -> str:
    """A fixed colour per configuration: known algorithms first, others by a stable hash."""
    key = name.split(" ")[0]
    if key in _KNOWN:
        return OKABE_ITO[_KNOWN.index(key)]
    return OKABE_ITO[len(_KNOWN) + sum(map(ord, name)) % (len(OKABE_ITO) - len(_KNOWN))]


def _axes(ax, figsize=(6.4, 4.0)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _finish(ax, xlabel: str, ylabel: str, title: str | None, legend: bool = True):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", frameon=False, fontsize="small")


def _plain_number(value, _position) -> str:
    return f"{value:g}"


def plain_ticks(fig) -> None:
    """Log axes labelled with plain numbers (0.01, 1, 1e+06).

    Text is never parsed as mathtext here (see the top of this module), and
    matplotlib's log-axis labels are mathtext ("$\\mathdefault{10^{2}}$"),
    which would then be drawn as written. Called by every writer of a figure.
    """
    from matplotlib import ticker

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(ticker.FuncFormatter(_plain_number))
                axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, path, formats=("png", "svg")) -> list[pathlib.Path]:
    """Writes the figure as PNG and SVG next to each other; returns the paths."""
    plain_ticks(fig)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix("." + fmt)
        fig.savefig(target, dpi=150)
        written.append(target)
    return written


def fan_chart(steps, curves_by_config: Mapping[str, np.ndarray], ylabel="evaluation return", title=None,
              ax=None, show_seeds=True):
    """Median, 25-75% and 5-95% bands across seeds, and every seed's curve faintly.

    Args:
      steps: `[E]` environment steps shared by every configuration, or
        name -> `[E_name]`: each curve is drawn at its own steps.
      curves_by_config: name -> `[S, E_name]`.
    """
    fig, ax = _axes(ax)
    variants: dict[str, int] = {}
    steps_of = steps if isinstance(steps, Mapping) else {name: steps for name in curves_by_config}
    for name, curves in curves_by_config.items():
        steps = np.asarray(steps_of[name])
        curves, _ = stats.drop_diverged(curves)
        if curves.shape[0] == 0:
            continue
        color = color_for(name)
        # Variants of one algorithm share its colour and differ in line style.
        variant = variants.setdefault(color, 0)
        variants[color] += 1
        style = ("-", "--", ":", "-.")[variant % 4]
        bands = stats.quantile_bands(curves)
        if show_seeds:
            for seed_curve in curves[:200]:
                ax.plot(steps, seed_curve, color=color, alpha=0.06, linewidth=0.6)
        ax.fill_between(steps, bands[5], bands[95], color=color, alpha=0.12, linewidth=0)
        ax.fill_between(steps, bands[25], bands[75], color=color, alpha=0.28, linewidth=0)
        ax.plot(steps, bands[50], color=color, linewidth=2, linestyle=style,
                label=f"{name} (median of n={curves.shape[0]} seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.fill_between([], [], [], color="grey", alpha=0.28, label="bands: 25-75% and 5-95% of seeds")
    _finish(ax, "environment steps per seed", ylabel, title)
    return fig, ax


def final_distribution(values_by_config: Mapping[str, np.ndarray], ylabel="final evaluation return", title=None,
                       ax=None, rng=None):
    """Violins with every seed as a jittered dot, so bimodal outcomes stay visible."""
    fig, ax = _axes(ax, (max(5.0, 1.4 * len(values_by_config) + 2), 4.2))
    rng = rng or np.random.default_rng(0)
    names = list(values_by_config)
    for i, name in enumerate(names):
        values = np.asarray(values_by_config[name], float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        color = color_for(name)
        if np.ptp(values) > 0:
            parts = ax.violinplot(values, positions=[i], widths=0.8, showextrema=False)
            for body in parts["bodies"]:
                body.set_facecolor(color)
                body.set_alpha(0.25)
        ax.scatter(i + rng.uniform(-0.18, 0.18, values.size), values, s=8, color=color, alpha=0.6, linewidths=0)
        ax.plot([i - 0.3, i + 0.3], [np.median(values)] * 2, color="black", linewidth=1.5)
    counts = [int(np.isfinite(np.asarray(values_by_config[n], float)).sum()) for n in names]
    ax.set_xticks(range(len(names)), [f"{n} (n={c})" for n, c in zip(names, counts)], rotation=20, ha="right")
    _finish(ax, "dots: seeds; violins: density; bars: medians", ylabel, title, legend=False)
    return fig, ax


def degradation_plot(levels, results_by_algo: Mapping[str, dict], axis_name="dimension", title=None, ax=None):
    """Success rate against a sweep axis: Wilson intervals, the monotone fit, and the cliff.

    Each threshold of the cliff (0.8 and 0.1 by default) is a grey line. On
    an integer axis (dimensions, links, poles) a fall can be placed no more
    precisely than between two levels, so a bar on the line spans the two
    levels between which the measured share first falls to the threshold or
    below. On a continuous axis the bar is the bootstrap interval of where
    the monotone fit crosses it, with a tick at the crossing. An arrow at
    an end of the axis marks a fall before the first level or after the last.

    Args:
      results_by_algo: name -> the dict `stats.degradation` returns.
    """
    fig, ax = _axes(ax)
    levels = np.asarray(levels, float)
    span = levels[-1] - levels[0] if levels.size > 1 else 1.0
    integer_axis = bool(np.all(levels == np.round(levels)))
    thresholds = set()
    for name, result in results_by_algo.items():
        color = color_for(name)
        own = np.asarray(result.get("levels", levels), float)
        rates = result["rates"]
        point = np.array([float(r.point) for r in rates])
        low = np.array([float(r.low) for r in rates])
        high = np.array([float(r.high) for r in rates])
        ax.errorbar(own, point, yerr=[point - low, high - point], color=color, marker="o", capsize=3,
                    linestyle="none", label=f"{name} (Wilson 95% CI; {_seed_counts(result)})")
        ax.plot(own, result["fit"], color=color, linewidth=1.5, alpha=0.8)
        for threshold, crossing in result["crossings"].items():
            thresholds.add(threshold)
            if integer_axis:
                _bracket(ax, own, point, threshold, color)
                continue
            left = max(crossing.low, levels[0] - 0.04 * span)
            right = min(crossing.high, levels[-1] + 0.04 * span)
            ax.plot([left, right], [threshold, threshold], color=color, linewidth=5, alpha=0.35,
                    solid_capstyle="butt")
            if np.isfinite(crossing.point):
                ax.plot(crossing.point, threshold, marker="|", markersize=14, color=color)
            else:
                edge = levels[-1] if crossing.point > 0 else levels[0]
                ax.plot(edge, threshold, marker=">" if crossing.point > 0 else "<", color=color)
    what = ("bars: the two levels between which the share first falls to it" if integer_axis
            else "bars: 95% interval of the crossing")
    for i, threshold in enumerate(sorted(thresholds)):
        label = f"cliff thresholds ({what})" if i == 0 else None
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.8, label=label)
    ax.set_ylim(-0.03, 1.03)
    _finish(ax, axis_name, "success rate (fraction of seeds)", title)
    if integer_axis:
        ax.set_xticks(levels)
    return fig, ax


def _seed_counts(result: dict) -> str:
    """"n=64 seeds per level", or the counts per level where they differ."""
    counts = result.get("seeds")
    if not counts:
        return "n per level not given"
    return f"n={counts[0]} seeds per level" if len(set(counts)) == 1 else "n=" + "/".join(map(str, counts)) + " seeds"


def _bracket(ax, levels: np.ndarray, rates: np.ndarray, threshold: float, color) -> None:
    """On the threshold's line: a bar between the two levels where `rates` first fall to it (arrows at the ends)."""
    below = np.flatnonzero(rates <= threshold)
    if below.size == 0:
        ax.plot(levels[-1], threshold, marker=">", color=color)  # not by the last level
    elif below[0] == 0:
        ax.plot(levels[0], threshold, marker="<", color=color)  # already at the first level
    else:
        i = below[0]
        ax.plot([levels[i - 1], levels[i]], [threshold, threshold], color=color, linewidth=5, alpha=0.35,
                solid_capstyle="butt")


def performance_profile(scores_by_config: Mapping[str, np.ndarray], thresholds=None, rng=None,
                        xlabel="final evaluation return", title=None, ax=None):
    """Fraction of seeds scoring above each threshold tau, with bootstrap bands (`stats.performance_profiles`)."""
    fig, ax = _axes(ax)
    rng = rng or np.random.default_rng(0)
    finite = {k: np.asarray(v, float)[np.isfinite(v)] for k, v in scores_by_config.items()}
    if thresholds is None:
        everything = np.concatenate([v for v in finite.values() if v.size] or [np.zeros(1)])
        thresholds = np.linspace(everything.min(), everything.max(), 101)
    present = {name: values[:, None] for name, values in finite.items() if values.size}  # [seeds, one task]
    profiles, bands = stats.performance_profiles(present, thresholds, rng, reps=500)
    for name, values in present.items():
        color = color_for(name)
        ax.plot(thresholds, profiles[name], color=color, label=f"{name} (n={len(values)}; band: bootstrap 95% CI)")
        ax.fill_between(thresholds, bands[name][0], bands[name][1], color=color, alpha=0.2, linewidth=0)
    ax.set_ylim(-0.02, 1.02)
    _finish(ax, xlabel + " threshold tau", "fraction of seeds with score > tau", title)
    return fig, ax


def probability_of_improvement_chart(intervals: Mapping[str, "stats.Interval"], title=None, ax=None):
    """P(X > Y) with intervals, one row per comparison "X vs Y"."""
    longest = max((len(name) for name in intervals), default=0)
    fig, ax = _axes(ax, (6.4 + 0.075 * longest, 0.5 * len(intervals) + 1.6))
    names = list(intervals)
    for i, name in enumerate(names):
        interval = intervals[name]
        color = color_for(name)
        ax.plot([float(interval.low), float(interval.high)], [i, i], color=color, linewidth=6, alpha=0.5)
        ax.plot(float(interval.point), i, "o", color="black")
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlim(0, 1)
    _finish(ax, "P(X > Y): dot; bar: bootstrap 95% CI over seeds", "comparison", title, legend=False)
    return fig, ax


def survival_plot(curves_by_config: Mapping[str, tuple], title=None, ax=None):
    """Kaplan-Meier curves of time to first success (censored at the budget).

    Args:
      curves_by_config: name -> (t, survival, low, high) from `stats.survival_curve`.
    """
    fig, ax = _axes(ax)
    for name, (t, survival, low, high) in curves_by_config.items():
        if len(t) == 0:
            continue
        color = color_for(name)
        # Every seed starts without a success: the curve starts at 1 before any training.
        t, survival = np.r_[0.0, t], np.r_[1.0, survival]
        low, high = np.r_[1.0, low], np.r_[1.0, high]
        ax.step(t, survival, where="post", color=color, label=f"{name} (band: 95% CI, Greenwood; exact at 0 and 1)")
        ax.fill_between(t, low, high, step="post", color=color, alpha=0.15, linewidth=0)
    ax.set_ylim(-0.02, 1.02)
    _finish(ax, "environment steps per seed", "fraction of seeds without any success", title)
    return fig, ax


def power_curve(effect_sizes=(0.5, 0.8, 1.0, 2.0), max_seeds=80, alpha=0.05, title=None, ax=None):
    """Power of a two-sided Welch test against seeds per group, for several standardised effects."""
    fig, ax = _axes(ax)
    ns = np.arange(2, max_seeds + 1)
    for i, effect in enumerate(effect_sizes):
        power = [stats.welch_power(effect, 1, 1, n, alpha, "two-sided") for n in ns]
        ax.plot(ns, power, color=OKABE_ITO[i % len(OKABE_ITO)], label=f"effect {effect} SD")
    ax.axhline(0.8, color="grey", linestyle="--", linewidth=0.8, label="power 0.8")
    ax.set_ylim(0, 1.02)
    _finish(ax, "seeds per group", "power (two-sided Welch, alpha 0.05)", title)
    return fig, ax
