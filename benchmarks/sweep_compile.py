"""Where a physics sweep's time goes: making programs against running them, from a cold compilation cache.

    python benchmarks/sweep_compile.py [--spec experiments/reacher_links.toml] [--seeds 8]

Runs `rlab sweep SPEC --seeds N` in a fresh process with an empty JAX
compilation cache (so every program is compiled, as on a new machine) into a
temporary directory, then prints the run's `timing` entry from the manifest:
wall seconds, seconds spent making programs (compiling, cache reads, copies
to other devices) and seconds spent running them, and the same per group.
The figures are the baseline against which compile sharing and background
compilation are measured (run both in one session: absolute times vary on
shared machines).
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "experiments" / "reacher_links.toml"))
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = pathlib.Path(tmp) / "sweep", pathlib.Path(tmp) / "cache"
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache)}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rlab.cli", "sweep", args.spec, "--seeds", str(args.seeds), "--out", str(out),
             "--quiet"], env=env, capture_output=True, text=True,
        )
        process_seconds = time.perf_counter() - started
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        manifest = json.loads((out / "manifest.json").read_text())
    timing = manifest["timing"][-1]
    print(f"spec: {args.spec}, {args.seeds} seeds, {len(manifest['groups'])} groups, {timing['chunks']} chunks, "
          f"cold compilation cache")
    print(f"{'process wall (s)':>22} {'sweep wall (s)':>15} {'making programs (s)':>20} {'running (s)':>12}")
    print(f"{process_seconds:>22.1f} {timing['wall_seconds']:>15.1f} {timing['compile_seconds']:>20.1f} "
          f"{timing['run_seconds']:>12.1f}")
    print("per group (chunk seconds, of which making programs):")
    by_group: dict[str, list[float]] = {}
    for entry in manifest["chunks"].values():
        seconds = by_group.setdefault(entry["group"], [0.0, 0.0])
        seconds[0] += entry["seconds"]
        seconds[1] += entry.get("compile_seconds", 0.0)
    for group, (seconds, compiling) in sorted(by_group.items()):
        described = manifest["groups"][group]
        print(f"  {group} {described['algo']:<10} {described['env_axes']}: {seconds:6.1f} s, {compiling:6.1f} s making programs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
