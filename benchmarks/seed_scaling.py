"""Aggregate throughput and memory of many seeds in one program, against one seed at a time.

    python benchmarks/seed_scaling.py [--algos ppo openai_es] [--seeds 1 8 64 256 1024]

For each trainer on `cheese_point_mass` (dim 2; PPO with 16 envs per seed) it
prints, per number of seeds S in one `jit(vmap(step))` program: compile time,
aggregate environment steps per second (all seeds together), the speed-up over
running the same seeds one at a time (a single-seed `jit(step)` program, run S
times: its aggregate rate is the single-seed rate), and the program's memory
as XLA plans it (arguments + outputs + temporaries). All figures come from one
run on one machine, so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import time

import jax

import envs
import rlab.trainers
from rlab.training import seed_keys

SETTINGS = {
    "ppo": dict(num_envs=16, iterations_per_eval=2),
    "openai_es": dict(population=64, iterations_per_eval=2),
    "reinforce": dict(num_envs=16, iterations_per_eval=2),
    "ars": dict(num_directions=32, iterations_per_eval=2),
    "random_search": dict(population=64, iterations_per_eval=2),
}


def time_steps(compiled, state, repeats: int) -> float:
    """Seconds per step: the best of `repeats` timed steps after a warm-up."""
    state, metrics = compiled(state)
    jax.block_until_ready(metrics)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        state, metrics = compiled(state)
        jax.block_until_ready(metrics)
        best = min(best, time.perf_counter() - start)
    return best


def program_mib(compiled) -> float:
    analysis = compiled.memory_analysis()
    if analysis is None:
        return float("nan")
    total = (
        analysis.argument_size_in_bytes + analysis.output_size_in_bytes
        + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes
    )
    return total / 2**20


def measure(trainer, num_seeds: int | None, repeats: int) -> tuple[float, float, float]:
    """(compile s, aggregate env steps/s, program MiB); `num_seeds=None`: unbatched single seed."""
    if num_seeds is None:
        init, step, keys = jax.jit(trainer.init), jax.jit(trainer.step), seed_keys([0])[0]
        seeds = 1
    else:
        init, step, keys = jax.jit(jax.vmap(trainer.init)), jax.jit(jax.vmap(trainer.step)), seed_keys(range(num_seeds))
        seeds = num_seeds
    state = init(keys)
    start = time.perf_counter()
    compiled = step.lower(state).compile()
    compile_seconds = time.perf_counter() - start
    seconds = time_steps(compiled, state, repeats)
    return compile_seconds, seeds * trainer.env_steps_per_step / seconds, program_mib(compiled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["ppo", "openai_es"], choices=sorted(SETTINGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256, 1024])
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per figure (best is kept)")
    parser.add_argument("--width", type=int, default=64, help="policy/value hidden units")
    parser.add_argument("--depth", type=int, default=2, help="policy/value hidden layers")
    args = parser.parse_args()

    env = envs.make("cheese_point_mass", dim=2)
    print(f"backend: {jax.default_backend()}, devices: {len(jax.devices())} x {jax.devices()[0].device_kind}; "
          f"networks: {args.depth} x {args.width}")
    print(f"{'algorithm':<10} {'seeds':>6} {'compile s':>10} {'env steps/s':>14} {'vs 1-at-a-time':>15} {'program MiB':>12}")
    for algo in args.algos:
        trainer = rlab.trainers.make(algo, env, width=args.width, depth=args.depth, **SETTINGS[algo])
        compile_seconds, single_rate, mib = measure(trainer, None, args.repeats)
        print(f"{algo:<10} {'1 x S':>6} {compile_seconds:>10.1f} {single_rate:>14,.0f} {1.0:>14.1f}x {mib:>12.1f}", flush=True)
        for num_seeds in args.seeds:
            compile_seconds, rate, mib = measure(trainer, num_seeds, args.repeats)
            print(
                f"{algo:<10} {num_seeds:>6} {compile_seconds:>10.1f} {rate:>14,.0f} "
                f"{rate / single_rate:>14.1f}x {mib:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
