"""What `rlab import` costs on large files: seconds for an rliable file of N runs per algorithm.

    python benchmarks/import_speed.py [--runs 1000000]

Writes `{A, B: [runs, 1]}` of uniform scores and times `rlab.interop.import_runs` on it (reading,
the data contract's checks, storing), one run of each size.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np

from rlab import interop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'runs per algorithm':>18} {'rows':>10} {'seconds':>8}")
    for runs in args.runs:
        with tempfile.TemporaryDirectory() as folder:
            source = pathlib.Path(folder) / "scores.npz"
            np.savez(source, A=rng.random((runs, 1)), B=rng.random((runs, 1)))
            started = time.perf_counter()
            interop.import_runs("rliable", source, pathlib.Path(folder) / "out")
            print(f"{runs:>18,} {2 * runs:>10,} {time.perf_counter() - started:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
