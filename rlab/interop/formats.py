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

FORMATS = ("marl-eval", "rliable", "tidy", "tensorboard", "wandb")
_SEED_KEY, _STEP_KEY = re.compile(r"^(?:seed|run)_(\d+)$"), re.compile(r"^step_(\d+)$")


# ----- marl-eval / Stoix JSON -------------------------------------------------------------------


# The per-step metrics that become `eval_return` when --metric is not given, in order: marl-eval's
# README calls it "return"; Stoix and Mava write "episode_return".
RETURN_METRICS = ("return", "episode_return")
ABSOLUTE = "absolute_metrics"
# Columns that keep a run's absolute metrics (marl-eval's final evaluation with more episodes).
ABSOLUTE_PREFIX = "absolute_"


def read_marl_eval(path, metric: str | None = None, success_metric: str | None = None) -> pd.DataFrame:
    """marl-eval JSON -> contract rows: env.env, env.task, algo, seed, eval, env_steps, eval_return, metrics.

    Runs are keyed `seed_<k>` or `run_<k>` (both styles of marl-eval's
    examples). A run's `absolute_metrics` are kept as columns
    `absolute_<metric>` (the same value on each of its rows; the return's
    as `absolute_eval_return`, the success's as `absolute_eval_success`).

    Args:
      metric: the per-step metric that becomes `eval_return`; default: the
        first of RETURN_METRICS that every step has.
      success_metric: a per-step metric in [0, 1] that becomes `eval_success` (e.g. "win_rate");
        default: "success" where every step has it (what `write_marl_eval` writes), else none.
    """
    path = pathlib.Path(path)
    data = _read_json(path)
    if metric is None:
        metric = next((m for m in RETURN_METRICS if _every_step_has(data, m)), RETURN_METRICS[0])
    if success_metric is None and _every_step_has(data, "success"):
        success_metric = "success"
    rows, problems = [], []
    missing: dict[str, list[str]] = {}  # a metric -> the steps without it: said once, not once per step
    for env_name, tasks in _items(data, path.name, problems):
        for task, algos in _items(tasks, f"{env_name}", problems):
            for algo, seeds in _items(algos, f"{env_name}/{task}", problems):
                for seed_key, steps in _items(seeds, f"{env_name}/{task}/{algo}", problems):
                    where = f"{env_name}/{task}/{algo}/{seed_key}"
                    seed = _SEED_KEY.match(seed_key)
                    if not seed:
                        problems.append(f"{where}: a run key must read seed_<integer> or run_<integer>")
                        continue
                    if not isinstance(steps, dict):
                        problems.append(f"{where}: expected a table of steps, found {type(steps).__name__}")
                        continue
                    absolute = _absolute(steps.get(ABSOLUTE), f"{where}/{ABSOLUTE}", problems,
                                         {metric: "eval_return", success_metric: "eval_success"})
                    step_keys = sorted((k for k in steps if k != ABSOLUTE), key=_step_number)
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
                               "eval": position, "env_steps": step["step_count"], **absolute}
                        for name, values in step.items():
                            if name == "step_count":
                                continue
                            value = _mean(values)
                            if value is None:
                                problems.append(f"{here}/{name}: {str(values)[:40]} is not a number or a list of "
                                                "numbers")
                                continue
                            row[name] = value
                        wanted = [metric] + ([success_metric] if success_metric is not None else [])
                        absent = [m for m in wanted if m not in row]
                        for name in absent:
                            missing.setdefault(name, []).append(here)
                        if absent:
                            continue
                        row["eval_return"] = row.pop(metric)
                        if success_metric is not None:
                            row["eval_success"] = row.pop(success_metric)
                        rows.append(row)
    for name, steps in missing.items():
        has = sorted({k for k in _first_step(data) if k != "step_count"})
        problems.append(f"no metric {name!r} in {len(steps)} step(s) (first: {steps[0]}; the steps have "
                        f"{', '.join(has) or 'nothing'}); choose it with --metric" + (
                            "" if name == metric else " / --success-metric"))
    _raise(path, problems)
    if not rows:
        raise UsageError(f"{path}: no runs found; allowed: {{env: {{task: {{algo: {{seed_k: {{step_k: "
                         "{step_count, metric: [...]}}}}}}}}}} (marl-eval's format)")
    return pd.DataFrame(rows)


def _absolute(node, where: str, problems: list[str], renamed: dict) -> dict[str, float]:
    """A run's absolute_metrics as {absolute_<metric>: mean} (the return's as absolute_eval_return); {} if none."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        problems.append(f"{where}: expected {{metric: [values]}}, found {type(node).__name__}")
        return {}
    kept = {}
    for name, values in node.items():
        value = _mean(values)
        if value is None:
            problems.append(f"{where}/{name}: {str(values)[:40]} is not a number or a list of numbers")
            continue
        kept[ABSOLUTE_PREFIX + renamed.get(name, name)] = value
    return kept


def _step_entries(data):
    """Every (key, entry) of every run of a marl-eval tree; AttributeError or TypeError where it is malformed."""
    for tasks in data.values():
        for algos in tasks.values():
            for seeds in algos.values():
                for steps in seeds.values():
                    yield from steps.items()


def _first_step(data) -> dict:
    """The first step entry of a marl-eval tree, or {} (for naming what steps hold)."""
    try:
        return next((step for key, step in _step_entries(data) if key != ABSOLUTE and isinstance(step, dict)), {})
    except (AttributeError, TypeError):
        return {}


def _every_step_has(data, name: str) -> bool:
    """Whether every step entry of a marl-eval tree (assumed well formed) has the metric `name`."""
    try:
        steps = [step for key, step in _step_entries(data) if key != ABSOLUTE]
        return bool(steps) and all(name in step for step in steps)
    except (AttributeError, TypeError):  # malformed: the reader says where
        return False


def write_marl_eval(frame: pd.DataFrame, path, env_name: str = "rlab") -> None:
    """Contract rows -> marl-eval JSON, strict (no NaN tokens), as marl-eval's `data_process_pipeline` reads it.

    The environment is `env.env` where the rows have it, else `env_name`
    (a sweep's environment id); the task is `env.task` and/or the other
    env.* values (`dim=2;horizon=10`), else the environment's name. Each
    metric is a one-element list (marl-eval keeps one value per evaluation
    episode; rlab stores their mean); `eval_return` is written as "return",
    `eval_success` as "success". Every run ends with `absolute_metrics`
    (marl-eval's plots read them from each run's last entry): the imported
    `absolute_<metric>` columns where the run has them, else the final
    evaluation's, for every metric the steps have. Configurations that differ in hp.* are named
    `algo[hp=value;...]` (marl-eval refuses commas in algorithm names).

    Raises:
      UsageError: a value that JSON cannot hold (NaN, infinite), or two configurations that get one name.
    """
    renamed = {"eval_return": "return", "eval_success": "success"}
    # One order whatever the table's column order, so that an export of its own import is the same bytes:
    # the return and success first, then the others by name.
    first = {"eval_return": 0, "eval_success": 1}
    metrics = sorted((m for m in metric_columns(frame) if not m.startswith(ABSOLUTE_PREFIX)),
                     key=lambda m: (first.get(m, 2), renamed.get(m, m)))
    absolute_columns = sorted((c for c in frame.columns if c.startswith(ABSOLUTE_PREFIX)),
                              key=lambda c: (first.get(c[len(ABSOLUTE_PREFIX):], 2), c))
    values = frame[metrics + absolute_columns].to_numpy(np.float64)
    if not np.isfinite(values).all():
        bad = frame[~np.isfinite(values).all(axis=1)].iloc[0]
        count = int((~np.isfinite(values)).sum())
        raise UsageError(f"{count} value(s) are NaN or infinite (first: {bad['algo']} seed {bad['seed']} eval "
                         f"{bad['eval']}), which marl-eval's JSON cannot hold; allowed: export tidy or rliable, "
                         "which keep them")
    env_columns = sorted(c for c in frame.columns if c.startswith("env.") and c not in ("env.env", "env.task"))
    names = _configuration_names(frame)
    tree: dict = {}
    last_of_run: dict = {}
    for index, row in frame.iterrows():
        env = str(row["env.env"]) if "env.env" in frame.columns else env_name
        task = _task_name(row, env_columns, frame) or env
        step = {"step_count": int(row["env_steps"])}
        for name in metrics:
            step[renamed.get(name, name)] = [float(row[name])]
        run_key = (env, task, names[index], f"seed_{int(row['seed'])}")
        runs = tree.setdefault(env, {}).setdefault(task, {}).setdefault(names[index], {})
        runs.setdefault(run_key[3], {})[f"step_{int(row['eval'])}"] = step
        if run_key not in last_of_run or row["eval"] > last_of_run[run_key][0]:
            # Every metric of the steps (marl-eval's DiagnoseData wants one metric list in every entry),
            # each the final evaluation's unless the run has its own absolute value.
            absolute = {k: v for k, v in step.items() if k != "step_count"}
            for column in absolute_columns:
                name = column[len(ABSOLUTE_PREFIX):]
                absolute[renamed.get(name, name)] = [float(row[column])]
            last_of_run[run_key] = (row["eval"], absolute)
    for (env, task, algo, seed_key), (_, absolute) in last_of_run.items():
        tree[env][task][algo][seed_key][ABSOLUTE] = absolute
    pathlib.Path(path).write_text(json.dumps(tree, indent=1, allow_nan=False))


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
    frame = frame.assign(_task=task_of, _algo=_configuration_names(frame))
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
    extra = {"tasks": np.array(tasks), **({} if final else {"steps": steps})}
    taken = sorted(set(arrays) & set(extra))
    if taken:
        raise UsageError(f"an algorithm named {taken[0]!r} would collide with the file's {taken[0]!r} array (the "
                         "task names or the env steps); rename it (rlab import --name, or the spec) first")
    _write_npz(path, {**arrays, **extra})


def _write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz (a zip of .npy files) with one member per name, whatever the name.

    `np.savez(file, **arrays)` takes the names as keyword arguments, so an
    algorithm named `file` (or `allow_pickle`) collides with its own
    parameters; the archive is written member by member instead.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            # A fixed timestamp: the same arrays give the same bytes (np.savez stamps the time of writing).
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


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
    """`env.task` and/or the other env.* values (`dim=2;horizon=10`); "" where the rows have neither."""
    if "env.task" in frame.columns:
        base = str(row["env.task"])
        rest = [c for c in env_columns]
    else:
        base, rest = "", env_columns
    parts = [f"{c[4:]}={row[c]}" for c in rest]
    return base + (("[" + ";".join(parts) + "]") if base and parts else ";".join(parts))


def _algo_name(row, frame) -> str:
    hp = [c for c in sorted(frame.columns) if c.startswith("hp.") and pd.notna(row[c])]
    return str(row["algo"]) + ("[" + ";".join(f"{c[3:]}={row[c]}" for c in hp) + "]" if hp else "")


def _configuration_names(frame: pd.DataFrame) -> pd.Series:
    """Each row's configuration name (`_algo_name`); a UsageError where two configurations get one name.

    An algorithm literally named `ppo[learning_rate=0.1]` beside `ppo` with
    that hyperparameter would be merged into one configuration, losing one.
    """
    names = pd.Series([_algo_name(r, frame) for _, r in frame.iterrows()], index=frame.index)
    hp = [c for c in frame.columns if c.startswith("hp.")]
    keys = frame[["algo", *hp]].apply(lambda column: column.map(str)).agg("\x1f".join, axis=1)
    clash = pd.DataFrame({"name": names, "key": keys}).drop_duplicates().groupby("name")["key"].nunique()
    if (clash > 1).any():
        name = clash[clash > 1].index[0]
        raise UsageError(f"two configurations would both be named {name!r} in the file (an algorithm named so, and "
                         "another with those hyperparameters); rename one (rlab import --name, or the spec) first")
    return names


def _task_names(tasks, count: int, path) -> list[str]:
    if tasks is None:
        return [f"task{i}" for i in range(count)]
    names = [str(t) for t in np.asarray(tasks).ravel()]
    if len(names) != count:
        raise UsageError(f"{path}: tasks names {len(names)} tasks, the arrays hold {count}")
    return names
