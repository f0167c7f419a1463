"""The lane width W of a run: by rule, halved to fit memory, or measured; and the chunk size that fits.

W is the one numeric constant of a run (see `rlab.run.lanes`). By default it
is a rule, `rule_width`: a chunk's lanes split evenly over the local devices,
one block per device, capped on shared CPU devices. `fitting_width` halves it
while its blocks would not fit in memory (reading XLA's plan for the program
the run then reuses); `measure_width` times candidate widths for a user who
asks; `default_chunk_size` sizes a sweep's stored chunks from the same plan.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Mapping

import jax

from rlab import spec as spec_lib
from rlab.run.lanes import lane_hparams, programs, seed_keys

# The widest program a run compiles (and the widest candidate `measure_width` tries).
MAX_WIDTH = spec_lib.MAX_LANE_WIDTH

# The largest chunk `default_chunk_size` gives.
DEFAULT_MAX_CHUNK = 64

# Asks for a measured lane width (`measure_width`) instead of the rule.
MEASURE = spec_lib.MEASURE_WIDTH


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
    ran, and cost no throughput where measured (`docs/performance.md`).
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
    bisection in log2(W) towards the fastest (for 256 seeds: 1, 256, 16,
    then 4 or 64...; throughput can dip at a middle width and rise again).
    A width is timed as the run would use it: with
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
    interval, so timing W = 64 runs 64 times the env steps of W = 1.
    Compiling a physics program takes the better part of a minute on a
    small CPU, so an unbounded search over a short group costs more than any
    width saves.

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
            work = (repeats + 1) * len(used) * width * trainer.env_steps_per_eval
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
        timings[width] = len(used) * width * trainer.env_steps_per_eval * repeats / max(seconds, 1e-9)
    if not timings:
        raise ValueError("no lane width fits the memory budget; lower the network or batch size")
    best = max(timings, key=timings.get)
    return WidthChoice(best, timings, "measured (search cut at its time budget)" if cut else "measured")


def default_chunk_size(trainers, num_devices: int, budget_bytes: int | None = None, probe_lanes: int = 8) -> int:
    """Lanes per stored chunk when the user sets none.

    Memory per lane is read from XLA's plan for one `probe_lanes`-wide step
    of each trainer and charged as that plan divided by its lanes: the plan's
    fixed part is counted once per lane, an overestimate that can only make
    chunks smaller. One compile per algorithm, at the width the run will use
    (the sweep runner probes at the rule's width for the largest chunk), on the
    trainer object the run then uses for that group, so the run reuses it
    rather than compiling again. The chunk is
    the largest that fits half the available memory (or `budget_bytes`) on
    every device, capped at 64 lanes, a power of two times the device count
    so that chunks shard evenly.
    """
    budget = budget_bytes if budget_bytes is not None else available_memory_bytes() // 2
    fits = DEFAULT_MAX_CHUNK
    for trainer in trainers:
        per_lane = max(step_bytes(trainer, probe_lanes, jax.local_devices()[0]) / probe_lanes, 1.0)
        fits = min(fits, int(budget / per_lane) * num_devices)
    size = num_devices
    while size * 2 <= fits:
        size *= 2
    return size
