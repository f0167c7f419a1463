"""The lane runner: one trainer over many lanes in programs of a fixed width W.

A *lane* is one seed (with its float-hyperparameter values). Lanes run in
blocks of exactly W lanes, one `jit(vmap(step))` program per block, padded
only to a multiple of W. The vmap width is what changes floating-point
results (measured on CPU: at a fixed width a lane's results do not depend on
which other lanes share its block, but a different width changes the last
bits, which training amplifies), so W is the one numeric constant of a run: a
lane's curve is a function of (trainer, seed, hyperparameters, W, backend),
never of how many lanes run or how they are grouped into chunks.

W is chosen by a rule (`rule_width`): the lanes split evenly over the local
devices, one block per device (at most 8 lanes a block while several CPU
devices run at once: wider MJX blocks deadlock in jaxlib 0.10.2), halved
only while a block's program would not fit in memory. A W-wide program costs no more per lane than W programs of one
lane (`benchmarks/seed_scaling.py` measures it; `rlab.xla` removes what made
wide physics programs slower per lane on XLA:CPU), so no width needs to be
timed; `measure_width` times candidate widths for a user who asks. Blocks are
dispatched round robin over the local devices, so several devices work on
different blocks at once; a block is the same program wherever it runs.

This is the only place that vmaps trainers over seeds; `rlab.train` and the
sweep runner both use it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from rlab import executables, xla
from rlab.seeds import seed_key

# Candidate widths tried by `measure_width`: powers of two.
MAX_WIDTH = 1024


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
    runner compiles them with `rlab.xla.compiler_options()` (`programs`).
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
    (`rlab.executables.copy_to`; compiled again only if copying fails, or
    if the first device's program was read from the persistent compilation
    cache, whose executables do not survive a copy), so one CPU device per
    core costs one compile, not one per core.
    """
    made = _kept_on(trainer, "_rlab_programs", dict)
    copyable = _kept_on(trainer, "_rlab_copyable_programs", dict)  # width -> programs compiled here
    if (width, device) not in made:
        source = copyable.get(width)
        copies = source and [executables.copy_to(program, device) for program in source]
        if copies and all(copies):
            made[width, device] = tuple(copies)
        else:
            hits = executables.persistent_cache_hits()
            made[width, device] = compile_for_device(trainer, width, device)
            if executables.persistent_cache_hits() == hits and width not in copyable:
                # Only what XLA compiled in this process is copied, never what it read from the
                # persistent compilation cache (`executables.persistent_cache_hits` says why).
                copyable[width] = made[width, device]
    return made[width, device]


def compile_for_device(trainer, width: int, device) -> tuple[jax.stages.Compiled, jax.stages.Compiled]:
    """(init, step) of W lanes compiled for `device` (what JAX alone does for every device; `programs` copies)."""
    init, step = compiled(trainer)
    placed = jax.sharding.SingleDeviceSharding(device)

    def on_device(tree):
        return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=placed), tree)

    inputs = on_device(jax.eval_shape(lambda: (seed_keys(range(width)), lane_hparams(trainer, None, width))))
    state = on_device(jax.eval_shape(init, *inputs))
    options = xla.compiler_options() or None  # why: `rlab.xla`
    return init.lower(*inputs).compile(options), step.lower(state).compile(options)


def _kept_on(trainer, name: str, make: Callable[[], Any]):
    """`make()`, made once and kept on the trainer object itself.

    Not in a module-level weak mapping: the jitted functions and programs
    refer to the trainer, so such a mapping would keep every trainer, and
    its compiled programs, alive for the life of the process.
    """
    attributes = trainer.__dict__  # a frozen dataclass: set through its instance dictionary
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
        see `rlab.host` for one CPU device per core).
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


# Asks for a measured lane width (`measure_width`) instead of the rule.
MEASURE = "measure"


# Lanes per block when several CPU devices run blocks at once (see `rule_width`).
MAX_SHARED_CPU_WIDTH = 8


def rule_width(num_lanes: int, num_devices: int, platform: str = "cpu") -> int:
    """W by rule: `num_lanes` split evenly over `num_devices`, one block per device.

    `ceil(num_lanes / num_devices)`, at most `MAX_WIDTH` (8 lanes on 2
    devices: W = 4; 1 lane: W = 1). With several CPU devices, at most
    `MAX_SHARED_CPU_WIDTH` lanes per block, more blocks taking turns: two
    CPU devices each running a 32-lane PPO program on MJX `reacher` (2,048
    environments per program) deadlock in jaxlib 0.10.2, both executing
    threads blocked in the LAPACK Cholesky kernel's parallel batch map,
    which waits on the thread pool they occupy; 8 lanes (512 environments)
    ran. On the point mass 4-32 lanes per device ran alike (2.4x one seed)
    and 128 slower (2.0x), so the cap costs nothing measured.
    """
    if num_lanes < 1 or num_devices < 1:
        raise ValueError(f"num_lanes = {num_lanes}, num_devices = {num_devices}; allowed: integers >= 1")
    width = min(-(-num_lanes // num_devices), MAX_WIDTH)
    if platform == "cpu" and num_devices > 1:
        width = min(width, MAX_SHARED_CPU_WIDTH)
    return width


def step_bytes(trainer, width: int, device) -> int:
    """Memory XLA plans for one W-lane step on `device` (arguments + outputs + temporaries; 0 if not reported).

    Compiles the lane runner's own program (`programs`), so a run at this
    width reuses it.
    """
    _, step = programs(trainer, width, device)
    analysis = step.memory_analysis()
    if analysis is None:  # a backend that does not report it
        return 0
    return (analysis.argument_size_in_bytes + analysis.output_size_in_bytes
            + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes)


def available_memory_bytes() -> int:
    """Memory free for a chunk: the first device's limit on an accelerator, else the host's available RAM."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 2**30


def fitting_width(trainer, num_lanes: int, devices, budget_bytes: int) -> "WidthChoice":
    """`rule_width`, halved while the blocks running at once would plan more than `budget_bytes`.

    The check compiles the candidate width's program, which the run then
    reuses: one compile when the rule's width fits (the usual case), one more
    per halving.
    """
    devices = list(devices)
    width = rule_width(num_lanes, len(devices), devices[0].platform)
    while width > 1:
        at_once = min(len(devices), -(-num_lanes // width))
        if step_bytes(trainer, width, devices[0]) * at_once <= budget_bytes:
            break
        width = -(-width // 2)
    return WidthChoice(width, {}, f"rule: {num_lanes} lanes over {len(devices)} device(s)")


@dataclasses.dataclass(frozen=True)
class WidthChoice:
    """The lane width a run uses and how it was chosen.

    Attributes:
      width: W.
      steps_per_second: W -> measured training env steps per second of all
        W lanes together (empty when W was given, not measured).
      reason: how: "rule: ...", "measured", "given" or "stored".
    """

    width: int
    steps_per_second: Mapping[int, float]
    reason: str

    def describe(self) -> dict:
        return {"lane_width": self.width, "lane_width_reason": self.reason,
                "lane_width_steps_per_second": {str(k): round(v) for k, v in self.steps_per_second.items()}}


def candidate_widths(max_width: int) -> list[int]:
    """The widths `measure_width` may try: the powers of two up to `max_width` (and `MAX_WIDTH`), ascending."""
    top = min(max_width, MAX_WIDTH).bit_length() - 1
    return [1 << k for k in range(top + 1)]


def next_width(candidates: list[int], timings: Mapping[int, float], ruled_out: set[int]) -> int | None:
    """The next width `measure_width` times, or None when the search is over.

    The two ends come first (W = 1, then the widest candidate): on a CPU one
    seed of PPO on a physics task already fills the machine, while a wide
    vmap amortises per-op overhead on a cheap task. Then a bisection in
    log2(W) around the fastest width so far: the untried widths between it
    and its nearest tried (or ruled-out) neighbour, on the side of the
    faster neighbour first, are split at their middle. The search ends when
    the fastest width's neighbours among the candidates have all been tried
    or ruled out: a local maximum at the resolution of powers of two (the
    global one when throughput rises, then falls, with log2 W). Each width
    costs a compile, and a search cut by its time budget has tried the widths
    most likely to matter: for 256 lanes 1, 256, 16, then 4 or 64.

    Args:
      candidates: ascending widths (`candidate_widths`).
      timings: W -> measured env steps per second of the widths tried so far.
      ruled_out: widths that will not be tried (too wide for memory, or too
        costly for the search's time budget).
    """
    untried = [w for w in candidates if w not in timings and w not in ruled_out]
    if not untried:
        return None
    for end in (candidates[0], candidates[-1]):
        if end in untried:
            return end
    if not timings:
        return untried[0]
    best = max(timings, key=timings.get)
    settled = sorted(set(timings) | ruled_out)
    below = [w for w in settled if w < best]
    above = [w for w in settled if w > best]
    sides = []
    for neighbour, gap in (
        (below[-1] if below else None, [w for w in untried if (below[-1] if below else 0) < w < best]),
        (above[0] if above else None, [w for w in untried if best < w < (above[0] if above else float("inf"))]),
    ):
        if gap:
            sides.append((timings.get(neighbour, 0.0), gap))
    if not sides:
        return None
    _, gap = max(sides, key=lambda side: side[0])
    return gap[(len(gap) - 1) // 2]


def measure_width(
    trainer,
    max_width: int,
    fits: Callable[[int], bool] = lambda width: True,
    repeats: int = 2,
    devices=None,
    run_env_steps: float | None = None,
    search_fraction: float = 0.25,
) -> WidthChoice:
    """Times candidate widths on the actual device and picks the fastest.

    Candidates are powers of two up to `max_width` (the lanes a run will
    have), tried in the order `next_width` gives: the two ends, then a
    bisection in log2(W) towards the fastest (on the point mass at 256 seeds:
    1, 256, 16, then 4 or 64...; the best of 64 seeds was measured at W = 8-16
    and throughput can dip at a middle width and rise again: W = 4 at 0.87x
    of W = 1, W = 64 at 2.3x). A width is timed as the run would use it: with
    `devices` (default: every local device) it runs one block on each of
    min(devices, ceil(max_width / W)) devices at once, the round robin of
    `run_lanes`. Each compiles its W-wide program once and copies it to the
    other devices used (`programs`; the chosen one's programs are reused by
    the run), runs one warm-up step, then `repeats` timed steps; a width that
    does not `fit` (memory) is ruled out.

    When `run_env_steps` (env steps the run will train, all lanes together)
    is given, a width whose cost would take the search beyond
    `search_fraction` of the run's time at the best rate so far is ruled out
    too, and the search goes on with the others (the widest candidate is
    tried second and is the costliest; narrower ones may still fit). A
    width's cost is predicted as the last width's compile time plus its own
    timed work (warm-up and `repeats` steps of W lanes on each device used)
    at the best rate so far: one trainer step is a whole evaluation
    interval, so timing W = 64 runs 64 times the env steps of W = 1
    (predicting it as W = 1's cost let a 64-seed `brax/reacher` search run
    24 minutes). Compiling a physics program takes 40-70 s on a 2-core CPU,
    so an unbounded search over a short group costs more than any width
    saves.

    Returns:
      WidthChoice with the aggregate env steps per second of each width tried;
      reason "measured", or "measured (search cut at its time budget)".
    """
    devices = list(devices or jax.local_devices())
    candidates = candidate_widths(max_width)
    timings: dict[int, float] = {}
    ruled_out: set[int] = set()
    spent = last_compile = 0.0  # seconds of search beyond the first width; the last width's compile
    cut = False
    while (width := next_width(candidates, timings, ruled_out)) is not None:
        if not fits(width):
            ruled_out.add(width)  # too wide for memory
            continue
        used = devices[: min(len(devices), -(-max_width // width))]
        if timings and run_env_steps is not None:
            best_rate = max(timings.values())
            work = (repeats + 1) * len(used) * width * trainer.env_steps_per_step
            if spent + last_compile + work / best_rate > search_fraction * run_env_steps / best_rate:
                cut = True
                ruled_out.add(width)
                continue
        started = time.perf_counter()
        inputs = (seed_keys(range(width)), lane_hparams(trainer, None, width))
        placed = [programs(trainer, width, device) for device in used]  # one compile, copied to the others
        states = [step(init(*jax.device_put(inputs, device)))[0] for (init, step), device in zip(placed, used)]
        jax.block_until_ready(states)  # warmed up
        timed = time.perf_counter()
        for _ in range(repeats):
            states = [step(state)[0] for (_, step), state in zip(placed, states)]  # the devices work at once
        jax.block_until_ready(states)
        seconds = time.perf_counter() - timed
        last_compile = max(timed - started - seconds / repeats, 0.0)  # less the warm-up step
        spent += time.perf_counter() - started if timings else 0.0
        timings[width] = len(used) * width * trainer.env_steps_per_step * repeats / max(seconds, 1e-9)
    if not timings:
        raise ValueError("no lane width fits the memory budget; lower the network or batch size")
    best = max(timings, key=timings.get)
    return WidthChoice(best, timings, "measured (search cut at its time budget)" if cut else "measured")
