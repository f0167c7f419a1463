"""The report's figures, one function per kind, registered by name in `FIGURES`.

A per-slice kind draws one figure for every combination of environment-axis
values (`frames.slices`) from that slice's configurations; a whole-sweep kind
draws from the whole frame. A kind that cannot be drawn honestly (no
success metric, different budgets, nothing to show) draws nothing and says
why in `notes`.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import pandas as pd

from rlab import plots, stats
from rlab.frames import SUCCESS_SHARE, budget_mismatch, curves, env_columns, env_label, slices, step_grid

# Figures drawn from eval_success, which imported runs may not have.
SUCCESS_KINDS = ("success", "degradation", "survival")


def note(notes: list[str] | None, message: str) -> None:
    if notes is not None and message not in notes:
        notes.append(message)


def _curve_chart(metric: str):
    def draw(by_config: dict[str, pd.DataFrame], label: str, rng, notes):
        rows = pd.concat(by_config.values())
        if metric == "eval_return" and "eval_success" in rows.columns and np.array_equal(
                rows["eval_return"].to_numpy(), rows["eval_success"].to_numpy(), equal_nan=True):
            note(notes, f"No return chart at {label}: the return equals the success rate there (a sparse "
                        "task rewards only success), so the success chart shows it.")
            return None
        steps = {c: np.asarray(step_grid(r)) for c, r in by_config.items()}
        data = {c: curves(r, metric)[1] for c, r in by_config.items()}
        return plots.fan_chart(steps, data, ylabel=metric.replace("_", " "), title=f"{metric} ({label})")[0]
    return draw


def _final_returns(by_config) -> dict[str, np.ndarray]:
    return {c: curves(r, "eval_return")[1][:, -1] for c, r in by_config.items()}


def _final(by_config, label, rng, notes):
    return plots.final_distribution(_final_returns(by_config), title=f"final evaluation return ({label})")[0]


def _profile(by_config, label, rng, notes):
    return plots.performance_profile(_final_returns(by_config), rng=rng, title=f"performance profile ({label})")[0]


def _improvement(by_config, label, rng, notes):
    mismatch = budget_mismatch(by_config)
    if mismatch:
        note(notes, f"No comparison at {label}: {mismatch}.")
        return None
    intervals = {}
    for x, y in itertools.combinations(by_config, 2):
        a, _ = stats.drop_diverged(curves(by_config[x], "eval_return")[1][:, -1])
        b, _ = stats.drop_diverged(curves(by_config[y], "eval_return")[1][:, -1])
        if a.size and b.size:
            intervals[f"{x} vs {y} (n={a.size}, {b.size})"] = stats.probability_of_improvement(a, b, rng,
                                                                                               n_resamples=1000)
    if not intervals:
        return None
    return plots.probability_of_improvement_chart(intervals, title=f"probability of improvement ({label})")[0]


def _survival(by_config, label, rng, notes):
    data = {}
    for c, r in by_config.items():
        steps, success = curves(r, "eval_success")
        success, _ = stats.drop_diverged(success)
        if success.shape[0] == 0:
            note(notes, f"{c} at {label}: every seed diverged, so it has no survival curve.")
            continue
        data[f"{c} (n={success.shape[0]})"] = stats.survival_curve(*stats.time_to_first_success(success, steps))
    if not data:
        return None
    first = {c: curves(r, "eval_success")[1] for c, r in by_config.items()}
    if all(np.all(s[np.isfinite(s).all(axis=1)][:, 0] > 0.0) for s in first.values()):  # as survival counts
        note(notes, f"No survival chart at {label}: every seed succeeds from the first evaluation, "
                    "so there is no time to first success to compare.")
        return None
    return plots.survival_plot(data, title=f"time to first success ({label})")[0]


def _per_slice(draw: Callable) -> Callable:
    """A whole-sweep kind from a per-slice one: (title, fig) for each slice that draws."""
    def figures(kind: str, frame: pd.DataFrame, rng, notes):
        drawn = []
        for env_values, rows in slices(frame):
            label = env_label(env_values)
            fig = draw({c: r for c, r in rows.groupby("config", sort=True)}, label, rng, notes)
            if fig is not None:
                drawn.append((f"{kind} ({label})", fig))
        return drawn
    return figures


def _power(kind, frame, rng, notes):
    return [("Seeds needed: power of a Welch test", plots.power_curve()[0])]


def _degradation(kind, frame, rng, notes):
    """Success against each numeric environment axis, the other axes held at each of their values.

    Only configurations that share one step grid at every level are drawn
    together; otherwise the figure is refused with a note.
    """
    figures = []
    for axis in env_columns(frame):
        if not pd.api.types.is_numeric_dtype(frame[axis]) or frame[axis].nunique() < 2:
            continue
        others = [c for c in env_columns(frame) if c != axis]
        held = frame.groupby(others, sort=True) if others else [((), frame)]
        for values, rows in held:
            values = values if isinstance(values, tuple) else (values,)
            levels = sorted(rows[axis].unique())
            label = f" ({env_label(dict(zip(others, values)))})" if others else ""
            mismatch = budget_mismatch(dict(tuple(rows.groupby("config", sort=True))))
            if mismatch:
                note(notes, f"No degradation figure along {axis[4:]}{label}: {mismatch}.")
                continue
            by_algo = {}
            for config, cfg_rows in rows.groupby("config", sort=True):
                # A sweep still running (or interrupted) may not have reached every level for every config.
                present = [level for level in levels if (cfg_rows[axis] == level).any()]
                if len(present) < len(levels):
                    note(notes, f"Degradation along {axis[4:]}{label}: {config} has no stored seeds yet at "
                                f"{axis[4:]} = {', '.join(str(v) for v in levels if v not in present)}.")
                outcomes = []
                for level in present:
                    _, success = curves(cfg_rows[cfg_rows[axis] == level], "eval_success")
                    success, _ = stats.drop_diverged(success)
                    outcomes.append((success[:, -1] >= SUCCESS_SHARE).astype(float))
                if len(present) >= 2 and all(o.size for o in outcomes):
                    by_algo[config] = stats.degradation(present, outcomes, rng, n_resamples=500)
            fig, _ = plots.degradation_plot(levels, by_algo, axis_name=axis[4:], title=f"success vs {axis[4:]}{label}")
            figures.append((f"degradation along {axis[4:]}{label}", fig))
    return figures


# Kind -> (kind, frame with a `config` column, rng, notes) -> [(title, figure)], in the report's order.
FIGURES: dict[str, Callable] = {
    "fan": _per_slice(_curve_chart("eval_return")),
    "success": _per_slice(_curve_chart("eval_success")),
    "final": _per_slice(_final),
    "degradation": _degradation,
    "profile": _per_slice(_profile),
    "improvement": _per_slice(_improvement),
    "survival": _per_slice(_survival),
    "power": _power,
}


def figure(kind: str, frame: pd.DataFrame, rng: np.random.Generator, notes: list[str] | None = None):
    """One of the kinds of `FIGURES` for the whole sweep; a list of (title, fig) (several for per-slice kinds).

    Curves are drawn at each configuration's own env steps. Figures that
    compare configurations (degradation, improvement) are refused for
    configurations whose budgets differ; the reason goes to `notes`.
    """
    if kind not in FIGURES:
        raise ValueError(f"figure kind {kind!r}; allowed: {', '.join(FIGURES)}")
    if kind in SUCCESS_KINDS and "eval_success" not in frame.columns:
        note(notes, f"No {kind} chart: these runs record no eval_success (imported returns only, or a task that "
                    "defines no success).")
        return []
    return FIGURES[kind](kind, frame, rng, notes)
