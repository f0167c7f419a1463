"""The sweep runner: every cell x seed of a spec, in chunks, persisted as it goes.

Grid cells that differ only in float hyperparameters form one *group* and share
one compiled program: their values ride along with the seeds as lanes. A
group's lanes are cut into chunks of at most `chunk_size` lanes by fixed
blocks of seeds (the unit stored, resumed and shared among processes), and
each chunk runs with the lane runner (`rlab.lanes`) in programs of W lanes,
W chosen per group by rule (a chunk's lanes split over the devices) and
recorded. A seed's results
depend only on the spec, the seed and W, never on how many other seeds run,
on the chunk size or on the number of devices blocks are spread over.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.errors import UsageError
from rlab.results import SweepStore
from rlab import lanes, xla

DEFAULT_MAX_CHUNK = 64


@dataclasses.dataclass(frozen=True)
class Group:
    """Grid cells sharing one compiled program.

    Attributes:
      index: position in the spec's enumeration (fixes the group id).
      algo: algorithm name.
      env_axes: this group's values of the spec's environment axes.
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


def groups(spec: spec_lib.Spec) -> list[Group]:
    """The spec's groups, in a fixed order: environment axes slowest, then algorithms."""
    result = []
    budget = {"env_steps_per_eval": spec.env_steps_per_eval} if spec.env_steps_per_eval else {}
    for env_combo in spec_lib.combinations(spec.env_axes):
        for algo in spec.algorithms:
            floats = tuple(spec_lib.combinations(algo.float_axes()))
            for static_combo in spec_lib.combinations(algo.static_axes()):
                result.append(
                    Group(
                        index=len(result), algo=algo.name,
                        env_params={**spec.env_params, **env_combo}, env_axes=env_combo,
                        hparams={**algo.hparams, **static_combo, **budget}, static_axes=static_combo,
                        float_combos=floats,
                    )
                )
    return result


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One compiled call: `lanes` = (seed, float-combo index) pairs, at most chunk_size of them."""

    id: str
    block: int
    seeds: tuple[int, ...]
    lanes: tuple[tuple[int, int], ...]


def plan_chunks(group: Group, seed_start: int, num_seeds: int, chunk_size: int) -> list[Chunk]:
    """Cuts a group's lanes into chunks by fixed blocks of seeds.

    Seed block b holds seeds seed_start + [b * k, (b + 1) * k) with
    k = chunk_size // (number of float combinations), so adding seeds to a
    sweep only fills the last block and appends new ones.
    """
    num_floats = len(group.float_combos)
    if num_floats > chunk_size:
        raise UsageError(
            f"chunk size {chunk_size} is smaller than the {num_floats} float-hyperparameter combinations "
            f"of {group.algo}; allowed: a chunk size >= {num_floats}"
        )
    seeds_per_block = chunk_size // num_floats
    chunks = []
    for block in range(math.ceil(num_seeds / seeds_per_block)):
        first = seed_start + block * seeds_per_block
        seeds = tuple(range(first, min(first + seeds_per_block, seed_start + num_seeds)))
        lanes = tuple((seed, f) for seed in seeds for f in range(num_floats))
        chunks.append(Chunk(f"{group.id}-c{block:05d}", block, seeds, lanes))
    return chunks


def default_chunk_size(trainers, num_devices: int, budget_bytes: int | None = None, probe_lanes: int = 8) -> int:
    """Lanes per stored chunk when the user sets none.

    Memory per lane is read from XLA's plan for one `probe_lanes`-wide step
    of each trainer and charged as that plan divided by its lanes: the plan's
    fixed part is counted once per lane, an overestimate that can only make
    chunks smaller. One compile per algorithm, at the width the run will use
    (`sweep.run` probes at the rule's width for the largest chunk), on the
    trainer object the run then uses for that group, so the run reuses it
    (a physics program compiles in 40-90 s on a 2-core CPU). The chunk is
    the largest that fits half the available memory (or `budget_bytes`) on
    every device, capped at 64 lanes, a power of two times the device count
    so that chunks shard evenly.
    """
    budget = budget_bytes if budget_bytes is not None else lanes.available_memory_bytes() // 2
    fits = DEFAULT_MAX_CHUNK
    for trainer in trainers:
        per_lane = max(lanes.step_bytes(trainer, probe_lanes, jax.local_devices()[0]) / probe_lanes, 1.0)
        fits = min(fits, int(budget / per_lane) * num_devices)
    size = num_devices
    while size * 2 <= fits:
        size *= 2
    return size


def run_chunk(trainer, group: Group, chunk: Chunk, width: int, num_evals: int, devices, on_eval=None):
    """Trains one chunk with the lane runner: (metrics name -> [lanes, evals] numpy, final states [lanes])."""
    overrides = {
        name: np.array([group.float_combos[f][name] for _, f in chunk.lanes], np.float32)
        for name in group.float_combos[0]
    }
    seeds = [seed for seed, _ in chunk.lanes]
    run = lanes.run_lanes(trainer, seeds, overrides, num_evals, width, devices, on_eval)
    return run.metrics, run.final_state


def chunk_frame(group: Group, chunk: Chunk, metrics: dict[str, np.ndarray]) -> pd.DataFrame:
    """Tidy rows of a chunk, with divergence flags: one row per (lane, evaluation)."""
    num_lanes, num_evals = metrics["env_steps"].shape
    finite = np.ones((num_lanes, num_evals), bool)
    for values in metrics.values():
        finite &= np.isfinite(values)
    diverged = ~finite.all(axis=1)
    diverged_eval = np.where(diverged, np.argmin(finite, axis=1), -1)
    columns: dict[str, Any] = {
        "group": group.id,
        "algo": group.algo,
        "seed": np.repeat([seed for seed, _ in chunk.lanes], num_evals),
        "hp_index": np.repeat([f for _, f in chunk.lanes], num_evals),
        "eval": np.tile(np.arange(num_evals), num_lanes),
    }
    for name, value in group.env_axes.items():
        columns[f"env.{name}"] = value
    for name, value in group.static_axes.items():
        columns[f"hp.{name}"] = value
    for name in group.float_combos[0]:
        columns[f"hp.{name}"] = np.repeat([group.float_combos[f][name] for _, f in chunk.lanes], num_evals)
    for name, values in metrics.items():
        columns[name] = values.reshape(-1)
    columns["diverged"] = np.repeat(diverged, num_evals)
    columns["diverged_eval"] = np.repeat(diverged_eval, num_evals)
    return pd.DataFrame(columns)


POLICY_PREFIX = "policy"


def policy_arrays(trainer, state, chunk: Chunk) -> dict[str, np.ndarray]:
    """Every lane's policy (`Trainer.policy_params`) as named arrays `[lanes, ...]`, plus seed and hp_index."""
    arrays = {"seed": np.array([seed for seed, _ in chunk.lanes]), "hp_index": np.array([f for _, f in chunk.lanes])}
    params = jax.vmap(trainer.policy_params)(state)
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        arrays[POLICY_PREFIX + jax.tree_util.keystr(path)] = np.asarray(leaf)
    return arrays


def policy_template(trainer):
    """The shapes and dtypes of one seed's `Trainer.policy_params` (nothing is computed)."""
    return jax.eval_shape(lambda key: trainer.policy_params(trainer.init(key)), jax.random.PRNGKey(0))


def restore_policy_params(template, arrays: dict[str, np.ndarray], lane: int):
    """Lane `lane` of `policy_arrays` output, as a pytree shaped like `template` (see `policy_template`)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: jnp.asarray(arrays[POLICY_PREFIX + jax.tree_util.keystr(path)][lane], leaf.dtype),
        template,
    )


def run(
    spec: spec_lib.Spec,
    out_dir,
    chunk_size: int | None = None,
    reporter=None,
    memory_budget: int | None = None,
    process: tuple[int, int] | None = None,
    lane_width: int | None = None,
) -> SweepStore:
    """Runs (or resumes, or extends) a sweep into `out_dir`; returns its store.

    Args:
      chunk_size: lanes per chunk (the unit stored, resumed and shared among
        processes); default: the spec's, else the one a resumed directory
        used, else the largest that fits `memory_budget` bytes (default: half
        the available memory), at most 64.
      lane_width: W, lanes per compiled program, for every group (default: the
        spec's `lane_width`), or "measure" for the fastest width measured on
        this device (`rlab.lanes.measure_width`, at most the chunk size, the
        search capped at a quarter of the group's estimated run time).
        Otherwise the width a resumed directory recorded for the group, else
        the rule: a chunk's lanes split evenly over the local devices
        (`rlab.lanes.rule_width`; chunks already fit memory); with several
        processes and none recorded, the chunk size, so that all processes
        agree. Recorded per group in the manifest.
      process: (index, count) of this process among those sharing the sweep;
        default `(jax.process_index(), jax.process_count())`, so that under
        `jax.distributed.initialize()` every host takes its share of chunks
        (chunk i goes to process i mod count) and writes its own files.
    """
    process = process or (jax.process_index(), jax.process_count())
    if not 0 <= process[0] < process[1]:
        raise UsageError(f"process index {process[0]} is not in [0, {process[1]})")
    lane_width = lane_width or spec.lane_width
    if lane_width is not None and lane_width != lanes.MEASURE and not (
        isinstance(lane_width, int) and 1 <= lane_width <= lanes.MAX_WIDTH
    ):
        raise UsageError(f"lane width {lane_width!r}; allowed: an integer from 1 to {lanes.MAX_WIDTH} or "
                         f"{lanes.MEASURE!r}")
    devices = jax.local_devices()
    backend = {"platform": jax.default_backend(), "devices": [str(d) for d in devices],
               "compiler_options": xla.compiler_options()}
    all_groups = groups(spec)
    chunk_size = chunk_size or spec.chunk_size or _existing_chunk_size(out_dir)
    probes: dict[int, Any] = {}  # group index -> the trainer whose program sized the chunks, reused by the run
    if chunk_size is None:
        probes = _probe_trainers(spec, all_groups)
        probe_lanes = _probe_width(lane_width, all_groups, spec.num_seeds, len(devices))
        if reporter is not None:
            reporter.note(f"sizing chunks: compiling one {probe_lanes}-lane step of "
                          f"{', '.join(t.algo for t in probes.values())} to read XLA's memory plan "
                          f"(--chunk-size skips this)")
        chunk_size = default_chunk_size(list(probes.values()), len(devices), memory_budget, probe_lanes)
    _check_plan_size(all_groups, spec.num_seeds, chunk_size)
    _check_builds(spec, all_groups)
    store = SweepStore.open(out_dir, spec, chunk_size, backend, process)
    try:
        _run_plan(store, spec, all_groups, chunk_size, process, devices, lane_width, reporter, probes)
    finally:
        store.release()
    return store


def _run_plan(store, spec, all_groups, chunk_size, process, devices, lane_width, reporter, probes) -> None:
    """Plans the chunks this process still owes and runs them into the (locked) store."""
    plan = []
    position = 0
    for group in all_groups:
        store.describe_group(group.id, group.describe())
        for chunk in plan_chunks(group, spec.seed_start, spec.num_seeds, chunk_size):
            mine = position % process[1] == process[0]
            position += 1
            if mine and not set(chunk.seeds) <= store.stored_seeds(chunk.id):
                plan.append((group, chunk))
    store.plan(chunk.id for _, chunk in plan)
    reporter = reporter or Reporter(quiet=True)
    reporter.start(len(plan), spec.num_evals)
    trainers: dict[int, Any] = {}
    for group, chunk in plan:
        if group.index not in trainers:
            trainers.clear()  # one group's program at a time keeps memory bounded
            # ... and executable memory too: XLA keeps every compiled program (each width
            # measured, each group) mapped until its caches are cleared, and a long sweep of
            # physics groups otherwise runs out of memory mappings (LLVM "Cannot allocate memory").
            jax.clear_caches()
            gc.collect()  # the last group's trainer and its programs form a cycle: free them now, not at some later GC
            trainer = probes.pop(group.index, None)  # its program compiled while sizing chunks
            if trainer is None:
                trainer = rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)
            trainers[group.index] = trainer
            choice = _lane_width(store, trainer, group, lane_width, chunk_size, spec.num_seeds, spec.num_evals,
                                 process, len(devices))
            reporter.width_chosen(group, choice)
        trainer, width = trainers[group.index], store.lane_width(group.id)["lane_width"]
        started = time.perf_counter()
        metrics, final = run_chunk(trainer, group, chunk, width, spec.num_evals, devices, on_eval=reporter.eval_done)
        seconds = time.perf_counter() - started
        frame = chunk_frame(group, chunk, metrics)
        store.write_chunk(
            chunk.id, frame, policy_arrays(trainer, final, chunk),
            {"group": group.id, "seeds": list(chunk.seeds), "lanes": len(chunk.lanes), "seconds": round(seconds, 3),
             "diverged_lanes": int(frame.groupby(["seed", "hp_index"])["diverged"].first().sum())},
        )
        env_steps = trainer.env_steps_per_step * spec.num_evals * len(chunk.lanes)
        reporter.chunk_done(chunk.id, group, env_steps / max(seconds, 1e-9))
    store.finish()
    reporter.finish(store)


MAX_CHUNKS = 200_000


def _check_plan_size(all_groups, num_seeds: int, chunk_size: int) -> None:
    """Refuses a plan of more than MAX_CHUNKS chunks, counted before any chunk (or directory) is made."""
    total = 0
    for group in all_groups:
        seeds_per_block = max(chunk_size // len(group.float_combos), 1)
        total += -(-num_seeds // seeds_per_block)
        if total > MAX_CHUNKS:
            raise UsageError(
                f"the sweep would have more than {MAX_CHUNKS:,} chunks ({len(all_groups)} groups x {num_seeds:,} seeds "
                f"in chunks of {chunk_size} lanes); allowed: fewer seeds or groups, or a larger --chunk-size"
            )


def _check_builds(spec, all_groups) -> None:
    """Builds one trainer per distinct (algorithm, hyperparameters), before any directory is made.

    Some constraints only an algorithm's build knows (OpenAI-ES's even
    population, ARS's top_directions <= num_directions, PPO's minibatch
    division); a sweep that would hit one is refused up front, not after its
    directory exists.
    """
    seen = set()
    for group in all_groups:
        key = (group.algo, repr(sorted(group.hparams.items())))
        if key not in seen:
            seen.add(key)
            rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)


def _lane_width(
    store, trainer, group: Group, given, chunk_size: int, num_seeds: int, num_evals: int, process, num_devices: int
) -> lanes.WidthChoice:
    """The group's lane width: the one recorded for it, else given, else the rule; recorded in the store.

    The rule (`lanes.rule_width`) splits a chunk's lanes over the devices and
    compiles nothing. Asked for ("measure"), the measurement's time is capped
    at a quarter of the group's estimated run time (`lanes.measure_width`),
    so a short physics group is not spent compiling candidate widths.
    """
    stored = store.lane_width(group.id)
    if stored is not None:
        if given not in (None, lanes.MEASURE) and given != stored["lane_width"]:
            raise UsageError(
                f"{store.directory}: group {group.id} ran with lane width {stored['lane_width']}; results depend on "
                f"it, so it cannot continue with --lane-width {given} (omit it to reuse {stored['lane_width']})"
            )
        return lanes.WidthChoice(stored["lane_width"], {}, "stored")
    group_lanes = num_seeds * len(group.float_combos)
    if given == lanes.MEASURE:
        run_env_steps = group_lanes * num_evals * trainer.env_steps_per_step
        choice = lanes.measure_width(trainer, max_width=min(chunk_size, group_lanes), run_env_steps=run_env_steps)
    elif given is not None:
        choice = lanes.WidthChoice(given, {}, "given")
    elif process[1] > 1:
        choice = lanes.WidthChoice(chunk_size, {}, "default for several processes")
    else:
        lanes_per_chunk = min(chunk_size, group_lanes)
        choice = lanes.WidthChoice(lanes.rule_width(lanes_per_chunk, num_devices, jax.default_backend()), {},
                                   f"rule: {lanes_per_chunk} lanes per chunk over {num_devices} device(s)")
    store.record_lane_width(group.id, choice.describe())
    return choice


def _probe_trainers(spec, all_groups) -> dict[int, Any]:
    """One trainer per algorithm, on its group with the largest environment (the memory probes), by group index."""
    largest = {}
    for group in all_groups:
        env = envs.make(spec.env, **group.env_params)
        size = env.observation_size + env.action_size
        if group.algo not in largest or size > largest[group.algo][0]:
            largest[group.algo] = (size, group, env)
    return {g.index: rlab.trainers.make(g.algo, env, **g.hparams) for _, g, env in largest.values()}


def _probe_width(lane_width, all_groups, num_seeds: int, num_devices: int) -> int:
    """Lanes of the memory probe's step: the width the run will use if the chunk is the largest default.

    A given integer width; else the rule's width for a chunk of
    `DEFAULT_MAX_CHUNK` lanes (or the largest group's lanes, if fewer), so
    that on a machine where that chunk fits the run reuses the probe's program.
    """
    if isinstance(lane_width, int):
        return lane_width
    most_lanes = max(num_seeds * len(group.float_combos) for group in all_groups)
    return lanes.rule_width(min(DEFAULT_MAX_CHUNK, most_lanes), num_devices, jax.default_backend())


def _existing_chunk_size(out_dir) -> int | None:
    import json
    import pathlib

    for manifest in sorted(pathlib.Path(out_dir).glob("manifest*.json")):
        return json.loads(manifest.read_text())["chunk_size"]
    return None


class Reporter:
    """Progress of a sweep: a live bar on a terminal, plain periodic lines otherwise, or nothing."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.bar = None

    def start(self, num_chunks: int, num_evals: int) -> None:
        self.total_chunks, self.done_chunks, self.started = num_chunks, 0, time.perf_counter()
        if self.quiet:
            return
        if num_chunks == 0:
            print("nothing to run: every chunk is already stored", file=self.stream)
            return
        if self.stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("evaluations", total=num_chunks * num_evals)
        else:
            print(f"running {num_chunks} chunks x {num_evals} evaluations", file=self.stream, flush=True)

    def note(self, line: str) -> None:
        """One line of what the sweep is doing before its chunks start."""
        if not self.quiet:
            print(line, file=self.stream, flush=True)

    def width_chosen(self, group: Group, choice: lanes.WidthChoice) -> None:
        if self.quiet:
            return
        timings = ", ".join(f"{w}: {v:,.0f}" for w, v in choice.steps_per_second.items())
        line = (f"{group.id} ({group.algo} {group.env_axes}): lane width {choice.width} ({choice.reason}"
                + (f"; env steps/s by width {timings}" if timings else "") + ")")
        if self.bar is not None:
            self.bar.console.print(line)
        else:
            print(line, file=self.stream, flush=True)

    def eval_done(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def chunk_done(self, chunk_id: str, group: Group, steps_per_second: float) -> None:
        self.done_chunks += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / self.done_chunks * (self.total_chunks - self.done_chunks)
        line = (f"chunk {self.done_chunks}/{self.total_chunks} {chunk_id} ({group.algo} {group.env_axes}): "
                f"{steps_per_second:,.0f} env steps/s, ETA {remaining:.0f}s")
        if self.bar is not None:
            self.bar.console.print(line)
        else:
            print(line, file=self.stream, flush=True)

    def finish(self, store: SweepStore) -> None:
        if self.bar is not None:
            self.bar.stop()
        if not self.quiet:
            print(f"done: {store.directory} ({len(store.manifest['chunks'])} chunks)", file=self.stream)
