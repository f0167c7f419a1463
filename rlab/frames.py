"""The vocabulary of a sweep's tidy rows, shared by the report, `rlab compare` and `rlab tune`.

Configurations (an algorithm and its hyperparameter-axis values), the
environment-axis columns, a configuration's curves and its env-step grid,
and the success rule: all functions of the rows of `rlab.store.load`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# A seed succeeds when its final evaluation succeeds in at least this share of its episodes.
SUCCESS_SHARE = 0.5


def configurations(frame: pd.DataFrame) -> pd.Series:
    """A readable name per row: algorithm plus its hyperparameter-axis values."""
    hp_columns = [c for c in frame.columns if c.startswith("hp.") and c != "hp_index"]
    names = frame["algo"].astype(str)
    for column in hp_columns:
        present = frame[column].notna()
        names = names.where(~present, names + " " + column[3:] + "=" + frame[column].astype(str))
    return names


def env_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("env.")]


def env_label(values: dict) -> str:
    return ", ".join(f"{k[4:]}={v}" for k, v in values.items()) or "all"


def curves(frame: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps `[E]`, values `[S, E]`) of one configuration's rows.

    A seed the store flagged as diverged (any metric non-finite, e.g. an
    infinite update norm while its returns still look finite) comes back as
    NaN, so every aggregate drops it and counts it (`stats.drop_diverged`).
    """
    table = frame.pivot_table(index="seed", columns="eval", values=metric, aggfunc="first", dropna=False)
    values = table.to_numpy(dtype=float, copy=True)
    if "diverged" in frame.columns:
        flagged = frame.groupby("seed")["diverged"].any().reindex(table.index).fillna(False).to_numpy(bool)
        values[flagged] = np.nan
    steps = frame.groupby("eval")["env_steps"].first().to_numpy()
    return steps, values


def step_grid(rows: pd.DataFrame) -> tuple[int, ...]:
    """The env steps at which a configuration's rows were evaluated (its training budget grid)."""
    return tuple(int(v) for v in rows.groupby("eval")["env_steps"].first().to_numpy())


def budget_mismatch(by_config: dict[str, pd.DataFrame]) -> str | None:
    """None when every configuration shares one step grid, else a message saying how they differ."""
    grids = {config: step_grid(rows) for config, rows in by_config.items()}
    if len(set(grids.values())) <= 1:
        return None
    described = "; ".join(f"{c}: {describe_grid(g)}" for c, g in grids.items())
    return (f"configurations ran at different env-step budgets ({described}); "
            "set env_steps_per_eval in the spec to compare them")


def describe_grid(grid: tuple[int, ...]) -> str:
    per_eval = grid[0] if grid else 0
    return f"{per_eval:,} steps per evaluation, {grid[-1]:,} in all" if grid else "no evaluations"


def slices(frame: pd.DataFrame):
    """(env values dict, rows) for every combination of environment-axis values."""
    columns = env_columns(frame)
    if not columns:
        yield {}, frame
        return
    for values, rows in frame.groupby(columns, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield dict(zip(columns, values)), rows
