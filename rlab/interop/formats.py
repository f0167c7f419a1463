"""Readers and writers of the formats other tools log to, each to or from the data contract's table.

- `marl-eval`: marl-eval's and Stoix's JSON, `{env: {task: {algo: {seed_k:
  {step_k: {step_count, metric: [values], ...}, absolute_metrics: {...}}}}}}`.
  A metric's list (one value per evaluation episode) becomes its mean.
- `rliable`: an `.npz` of rliable's score arrays, `{algo: [runs, tasks]}` or
  `{algo: [runs, tasks, evals]}` (curves); tasks are named by position
  (or by a `tasks` array of names), runs become seeds 0, 1, ...
- `tidy`: a CSV or Parquet table with one row per run x evaluation, its
  columns mapped onto the contract's (`--map seed=run --map
  eval_return=charts/episodic_return`); W&B and TensorBoard exports become this.
- `tensorboard`: one run per directory of TensorBoard event files
  (`rlab.interop.tensorboard`).

Every reader returns a table for `contract.normalise`; problems are
UsageErrors naming the file and the key.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import zipfile

import numpy as np
import pandas as pd

from rlab import limits
from rlab.errors import UsageError
from rlab.interop import contract
from rlab.store import files

FORMATS = ("marl-eval", "rliable", "tidy", "tensorboard")
_SEED_KEY, _STEP_KEY = re.compile(r"^seed_(\d+)$"), re.compile(r"^step_(\d+)$")


# ----- marl-eval / Stoix JSON -------------------------------------------------------------------


def read_marl_eval(path, metric: str = "return", success_metric: str | None = None) -> pd.DataFrame:
    """marl-eval JSON -> contract rows: env.env, env.task, algo, seed, eval, env_steps, eval_return, metrics.

    Args:
      metric: the per-step metric that becomes `eval_return` (marl-eval's "return" by default).
      success_metric: a per-step metric in [0, 1] that becomes `eval_success` (e.g. "win_rate");
        default: "success" where every step has it (what `write_marl_eval` writes), else none.
    """
    if success_metric is None and _every_step_has(_read_json(pathlib.Path(path)), "success"):
        success_metric = "success"
    path = pathlib.Path(path)
    data = _read_json(path)
    rows, problems = [], []
    for env_name, tasks in _items(data, path.name, problems):
        for task, algos in _items(tasks, f"{env_name}", problems):
            for algo, seeds in _items(algos, f"{env_name}/{task}", problems):
                for seed_key, steps in _items(seeds, f"{env_name}/{task}/{algo}", problems):
                    where = f"{env_name}/{task}/{algo}/{seed_key}"
                    seed = _SEED_KEY.match(seed_key)
                    if not seed:
                        problems.append(f"{where}: a run key must read seed_<integer>")
                        continue
                    step_keys = sorted((k for k in steps if k != "absolute_metrics"), key=_step_number)
                    for position, step_key in enumerate(step_keys):
                        step = steps[step_key]
                        here = f"{where}/{step_key}"
                        if not _STEP_KEY.match(step_key) or not isinstance(step, dict):
                            problems.append(f"{here}: a step must be step_<integer>: {{step_count, metric: [...]}}")
                            continue
                        if "step_count" not in step:
                            problems.append(f"{here}: no step_count")
                            continue
                        row = {"env.env": env_name, "env.task": task, "algo": algo, "seed": int(seed.group(1)),
                               "eval": position, "env_steps": step["step_count"]}
                        for name, values in step.items():
                            if name == "step_count":
                                continue
                            value = _mean(values)
                            if value is None:
                                problems.append(f"{here}/{name}: {str(values)[:40]} is not a number or a list of "
                                                "numbers")
                                continue
                            row[name] = value
                        if metric not in row:
                            problems.append(f"{here}: no metric {metric!r} (has {', '.join(sorted(step))}); "
                                            "choose it with --metric")
                            continue
                        row["eval_return"] = row.pop(metric)
                        if success_metric is not None:
                            if success_metric not in row:
                                problems.append(f"{here}: no success metric {success_metric!r}")
                                continue
                            row["eval_success"] = row.pop(success_metric)
                        rows.append(row)
    _raise(path, problems)
    if not rows:
        raise UsageError(f"{path}: no runs found; allowed: {{env: {{task: {{algo: {{seed_k: {{step_k: "
                         "{step_count, metric: [...]}}}}}}}}}} (marl-eval's format)")
    return pd.DataFrame(rows)


def _every_step_has(data, name: str) -> bool:
    """Whether every step entry of a marl-eval tree (assumed well formed) has the metric `name`."""
    found = False
    try:
        for tasks in data.values():
            for algos in tasks.values():
                for seeds in algos.values():
                    for steps in seeds.values():
                        for key, step in steps.items():
                            if key != "absolute_metrics":
                                if name not in step:
                                    return False
                                found = True
    except AttributeError:  # malformed: the reader says where
        return False
    return found


def write_marl_eval(frame: pd.DataFrame, path) -> None:
    """Contract rows -> marl-eval JSON: env from `env.env` (else "rlab"), task from the other env.* values.

    Each metric is written as a one-element list (marl-eval keeps one value
    per evaluation episode; rlab stores their mean); `eval_return` is written
    as "return" and `eval_success` as "success". Configurations that differ
    in hp.* get the algorithm name `algo[hp=value,...]`.
    """
    tree: dict = {}
    metrics = metric_columns(frame)
    renamed = {"eval_return": "return", "eval_success": "success"}
    env_columns = sorted(c for c in frame.columns if c.startswith("env.") and c not in ("env.env", "env.task"))
    for _, row in frame.iterrows():
        env_name = str(row["env.env"]) if "env.env" in frame.columns else "rlab"
        task = _task_name(row, env_columns, frame)
        algo = _algo_name(row, frame)
        step = {"step_count": int(row["env_steps"])}
        for name in metrics:
            step[renamed.get(name, name)] = [float(row[name])]
        runs = tree.setdefault(env_name, {}).setdefault(task, {}).setdefault(algo, {})
        runs.setdefault(f"seed_{int(row['seed'])}", {})[f"step_{int(row['eval'])}"] = step
    pathlib.Path(path).write_text(json.dumps(tree, indent=1, allow_nan=True))


# ----- rliable arrays -----------------------------------------------------------------------


def read_rliable(path, metric: str = "eval_return", steps: str | None = None) -> pd.DataFrame:
    """rliable score arrays -> contract rows: one task column `env.task`, runs as seeds 0, 1, ...

    Args:
      metric: which contract column the scores become (`eval_return`, or `eval_success` for scores in [0, 1]).
      steps: for curves `[runs, tasks, evals]`, the name of an array in the file holding the env steps
        of each evaluation `[evals]`; without it, evaluations are numbered 1, 2, ... as their steps.
    """
    path = pathlib.Path(path)
    if metric not in ("eval_return", "eval_success"):
        raise UsageError(f"--metric = {metric!r}; allowed for rliable arrays: eval_return, eval_success")
    try:
        values = files.npz_values(path)  # from the headers, before anything is decompressed
        if values > limits.MAX_IMPORT_VALUES:
            raise UsageError(f"{path}: its arrays hold {values:,} numbers; allowed: at most "
                             f"{limits.MAX_IMPORT_VALUES:,}")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        if isinstance(err, UsageError):
            raise
        raise UsageError(f"{path}: not a NumPy .npz file ({err})") from None
    tasks = arrays.pop("tasks", None)
    grid = arrays.pop(steps, None) if steps else None
    if steps and grid is None:
        raise UsageError(f"{path}: no array {steps!r} (--steps); it holds {', '.join(sorted(arrays))}")
    rows, problems = [], []
    shapes = {}
    for algo, scores in arrays.items():
        if scores.ndim not in (2, 3) or not np.issubdtype(scores.dtype, np.number) or 0 in scores.shape:
            problems.append(f"{algo}: shape {scores.shape} ({scores.dtype}); allowed: [runs, tasks] or "
                            "[runs, tasks, evals] of numbers")
            continue
        shapes[algo] = scores.shape[1:]
        curves = scores if scores.ndim == 3 else scores[:, :, None]
        names = _task_names(tasks, curves.shape[1], path)
        evals = curves.shape[2]
        step_values = np.arange(1, evals + 1) if grid is None else np.asarray(grid)
        if step_values.shape != (evals,):
            problems.append(f"{algo}: {evals} evaluations, but {steps} holds {step_values.shape}")
            continue
        run, task, ev = np.meshgrid(np.arange(curves.shape[0]), np.arange(curves.shape[1]), np.arange(evals),
                                    indexing="ij")
        part = pd.DataFrame({"algo": algo, "env.task": np.asarray(names)[task.ravel()], "seed": run.ravel(),
                             "eval": ev.ravel(), "env_steps": step_values[ev.ravel()],
                             metric: curves.astype(np.float64).ravel()})
        if metric != "eval_return":
            part["eval_return"] = part[metric]
        rows.append(part)
    if len(set(shapes.values())) > 1:
        problems.append("algorithms differ in tasks or evaluations: " + ", ".join(f"{a} {s}" for a, s in shapes.items()))
    _raise(path, problems)
    if not rows:
        raise UsageError(f"{path}: no score arrays; allowed: {{algo: [runs, tasks] or [runs, tasks, evals]}}")
    return pd.concat(rows, ignore_index=True)


def write_rliable(frame: pd.DataFrame, path, metric: str = "eval_return", final: bool = False) -> None:
    """Contract rows -> rliable arrays: `{algo: [runs, tasks, evals]}` (`[runs, tasks]` with `final`).

    Tasks are the env.* combinations (named in a `tasks` array), runs the
    seeds in order, evaluations the `eval` index (`steps` holds the env
    steps). Every configuration must have the same seeds count, tasks and
    evaluations (rliable's arrays are dense).
    """
    env_columns = sorted(c for c in frame.columns if c.startswith("env."))
    task_of = frame[env_columns].astype(str).agg(",".join, axis=1) if env_columns else pd.Series("task", frame.index)
    frame = frame.assign(_task=task_of, _algo=[_algo_name(r, frame) for _, r in frame.iterrows()])
    tasks = sorted(frame["_task"].unique())
    evals = sorted(frame["eval"].unique())
    arrays, problems = {}, []
    for algo, rows in frame.groupby("_algo", sort=True):
        seeds = sorted(rows["seed"].unique())
        cube = rows.pivot_table(index="seed", columns=["_task", "eval"], values=metric, aggfunc="first",
                                dropna=False).reindex(columns=pd.MultiIndex.from_product([tasks, evals]))
        values = cube.to_numpy(np.float64).reshape(len(seeds), len(tasks), len(evals))
        if np.isnan(values).any() and not frame[metric].isna().any():
            problems.append(f"{algo}: not every seed has every task and evaluation (rliable arrays are dense)")
        arrays[algo] = values[:, :, -1] if final else values
    _raise(pathlib.Path(path), problems)
    steps = frame.groupby("eval")["env_steps"].first().reindex(evals).to_numpy(np.int64)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays, tasks=np.array(tasks), **({} if final else {"steps": steps}))


# ----- tidy CSV / Parquet -------------------------------------------------------------------


def read_tidy(path, mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet table -> contract rows, its columns renamed by `mapping` (contract name -> file's name).

    A mapped `eval` may be omitted: evaluations are then numbered by
    `env_steps` within each run. Columns not mapped keep their names.
    """
    path = pathlib.Path(path)
    if is_parquet(path):
        _check_parquet_size(path)
    try:
        table = pd.read_parquet(path) if is_parquet(path) else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: cannot read a {'Parquet' if is_parquet(path) else 'CSV'} table "
                         f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    mapping = mapping or {}
    missing = [f"{ours}={theirs}" for ours, theirs in mapping.items() if theirs not in table.columns]
    if missing:
        raise UsageError(f"{path}: --map {', '.join(missing)}: no such column; it has "
                         f"{', '.join(map(str, table.columns[:20]))}")
    table = table.rename(columns={theirs: ours for ours, theirs in mapping.items()})
    if "eval" not in table.columns and {"env_steps", "seed", "algo"} <= set(table.columns):
        keys = [c for c in contract.config_columns(table)] + ["seed"]
        table["eval"] = table.groupby(keys, dropna=False)["env_steps"].rank(method="dense").astype("int64") - 1
    return table


def write_tidy(frame: pd.DataFrame, path, parquet: bool = False) -> None:
    """The contract table as CSV (floats as float64, written exactly: shortest round-trip digits) or Parquet."""
    if parquet:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, float_format=None)


def _check_parquet_size(path) -> None:
    """Refuses a Parquet file whose rows x columns (from its footer) exceed `limits.MAX_IMPORT_VALUES`."""
    import pyarrow.parquet

    try:
        meta = pyarrow.parquet.ParquetFile(path).metadata
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise UsageError(f"{path}: cannot read a Parquet table ({str(err).splitlines()[0]})") from None
    if meta.num_rows * max(meta.num_columns, 1) > limits.MAX_IMPORT_VALUES:
        raise UsageError(f"{path}: {meta.num_rows:,} rows x {meta.num_columns} columns; allowed: at most "
                         f"{limits.MAX_IMPORT_VALUES:,} values")


def is_parquet(path) -> bool:
    return pathlib.Path(path).suffix in (".parquet", ".pq")


# ----- helpers ------------------------------------------------------------------------------


def _read_json(path: pathlib.Path):
    try:
        return json.loads(files.read_bounded_text(path, limits.MAX_IMPORT_BYTES, "JSON file"),
                          object_pairs_hook=_refusing_duplicates)
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not JSON ({err})") from None


def _refusing_duplicates(pairs):
    """A JSON object as a dict; a key given twice (a duplicate seed, say) is an error, not a silent overwrite."""
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise UsageError(f"key {key!r} appears twice in one object (duplicate seeds or steps?)")
        seen[key] = value
    return seen


def _items(node, where: str, problems: list[str]):
    if not isinstance(node, dict):
        problems.append(f"{where}: expected a table of named entries, found {type(node).__name__}")
        return []
    return node.items()


def _step_number(key: str) -> float:
    match = _STEP_KEY.match(key)
    return int(match.group(1)) if match else math.inf


def _mean(values) -> float | None:
    if isinstance(values, bool):
        return None
    if isinstance(values, (int, float)):
        return float(values)
    if isinstance(values, list) and values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in values):
        return float(np.mean(values))
    return None


def _raise(path, problems: list[str]) -> None:
    if problems:
        more = f"; and {len(problems) - contract.MAX_PROBLEMS} more" if len(problems) > contract.MAX_PROBLEMS else ""
        raise UsageError(f"{path}: " + "; ".join(problems[:contract.MAX_PROBLEMS]) + more)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("algo", "seed", "eval", "env_steps", *contract.STORE_COLUMNS)
            and not c.startswith(("env.", "hp."))]


def _task_name(row, env_columns, frame) -> str:
    if "env.task" in frame.columns:
        base = str(row["env.task"])
        rest = [c for c in env_columns]
    else:
        base, rest = "", env_columns
    parts = [f"{c[4:]}={row[c]}" for c in rest]
    return base + (("[" + ",".join(parts) + "]") if base and parts else ",".join(parts)) or "task"


def _algo_name(row, frame) -> str:
    hp = [c for c in sorted(frame.columns) if c.startswith("hp.") and pd.notna(row[c])]
    return str(row["algo"]) + ("[" + ",".join(f"{c[3:]}={row[c]}" for c in hp) + "]" if hp else "")


def _task_names(tasks, count: int, path) -> list[str]:
    if tasks is None:
        return [f"task{i}" for i in range(count)]
    names = [str(t) for t in np.asarray(tasks).ravel()]
    if len(names) != count:
        raise UsageError(f"{path}: tasks names {len(names)} tasks, the arrays hold {count}")
    return names
