"""What many seeds cost per seed: aggregate training throughput against the number of seeds, one device and all.

    python benchmarks/seed_scaling.py [--tasks point_mass brax_reacher reacher_nd] [--seeds 1 8 64 256]

For each task it trains PPO with the lane runner (`rlab.run.lanes`) and prints,
for S seeds, the aggregate env steps per second of all seeds together and
its ratio to one seed (the "vs 1 seed" column; per-lane cost falls with
width where it exceeds S / S = 1 on one device):

- `1 dev, W=S`: all S seeds in one program on one device (what a naive
  seed-parallel runner does; a wide program must cost no more per lane than
  one lane, so this should be >= 1.0x);
- `all, rule`: what `rlab.train` does by default, the seeds split evenly
  over every device (`rlab.run.widths.rule_width`), one program per device;
- `1 dev, XLA defaults` (with `--xla-defaults`): the one-device program
  compiled with XLA's default options instead of rlab's (`rlab.run.xla`), which
  keeps the cause of the wide-vmap cost in view: should a release change
  which XLA:CPU options matter, this row and the first part ways;
- `all, W=...` for each `--widths`, and `all, measured` with `--measure`
  (the opt-in width search, `rlab.run.widths.measure_width`).

One seed runs on one device. The point mass runs PPO's defaults (16 envs x
32 steps, 4 epochs x 4 minibatches, 2 x 64 networks, 32 evaluation episodes
every 10 iterations); the physics tasks run 64 envs x 10 steps per
iteration, 4 epochs x 4 minibatches, 64 x 64 networks, one evaluation
episode every 20 iterations (every 100 on `brax/reacher`, whose episodes
last 1,000 steps), so the figure is training throughput. Each row's first
call compiles (its seconds are printed); the timed call trains at least
`--timed-steps` env steps in all. Achieved matmul FLOP/s (the dot products
of the program's jaxpr, loops multiplied by their trip counts, over its wall
time; `matmul_flops` says why not XLA's cost analysis) stand beside an f32
matmul roofline measured in the same run. Ratios are measured side by side,
so they compare like with like on a shared machine; absolute figures vary.
As the `rlab` command line does, the CPU is split into one JAX device per
core (`rlab.run.devices`).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time

import jax
import jax.extend.core
import jax.numpy as jnp

import envs
import rlab.trainers
from rlab.run import executables
from rlab.run import devices as host_devices
from rlab.run import lanes
from rlab.run import widths
from rlab.run import xla

PHYSICS_PPO = dict(num_envs=64, rollout_length=10, num_epochs=4, num_minibatches=4, eval_episodes=1,
                   normalize_observations=False)
TASKS = {  # name -> (env id, env parameters, PPO configuration)
    "point_mass": ("cheese_point_mass", dict(dim=2, reward="dense"), {}),
    "reacher_nd": ("reacher_nd", dict(num_links=2), dict(PHYSICS_PPO, iterations_per_eval=20)),
    "brax_reacher": ("brax/reacher", {}, dict(PHYSICS_PPO, iterations_per_eval=100)),
}


def matmul_roofline(size: int = 2048, repeats: int = 5) -> float:
    """f32 FLOP/s of a square matmul on the default device (best of `repeats`)."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    product = jax.jit(lambda x: x @ x)
    product(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        product(a).block_until_ready()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def matmul_flops(jaxpr) -> tuple[float, int]:
    """(FLOPs of the dot products in `jaxpr`, loops multiplied by their trip counts; while loops found).

    XLA's cost analysis counts a loop's body once, whatever its trip count, so
    it undercounts a trainer step (a scan over iterations, each a scan over
    env steps and minibatches) by orders of magnitude. This walks the jaxpr
    instead: a scan's body counts `length` times, a cond its costliest branch,
    and a while loop's body once (its trip count is not known before it runs;
    the count is then a lower bound, which the second value flags).
    """
    total, whiles = 0.0, 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2 * math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in contract)
            continue
        inner = [matmul_flops(sub) for sub in _subjaxprs(eqn.params)]
        if not inner:
            continue
        flops = max(f for f, _ in inner) if name == "cond" else sum(f for f, _ in inner)
        total += flops * (eqn.params["length"] if name == "scan" else 1)
        whiles += sum(w for _, w in inner) + (name == "while")
    return total, whiles


def _subjaxprs(params):
    """The jaxprs among a primitive's parameters (a ClosedJaxpr, a Jaxpr, or tuples of them)."""
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jax.extend.core.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jax.extend.core.Jaxpr):
                yield item


def step_flops(trainer, width: int) -> tuple[float, int]:
    """(matmul FLOPs of one W-wide trainer step, while loops counted once) from the step's jaxpr."""
    init, step = lanes.compiled(trainer)
    state = jax.eval_shape(init, lanes.seed_keys(range(width)), lanes.lane_hparams(trainer, None, width))
    return matmul_flops(jax.make_jaxpr(step)(state).jaxpr)


def placement_seconds(trainer, width: int) -> tuple[float, float, float]:
    """(compile for the first device, compile again for the second, copy to the second) in seconds.

    The second device's compile is what JAX alone does for every device; the
    copy (`rlab.run.executables.copy_to`) is what the lane runner does instead.
    """
    first, second = jax.local_devices()[:2]
    started = time.perf_counter()
    programs = lanes.compile_for_device(trainer, width, first)
    compiled = time.perf_counter()
    lanes.compile_for_device(trainer, width, second)
    compiled_again = time.perf_counter()
    copies = [executables.copy_to(program, second) for program in programs]
    copied = time.perf_counter()
    if not all(copies):
        raise RuntimeError("this JAX could not copy a compiled program to another device")
    return compiled - started, compiled_again - compiled, copied - compiled_again


def throughput(trainer, num_seeds: int, width: int, timed_env_steps: float, devices) -> tuple[float, float]:
    """(seconds of a first one-evaluation run, which compiles; aggregate env steps/s of a timed run).

    The timed run trains at least `timed_env_steps` env steps in all (more
    evaluations for fewer seeds), so one seed is timed over as much work as
    256 and per-call overheads do not decide the ratio.
    """
    started = time.perf_counter()
    lanes.run_lanes(trainer, range(num_seeds), None, 1, width, devices)
    first = time.perf_counter() - started
    evals = max(1, math.ceil(timed_env_steps / (num_seeds * trainer.env_steps_per_eval)))
    started = time.perf_counter()
    lanes.run_lanes(trainer, range(num_seeds), None, evals, width, devices)
    seconds = time.perf_counter() - started
    return first, num_seeds * trainer.env_steps_per_eval * evals / seconds


def throughput_with_xla_defaults(trainer, num_seeds: int, timed_env_steps: float, device) -> tuple[float, float]:
    """`throughput` of one S-wide program on `device`, compiled with XLA's default options instead of rlab's."""
    init = jax.jit(jax.vmap(trainer.init))
    step = jax.jit(jax.vmap(trainer.step), donate_argnums=0)
    inputs = jax.device_put((lanes.seed_keys(range(num_seeds)), lanes.lane_hparams(trainer, None, num_seeds)), device)
    started = time.perf_counter()
    state, _ = step(init(*inputs))
    jax.block_until_ready(state)
    first = time.perf_counter() - started
    evals = max(1, math.ceil(timed_env_steps / (num_seeds * trainer.env_steps_per_eval)))
    started = time.perf_counter()
    for _ in range(evals):
        state, _ = step(state)
    jax.block_until_ready(state)
    return first, num_seeds * trainer.env_steps_per_eval * evals / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["point_mass", "brax_reacher"], choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--timed-steps", type=float, default=1e6, help="env steps (all seeds) timed per figure")
    parser.add_argument("--max-one-device", type=int, default=256,
                        help="largest S also run as one S-wide program on one device")
    parser.add_argument("--xla-defaults", action="store_true",
                        help="also run the one-device program compiled with XLA's default options")
    parser.add_argument("--measure", action="store_true", help="also run the width measured by the opt-in search")
    parser.add_argument("--widths", type=int, nargs="*", default=[],
                        help="further lane widths to run over all devices at every seed count")
    parser.add_argument("--cpu-devices", type=int, default=None,
                        help="JAX CPU devices (default: one per core, as the rlab command line uses; 1: JAX's default)")
    args = parser.parse_args()
    host_devices.use_cpu_cores(args.cpu_devices)
    if len(args.tasks) > 1:
        # One process per task: every width is a compiled program, and a process that
        # holds dozens of physics programs runs out of memory for LLVM's code.
        for name in args.tasks:
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--tasks", name], check=True)
        return

    devices = jax.local_devices()
    roofline = matmul_roofline()
    print(f"backend: {jax.default_backend()}, devices: {len(devices)} x {devices[0].device_kind}; "
          f"f32 matmul roofline {roofline / 1e9:,.1f} GFLOP/s; rlab's XLA options: {xla.compiler_options()}")
    print(f"{'task':<13} {'seeds':>5} {'program':<24} {'first run s':>11} {'env steps/s':>12} {'vs 1 seed':>9} "
          f"{'matmul GFLOP/s':>14}")
    for name in args.tasks:
        env_id, params, ppo = TASKS[name]
        trainer = rlab.trainers.make("ppo", envs.make(env_id, **params), **ppo)
        if len(devices) > 1:
            compile_first, compile_again, copy = placement_seconds(trainer, 1)
            print(f"{name}: W = 1 program compiled in {compile_first:.1f} s for the first device; for the second "
                  f"compiled again in {compile_again:.1f} s (JAX alone), copied in {copy:.2f} s (the lane runner)",
                  flush=True)
        measured = None
        if args.measure:
            started = time.perf_counter()
            run_env_steps = max(args.seeds) * 10 * trainer.env_steps_per_eval
            measured = widths.measure_width(trainer, max_width=max(args.seeds), run_env_steps=run_env_steps)
            timings = ", ".join(f"W={w}: {v:,.0f}" for w, v in measured.steps_per_second.items())
            print(f"{name}: measured in {time.perf_counter() - started:.0f} s -> W = {measured.width} ({timings})",
                  flush=True)
        one_seed = None
        flops = {}

        def row(num_seeds, label, width, first, rate):
            nonlocal one_seed
            if one_seed is None:
                one_seed = rate
            if width not in flops:
                flops[width] = step_flops(trainer, width)
            step_matmul_flops, whiles = flops[width]
            achieved = step_matmul_flops * rate / (width * trainer.env_steps_per_eval)
            bound = ">=" if whiles else ""  # a while loop's body was counted once
            print(f"{name:<13} {num_seeds:>5} {label:<24} {first:>11.1f} {rate:>12,.0f} {rate / one_seed:>8.2f}x "
                  f"{bound + f'{achieved / 1e9:.1f}':>14}", flush=True)

        for num_seeds in sorted(set(args.seeds)):
            if num_seeds == 1:
                row(1, "1 dev, W=1", 1, *throughput(trainer, 1, 1, args.timed_steps, devices[:1]))
                continue
            if one_seed is None:
                row(1, "1 dev, W=1", 1, *throughput(trainer, 1, 1, args.timed_steps, devices[:1]))
            if num_seeds <= args.max_one_device:
                row(num_seeds, f"1 dev, W={num_seeds}", num_seeds,
                    *throughput(trainer, num_seeds, num_seeds, args.timed_steps, devices[:1]))
                if args.xla_defaults:
                    row(num_seeds, f"1 dev, W={num_seeds}, XLA defaults", num_seeds,
                        *throughput_with_xla_defaults(trainer, num_seeds, args.timed_steps, devices[0]))
            rule = widths.rule_width(num_seeds, len(devices), devices[0].platform)
            if len(devices) > 1 or rule != num_seeds:
                row(num_seeds, f"all, rule W={rule}", rule, *throughput(trainer, num_seeds, rule, args.timed_steps, devices))
            extra = [w for w in args.widths if w < num_seeds and w != rule]
            if measured is not None and min(measured.width, num_seeds) not in (rule, *extra):
                extra.append(min(measured.width, num_seeds))
            for width in extra:
                row(num_seeds, f"all, W={width}", width, *throughput(trainer, num_seeds, width, args.timed_steps, devices))


if __name__ == "__main__":
    main()
