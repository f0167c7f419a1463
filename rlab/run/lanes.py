"""The lane runner: one trainer over many lanes in programs of a fixed width W.

A *lane* is one seed (with its float-hyperparameter values). Lanes run in
blocks of exactly W lanes, one `jit(vmap(step))` program per block, padded
only to a multiple of W. The vmap width is what changes floating-point
results (measured on CPU: at a fixed width a lane's results do not depend on
which other lanes share its block, but a different width changes the last
bits, which training amplifies), so W is the one numeric constant of a run: a
lane's curve is a function of (trainer, seed, hyperparameters, W, backend),
never of how many lanes run or how they are grouped into chunks.

W is chosen in `rlab.run.widths` (by rule, halved to fit memory, or
measured on request). Blocks are
dispatched round robin over the local devices, so several devices work on
different blocks at once; a block is the same program wherever it runs.

This is the only place that vmaps trainers over seeds; `rlab.train`, the
sweep runner and the probes use it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
import threading
import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from rlab.run import executables, xla
from rlab.seeds import seed_key


@dataclasses.dataclass
class LaneRun:
    """What `run_lanes` returns.

    Attributes:
      metrics: name -> `[L, E]` numpy (L lanes, E evaluations).
      final_state: the trainer states after the last evaluation, batched `[L, ...]` (numpy leaves).
    """

    metrics: dict[str, np.ndarray]
    final_state: Any


def compiled(trainer):
    """`(jit(vmap(init)), jit(vmap(step)))` of a trainer, made once per trainer object.

    Reusing the same jitted functions lets JAX's cache serve every later call
    with the same width without compiling again. They carry no compiler
    options, so they can also be traced inside other programs; the lane
    runner compiles them with `rlab.run.xla.compiler_options()` (`programs`).
    """
    return _kept_on(trainer, "_rlab_vmapped", lambda: (
        jax.jit(jax.vmap(trainer.init)),
        jax.jit(jax.vmap(trainer.step), donate_argnums=0),
    ))


def programs(trainer, width: int, device) -> tuple[jax.stages.Compiled, jax.stages.Compiled]:
    """(init, step) of W lanes compiled for `device`: compiled for the first device, copied to the others.

    `init(keys [W, 2], hparams {name: [W]}) -> state` and `step(state) ->
    (state, metrics)` take and return arrays on `device`. A width's program
    is compiled once per trainer and copied to every further device
    (`rlab.run.executables.copy_to`; compiled again only if copying fails, or
    if the first device's program was read from the persistent compilation
    cache, whose executables do not survive a copy), so one CPU device per
    core costs one compile, not one per core. If `prepare` started making it
    in the background, this waits for that instead.
    """
    made = _kept_on(trainer, "_rlab_programs", dict)
    if (width, device) not in made:
        started = time.perf_counter()
        with _LOCK:
            future = _kept_on(trainer, "_rlab_preparing", dict).pop((width, device), None)
        made[width, device] = future.result() if future is not None else _make(trainer, width, device)
        _kept_on(trainer, "_rlab_compile_seconds", lambda: [0.0])[0] += time.perf_counter() - started
    return made[width, device]


def prepare(trainer, width: int, device) -> None:
    """Starts making `programs(trainer, width, device)` in a background thread, if not made or started yet.

    XLA compiles one program on one core, and a physics program takes tens
    of seconds: a sweep prepares the next groups' programs while the current
    one runs (and several at once where cores are idle). `programs` then
    waits for the result (`compile_seconds` counts the wait, `making_seconds`
    the compile).
    """
    with _LOCK:
        preparing = _kept_on(trainer, "_rlab_preparing", dict)
        if (width, device) in preparing or (width, device) in _kept_on(trainer, "_rlab_programs", dict):
            return
        preparing[width, device] = _compiler_threads().submit(_make, trainer, width, device)


def _make(trainer, width: int, device) -> tuple[jax.stages.Compiled, jax.stages.Compiled]:
    """Copies the width's program compiled here for another device, else compiles it for `device`."""
    started = time.perf_counter()
    try:
        return _copy_or_compile(trainer, width, device)
    finally:
        with _LOCK:
            _kept_on(trainer, "_rlab_making_seconds", lambda: [0.0])[0] += time.perf_counter() - started


def _copy_or_compile(trainer, width: int, device) -> tuple[jax.stages.Compiled, jax.stages.Compiled]:
    with _LOCK:
        copyable = _kept_on(trainer, "_rlab_copyable_programs", dict)  # width -> programs compiled here
        source = copyable.get(width)
    copies = source and [executables.copy_to(program, device) for program in source]
    if copies and all(copies):
        return tuple(copies)
    hits = executables.persistent_cache_hits()
    result = compile_for_device(trainer, width, device)
    if executables.persistent_cache_hits() == hits:
        # Only what XLA compiled in this process is copied, never what it read from the
        # persistent compilation cache (`executables.persistent_cache_hits` says why).
        with _LOCK:
            copyable.setdefault(width, result)
    return result


def compile_seconds(trainer) -> float:
    """Seconds the caller waited for this trainer's lane programs so far (compiles, cache reads, copies)."""
    return _kept_on(trainer, "_rlab_compile_seconds", lambda: [0.0])[0]


def making_seconds(trainer) -> float:
    """Seconds spent making this trainer's lane programs in any thread, waited for or compiled ahead (`prepare`)."""
    return _kept_on(trainer, "_rlab_making_seconds", lambda: [0.0])[0]


_LOCK = threading.RLock()  # guards the per-trainer dictionaries that background compiles fill


@functools.cache
def _compiler_threads() -> concurrent.futures.ThreadPoolExecutor:
    """The threads that compile ahead: one per core, at most four (XLA compiles one program on one core)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4)),
                                                 thread_name_prefix="rlab-compile")


def compile_for_device(trainer, width: int, device) -> tuple[jax.stages.Compiled, jax.stages.Compiled]:
    """(init, step) of W lanes compiled for `device` (what JAX alone does for every device; `programs` copies)."""
    init, step = compiled(trainer)
    placed = jax.sharding.SingleDeviceSharding(device)

    def on_device(tree):
        return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=placed), tree)

    inputs = on_device(jax.eval_shape(lambda: (seed_keys(range(width)), lane_hparams(trainer, None, width))))
    state = on_device(jax.eval_shape(init, *inputs))
    options = xla.compiler_options() or None  # why: `rlab.run.xla`
    return init.lower(*inputs).compile(options), step.lower(state).compile(options)


def _kept_on(trainer, name: str, make: Callable[[], Any]):
    """`make()`, made once and kept on the trainer object itself.

    Not in a module-level weak mapping: the jitted functions and programs
    refer to the trainer, so such a mapping would keep every trainer, and
    its compiled programs, alive for the life of the process.
    """
    attributes = trainer.__dict__  # a frozen dataclass: set through its instance dictionary
    if name not in attributes:
        with _LOCK:  # background compiles (`prepare`) reach here from other threads
            if name not in attributes:
                attributes[name] = make()
    return attributes[name]


def seed_keys(seeds) -> jax.Array:
    """Root keys `[S, 2]` of integer seeds."""
    return jax.vmap(seed_key)(jnp.asarray(list(seeds), jnp.uint32))


def lane_hparams(trainer, overrides: Mapping[str, Any] | None, num_lanes: int) -> dict[str, jax.Array]:
    """The float-hyperparameter pytree of `num_lanes` lanes: each leaf `[num_lanes]`.

    Args:
      overrides: name -> a scalar, or one value per lane `[num_lanes]`.
    """
    result = {}
    for name, value in trainer.hparams(overrides).items():
        if value.ndim > 1 or (value.ndim == 1 and value.shape[0] != num_lanes):
            raise ValueError(
                f"hparams[{name!r}] has shape {value.shape}; allowed: a scalar or one value per seed ({num_lanes},)"
            )
        result[name] = jnp.broadcast_to(value, (num_lanes,))
    return result


def initial_policies(trainer, seeds, hparams: Mapping[str, Any] | None = None):
    """The policies the seeds start from (`Trainer.policy_params` of their initial states), batched `[S, ...]`.

    The same initial states `run_lanes` starts from, for any lane width: a
    seed's initial state is a function of its key alone.

    Args:
      hparams: float-hyperparameter overrides, scalars or `[S]` per seed.
    """
    seeds = np.asarray(list(seeds), np.int64)
    init, _ = compiled(trainer)
    states = init(seed_keys(seeds), lane_hparams(trainer, hparams, seeds.size))
    return xla.jit(jax.vmap(trainer.policy_params))(states)


def run_lanes(
    trainer,
    seeds,
    hparams: Mapping[str, Any] | None,
    num_evals: int,
    width: int,
    devices=None,
    on_eval: Callable[[], None] | None = None,
) -> LaneRun:
    """Trains every lane for `num_evals` trainer steps, W lanes per program.

    Args:
      seeds: `[L]` integer seeds, one per lane.
      hparams: float-hyperparameter overrides: scalars, or one value per lane.
      width: W, lanes per compiled program; the last block is padded with
        copies of the first lane (whose results are dropped).
      devices: where blocks run, round robin (default: every local device;
        see `rlab.run.devices` for one CPU device per core).
      on_eval: called after each evaluation of all blocks has been dispatched.

    Returns:
      LaneRun with metrics `[L, num_evals]` and final states `[L, ...]`.
    """
    seeds = np.asarray(list(seeds), dtype=np.int64)
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError("seeds: give at least one integer seed")
    if width < 1:
        raise ValueError(f"width = {width}; allowed: an integer >= 1")
    devices = list(devices or jax.local_devices())
    # Host copies: a block's lanes are sliced in NumPy, not by one small XLA program per slice.
    per_lane = {name: np.asarray(value) for name, value in lane_hparams(trainer, hparams, seeds.size).items()}
    num_blocks = -(-seeds.size // width)
    padded = np.r_[np.arange(seeds.size), np.zeros(num_blocks * width - seeds.size, np.int64)]
    states, steps = [], []
    for block in range(num_blocks):
        lanes = padded[block * width : (block + 1) * width]
        device = devices[block % len(devices)]
        init, step = programs(trainer, width, device)
        inputs = (seed_keys(seeds[lanes]), {k: v[lanes] for k, v in per_lane.items()})
        states.append(init(*jax.device_put(inputs, device)))
        steps.append(step)
    history: list[list[dict]] = [[] for _ in range(num_blocks)]
    for _ in range(num_evals):
        for block in range(num_blocks):
            states[block], metrics = steps[block](states[block])
            history[block].append(metrics)  # fetched once at the end: steps dispatch back to back
        if on_eval:
            on_eval()
    history = jax.device_get(history)
    real = seeds.size
    metrics = {
        name: np.concatenate([np.stack([h[name] for h in block], axis=1) for block in history])[:real]
        for name in history[0][0]
    }
    final = jax.tree.map(lambda *blocks: np.concatenate([np.asarray(b) for b in blocks])[:real], *states)
    return LaneRun(metrics, final)
