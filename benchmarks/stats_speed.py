"""Speed of the vectorised bootstrap: seconds per interval over seeds x evaluations.

    python benchmarks/stats_speed.py [--seeds 256] [--evals 50] [--resamples 2000 50000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rlab import stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=256)
    parser.add_argument("--evals", type=int, default=50)
    parser.add_argument("--resamples", type=int, nargs="+", default=[2000, 50000])
    args = parser.parse_args()
    scores = np.random.default_rng(0).normal(size=(args.seeds, args.evals))
    print(f"{args.seeds} seeds x {args.evals} evaluations")
    print(f"{'statistic':<16} {'resamples':>10} {'seconds':>9}")
    for resamples in args.resamples:
        for statistic in ("mean", "median", "iqm", "optimality_gap"):
            start = time.perf_counter()
            stats.bootstrap_ci(scores, statistic, np.random.default_rng(1), n_resamples=resamples)
            print(f"{statistic:<16} {resamples:>10} {time.perf_counter() - start:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
