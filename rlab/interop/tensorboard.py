"""TensorBoard event files -> the data contract's rows: one run per directory, every event kept or refused.

    rlab import tensorboard runs/ --out runs/cleanrl --preset cleanrl --grid 10000

A run directory's name gives its algorithm and seed through a regular
expression with named groups `algo` and `seed` (and `env_<name>` groups,
which become `env.<name>` columns). `--preset cleanrl` is CleanRL's layout,
`runs/{env_id}__{exp_name}__{seed}__{unix_time}`: env id (as `env.env`), algorithm (the
experiment name), seed.

Two kinds of logs:

- **Evaluations** (the default): one value per evaluation. Every run must
  log the return tag at the same steps; a tag logged twice at one step, or
  a step that goes back (a run restarted into the same directory), is
  refused in one line naming the run, the tag and the step: nothing is
  overwritten.
- **Per-episode logs** (`--grid N`), as CleanRL writes
  `charts/episodic_return` whenever an episode ends, at that moment's global
  step, so steps differ per seed and two episodes can end at one step. Each
  logged value goes to the bin (k-1) N < step <= k N, recorded at env step
  k N; a bin's value is the mean of the values logged in it, and the count of
  the return tag's values is kept as the metric `episodes`. A run whose bin
  holds no value (between its first and last) is refused: choose a larger N.
  A step that goes back is refused here too.

Read with TensorBoard's own event reader (`EventAccumulator`, its purge of
"orphaned" events after a restart turned off, so that a restart is seen).
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pandas as pd

from rlab import limits
from rlab.errors import UsageError
from rlab.store import files

DEFAULT_PATTERN = r"(?P<algo>.+)_seed(?P<seed>\d+)"
PRESETS = {
    # runs/{env_id}__{exp_name}__{seed}__{int(time.time())}, CleanRL's run name.
    "cleanrl": r"(?P<env_env>.+?)__(?P<algo>.+?)__(?P<seed>\d+)__(?P<started>\d+)",
}
# The return tag a preset's runs log, used when --return-tag is not given.
PRESET_RETURN_TAGS = {"cleanrl": "charts/episodic_return"}
EPISODES = "episodes"
MAX_PROBLEMS = 10


def compile_run_pattern(run_pattern: str | None, preset: str | None) -> re.Pattern:
    """The compiled run-name pattern from `--run-pattern` or `--preset`; a UsageError for a bad one."""
    if run_pattern and preset:
        raise UsageError("--run-pattern and --preset exclude each other: a preset is a run pattern")
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"--preset = {preset!r}; allowed: {', '.join(PRESETS)}")
    text = PRESETS[preset] if preset else (run_pattern or DEFAULT_PATTERN)
    try:
        pattern = re.compile(text)
    except re.error as err:
        raise UsageError(f"--run-pattern {text!r}: not a regular expression ({err})") from None
    if not {"algo", "seed"} <= set(pattern.groupindex):
        raise UsageError(f"--run-pattern {text!r}: needs the named groups (?P<algo>...) and (?P<seed>...)")
    return pattern


def read(path, return_tag: str, success_tag: str | None = None, run_pattern: str | None = None,
         other_tags: tuple[str, ...] = (), preset: str | None = None, grid: int | None = None) -> pd.DataFrame:
    """Contract rows of the TensorBoard runs under `path` (see the module docstring).

    Args:
      return_tag: the scalar tag that becomes `eval_return`.
      success_tag: a scalar tag in [0, 1] that becomes `eval_success`.
      other_tags: further scalar tags, each kept as a metric of its own name.
      grid: N, env steps per bin for per-episode logs; None: the logs are evaluations.
    """
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise UsageError("importing TensorBoard logs needs TensorBoard: pip install 'rlab[tensorboard]'") from None
    path = pathlib.Path(path)
    pattern = compile_run_pattern(run_pattern, preset)
    tags = _tags(return_tag, success_tag, other_tags)
    if grid is not None and not 1 <= grid <= limits.MAX_IMPORT_INTEGER:
        raise UsageError(f"--grid = {grid}; allowed: an integer from 1 to {limits.MAX_IMPORT_INTEGER:,} (env steps per "
                         "bin)")
    event_files = sorted(path.rglob("*tfevents*"))
    for event_file in event_files:  # a FIFO or a device there would block TensorBoard's reader for good
        files.check_readable(event_file, limits.MAX_IMPORT_BYTES, "TensorBoard event file")
    run_dirs = sorted({p.parent for p in event_files})
    if not run_dirs:
        raise UsageError(f"{path}: no TensorBoard event files (events.out.tfevents.*) under it")
    rows, problems, grids = [], [], {}
    grouped: dict[str, list[str]] = {}  # a kind of problem -> the runs that have it, said once for them all
    for run_dir in run_dirs:
        name = str(run_dir.relative_to(path)) if run_dir != path else path.name
        match = pattern.fullmatch(name)
        if not match:
            problems.append(f"{name}: does not match the run pattern {pattern.pattern!r}")
            continue
        accumulator = event_accumulator.EventAccumulator(
            str(run_dir), size_guidance={event_accumulator.SCALARS: 0}, purge_orphaned_data=False)
        accumulator.Reload()
        available = accumulator.Tags().get("scalars", [])
        logged = {}
        for tag, column in tags.items():
            if tag not in available:
                problems.append(f"{name}: no scalar tag {tag!r} (has {', '.join(available[:10]) or 'none'})")
                continue
            events = accumulator.Scalars(tag)
            logged[column] = (np.array([e.step for e in events], np.int64), np.array([e.value for e in events]))
        if len(logged) != len(tags):
            continue
        problem = _order_problem(name, tags, logged, allow_same_step=grid is not None)
        if problem:
            kind, detail = problem
            grouped.setdefault(kind, []).append(f"{name} {detail}")
            continue
        if grid:
            empty = empty_bin(logged["eval_return"][0], grid)
            if empty is not None:
                grouped.setdefault("empty", []).append(f"{name} between steps {empty - grid:,} and {empty:,}")
                continue
        series = bin_means(logged, grid) if grid else {c: dict(zip(*v)) for c, v in logged.items()}
        steps = sorted(series["eval_return"])
        mismatched = [c for c, v in series.items() if sorted(v) != steps]
        if mismatched:
            problems.append(f"{name}: {', '.join(mismatched)} logged at other steps than {return_tag} "
                            + ("" if grid else "(per-episode logs? --grid N bins them)"))
            continue
        env = {f"env.{k[4:]}": v for k, v in match.groupdict().items() if k.startswith("env_")}
        grids.setdefault((match["algo"], *env.values()), set()).add(tuple(steps))
        for position, step in enumerate(steps):
            rows.append({"algo": match["algo"], "seed": int(match["seed"]), **env, "eval": position,
                         "env_steps": step, **{c: float(v[step]) for c, v in series.items()}})
    for kind, runs in grouped.items():
        named = "; ".join(runs[:3]) + (f"; and {len(runs) - 3} more" if len(runs) > 3 else "")
        problems.append(f"{len(runs)} run(s): {GROUPED[kind].format(tag=return_tag, grid=grid)}: {named}")
    if not problems and grid is None:
        ragged = [key for key, found in grids.items() if len(found) > 1]
        if ragged:
            problems.append(f"the runs of {ragged[0][0]} log {return_tag} at different steps (per-episode logs, as "
                            "CleanRL's?); allowed: --grid N, which averages the values logged in each N env steps")
    if problems:
        more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        raise UsageError(f"{path}: " + "; ".join(problems[:MAX_PROBLEMS]) + more)
    return pd.DataFrame(rows)


def _tags(return_tag: str, success_tag: str | None, other_tags) -> dict[str, str]:
    """{tag: the column it becomes}; a UsageError where one tag is asked for twice."""
    named = [("--return-tag", return_tag)] + ([("--success-tag", success_tag)] if success_tag else []) \
        + [("--tag", t) for t in other_tags]
    seen: dict[str, str] = {}
    for flag, tag in named:
        if tag in seen:
            raise UsageError(f"{flag} {tag!r} is already read as {seen[tag]}; allowed: each tag once")
        seen[tag] = flag
    return {return_tag: "eval_return", **({success_tag: "eval_success"} if success_tag else {}),
            **{t: t for t in other_tags}}


# How each kind of problem found in several runs is said, once.
GROUPED = {
    "back": "a tag goes back to an earlier step (a run restarted into the same directory?); allowed: one run per "
            "directory",
    "twice": "a tag logged twice at one step; allowed: one value per step, or --grid N for per-episode logs (as "
             "CleanRL's, whose values are then averaged per bin)",
    "empty": "nothing of {tag} logged in a bin of --grid {grid:,}; allowed: a larger --grid",
}


def _order_problem(name: str, tags: dict, logged: dict, allow_same_step: bool) -> tuple[str, str] | None:
    """(kind, where) for a tag whose steps go back (a restart) or, for evaluations, repeat; None when in order."""
    by_column = {column: tag for tag, column in tags.items()}
    for column, (steps, _) in logged.items():
        if steps.size < 2:
            continue
        back = np.flatnonzero(steps[1:] < steps[:-1])
        if back.size:
            i = back[0]
            return "back", f"({by_column[column]}: step {steps[i]:,}, then {steps[i + 1]:,})"
        same = np.flatnonzero(steps[1:] == steps[:-1])
        if same.size and not allow_same_step:
            return "twice", f"({by_column[column]} at step {steps[same[0]]:,})"
    return None


def empty_bin(steps: np.ndarray, grid: int) -> int | None:
    """The env step closing the first bin, between a run's first and last, where nothing was logged; or None."""
    bins = np.unique(np.ceil(steps / grid).astype(np.int64))
    missing = np.setdiff1d(np.arange(bins.min(), bins.max() + 1), bins)
    return int(missing[0]) * grid if missing.size else None


def bin_means(logged: dict, grid: int) -> dict[str, dict]:
    """Per column, {bin's env step: mean of the values logged in it}; the return's counts as `episodes`.

    A bin k holds the values logged at steps (k-1) N < step <= k N and is recorded at step k N.
    """
    series = {}
    for column, (steps, values) in logged.items():
        bins = np.ceil(steps / grid).astype(np.int64)
        frame = pd.DataFrame({"bin": bins, "value": values}).groupby("bin")["value"].agg(["mean", "size"])
        series[column] = {int(k * grid): float(v) for k, v in frame["mean"].items()}
        if column == "eval_return":
            series[EPISODES] = {int(k * grid): float(n) for k, n in frame["size"].items()}
    return series
