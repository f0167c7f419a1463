"""The sweep runner: every chunk of a spec's plan, run with the lane runner and written to the store.

The plan is the spec's (`Spec.groups()`, `Spec.chunks(size)`): grid cells
that differ only in float hyperparameters form one group and share one
compiled program; a group's lanes are cut into chunks by fixed blocks of
seeds (the unit stored, resumed and shared among processes). The runner
resolves the chunk size through the store (given, the spec's, the one a
resumed directory recorded, else sized to memory: `rlab.run.widths`), asks
the store which chunks are pending, fixes each group's lane width W (by
rule, recorded in the store), runs the chunks (`rlab.run.lanes`) and writes
them. A seed's results depend only on the spec, the seed and W, never on how
many other seeds run, on the chunk size or on the number of devices blocks
are spread over.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import jax
import numpy as np
import pandas as pd

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.console import Progress
from rlab.errors import UsageError
from rlab.run import lanes, widths, xla
from rlab.store import SweepStore, resolve_chunk_size
from rlab.store.sweeps import manifest_name, read_manifest_file
from rlab.store.policy_codec import policy_arrays


def run_chunk(trainer, group: spec_lib.Group, chunk: spec_lib.Chunk, width: int, num_evals: int, devices, on_eval=None):
    """Trains one chunk with the lane runner: (metrics name -> [lanes, evals] numpy, final states [lanes]).

    `trainer` may have been built for another group of the same program
    (`program_key`): the group's traced environment constants are passed
    as lane values, so it trains exactly this group.
    """
    overrides = {
        name: np.array([group.float_combos[f][name] for _, f in chunk.lanes], np.float32)
        for name in group.float_combos[0]
    }
    overrides.update(traced_env_values(trainer, group))
    seeds = [seed for seed, _ in chunk.lanes]
    run = lanes.run_lanes(trainer, seeds, overrides, num_evals, width, devices, on_eval)
    return run.metrics, run.final_state


def compute_chunk(trainer, group: spec_lib.Group, chunk: spec_lib.Chunk, width: int, num_evals: int, devices,
                  on_eval=None) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """One chunk trained and made ready to store: (tidy rows, final policy arrays, manifest entry info).

    What a worker of any kind (this process, a Ray worker) computes; the
    store's single writer records it (`SweepStore.write_chunk`).
    """
    started, compiled_before = time.perf_counter(), lanes.compile_seconds(trainer)
    metrics, final = run_chunk(trainer, group, chunk, width, num_evals, devices, on_eval=on_eval)
    frame = chunk_frame(group, chunk, metrics)
    info = {"group": group.id, "seeds": list(chunk.seeds), "lanes": len(chunk.lanes),
            "seconds": round(time.perf_counter() - started, 3),
            "compile_seconds": round(lanes.compile_seconds(trainer) - compiled_before, 3),
            "diverged_lanes": int(frame.groupby(["seed", "hp_index"])["diverged"].first().sum())}
    return frame, policy_arrays(trainer, final, chunk.lanes), info


def traced_env_values(trainer, group: spec_lib.Group) -> dict[str, float]:
    """The group's values of the trainer's traced environment constants, as hyperparameter overrides.

    A constant the spec does not set takes its declared default (not the
    value of the group the shared trainer was built for).
    """
    prefix = rlab.trainers.ENV_PREFIX
    declared = {p.name: p.default for p in getattr(trainer.env, "PARAMS", ())}
    return {name: group.env_params.get(name[len(prefix):], declared.get(name[len(prefix):], value))
            for name, value in trainer.defaults.items() if name.startswith(prefix)}


def program_key(spec: spec_lib.Spec, group: spec_lib.Group) -> tuple:
    """What decides a group's compiled program: groups with equal keys share one.

    The algorithm, its hyperparameters and the environment parameters that
    are not traced (`envs.params.Param.traced`): traced ones are data in the
    trainer's state, so groups differing only in them run one program.
    """
    declared = envs.registered().get(spec.env)
    traced = {p.name for p in declared.params if p.traced} if declared else set()
    env_params = sorted((k, repr(v)) for k, v in group.env_params.items() if k not in traced)
    return group.algo, repr(sorted(group.hparams.items())), repr(env_params)


def ordered_by_program(spec: spec_lib.Spec, groups, chunks) -> list:
    """`chunks` in plan order, except that chunks of groups sharing a program (`program_key`) come together."""
    keys = {group.index: program_key(spec, group) for group in groups}
    first_of_key: dict[tuple, int] = {}
    for group in groups:
        first_of_key.setdefault(keys[group.index], group.index)
    return sorted(chunks, key=lambda chunk: first_of_key[keys[chunk.group.index]])


def make_trainer(spec: spec_lib.Spec, group: spec_lib.Group):
    """The trainer of a group's program (its algorithm, hyperparameters and environment)."""
    return rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)


def chunk_frame(group: spec_lib.Group, chunk: spec_lib.Chunk, metrics: dict[str, np.ndarray]) -> pd.DataFrame:
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


def run(
    spec: spec_lib.Spec,
    out_dir,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    memory_budget: int | None = None,
    process: tuple[int, int] | None = None,
    lane_width: int | None = None,
    compile_ahead: int = 1,
    executor=None,
    take_over: bool = True,
) -> SweepStore:
    """Runs (or resumes, or extends) a sweep into `out_dir`; returns its store.

    Args:
      chunk_size: lanes per chunk (the unit stored, resumed and shared among
        processes); default: the spec's, else the one a resumed directory
        used, else the largest that fits `memory_budget` bytes (default: half
        the available memory), at most 64.
      lane_width: W, lanes per compiled program, for every group (default: the
        spec's `lane_width`), or "measure" for the fastest width measured on
        this device (`rlab.widths.measure_width`, at most the chunk size, the
        search capped at a quarter of the group's estimated run time).
        Otherwise the width a resumed directory recorded for the group, else
        the rule: a chunk's lanes split evenly over the local devices
        (`rlab.widths.rule_width`; chunks already fit memory); with several
        processes and none recorded, the chunk size, so that all processes
        agree. Recorded per group in the manifest.
      process: (index, count) of this process among those sharing the sweep;
        default `(jax.process_index(), jax.process_count())`, so that under
        `jax.distributed.initialize()` every host takes its share of chunks
        (chunk i goes to process i mod count) and writes its own files.
      progress: where progress lines go (default: none).
      compile_ahead: programs compiled in background threads ahead of the
        one running (each group's lane width must be known without
        measuring); 0 compiles each when its first chunk runs.
      take_over: sharing the sweep, whether this process also runs the chunks
        of other processes that no live process holds once its own share is
        done (False: its own share only, as strict striping).
      executor: who computes the chunks once the store is open, e.g.
        `rlab.run.on_ray.RayExecutor`; default: this process. Called as
        `executor(store, spec, groups, chunks, devices, lane_width, progress,
        run_started)`; it writes each chunk through the store (the one writer).
    """
    if compile_ahead < 0:
        raise UsageError(f"compile_ahead = {compile_ahead}; allowed: an integer >= 0")
    run_started = time.perf_counter()
    process = process or (jax.process_index(), jax.process_count())
    if not 0 <= process[0] < process[1]:
        raise UsageError(f"process index {process[0]} is not in [0, {process[1]})")
    lane_width = lane_width or spec.lane_width
    if not spec_lib.is_lane_width(lane_width):
        raise UsageError(f"lane width {lane_width!r}; allowed: {spec_lib.ALLOWED_LANE_WIDTHS}")
    progress = progress or Progress(quiet=True)
    devices = jax.local_devices()
    backend = {"platform": jax.default_backend(), "devices": [str(d) for d in devices],
               "compiler_options": xla.compiler_options()}
    groups = spec.groups()
    chunk_size = resolve_chunk_size(out_dir, spec, chunk_size)
    probes: dict[int, Any] = {}  # group index -> the trainer whose program sized the chunks, reused by the run
    if chunk_size is None:
        probes = _probe_trainers(spec, groups)
        probe_lanes = _probe_width(lane_width, groups, spec.num_seeds, len(devices))
        progress.note(f"sizing chunks: compiling one {probe_lanes}-lane step of "
                      f"{', '.join(t.algo for t in probes.values())} to read XLA's memory plan "
                      f"(--chunk-size skips this)")
        chunk_size = widths.default_chunk_size(list(probes.values()), len(devices), memory_budget, probe_lanes)
    if isinstance(lane_width, int) and lane_width > chunk_size:
        raise UsageError(f"lane width {lane_width} exceeds the chunk size {chunk_size} (a program never holds more "
                         f"lanes than a chunk); allowed: a lane width from 1 to {chunk_size}, or a larger --chunk-size")
    chunks = spec.chunks(chunk_size)
    _check_builds(spec, groups)
    store = SweepStore.open(out_dir, spec, chunk_size, backend, process)
    try:
        if executor is None:
            _run_plan(store, spec, groups, chunks, process, devices, lane_width, progress, probes, run_started,
                      compile_ahead, take_over)
        else:
            executor(store, spec, groups, chunks, devices, lane_width, progress, run_started)
    finally:
        store.release()
    return store


def _run_plan(store, spec, groups, chunks, process, devices, lane_width, progress, probes, run_started,
              compile_ahead: int, take_over: bool = True) -> None:
    """Runs the chunks this process still owes into the (locked) store.

    Alone, a process runs every pending chunk. Sharing the sweep, it runs
    its own share (chunk i for i mod N == I) first, then takes over every
    chunk still pending that no live process has claimed (a process that
    finished early, or died, left them), waiting while live processes hold
    the last ones; a process that completes the sweep also closes the
    manifests of processes that died (`finish_for_dead_processes`).
    """
    for group in groups:
        store.describe_group(group.id, group.describe())
    mine = [chunk for position, chunk in enumerate(chunks) if position % process[1] == process[0]]
    plan = store.pending(mine)
    store.plan(chunk.id for chunk in plan)
    if not plan:
        progress.note("nothing to run: every chunk is already stored")
    else:
        progress.note(f"running {len(plan)} chunks x {spec.num_evals} evaluations")
    progress.start(len(plan) * spec.num_evals, "evaluations")
    runner = _ChunkRunner(store, spec, devices, lane_width, progress, probes, process, compile_ahead)
    ran = runner.run(plan)
    if store.shared and take_over:
        ran += _take_over(store, runner, chunks, progress)
    wall = time.perf_counter() - run_started
    waited, making = runner.close()
    # Every program this run made, also while sizing chunks and choosing widths, and for groups it did not run.
    timing = store.record_timing(ran, wall, waited + sum(map(lanes.compile_seconds, probes.values())),
                                 making + sum(map(lanes.making_seconds, probes.values())))
    store.finish()
    if store.shared:
        closed = finish_for_dead_processes(store, spec, process[1])
        if closed:
            progress.note(f"closed the manifests of processes {', '.join(map(str, closed))}, which died or never "
                          "started: every chunk of the sweep is stored")
    progress.stop()
    progress.note(f"done: {store.directory} ({len(store.manifest['chunks'])} chunks; this run {timing['chunks']} "
                  f"chunks in {timing['wall_seconds']:.0f} s: {timing['run_seconds']:.0f} s running them, "
                  f"{timing['compile_seconds']:.0f} s waiting for programs; compiling took "
                  f"{timing['making_seconds']:.0f} s in all, the rest of it behind running chunks)")


# Seconds between looks at a shared sweep while other live processes hold its last chunks.
CLAIM_POLL_SECONDS = 2.0


def _take_over(store, runner: "_ChunkRunner", chunks, progress) -> int:
    """Runs the sweep's pending chunks that no live process holds, until every chunk is stored; chunks run."""
    ran, waiting = 0, False
    while True:
        store.refresh()
        left = store.pending(chunks)
        if not left:
            return ran
        done = runner.run(left)
        ran += done
        if not done:
            if not waiting:
                progress.note(f"waiting for {len(left)} chunk(s) that other processes are computing "
                              "(taken over if a process dies)")
                waiting = True
            time.sleep(CLAIM_POLL_SECONDS)
        else:
            waiting = False


def finish_for_dead_processes(store, spec, count: int) -> list[int]:
    """Closes the manifests of a shared sweep's processes that are gone, once every chunk is stored.

    What rerunning such a process would do (open its manifest, find nothing
    pending, mark it complete), done by the process that completed the sweep,
    so that the sweep reads as complete. A live process's manifest is left
    to it. Returns the process indexes closed.
    """
    store.refresh()
    if store.pending(spec.chunks(store.manifest["chunk_size"])):
        return []
    closed = []
    for index in range(count):
        if index == store.manifest["process"]["index"]:
            continue
        path = store.directory / manifest_name(index, count)
        if path.exists() and read_manifest_file(path)["status"] == "complete":
            continue
        try:
            other = SweepStore.open(store.directory, spec, store.manifest["chunk_size"], store.manifest["backend"],
                                    (index, count))
        except UsageError:  # alive after all (holds its lock): it closes its own
            continue
        other.manifest["finished_by"] = f"process {store.manifest['process']['index']}"
        other.finish()
        closed.append(index)
    return closed


class _ChunkRunner:
    """Runs chunks in this process, one program at a time, each chunk claimed, trained, written."""

    def __init__(self, store, spec, devices, lane_width, progress, probes, process, compile_ahead: int):
        self.store, self.spec, self.devices, self.lane_width = store, spec, devices, lane_width
        self.progress, self.probes, self.process, self.compile_ahead = progress, probes, process, compile_ahead
        self.groups = spec.groups()
        self.widths_chosen: dict[tuple, widths.WidthChoice] = {}  # program key -> the width chosen or measured
        self.seen_groups: set[int] = set()
        self.waited = self.making = 0.0

    def run(self, chunks) -> int:
        """Runs those of `chunks` this process can claim (ordered so that groups sharing a program run together)."""
        store, spec, devices = self.store, self.spec, self.devices
        programs = _Programs(spec, self.groups, chunks, self.probes)
        width_of = {}  # group index -> its lane width when it needs no measuring (None: measure it when it runs)
        for group in programs.first_groups():
            width_of[group.index] = planned_width(store, group, self.lane_width, store.manifest["chunk_size"],
                                                   spec.num_seeds, self.process, len(devices))
        started, done = time.perf_counter(), 0
        try:
            for position, chunk in enumerate(programs.plan, start=1):
                if not store.claim_chunk(chunk):
                    continue  # stored meanwhile, or another live process is computing it
                group = chunk.group
                key = programs.key(group)
                trainer = programs.switch_to(key, lambda g: width_of.get(g.index), devices[0], self.compile_ahead)
                if group.index not in self.seen_groups:
                    choice = _lane_width(store, trainer, group, self.lane_width, store.manifest["chunk_size"],
                                         spec.num_seeds, spec.num_evals, self.process, len(devices),
                                         self.widths_chosen.get(key))
                    self.widths_chosen.setdefault(key, choice)
                    self.seen_groups.add(group.index)
                    if not choice.reason.startswith("rule"):  # the rule's width is the default: nothing to say
                        self.progress.note(_width_line(group, choice))
                width = store.lane_width(group.id)["lane_width"]
                frame, params, info = compute_chunk(trainer, group, chunk, width, spec.num_evals, devices,
                                                    on_eval=self.progress.advance)
                store.write_chunk(chunk.id, frame, params, info)
                done += 1
                env_steps = trainer.env_steps_per_eval * spec.num_evals * len(chunk.lanes)
                remaining = (time.perf_counter() - started) / position * (len(programs.plan) - position)
                self.progress.note(f"chunk {position}/{len(programs.plan)} {chunk.id} ({group.algo} "
                                   f"{group.env_axes}): {env_steps / max(info['seconds'], 1e-9):,.0f} env steps/s, "
                                   f"ETA {remaining:.0f}s")
        finally:
            store.release_claims()
            programs.close()
            self.waited += programs.waited
            self.making += programs.making
        return done

    def close(self) -> tuple[float, float]:
        """(seconds waited for programs, seconds spent making them) over every `run`."""
        return self.waited, self.making


class _Programs:
    """The trainers of a plan's programs, one program at a time, the next ones compiled ahead in the background.

    Groups that share a program (`program_key`) are put next to each other
    in the plan, so each program is made once. When the plan moves on to a
    program, the one before is freed (with XLA's caches) and the next
    `compile_ahead` programs start compiling in background threads
    (`rlab.run.lanes.prepare`), on the cores the running program leaves idle.
    """

    def __init__(self, spec, groups, plan, probes: dict[int, Any]):
        self.spec, self.probes = spec, probes
        self._keys = {group.index: program_key(spec, group) for group in groups}
        self.plan = ordered_by_program(spec, groups, plan)
        self._first: dict[tuple, Any] = {}  # key -> the first group of the plan that uses it
        for chunk in self.plan:
            self._first.setdefault(self._keys[chunk.group.index], chunk.group)
        self._order = list(self._first)
        self._trainers: dict[tuple, Any] = {}  # the current program's trainer and those compiling ahead
        self._current = None
        self.waited = 0.0  # seconds the run waited for programs
        self.making = 0.0  # seconds spent making them, in any thread

    def key(self, group) -> tuple:
        return self._keys[group.index]

    def first_groups(self) -> list:
        return list(self._first.values())

    def switch_to(self, key: tuple, width_of, device, compile_ahead: int):
        """The trainer of program `key`; on a change of program, frees the last one and compiles ahead.

        Args:
          width_of: group -> its lane width if known without measuring, else None (nothing is compiled ahead).
        """
        if key == self._current:
            return self._trainers[key]
        if self._current is not None:
            self._retire(self._trainers.pop(self._current))
            # XLA keeps every compiled program (each width measured, each group) mapped until its caches
            # are cleared, and a long sweep of physics groups otherwise runs out of memory mappings
            # (LLVM "Cannot allocate memory").
            jax.clear_caches()
            gc.collect()  # the last trainer and its programs form a cycle: free them now, not at some later GC
        self._current = key
        position = self._order.index(key)
        for upcoming in self._order[position : position + 1 + compile_ahead]:
            group = self._first[upcoming]
            trainer = self._trainer(upcoming)
            choice = width_of(group)
            if choice is not None:
                lanes.prepare(trainer, choice.width, device)
        return self._trainers[key]

    def _trainer(self, key: tuple):
        if key not in self._trainers:
            group = self._first[key]
            sized = [self.probes.pop(g) for g in list(self.probes) if self._keys[g] == key]  # made sizing chunks
            self._trainers[key] = sized[0] if sized else make_trainer(self.spec, group)
        return self._trainers[key]

    def _retire(self, trainer) -> None:
        self.waited += lanes.compile_seconds(trainer)
        self.making += lanes.making_seconds(trainer)

    def close(self) -> None:
        """Accounts for every program still held (waits for none: a program compiling ahead is abandoned)."""
        for trainer in self._trainers.values():
            self._retire(trainer)
        self._trainers.clear()


def _width_line(group: spec_lib.Group, choice: widths.WidthChoice) -> str:
    """One plain line: how many seeds share a compiled program in this group, and why."""
    axes = "".join(f" {k}={v}" for k, v in group.env_axes.items())
    timings = ", ".join(f"{w}: {v:,.0f}" for w, v in choice.steps_per_second.items())
    return (f"{group.id} ({group.algo}{axes}): {choice.width} seed(s) per compiled program ({choice.reason}"
            + (f"; env steps/s by width {timings}" if timings else "") + ")")


def _check_builds(spec, all_groups) -> None:
    """Builds one trainer per distinct (algorithm, hyperparameters), before any directory is made.

    Some constraints only an algorithm's build knows (OpenAI-ES's even
    population, ARS's top_directions <= num_directions, PPO's minibatch
    division); a sweep that would hit one is refused up front, not after its
    directory exists; so is one whose seeds would train more env steps than
    trainers count (int32).
    """
    seen = set()
    for group in all_groups:
        key = (group.algo, repr(sorted(group.hparams.items())))
        if key not in seen:
            seen.add(key)
            trainer = rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)
            per_seed = trainer.env_steps_per_eval * spec.num_evals
            if per_seed > spec_lib.MAX_ENV_STEPS_PER_SEED:
                raise UsageError(
                    f"{group.algo}: {trainer.env_steps_per_eval:,} env steps per evaluation x {spec.num_evals:,} "
                    f"evaluations = {per_seed:,} per seed; allowed: at most {spec_lib.MAX_ENV_STEPS_PER_SEED:,} "
                    "(trainers count env steps in int32)"
                )


def planned_width(
    store, group: spec_lib.Group, given, chunk_size: int, num_seeds: int, process, num_devices: int,
) -> widths.WidthChoice | None:
    """The group's lane width when nothing needs measuring: the one recorded, given, or the rule's; else None.

    Refuses a given width that differs from the one the group ran with.
    """
    stored = store.lane_width(group.id)
    if stored is not None:
        if given not in (None, widths.MEASURE) and given != stored["lane_width"]:
            raise UsageError(
                f"{store.directory}: group {group.id} ran with lane width {stored['lane_width']}; results depend on "
                f"it, so it cannot continue with --lane-width {given} (omit it to reuse {stored['lane_width']})"
            )
        return widths.WidthChoice(stored["lane_width"], {}, "stored")
    if given == widths.MEASURE:
        return None
    if given is not None:
        return widths.WidthChoice(given, {}, "given")
    if process[1] > 1:
        return widths.WidthChoice(chunk_size, {}, "default for several processes")
    lanes_per_chunk = min(chunk_size, num_seeds * len(group.float_combos))
    return widths.WidthChoice(widths.rule_width(lanes_per_chunk, num_devices, jax.default_backend()), {},
                              f"rule: {lanes_per_chunk} lanes per chunk over {num_devices} device(s)")


def _lane_width(
    store, trainer, group: spec_lib.Group, given, chunk_size: int, num_seeds: int, num_evals: int, process,
    num_devices: int, same_program: widths.WidthChoice | None = None,
) -> widths.WidthChoice:
    """The group's lane width (`planned_width`, else measured), recorded in the store.

    The rule (`widths.rule_width`) splits a chunk's lanes over the devices and
    compiles nothing. Asked for ("measure"), the measurement's time is capped
    at a quarter of the group's estimated run time (`widths.measure_width`),
    so a short physics group is not spent compiling candidate widths, and
    a width measured for one group serves the others of its program
    (`same_program`).
    """
    choice = planned_width(store, group, given, chunk_size, num_seeds, process, num_devices)
    if choice is not None and choice.reason == "stored":
        return choice
    group_lanes = num_seeds * len(group.float_combos)
    if choice is None and same_program is not None and same_program.width <= group_lanes:
        choice = widths.WidthChoice(same_program.width, {}, "measured for another group of the same program")
    elif choice is None:
        run_env_steps = group_lanes * num_evals * trainer.env_steps_per_eval
        choice = widths.measure_width(trainer, max_width=min(chunk_size, group_lanes), run_env_steps=run_env_steps)
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
    `widths.DEFAULT_MAX_CHUNK` lanes (or the largest group's lanes, if fewer), so
    that on a machine where that chunk fits the run reuses the probe's program.
    """
    if isinstance(lane_width, int):
        return lane_width
    most_lanes = max(num_seeds * len(group.float_combos) for group in all_groups)
    return widths.rule_width(min(widths.DEFAULT_MAX_CHUNK, most_lanes), num_devices, jax.default_backend())
