"""Environment steps per second for many parallel episodes, with compile time.

    python benchmarks/env_throughput.py [--batch 256 4096] [--steps 200] [--brax reacher]
        [--playground CartpoleSwingupSparse] [--brax-steps 20]

Each figure is one jitted program: `lax.scan` over `--steps` steps of
`vmap(env.step)` over the batch, random valid actions, no resets (rlab's envs
absorb after the horizon, so the work per step is the same). Brax tasks named
with --brax (and Playground tasks named with --playground, when MuJoCo
Playground is installed) run in the same harness for comparison (rlab's
`brax/<name>` and `playground/<Name>`, default settings). Prints a table;
absolute numbers depend on the machine, ratios within one run are what to
compare.
"""

from __future__ import annotations

import argparse
import time

import jax

import envs


def random_action(env, key):
    if getattr(env, "num_actions", None) is not None:
        return jax.random.randint(key, (), 0, env.num_actions)
    return jax.random.uniform(key, (env.action_size,), minval=-1.0, maxval=1.0)


def make_program(env, batch: int, steps: int):
    def run(key):
        keys = jax.random.split(key, batch)
        state = jax.vmap(env.reset)(keys)

        def one_step(carry, step_key):
            state, total = carry
            actions = jax.vmap(lambda k: random_action(env, k))(jax.random.split(step_key, batch))
            state = jax.vmap(env.step)(state, actions)
            return (state, total + state.reward.sum()), None

        (state, total), _ = jax.lax.scan(one_step, (state, 0.0), jax.random.split(key, steps))
        return total

    return jax.jit(run)


def measure(env, batch: int, steps: int, repeats: int = 3) -> tuple[float, float]:
    """Returns (compile seconds, env steps per second: best of `repeats`)."""
    program = make_program(env, batch, steps)
    key = jax.random.PRNGKey(0)
    start = time.perf_counter()
    compiled = program.lower(key).compile()
    compile_seconds = time.perf_counter() - start
    compiled(key).block_until_ready()
    best = min(_timed(compiled, key) for _ in range(repeats))
    return compile_seconds, batch * steps / best


def _timed(compiled, key) -> float:
    start = time.perf_counter()
    compiled(key).block_until_ready()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[256, 4096])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--brax", nargs="*", default=["reacher"], help="Brax env names to compare")
    parser.add_argument(
        "--playground", nargs="*", default=["CartpoleSwingupSparse"],
        help="MuJoCo Playground task names to compare (when it is installed)",
    )
    parser.add_argument(
        "--brax-steps", type=int, default=20, help="steps per program for Brax tasks (physics is slow on CPU)"
    )
    args = parser.parse_args()

    tasks = [(env_id, envs.make(env_id), args.steps) for env_id, spec in envs.registered().items()
             if issubclass(spec.env_class, envs.LabEnv)]
    # MuJoCo tasks: rlab's dimension-scalable ones at their defaults, and Brax's for comparison.
    tasks += [("reacher_nd (2 links)", envs.make("reacher_nd", num_links=2), args.brax_steps),
              ("cartpole_poles (1)", envs.make("cartpole_poles", num_poles=1), args.brax_steps)]
    tasks += [(f"brax/{name}", envs.make(f"brax/{name}"), args.brax_steps) for name in args.brax]
    if envs.playground_tasks.installed():
        tasks += [(f"playground/{name}", envs.make(f"playground/{name}"), args.brax_steps) for name in args.playground]

    print(f"backend: {jax.default_backend()}, devices: {jax.devices()}")
    print(f"{'environment':<34} {'batch':>6} {'compile s':>10} {'env steps/s':>14}")
    for name, env, steps in tasks:
        for batch in args.batch:
            compile_seconds, rate = measure(env, batch, steps)
            print(f"{name:<34} {batch:>6} {compile_seconds:>10.2f} {rate:>14,.0f}", flush=True)


if __name__ == "__main__":
    main()
