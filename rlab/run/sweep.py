"""The sweep runner: open the store, plan once, execute, finish.

The plan is the spec's (`Spec.groups()`, `Spec.chunks(size)`): grid cells
that differ only in float hyperparameters form one group and share one
compiled program; a group's lanes are cut into chunks by fixed blocks of
seeds (the unit stored, resumed and shared among processes). `run` fixes
the chunk size (given, the spec's, the one a resumed directory recorded,
else sized to memory), opens the store, makes the run plan
(`rlab.run.plan`: pending chunks, this process's share, each group's lane
width W recorded before any chunk runs), hands it to an executor
(`rlab.run.local` by default, `rlab.run.on_ray` for Ray) and finishes the
sweep with what the executor reports. A seed's results depend only on
the spec, the seed and W, never on how many other seeds run, on the
chunk size, on the number of devices or on how the sweep is launched.
"""

from __future__ import annotations

import time

import jax

from rlab import spec as spec_lib
from rlab.console import Progress
from rlab.errors import RunIncomplete, UsageError
from rlab.run import plan as plan_lib, xla
from rlab.run.executor import Executed, Executor
from rlab.run.local import LocalExecutor
from rlab.store import SweepStore, recorded_num_seeds, resolve_chunk_size


def run(
    spec: spec_lib.Spec,
    out_dir,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    memory_budget: int | None = None,
    process: tuple[int, int] | None = None,
    lane_width: int | str | None = None,
    compile_ahead: int = 1,
    executor: Executor | None = None,
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
        this device (`rlab.run.widths.measure_width`). Otherwise the width a
        resumed directory recorded for the group, else the rule: a chunk's
        lanes split evenly over the local devices (`rlab.run.widths.rule_width`),
        whatever the number of processes. Recorded per group in the manifest.
      process: (index, count) of this process among those sharing the sweep;
        default `(jax.process_index(), jax.process_count())`, so that under
        `jax.distributed.initialize()` every host takes its share of chunks
        (chunk i goes to process i mod count) and writes its own files.
      progress: where progress lines go (default: none).
      compile_ahead, take_over: of the default executor (`rlab.run.local.LocalExecutor`).
      executor: who computes the chunks once the plan is made (`rlab.run.executor.Executor`),
        e.g. `rlab.run.on_ray.RayExecutor`; default: this process.

    A directory that records more seeds than the spec asks for (an extension
    cut short) is run to its recorded count: a rerun finishes what was started.
    """
    run_started = time.perf_counter()
    executor = executor or LocalExecutor(compile_ahead, take_over)
    process = process or (jax.process_index(), jax.process_count())
    if not 0 <= process[0] < process[1]:
        raise UsageError(f"process index {process[0]} is not in [0, {process[1]})")
    lane_width = lane_width or spec.lane_width
    if not spec_lib.is_lane_width(lane_width):
        raise UsageError(f"lane width {lane_width!r}; allowed: {spec_lib.ALLOWED_LANE_WIDTHS}")
    progress = progress or Progress(quiet=True)
    recorded = recorded_num_seeds(out_dir, spec.identity_hash())
    if recorded is not None and recorded > spec.num_seeds:
        progress.note(f"{out_dir} records {recorded} seeds, more than the spec's {spec.num_seeds}: running to "
                      f"{recorded} (an extension not finished before)")
        spec = spec.with_seeds(recorded)
    devices = jax.local_devices()
    chunk_size = resolve_chunk_size(out_dir, spec, chunk_size)
    probes = {}
    if chunk_size is None:
        chunk_size, probes = plan_lib.size_chunks(spec, lane_width, len(devices), memory_budget, progress)
    if isinstance(lane_width, int) and lane_width > chunk_size:
        raise UsageError(f"lane width {lane_width} exceeds the chunk size {chunk_size} (a program never holds more "
                         f"lanes than a chunk); allowed: a lane width from 1 to {chunk_size}, or a larger --chunk-size")
    spec.chunks(chunk_size)  # refuses a plan too large before any directory is made
    plan_lib.check_builds(spec)
    backend = {"platform": jax.default_backend(), "devices": [str(d) for d in devices],
               "compiler_options": xla.compiler_options()}
    store = SweepStore.open(out_dir, spec, chunk_size, backend, process)
    try:
        plan = plan_lib.make(store, spec, chunk_size, process, devices, lane_width, probes, progress)
        executed = executor(store, plan, progress)
        _finish(store, executed, time.perf_counter() - run_started, progress)
    finally:
        store.release()
    return store


def _finish(store: SweepStore, executed: Executed, wall: float, progress: Progress) -> None:
    """Records the run's timing; marks this process's manifest complete unless a chunk failed for good."""
    timing = store.record_timing(executed.chunks, wall, executed.waited_seconds, executed.making_seconds)
    progress.stop()
    if executed.failed:
        lines = "; ".join(f"{k}: {v}" for k, v in sorted(executed.failed.items()))
        raise RunIncomplete(
            f"{len(executed.failed)} chunks failed ({lines}); the other {executed.chunks} computed by this run are "
            f"stored in {store.directory}; rerun the same command to compute the rest"
        )
    store.finish()
    progress.note(f"done: {store.directory} ({store.chunks_stored()} chunks; this run {timing['chunks']} "
                  f"chunks in {timing['wall_seconds']:.0f} s: {timing['run_seconds']:.0f} s running them, "
                  f"{timing['compile_seconds']:.0f} s waiting for programs; compiling took "
                  f"{timing['making_seconds']:.0f} s in all, the rest of it behind running chunks)")

