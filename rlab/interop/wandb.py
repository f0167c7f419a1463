"""Weights & Biases CSV exports -> the data contract's rows: a panel's wide export, or run histories.

    rlab import wandb panel.csv --out runs/wb --preset cleanrl --grid 2048   # a chart's "Export CSV"
    rlab import wandb history.csv --out runs/wb --map algo=Name --map seed=seed \\
        --map env_steps=global_step --map eval_return=charts/episodic_return   # run histories, one table

- **Panel export** (a chart's "Export CSV"): a `Step` column and, per run,
  `<run name> - <metric>` beside `<run name> - <metric>__MIN` and `__MAX`.
  The MIN/MAX columns are the chart's range over the points it merged for
  display, not data: they are left out. Each run name gives the algorithm
  and seed through `--run-pattern` or `--preset` (as for TensorBoard; W&B
  runs logged by CleanRL carry CleanRL's run names); `--metric` chooses the
  metric (default: the only one). A run's empty cells are steps it did not
  log. Per-episode points (CleanRL's runs) go on common steps with
  `--grid N`, by the TensorBoard import's rule (`rlab.interop.tensorboard`).
- **Run history** (`run.history()` of several runs in one table, or the
  UI's history export): a row per logging call, so a metric logged in one
  call is empty in the rows of the others. Rows are read per metric: the
  rows of one run at one step are merged (each column's logged value), and
  the steps where the return was not logged are left out, and so is a
  further metric not logged at every step that logs the return. An empty
  cell is "not logged"; a logged NaN (written `NaN`) stays a NaN.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pandas as pd

from rlab.errors import UsageError
from rlab.interop import contract, tensorboard

PANEL_COLUMN = re.compile(r"^(?P<run>.+) - (?P<metric>.+?)(?P<range>__MIN|__MAX)?$")


def read(path, metric: str | None = None, run_pattern: str | None = None, preset: str | None = None,
         mapping: dict[str, str] | None = None, grid: int | None = None) -> pd.DataFrame:
    """Contract rows of a W&B CSV export (panel or run history; see the module docstring)."""
    path = pathlib.Path(path)
    try:
        # Every cell as text: an empty cell (not logged) and a logged "NaN" must stay apart.
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: cannot read a CSV table ({str(err).splitlines()[0] if str(err) else err})") \
            from None
    if "Step" in table.columns and any(PANEL_COLUMN.match(c) for c in table.columns):
        if mapping:
            raise UsageError("--map is for run histories; a panel export names runs through --run-pattern or "
                             "--preset")
        return _panel(path, table, metric, tensorboard.compile_run_pattern(run_pattern, preset), grid)
    if grid is not None:
        raise UsageError("--grid is for a panel export's per-episode points; a run history has its own steps")
    return _history(path, table, mapping or {})


def _panel(path, table: pd.DataFrame, metric: str | None, pattern: re.Pattern, grid: int | None) -> pd.DataFrame:
    columns = {c: PANEL_COLUMN.match(c) for c in table.columns if c != "Step"}
    data = {c: m for c, m in columns.items() if m and not m["range"]}
    metrics = sorted({m["metric"] for m in data.values()})
    if metric is None:
        if len(metrics) != 1:
            raise UsageError(f"{path}: the panel holds {len(metrics)} metrics ({', '.join(metrics[:6])}); allowed: "
                             "--metric NAME, one of them")
        metric = metrics[0]
    elif metric not in metrics:
        raise UsageError(f"{path}: no metric {metric!r} in the panel; it holds {', '.join(metrics[:6])}")
    steps = pd.to_numeric(table["Step"].replace("", None), errors="coerce")
    rows, unmatched = [], []
    for column, match in data.items():
        if match["metric"] != metric:
            continue
        run = pattern.fullmatch(match["run"])
        if not run:
            unmatched.append(match["run"])
            continue
        logged = table[column] != ""
        env = {f"env.{k[4:]}": v for k, v in run.groupdict().items() if k.startswith("env_")}
        part = pd.DataFrame({"algo": run["algo"], "seed": run["seed"], **env, "env_steps": steps[logged],
                             "eval_return": table.loc[logged, column]})
        if grid is not None:  # per-episode points (CleanRL's runs): the tensorboard import's bins
            part = _binned(path, match["run"], part, grid)
        part["eval"] = range(len(part))
        rows.append(part)
    if unmatched:
        raise UsageError(f"{path}: {len(unmatched)} run name(s) do not match the run pattern {pattern.pattern!r} "
                         f"(first: {unmatched[0]!r}); allowed: --run-pattern with groups algo and seed, or --preset")
    if not rows:
        raise UsageError(f"{path}: no runs of {metric!r}")
    if grid is None and len({tuple(part["env_steps"]) for part in rows}) > 1:
        raise UsageError(f"{path}: the runs log {metric!r} at different steps (per-episode points, as CleanRL's?); "
                         "allowed: --grid N, which averages the points in each N env steps")
    return _numeric(pd.concat(rows, ignore_index=True))


def _binned(path, run: str, part: pd.DataFrame, grid: int) -> pd.DataFrame:
    """One run's points on common steps: the mean of the values in each bin of `grid` env steps, and their count."""
    steps = part["env_steps"].to_numpy().astype(np.int64)
    values = pd.to_numeric(part["eval_return"], errors="coerce").to_numpy()
    empty = tensorboard.empty_bin(steps, grid)
    if empty is not None:
        raise UsageError(f"{path}: {run}: nothing logged between steps {empty - grid:,} and {empty:,} (a bin of "
                         f"--grid {grid:,}); allowed: a larger --grid")
    series = tensorboard.bin_means({"eval_return": (steps, values)}, grid)
    first = part.iloc[0]
    keys = {c: first[c] for c in part.columns if c not in ("env_steps", "eval_return")}
    return pd.DataFrame({**keys, "env_steps": list(series["eval_return"]),
                         "eval_return": list(series["eval_return"].values()),
                         tensorboard.EPISODES: list(series[tensorboard.EPISODES].values())})


def _history(path, table: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    missing = [f"{ours}={theirs}" for ours, theirs in mapping.items() if theirs not in table.columns]
    if missing:
        raise UsageError(f"{path}: --map {', '.join(missing)}: no such column; it has "
                         f"{', '.join(map(str, table.columns[:20]))}")
    table = table.rename(columns={theirs: ours for ours, theirs in mapping.items()})
    needed = [c for c in ("algo", "seed", "env_steps", "eval_return") if c not in table.columns]
    if needed:
        raise UsageError(f"{path}: no column {', '.join(needed)}; allowed: a run history with --map, e.g. --map "
                         "seed=seed --map env_steps=global_step --map eval_return=charts/episodic_return")
    keys = [*contract.config_columns(table), "seed", "env_steps"]
    if (table[keys] == "").any(axis=None):
        raise UsageError(f"{path}: rows with an empty {', '.join(k for k in keys if (table[k] == '').any())}: every "
                         "logging call needs its run and step")
    # Per run and step, each column's logged value (empty cells are the other logging calls').
    merged = (table.replace("", None).groupby(keys, sort=False, dropna=False).first().reset_index())
    merged = merged[merged["eval_return"].notna()].copy()
    if merged.empty:
        raise UsageError(f"{path}: no row logs the return")
    # A further metric not logged at every step that logs the return (losses, logged between evaluations)
    # is left out: its empty cells would read as NaN values, and a NaN marks a diverged evaluation.
    others = [c for c in merged.columns if c not in (*keys, "eval_return", "eval_success")]
    merged = merged.drop(columns=[c for c in others if merged[c].isna().any()])
    merged["env_steps"] = pd.to_numeric(merged["env_steps"], errors="coerce")
    merged = merged.sort_values([*contract.config_columns(merged), "seed", "env_steps"], kind="stable")
    merged["eval"] = merged.groupby([*contract.config_columns(merged), "seed"], dropna=False).cumcount()
    return _numeric(merged.drop(columns=[c for c in merged.columns if c.startswith("_")]))


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells of numbers as numbers ("NaN" a NaN); text that is no number stays, for the contract to name."""
    for column in frame.columns:
        if column == "algo" or column.startswith(("env.", "hp.")):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        text = frame[column].astype(str).str.strip().str.lower()
        unreadable = values.isna() & frame[column].notna() & ~text.isin(["nan", "inf", "-inf", "infinity"])
        if not unreadable.any():
            frame[column] = values
    return frame
