"""The data contract: the tidy long table every rlab sweep stores, and every import must become.

One row per (run, evaluation); a run is one seed of one configuration on one
task. Columns:

| column | dtype | required | meaning |
|---|---|---|---|
| `algo` | string | yes | algorithm (configuration name) |
| `seed` | int64 | yes | the run's seed (or run index) |
| `eval` | int64 | yes | evaluation index, 0, 1, ... in the order of `env_steps` |
| `env_steps` | int64 | yes | training env steps at that evaluation |
| `eval_return` | float64 | yes | mean evaluation return |
| `eval_success` | float64 in [0, 1] | no | share of evaluation episodes that succeeded |
| `env.<name>` | any scalar | no | the task and its parameters (`env.task`, `env.dim`, ...) |
| `hp.<name>` | any scalar | no | hyperparameters that distinguish configurations |
| any other name | float64 | no | further metrics, one value per row |

The store adds `group` (string), `hp_index` (int64), `diverged` (bool: any
metric of the run not finite) and `diverged_eval` (int64, -1 if none).
rlab's own sweeps keep their metrics in float32 and `env_steps` in int32;
`normalise` casts to the dtypes above, which holds every float32 and int32
value exactly, so exports and imports compare bit for bit.

A configuration is an (`algo`, `hp.*`, `env.*`) combination; within one,
every seed must have the same evaluations at the same env steps, and a seed
must appear once. `normalise` says by name what breaks that, and guesses
nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlab import limits
from rlab.errors import UsageError

REQUIRED = {"algo": "string", "seed": "int64", "eval": "int64", "env_steps": "int64", "eval_return": "float64"}
STORE_COLUMNS = ("group", "hp_index", "diverged", "diverged_eval")
# Problems listed before the rest are summarised as "and N more".
MAX_PROBLEMS = 10


def config_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that name a configuration: algo, hp.*, env.*."""
    return ["algo", *sorted(c for c in frame.columns if c.startswith(("hp.", "env.")) and c != "hp_index")]


def normalise(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """`frame` checked against the contract and cast to its dtypes, sorted; a UsageError naming every problem.

    Args:
      source: how the data is named in messages (a file, a format).
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UsageError(f"{source}: no column {', '.join(missing)}; allowed: a table with columns "
                         f"{', '.join(REQUIRED)} (and optionally eval_success, env.*, hp.*, further metrics)")
    frame = frame.drop(columns=[c for c in STORE_COLUMNS if c in frame.columns]).copy()
    problems = []
    for column in ("seed", "eval", "env_steps"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        # Bounded before the cast: int64 would wrap a larger value, and inf is no integer at all.
        beyond = ~bad & ~values.abs().le(limits.MAX_IMPORT_INTEGER)
        if bad.any():
            problems.append(f"{column} = {frame[column][bad].iloc[0]!r} is not an integer ({int(bad.sum())} rows)")
        elif beyond.any():
            problems.append(f"{column} = {frame[column][beyond].iloc[0]} is out of range ({int(beyond.sum())} "
                            f"rows); allowed: integers from -{limits.MAX_IMPORT_INTEGER:,} to "
                            f"{limits.MAX_IMPORT_INTEGER:,}")
        else:
            frame[column] = values.astype("int64")
    metrics = [c for c in frame.columns if c not in ("algo", "seed", "eval", "env_steps")
               and not c.startswith(("env.", "hp."))]
    for column in metrics:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            problems.append(f"{column} = {frame[column][bad].iloc[0]!r} is not a number ({int(bad.sum())} rows)")
        else:
            frame[column] = values.astype("float64")
    if "eval_success" in frame.columns and not problems:
        outside = ~frame["eval_success"].between(0.0, 1.0) & frame["eval_success"].notna()
        if outside.any():
            problems.append(f"eval_success = {frame['eval_success'][outside].iloc[0]!r} is outside [0, 1]")
    for column in sorted(c for c in frame.columns if c.startswith("env.")):
        # An empty task value would drop its runs from every grouping of the report (pandas' dropna).
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():
            problems.append(f"{column} is empty in {int(empty.sum())} rows (first: algo {frame['algo'][empty].iloc[0]} "
                            f"seed {frame['seed'][empty].iloc[0]}); allowed: a value in every row, or no {column} "
                            "column")
    frame["algo"] = frame["algo"].astype(str)
    if not problems:
        problems += _shape_problems(frame)
    if problems:
        more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        raise UsageError(f"{source}: " + "; ".join(problems[:MAX_PROBLEMS]) + more)
    order = [*config_columns(frame), "seed", "eval"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def _shape_problems(frame: pd.DataFrame) -> list[str]:
    """Duplicate rows, and seeds of one configuration whose evaluations differ (ragged runs or steps)."""
    problems = []
    configs = config_columns(frame)
    duplicated = frame.duplicated([*configs, "seed", "eval"], keep=False)
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        problems.append(f"{_name(row, configs)} seed {row['seed']} eval {row['eval']} appears "
                        f"{int(duplicated.sum())} times in all (duplicate seeds?)")
        return problems
    for _, rows in frame.groupby(configs, dropna=False, sort=True):
        ordered = rows.sort_values(["seed", "eval"], kind="stable")
        seeds, starts, lengths = np.unique(ordered["seed"].to_numpy(), return_index=True, return_counts=True)
        pairs = ordered[["eval", "env_steps"]].to_numpy(np.int64)  # (eval, env_steps), seed by seed
        modal_length = int(np.bincount(lengths).argmax())
        # Every seed's grid as a row of a [seeds, evals * 2] array (seeds of another length stay out).
        same = lengths == modal_length
        offsets = starts[same][:, None] + np.arange(modal_length)[None, :]
        grids = pairs[offsets].reshape(int(same.sum()), -1)
        unique, counts = np.unique(grids, axis=0, return_counts=True)
        common = unique[counts.argmax()]
        common_grid = tuple(map(tuple, common.reshape(-1, 2)))
        ragged = np.flatnonzero(~same)
        differing = np.flatnonzero(same)[~(grids == common).all(axis=1)]
        for index in np.sort(np.concatenate([ragged, differing]))[:MAX_PROBLEMS + 1]:
            grid = pairs[starts[index]:starts[index] + lengths[index]]
            problems.append(f"{_name(rows.iloc[0], configs)} seed {seeds[index]}: evaluations "
                            f"{_grid(tuple(map(tuple, grid)))} where the other seeds have {_grid(common_grid)} "
                            "(ragged runs or steps)")
        if len(problems) > MAX_PROBLEMS:
            return problems
        evals = [int(e) for e, _ in common_grid]
        if evals != list(range(len(evals))):
            problems.append(f"{_name(rows.iloc[0], configs)}: evaluation indexes {evals[:6]} are not 0, 1, 2, ...")
        steps = [int(s) for _, s in common_grid]
        if any(b <= a for a, b in zip(steps, steps[1:])):
            problems.append(f"{_name(rows.iloc[0], configs)}: env steps {steps[:6]} do not increase")
    return problems


def _name(row, configs) -> str:
    return " ".join(f"{c}={row[c]}" for c in configs)


def _grid(grid) -> str:
    steps = [s for _, s in grid]
    shown = ", ".join(f"{s:,}" for s in steps[:4]) + (", ..." if len(steps) > 4 else "")
    return f"{len(steps)} at steps [{shown}]"
