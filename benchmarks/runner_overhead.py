"""What the sweep runner costs on top of the bare compiled programs, and its memory discipline.

    python benchmarks/runner_overhead.py [--seeds 128] [--budget-mib 64] [--budget-seeds 1024]

Part 1, overhead: the same spec (cheese_point_mass dim 2; PPO and OpenAI-ES;
chunks of 64 lanes) run by `rlab.run.sweep.run` (chunk planning, progress, Parquet
and parameter files, manifest updates) and by a bare loop of the same
`jit(vmap(init))` / `jit(vmap(step))` programs over the same chunks with no
persistence. Both are timed after a warm-up run of each that fills JAX's persistent
compilation cache, so both pay the same cache loads.

Part 2, memory: the chunk size the runner picks for PPO under a memory budget,
the memory XLA plans for that chunk's program, and the process's peak RSS
while running --budget-seeds seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time

import jax

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.run import sweep, widths
from rlab.run.training import seed_keys

SPEC = """
env = "cheese_point_mass"
seeds = {seeds}
num_evals = 4
chunk_size = {chunk}
lane_width = {chunk}
[env_params]
dim = 2
[algorithms.ppo]
num_envs = 16
iterations_per_eval = 2
[algorithms.openai_es]
iterations_per_eval = 2
"""


def bare(spec) -> float:
    """Seconds for the same chunks through bare jit(vmap) programs, no persistence."""
    start = time.perf_counter()
    for group in spec.groups():
        trainer = rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)
        init, step = jax.jit(jax.vmap(trainer.init)), jax.jit(jax.vmap(trainer.step), donate_argnums=0)
        for chunk in group.chunks(spec.seed_start, spec.num_seeds, spec.chunk_size):
            seeds = [s for s, _ in chunk.lanes] + [chunk.lanes[0][0]] * (spec.chunk_size - len(chunk.lanes))
            state = init(seed_keys(seeds))
            for _ in range(spec.num_evals):
                state, metrics = step(state)
            jax.block_until_ready(metrics)
    return time.perf_counter() - start


def with_runner(spec) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        sweep.run(spec, out)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--budget-mib", type=float, default=64.0)
    parser.add_argument("--budget-seeds", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each (best is kept)")
    parser.add_argument("--parts", nargs="+", default=["memory", "overhead"], choices=["memory", "overhead"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        if "memory" in args.parts:
            memory(args)
        if "overhead" in args.parts:
            overhead(args)


def overhead(args) -> None:
    """Times the runner against bare programs on the same chunks (best of --repeats, alternating)."""
    spec = spec_lib.parse(spec_lib.tomllib.loads(SPEC.format(seeds=args.seeds, chunk=args.chunk)))
    bare(spec), with_runner(spec)  # warm-up: both fill the compilation cache
    bare_times, runner_times = [], []
    for _ in range(args.repeats):
        bare_times.append(bare(spec))
        runner_times.append(with_runner(spec))
    bare_seconds, runner_seconds = min(bare_times), min(runner_times)
    print(f"overhead: {args.seeds} seeds x 2 trainers, chunks of {args.chunk} lanes, 4 evaluations")
    print(f"  bare jit(vmap) programs: {bare_seconds:7.2f} s")
    print(f"  rlab sweep runner:       {runner_seconds:7.2f} s  ({runner_seconds / bare_seconds - 1:+.1%})")


def memory(args) -> None:
    """Runs PPO over many seeds under a memory budget and reports what was planned and used."""
    budget = int(args.budget_mib * 2**20)
    big = spec_lib.parse(spec_lib.tomllib.loads(SPEC.format(seeds=args.budget_seeds, chunk=1)))
    big = dataclasses.replace(big, chunk_size=None, algorithms=big.algorithms[:1])
    trainer = rlab.trainers.make("ppo", envs.make("cheese_point_mass", dim=2), num_envs=16, iterations_per_eval=2)
    chunk = widths.default_chunk_size([trainer], len(jax.local_devices()), budget)
    planned = widths.step_bytes(trainer, chunk, jax.local_devices()[0]) / 2**20
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        sweep.run(big, out, memory_budget=budget)
        seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: PPO, {args.budget_seeds} seeds, budget {args.budget_mib:.0f} MiB per chunk")
    print(f"  chunk size chosen: {chunk} lanes; XLA plans {planned:.1f} MiB for its program")
    print(f"  process peak RSS: {rss_before:.0f} MiB before the sweep, {rss_after:.0f} MiB after ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
