"""Hundreds of seeds in one program on an accelerator, beside what a user would run instead, in one run.

    python benchmarks/gpu_seeds.py                       # the whole table (minutes on a GPU)
    python benchmarks/gpu_seeds.py --seeds 1 4 --seconds 1 --tasks point_mass   # a check on a CPU

For each task, PPO trains S seeds as ONE S-wide program on one device (the
lane runner, `rlab.run.lanes`), and the table gives the aggregate training
env steps per second of all seeds together and its ratio to one seed
("vs 1 seed"; above S / S = 1 per-seed cost falls with width). Tasks:

- `point_mass`: the dense Swiss-cheese point mass, d = 2, PPO's defaults;
- `brax_reacher`: MJX `brax/reacher`, the fair setup rlab and rejax were
  compared on (64 envs x 10 steps, 4 epochs x 4 minibatches, 64 x 64
  networks, no observation normalisation, one evaluation episode per
  100 iterations: negligible evaluation);
- `cartpole_1`, `cartpole_2`: MJX `cartpole_poles` (balance, dense reward,
  200 steps) with 1 and 2 poles, the same PPO setup.

Each program runs once to compile (its seconds are printed: the compile
share matters on an accelerator), then is timed over whole evaluations for
at least `--seconds`. Beside each row: matmul GFLOP/s achieved (from the
program's jaxpr, `benchmarks/seed_scaling.py`) against an f32 matmul
roofline measured in the same run.

Peers, in the same run and on the same device, where they import on the
installed JAX (a peer that does not is one line saying why, never left out
silently): rejax's PPO on `brax/reacher` through its Brax adapter, with the
same setup, one seed per call (rejax trains one seed per program unless
vmapped by hand; with `--peer-vmap` its `train` is vmapped over S seeds as
its README shows), and Brax's own PPO (`brax.training.agents.ppo`, one seed,
64 envs, its own `training/sps`).

`--trace DIR` also writes a profile of one seed of `brax_reacher` (two
iterations, 1,280 env steps, after compiling) with `jax.profiler` and prints the operations
that took the most device time, and how many ran per env step: where one
seed of physics on a GPU spends its time.

Ratios are measured side by side in one process per task; absolute figures
vary. The device is named in the first line.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import importlib.util
import json
import math
import os
import pathlib
import subprocess
import sys
import time

import jax

import envs
import rlab.trainers
from rlab.run import lanes

HERE = pathlib.Path(__file__).resolve().parent


def _seed_scaling():
    """`benchmarks/seed_scaling.py` (a script, not a package): its roofline and jaxpr FLOP count."""
    spec = importlib.util.spec_from_file_location("seed_scaling", HERE / "seed_scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PHYSICS_PPO = dict(num_envs=64, rollout_length=10, num_epochs=4, num_minibatches=4, eval_episodes=1,
                   normalize_observations=False, width=64, depth=2)
CARTPOLE = dict(task="balance", reward="dense", horizon=200)
TASKS = {  # name -> (env id, env parameters, PPO configuration)
    "point_mass": ("cheese_point_mass", dict(dim=2, reward="dense"), {}),
    "brax_reacher": ("brax/reacher", {}, dict(PHYSICS_PPO, iterations_per_eval=100)),
    "cartpole_1": ("cartpole_poles", dict(CARTPOLE, num_poles=1), dict(PHYSICS_PPO, iterations_per_eval=100)),
    "cartpole_2": ("cartpole_poles", dict(CARTPOLE, num_poles=2), dict(PHYSICS_PPO, iterations_per_eval=100)),
}
# Columns: task, seeds, what ran, first-run seconds (compiles), env steps/s, vs 1 seed, matmul GFLOP/s.
HEADER = (f"{'task':<13} {'seeds':>5} {'program':<34} {'first run s':>11} {'env steps/s':>12} {'vs 1 seed':>9} "
          f"{'matmul GFLOP/s':>14}")


def timed(run_evals, env_steps_per_eval: int, seconds: float) -> tuple[float, float]:
    """(first-run seconds, env steps/s): `run_evals(n)` trains n evaluations; timed for at least `seconds`."""
    started = time.perf_counter()
    run_evals(1)  # compiles
    first = time.perf_counter() - started
    started = time.perf_counter()
    run_evals(1)
    one = time.perf_counter() - started
    evals = max(1, math.ceil(seconds / max(one, 1e-6)))
    started = time.perf_counter()
    run_evals(evals)
    return first, env_steps_per_eval * evals / (time.perf_counter() - started)


def rlab_rows(name: str, seed_counts, seconds: float, scaling) -> None:
    env_id, params, ppo = TASKS[name]
    trainer = rlab.trainers.make("ppo", envs.make(env_id, **params), **ppo)
    device = jax.local_devices()[:1]
    one_seed = None
    for num_seeds in sorted(set(seed_counts)):
        def run_evals(evals, num_seeds=num_seeds):
            lanes.run_lanes(trainer, range(num_seeds), None, evals, num_seeds, device)

        first, rate = timed(run_evals, num_seeds * trainer.env_steps_per_eval, seconds)
        one_seed = one_seed or rate
        flops, whiles = scaling.step_flops(trainer, num_seeds)
        achieved = flops * rate / (num_seeds * trainer.env_steps_per_eval)
        print(f"{name:<13} {num_seeds:>5} {'rlab, one program':<34} {first:>11.1f} {rate:>12,.0f} "
              f"{rate / one_seed:>8.2f}x {('>=' if whiles else '') + f'{achieved / 1e9:.1f}':>14}", flush=True)


def rejax_rows(seed_counts, seconds: float, vmapped: bool) -> None:
    """rejax's PPO on brax/reacher, the same setup; one line saying why where it does not run."""
    try:
        import jax.numpy as jnp
        from rejax import PPO
    except Exception as err:  # whatever its imports raise on this JAX
        print(f"{'brax_reacher':<13} {'-':>5} {'rejax PPO':<34} not run: rejax does not import on jax "
              f"{jax.__version__} ({type(err).__name__}: {str(err).splitlines()[0][:120]})", flush=True)
        return
    try:
        for num_seeds in sorted(set(seed_counts if vmapped else [1])):
            algo = PPO.create(env="brax/reacher", env_params={"backend": "mjx"}, num_envs=64, num_steps=10,
                              num_epochs=4, num_minibatches=4, eval_freq=64 * 10 * 100, normalize_observations=False,
                              agent_kwargs={"hidden_layer_sizes": (64, 64)}, total_timesteps=64 * 10 * 100)
            # rejax evaluates 128 whole episodes per evaluation; the fair setup's evaluation is negligible.
            algo = algo.replace(eval_callback=lambda algo, ts, rng: jnp.zeros(()))
            train = jax.jit(jax.vmap(algo.train) if vmapped else algo.train)
            keys = jax.random.split(jax.random.PRNGKey(0), num_seeds) if vmapped else jax.random.PRNGKey(0)

            def run_evals(evals, train=train, keys=keys):
                for _ in range(evals):
                    jax.block_until_ready(train(keys))

            first, rate = timed(run_evals, num_seeds * 64 * 10 * 100, seconds)
            label = "rejax PPO, vmapped" if vmapped else "rejax PPO, one seed per call"
            print(f"{'brax_reacher':<13} {num_seeds:>5} {label:<34} {first:>11.1f} {rate:>12,.0f}", flush=True)
    except Exception as err:
        print(f"{'brax_reacher':<13} {'-':>5} {'rejax PPO':<34} failed: {type(err).__name__}: "
              f"{str(err).splitlines()[0][:160]}", flush=True)


def brax_rows(seconds: float) -> None:
    """Brax's own PPO on its reacher (MJX), one seed, 64 envs: its reported training env steps/s."""
    try:
        import functools

        from brax import envs as brax_envs
        from brax.training.agents.ppo import networks as ppo_networks
        from brax.training.agents.ppo import train as ppo

        env = brax_envs.get_environment("reacher", backend="mjx")
        reported = []
        started = time.perf_counter()
        ppo.train(environment=env, num_timesteps=int(max(seconds, 1) * 200_000), episode_length=1000, num_envs=64,
                  unroll_length=10, batch_size=16, num_minibatches=4, num_updates_per_batch=4, num_evals=3,
                  normalize_observations=False, num_eval_envs=1, seed=0,
                  network_factory=functools.partial(ppo_networks.make_ppo_networks,
                                                    policy_hidden_layer_sizes=(64, 64),
                                                    value_hidden_layer_sizes=(64, 64)),
                  progress_fn=lambda step, metrics: reported.append(float(metrics.get("training/sps", 0.0))))
        rate = max(reported) if reported else float("nan")
        print(f"{'brax_reacher':<13} {1:>5} {'Brax PPO (its training/sps)':<34} "
              f"{time.perf_counter() - started:>11.1f} {rate:>12,.0f}", flush=True)
    except Exception as err:
        print(f"{'brax_reacher':<13} {'-':>5} {'Brax PPO':<34} not run on jax {jax.__version__}: "
              f"{type(err).__name__}: {str(err).splitlines()[0][:160]}", flush=True)


def profile_one_seed(trace_dir: str, top: int = 15) -> None:
    """Traces one evaluation of one seed of brax_reacher; prints the operations with the most device time."""
    env_id, params, ppo = TASKS["brax_reacher"]
    # Two iterations (1,280 env steps): a trace records every kernel, and a whole evaluation's
    # millions of events would not fit in memory.
    trainer = rlab.trainers.make("ppo", envs.make(env_id, **params), **dict(ppo, iterations_per_eval=2))
    device = jax.local_devices()[:1]
    lanes.run_lanes(trainer, [0], None, 1, 1, device)  # compiles outside the trace
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
        lanes.run_lanes(trainer, [0], None, 1, 1, device)
    files = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))
    if not files:
        print(f"profile: no trace file under {trace_dir}")
        return
    with gzip.open(files[-1], "rt") as handle:
        events = json.load(handle)
    events = events["traceEvents"] if isinstance(events, dict) else events
    threads = {(e.get("pid"), e.get("tid")): e.get("args", {}).get("name", "")
               for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    processes = {e.get("pid"): e.get("args", {}).get("name", "")
                 for e in events if e.get("ph") == "M" and e.get("name") == "process_name"}
    totals, counts = collections.Counter(), collections.Counter()
    for event in events:
        if event.get("ph") != "X":
            continue
        where = f"{processes.get(event.get('pid'), '')} / {threads.get((event.get('pid'), event.get('tid')), '')}"
        # Device rows are the accelerator's streams; on a CPU every op runs on host threads.
        key = (where if "/device:" in where.lower() or "stream" in where.lower() else "host", event.get("name", "?"))
        totals[key] += float(event.get("dur", 0.0))
        counts[key] += 1
    env_steps = trainer.env_steps_per_eval
    print(f"profile of one seed of brax_reacher, {env_steps:,} env steps: {files[-1]}")
    print(f"{'where':<40} {'operation':<60} {'total ms':>9} {'calls':>8} {'per env step':>12}")
    for (where, name), micros in totals.most_common(top):
        print(f"{where[:40]:<40} {name[:60]:<60} {micros / 1e3:>9.1f} {counts[(where, name)]:>8} "
              f"{counts[(where, name)] / env_steps:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=5.0, help="least seconds each figure is timed over")
    parser.add_argument("--peers", nargs="*", default=["rejax", "brax"], choices=["rejax", "brax"])
    parser.add_argument("--peer-vmap", action="store_true", help="also run rejax's train vmapped over the seeds")
    parser.add_argument("--trace", metavar="DIR", help="also profile one seed of brax_reacher into DIR")
    parser.add_argument("--one-task", help=argparse.SUPPRESS)  # a child process runs one task
    args = parser.parse_args()
    if args.one_task:
        scaling = _seed_scaling()
        rlab_rows(args.one_task, args.seeds, args.seconds, scaling)
        if args.one_task == "brax_reacher":
            if "rejax" in args.peers:
                rejax_rows(args.seeds, args.seconds, args.peer_vmap)
            if "brax" in args.peers:
                brax_rows(args.seconds)
        return
    device = jax.local_devices()[0]
    roofline = _seed_scaling().matmul_roofline()
    print(f"device: {jax.default_backend()}, {device.device_kind}; jax {jax.__version__}; f32 matmul roofline "
          f"{roofline / 1e9:,.1f} GFLOP/s", flush=True)
    print(HEADER, flush=True)
    for name in args.tasks:
        # One process per task: every seed count is a program, and physics programs hold much memory.
        command = [sys.executable, __file__, "--one-task", name, "--seeds", *map(str, args.seeds),
                   "--seconds", str(args.seconds), "--peers", *args.peers] + (["--peer-vmap"] if args.peer_vmap else [])
        subprocess.run(command, check=True)
    if args.trace:
        profile_one_seed(args.trace)


if __name__ == "__main__":
    main()
