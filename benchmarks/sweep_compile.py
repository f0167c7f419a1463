"""Where a physics sweep's time goes: making programs against running them, from a cold compilation cache.

    python benchmarks/sweep_compile.py [--spec experiments/reacher_links.toml] [--seeds 8]

Runs `rlab sweep SPEC --seeds N` in a fresh process with an empty JAX
compilation cache (so every program is compiled, as on a new machine) into a
temporary directory, once per `--compile-ahead` setting (0: each program
compiled when its group starts, as before background compilation; 1: the
next program compiled while the current one runs), one after the other in
one session, and prints each run's `timing` entry from the manifest: wall
seconds, seconds the run waited for programs, seconds spent compiling in any
thread, and seconds running them.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_once(spec: str, seeds: int, compile_ahead: int) -> tuple[float, dict]:
    """One `rlab sweep` in a fresh process with an empty compilation cache: (process seconds, its manifest)."""
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = pathlib.Path(tmp) / "sweep", pathlib.Path(tmp) / "cache"
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache), "RLAB_CACHE_DIR": str(cache)}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rlab.cli", "sweep", spec, "--seeds", str(seeds), "--out", str(out),
             "--compile-ahead", str(compile_ahead), "--quiet"], env=env, capture_output=True, text=True,
        )
        process_seconds = time.perf_counter() - started
        if done.returncode:
            sys.exit(done.stderr)
        return process_seconds, json.loads((out / "manifest.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "experiments" / "reacher_links.toml"))
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--compile-ahead", default="0,1", metavar="LIST",
                        help="settings of `rlab sweep --compile-ahead` to run one after another (default: 0,1)")
    args = parser.parse_args()
    settings = [int(v) for v in args.compile_ahead.split(",")]
    runs = {ahead: run_once(args.spec, args.seeds, ahead) for ahead in settings}
    first = runs[settings[0]][1]
    print(f"spec: {args.spec}, {args.seeds} seeds, {len(first['groups'])} groups, {first['timing'][-1]['chunks']} "
          "chunks, cold compilation cache, one run per setting, one after another")
    print(f"{'compile ahead':>13} {'process wall (s)':>17} {'sweep wall (s)':>15} {'waiting (s)':>12} "
          f"{'compiling (s)':>14} {'running (s)':>12} {'wall vs first':>14}")
    for ahead, (process_seconds, manifest) in runs.items():
        timing = manifest["timing"][-1]
        ratio = timing["wall_seconds"] / runs[settings[0]][1]["timing"][-1]["wall_seconds"]
        print(f"{ahead:>13} {process_seconds:>17.1f} {timing['wall_seconds']:>15.1f} {timing['compile_seconds']:>12.1f} "
              f"{timing.get('making_seconds', timing['compile_seconds']):>14.1f} {timing['run_seconds']:>12.1f} "
              f"{ratio:>13.2f}x")
    print("waiting: time the run waited for programs; compiling: time spent compiling in any thread "
          "(the rest of it ran behind running chunks); running: wall minus waiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
