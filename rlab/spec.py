"""Experiment specs: a TOML file declaring a grid of environments x algorithms x seeds.

    name = "point_mass_dims"           # optional; default: the file's stem
    env = "cheese_point_mass"
    seeds = 64                         # seeds 0..63; or {start = 100, count = 64}
    env_steps_per_eval = 5120          # the training budget between evaluations, the same for every algorithm
    num_evals = 10                     # evaluations (or total_env_steps = 51200)
    chunk_size = 64                    # optional: lanes (seed x float value) per stored chunk
    lane_width = 8                     # optional: lanes per compiled program (default: the chunk split over
                                       # the devices; "measure": the fastest width timed on this device)

    [env_params]                       # fixed environment parameters
    reward = "sparse"

    [env_axes]                         # grid axes over environment parameters
    dim = [1, 2, 3, 4]

    [algorithms.ppo]                   # one table per algorithm: fixed hyperparameters...
    num_envs = 16
    [algorithms.ppo.axes]              # ...and grid axes over hyperparameters
    learning_rate = [3e-4, 1e-3]

    [algorithms.openai_es]

Axes over float hyperparameters run inside the same compiled program as the
seeds; every other axis value compiles its own program. `load` validates
everything before anything compiles and reports every problem at once, each
with the file and key.

A budget (`env_steps_per_eval`) makes the spec a fair comparison: every
algorithm derives its training iterations from it, so every configuration is
evaluated on the same grid of env steps, with the same number of evaluation
episodes (checked). A configuration whose batch cannot reach the budget
exactly is an error naming the nearest budgets it can reach. Without a
budget, each algorithm's `iterations_per_eval` decides and the report refuses
to compare configurations whose step grids differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import pathlib
import re
import tomllib
from typing import Any, Mapping

import numpy as np

import envs
import rlab.trainers
from envs.params import ParamError, resolve
from rlab import blocks
from rlab.errors import UsageError
from rlab.limits import (  # noqa: F401 (also read as spec.NAME)
    MAX_CHUNK_SIZE, MAX_CHUNKS, MAX_ENV_STEPS_PER_SEED, MAX_EVALS, MAX_LANE_WIDTH, MAX_LANES, MAX_SEED,
)

TOP_LEVEL_KEYS = (
    "name", "env", "seeds", "env_steps_per_eval", "num_evals", "total_env_steps", "chunk_size", "lane_width",
    "env_params", "env_axes", "algorithms", "protocol",
)
# `[protocol]`: tuning seeds apart from reporting seeds (`rlab tune`).
PROTOCOL_KEYS = ("tuning_seeds", "report_seeds", "select", "phase")
SELECTION_RULES = ("iqm", "lower_bound")
PHASES = ("tuning", "report")
MAX_NAME = 100
MEASURE_WIDTH = "measure"
ALLOWED_LANE_WIDTHS = f"an integer from 1 to {MAX_LANE_WIDTH} (lanes per compiled program), or {MEASURE_WIDTH!r}"
NAME_PATTERN = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")
# Grid cells (environment x hyperparameter combinations) a spec may declare before it is refused.
MAX_CELLS = 10_000

# Hyperparameters the spec's budget sets for every algorithm.
BUDGET_HPARAMS = ("env_steps_per_eval", "iterations_per_eval")


class SpecError(UsageError):
    """One or more problems in a spec file; the message lists each with its key."""


@dataclasses.dataclass(frozen=True)
class AlgoConfig:
    """One algorithm of a spec: fixed hyperparameters and grid axes (name -> values)."""

    name: str
    hparams: Mapping[str, Any]
    axes: Mapping[str, tuple]

    def float_axes(self) -> dict[str, tuple]:
        kinds = {p.name: p.kind for p in rlab.trainers.lookup(self.name).params}
        return {k: v for k, v in self.axes.items() if kinds[k] is float}

    def static_axes(self) -> dict[str, tuple]:
        floats = self.float_axes()
        return {k: v for k, v in self.axes.items() if k not in floats}


@dataclasses.dataclass(frozen=True)
class Spec:
    """A validated experiment spec. `text` is the file as given."""

    name: str
    env: str
    env_params: Mapping[str, Any]
    env_axes: Mapping[str, tuple]
    algorithms: tuple[AlgoConfig, ...]
    seed_start: int
    num_seeds: int
    num_evals: int
    chunk_size: int | None
    text: str
    env_steps_per_eval: int | None = None
    lane_width: int | str | None = None
    protocol: Mapping[str, Any] | None = None  # `[protocol]`, checked (see `_protocol`)

    @property
    def seeds(self) -> range:
        return range(self.seed_start, self.seed_start + self.num_seeds)

    def with_seeds(self, num_seeds: int) -> "Spec":
        return dataclasses.replace(self, num_seeds=num_seeds)

    def identity(self) -> dict:
        """Everything that determines a seed's results (not the number of seeds)."""
        return {
            "env": self.env,
            "env_params": dict(self.env_params),
            "env_axes": {k: list(v) for k, v in self.env_axes.items()},
            "algorithms": [
                {"name": a.name, "hparams": dict(a.hparams), "axes": {k: list(v) for k, v in a.axes.items()}}
                for a in self.algorithms
            ],
            "seed_start": self.seed_start,
            "num_evals": self.num_evals,
            # Only when set, so that specs without a budget keep their identity.
            **({"env_steps_per_eval": self.env_steps_per_eval} if self.env_steps_per_eval else {}),
        }

    def identity_hash(self) -> str:
        canonical = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def groups(self) -> list["Group"]:
        """The spec's groups, in a fixed order: environment axes slowest, then algorithms, then static axes."""
        result = []
        budget = {"env_steps_per_eval": self.env_steps_per_eval} if self.env_steps_per_eval else {}
        for env_combo in combinations(self.env_axes):
            for algo in self.algorithms:
                floats = tuple(combinations(algo.float_axes()))
                for static_combo in combinations(algo.static_axes()):
                    result.append(
                        Group(
                            index=len(result), algo=algo.name,
                            env_params={**self.env_params, **env_combo}, env_axes=env_combo,
                            hparams={**algo.hparams, **static_combo, **budget}, static_axes=static_combo,
                            float_combos=floats,
                        )
                    )
        return result

    def chunks(self, chunk_size: int) -> list["Chunk"]:
        """Every group's chunks of at most `chunk_size` lanes, groups in order (see `Group.chunks`).

        Raises:
          UsageError: the plan would exceed MAX_CHUNKS chunks or MAX_LANES lanes
            (counted before any is made), the chunk size is outside 1 to
            MAX_CHUNK_SIZE, or a group has more float combinations than a chunk holds.
        """
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise UsageError(f"chunk size {chunk_size:,}; allowed: an integer from 1 to {MAX_CHUNK_SIZE:,}")
        groups = self.groups()
        lanes = self.num_seeds * sum(len(group.float_combos) for group in groups)
        if lanes > MAX_LANES:
            raise UsageError(
                f"the sweep would train {lanes:,} lanes ({self.num_seeds:,} seeds over {len(groups)} groups and their "
                f"float combinations); allowed: at most {MAX_LANES:,}"
            )
        total = 0
        for group in groups:
            total += -(-self.num_seeds // max(chunk_size // len(group.float_combos), 1))
            if total > MAX_CHUNKS:
                raise UsageError(
                    f"the sweep would have more than {MAX_CHUNKS:,} chunks ({len(groups)} groups x "
                    f"{self.num_seeds:,} seeds in chunks of {chunk_size} lanes); allowed: fewer seeds or groups, "
                    "or a larger --chunk-size"
                )
        return [chunk for group in groups for chunk in group.chunks(self.seed_start, self.num_seeds, chunk_size)]


@dataclasses.dataclass(frozen=True)
class Group:
    """Grid cells sharing one compiled program: they differ only in float hyperparameters.

    Attributes:
      index: position in the spec's enumeration (fixes the group id).
      algo: algorithm name.
      env_params: every environment parameter (fixed and this group's axis values).
      env_axes: this group's values of the spec's environment axes.
      hparams: every hyperparameter given (fixed, static axes, the budget).
      static_axes: its values of the algorithm's non-float axes.
      float_combos: every combination of the algorithm's float axes ([{}] if none).
    """

    index: int
    algo: str
    env_params: dict
    env_axes: dict
    hparams: dict
    static_axes: dict
    float_combos: tuple[dict, ...]

    @property
    def id(self) -> str:
        return f"g{self.index:03d}"

    def describe(self) -> dict:
        return {
            "algo": self.algo, "env_axes": self.env_axes, "static_axes": self.static_axes,
            "float_combos": list(self.float_combos),
        }

    def chunks(self, seed_start: int, num_seeds: int, chunk_size: int) -> list["Chunk"]:
        """Cuts the group's lanes into chunks by fixed blocks of seeds.

        Seed block b holds seeds seed_start + [b * k, (b + 1) * k) with
        k = chunk_size // (number of float combinations), so adding seeds to a
        sweep only fills the last block and appends new ones.
        """
        num_floats = len(self.float_combos)
        if num_floats > chunk_size:
            raise UsageError(
                f"chunk size {chunk_size} is smaller than the {num_floats} float-hyperparameter combinations "
                f"of {self.algo}; allowed: a chunk size >= {num_floats}"
            )
        chunks = []
        for block, seeds in enumerate(blocks.seed_blocks(seed_start, num_seeds, chunk_size // num_floats)):
            lanes = tuple((seed, f) for seed in seeds for f in range(num_floats))
            chunks.append(Chunk(blocks.chunk_id(self.id, block), block, seeds, lanes, self))
        return chunks


@dataclasses.dataclass(frozen=True)
class Chunk:
    """The unit stored, resumed and shared among processes: `lanes` = (seed, float-combo index) pairs."""

    id: str
    block: int
    seeds: tuple[int, ...]
    lanes: tuple[tuple[int, int], ...]
    group: Group | None = None


def load(path: str | pathlib.Path) -> Spec:
    """Reads and validates a spec file.

    Raises:
      SpecError: listing every problem, one per line, as "FILE: KEY: message".
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(f"{path}: cannot read: {err.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    return parse(raw, text, str(path), default_name=path.stem)


def parse(raw: Mapping[str, Any], text: str = "", source: str = "<spec>", default_name: str = "sweep") -> Spec:
    """Validates a parsed TOML mapping; see `load`."""
    problems: list[str] = []

    def problem(key: str, message: str) -> None:
        problems.append(f"{source}: {key}: {message}")

    if "imported" in raw:  # DIR/spec.toml of an imported directory (`rlab.interop`)
        raise SpecError(f"{source}: records results imported with `rlab import` ({(raw['imported'] if isinstance(raw['imported'], dict) else {}).get('format', '?')} "
                        "file), not an experiment rlab can run")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problem(key, f"unknown key; allowed: {', '.join(TOP_LEVEL_KEYS)}")

    name = raw.get("name", default_name)
    name_problem = name_error(name)
    if name_problem:
        problem("name", name_problem)

    env_id = raw.get("env")
    env_spec = None
    if env_id is None:
        problem("env", f"missing; allowed: one of {', '.join(envs.registered())}, or package.module:Name")
    else:
        try:
            env_spec = envs.lookup(str(env_id))
        except ParamError as err:
            problem("env", str(err))
            env_id = None

    protocol = _protocol(raw.get("protocol"), problem)
    seed_start, num_seeds = 0, None
    seeds = raw.get("seeds")
    if seeds is None and protocol and "report_seeds" in protocol:
        seeds = {"start": protocol["report_seeds"][0], "count": protocol["report_seeds"][1]}
    if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1:
        num_seeds = seeds
    elif isinstance(seeds, dict) and set(seeds) <= {"start", "count"} and _positive_int(seeds.get("count")) and (
        _nonnegative_int(seeds.get("start", 0))
    ):
        seed_start, num_seeds = seeds.get("start", 0), seeds["count"]
    else:
        problem("seeds", f"{seeds!r}; allowed: an integer >= 1, or {{start = S, count = N}}")
    if num_seeds is not None and seed_start + num_seeds > MAX_SEED + 1:
        problem("seeds", f"seeds {seed_start}..{seed_start + num_seeds - 1}; allowed: seeds 0..{MAX_SEED} (32-bit keys)")
        num_seeds = None

    budget = raw.get("env_steps_per_eval")
    if budget is not None and not _positive_int(budget):
        problem("env_steps_per_eval", f"{budget!r}; allowed: an integer >= 1 (training env steps per evaluation)")
        budget = None
    num_evals = _num_evals(raw, budget, problem)
    if budget is not None and num_evals is not None and budget * num_evals > MAX_ENV_STEPS_PER_SEED:
        problem("env_steps_per_eval", f"{budget:,} x {num_evals:,} evaluations = {budget * num_evals:,} env steps "
                f"per seed; allowed: at most {MAX_ENV_STEPS_PER_SEED:,} (trainers count env steps in int32)")
    chunk_size = raw.get("chunk_size")
    if chunk_size is not None and not (_positive_int(chunk_size) and chunk_size <= MAX_CHUNK_SIZE):
        problem("chunk_size", f"{chunk_size!r}; allowed: an integer from 1 to {MAX_CHUNK_SIZE:,}")
    lane_width = raw.get("lane_width")
    if not is_lane_width(lane_width):
        problem("lane_width", f"{lane_width!r}; allowed: {ALLOWED_LANE_WIDTHS}")

    env_params = _table(raw, "env_params", problem)
    env_axes = _axes(raw.get("env_axes", {}), "env_axes", problem)
    for axis in env_axes:
        if axis in env_params:
            problem(f"env_axes.{axis}", "also given in env_params; give it once")
    env_cells = _cells(env_axes)
    if env_cells > MAX_CELLS:
        problem("env_axes", f"{env_cells:,} combinations; allowed: at most {MAX_CELLS:,} grid cells per spec")
        env_id = None
    if env_id is not None:
        _check_grid(env_id, env_spec.params, env_params, env_axes, "env_params/env_axes", problem)

    algorithms = []
    algo_tables = raw.get("algorithms")
    known = rlab.trainers.registered()
    if not isinstance(algo_tables, dict) or not algo_tables:
        problem("algorithms", f"missing or empty; add a table such as [algorithms.ppo]; allowed: {', '.join(known)}")
        algo_tables = {}
    for algo, table in algo_tables.items():
        key = f"algorithms.{algo}"
        try:
            algorithm = rlab.trainers.lookup(algo)
        except ParamError as err:
            problem(key, str(err))
            continue
        if not isinstance(table, dict):
            problem(key, "must be a table")
            continue
        hparams = {k: v for k, v in table.items() if k != "axes"}
        axes = _axes(table.get("axes", {}), f"{key}.axes", problem)
        for axis in axes:
            if axis in hparams:
                problem(f"{key}.axes.{axis}", "also given as a fixed hyperparameter; give it once")
        cells = env_cells * _cells(axes)
        if cells > MAX_CELLS:
            problem(f"{key}.axes", f"{cells:,} grid cells with the env axes; allowed: at most {MAX_CELLS:,} per spec")
            continue
        if budget is not None:
            for budget_key in BUDGET_HPARAMS:
                if budget_key in hparams or budget_key in axes:
                    problem(f"{key}.{budget_key}", f"the spec's env_steps_per_eval = {budget} sets it; remove it")
            hparams = {k: v for k, v in hparams.items() if k not in BUDGET_HPARAMS}
            axes = {k: v for k, v in axes.items() if k not in BUDGET_HPARAMS}
        _check_grid(algo, algorithm.params, hparams, axes, key, problem)
        algorithms.append(AlgoConfig(algo, hparams, axes))

    if budget is not None and env_id is not None and not problems:
        _check_budget(env_id, env_params, env_axes, algorithms, budget, problem)

    if problems:
        raise SpecError("\n".join(problems))
    return Spec(
        name=name, env=env_id, env_params=env_params, env_axes=env_axes, algorithms=tuple(algorithms),
        seed_start=seed_start, num_seeds=num_seeds, num_evals=num_evals, chunk_size=chunk_size, text=text,
        env_steps_per_eval=budget, lane_width=lane_width, protocol=protocol,
    )


def _protocol(table, problem) -> dict | None:
    """`[protocol]` checked: tuning_seeds and report_seeds as (start, count), disjoint; the selection rule."""
    if table is None:
        return None
    if not isinstance(table, dict):
        problem("protocol", "must be a table with tuning_seeds, report_seeds and select")
        return None
    for key in table:
        if key not in PROTOCOL_KEYS:
            problem(f"protocol.{key}", f"unknown key; allowed: {', '.join(PROTOCOL_KEYS)}")
    result: dict = {}
    for key in ("tuning_seeds", "report_seeds"):
        value = table.get(key)
        if not (isinstance(value, dict) and set(value) <= {"start", "count"} and _nonnegative_int(value.get("start", 0))
                and _positive_int(value.get("count")) and value["count"] >= 2
                and value.get("start", 0) + value["count"] <= MAX_SEED + 1):
            problem(f"protocol.{key}", f"{value!r}; allowed: {{start = S, count = N}} with N >= 2")
            continue
        result[key] = (value.get("start", 0), value["count"])
    if len(result) == 2:
        (a, n), (b, m) = result["tuning_seeds"], result["report_seeds"]
        if a < b + m and b < a + n:
            problem("protocol", f"tuning seeds {a}..{a + n - 1} and report seeds {b}..{b + m - 1} overlap; allowed: "
                    "disjoint ranges (a result tuned and reported on the same seeds is optimistic by construction)")
    select = table.get("select", "iqm")
    if select not in SELECTION_RULES:
        problem("protocol.select", f"{select!r}; allowed: {', '.join(SELECTION_RULES)}")
    result["select"] = select
    phase = table.get("phase")
    if phase is not None and phase not in PHASES:
        problem("protocol.phase", f"{phase!r}; allowed: {', '.join(PHASES)} (set by rlab tune)")
    if phase is not None:
        result["phase"] = phase
    return result


def is_lane_width(value) -> bool:
    """Whether `value` is a lane width a run accepts: None (the rule), an integer 1..MAX_LANE_WIDTH, or "measure".

    The one check of a lane width, wherever one is given (spec, command line, `rlab.train`, the sweep runner).
    """
    return value is None or value == MEASURE_WIDTH or (_positive_int(value) and value <= MAX_LANE_WIDTH)


def name_error(name) -> str | None:
    """Why `name` cannot name a sweep directory (it becomes `runs/<name>`), or None.

    Allowed: 1-100 characters of letters, digits, '.', '_' and '-', not
    starting with '.': no path separators, no '..', nothing absolute, no
    control characters.
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return (f"{name!r}; allowed: 1-{MAX_NAME} characters of letters, digits, '.', '_' and '-', "
                "not starting with '.' (it names the directory runs/<name>)")
    return None


def _num_evals(raw, budget, problem) -> int | None:
    """`num_evals`, or `total_env_steps / env_steps_per_eval`; exactly one of the two."""
    num_evals, total = raw.get("num_evals"), raw.get("total_env_steps")
    if total is None:
        if not (_positive_int(num_evals) and num_evals <= MAX_EVALS):
            problem("num_evals", f"{num_evals!r}; allowed: an integer from 1 to {MAX_EVALS:,} "
                                 "(or total_env_steps with a budget)")
            return None
        return num_evals
    if num_evals is not None:
        problem("total_env_steps", "give num_evals or total_env_steps, not both")
    elif budget is None:
        problem("total_env_steps", "needs env_steps_per_eval (the budget between evaluations)")
    elif not _positive_int(total) or total % budget or total // budget > MAX_EVALS:
        problem("total_env_steps", f"{total!r}; allowed: a positive multiple of env_steps_per_eval = {budget}, "
                                   f"at most {MAX_EVALS:,} times it (evaluations)")
    else:
        return total // budget
    return None


def _check_budget(env_id, env_params, env_axes, algorithms, budget, problem) -> None:
    """Every configuration reaches the budget exactly, and all evaluate with the same number of episodes."""
    eval_episodes, failed = {}, set()
    for env_combo in _combinations(env_axes):
        env = envs.make(env_id, **{**env_params, **env_combo})
        for algo in algorithms:
            for combo in _combinations(algo.axes):
                if algo.name in failed:
                    break
                try:
                    values = rlab.trainers.resolve_hparams(
                        algo.name, env, **{**algo.hparams, **combo, "env_steps_per_eval": budget}
                    )
                except ParamError as err:
                    where = ", ".join(f"{k}={v}" for k, v in {**env_combo, **combo}.items())
                    problem(f"algorithms.{algo.name}", f"{err}" + (f" (at {where})" if where else ""))
                    failed.add(algo.name)
                    break
                eval_episodes[values["eval_episodes"]] = algo.name
    if len(eval_episodes) > 1:
        problem(
            "algorithms",
            "configurations evaluate with different eval_episodes "
            f"({', '.join(f'{n} ({a})' for n, a in eval_episodes.items())}); a comparison needs one evaluation: give all the same",
        )


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _nonnegative_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _table(raw, key, problem) -> dict:
    table = raw.get(key, {})
    if not isinstance(table, dict):
        problem(key, "must be a table of name = value")
        return {}
    return dict(table)


def _axes(table, key, problem) -> dict[str, tuple]:
    if not isinstance(table, dict):
        problem(key, "must be a table of name = [values]")
        return {}
    axes = {}
    for name, values in table.items():
        if not isinstance(values, list) or not values:
            problem(f"{key}.{name}", f"{values!r}; allowed: a non-empty list of values")
        elif not _distinct(values):
            problem(f"{key}.{name}", f"{values!r} repeats a value")
        else:
            axes[name] = tuple(values)
    return axes


def _distinct(values: list) -> bool:
    """No value repeats, by repr and by equality (so 1 and 1.0 are one value)."""
    try:
        equal = len(set(values)) != len(values)
    except TypeError:  # unhashable values (tables, lists): their reprs decide
        equal = False
    return not equal and len(set(map(repr, values))) == len(values)


def _cells(axes: Mapping[str, tuple]) -> int:
    return int(np.prod([len(v) for v in axes.values()], dtype=object)) if axes else 1


def _combinations(axes: Mapping[str, tuple]):
    names = list(axes)
    for values in itertools.product(*(axes[n] for n in names)):
        yield dict(zip(names, values))


def _check_grid(owner, declared, fixed, axes, key, problem) -> None:
    """Validates every combination of `axes` over `fixed`; reports each distinct problem once."""
    seen = set()
    for combo in _combinations(axes):
        try:
            resolve(owner, declared, {**fixed, **combo})
        except ParamError as err:
            for line in str(err).removeprefix(f"{owner}: ").splitlines():
                if line.strip() not in seen:
                    seen.add(line.strip())
                    problem(key, line.strip())


def combinations(axes: Mapping[str, tuple]) -> list[dict]:
    """Every combination of axis values, in a fixed order (the first axis varies slowest)."""
    return list(_combinations(axes))
