"""The pilots that chose the physics specs' reward and hyperparameters: every seed's final evaluation.

    for p in experiments/one_more_dim/pilot/*.toml; do
        rlab sweep "$p" --out runs/pilot/$(basename "$p" .toml)
    done
    python experiments/one_more_dim/pilot/collect.py runs/pilot

Seeds 0-15 (0-7 for most pilots), disjoint from the experiment's (1000 on).
Writes final_evaluations.csv (one row per pilot x seed x setting, with every
environment parameter) and prints, per setting, how many seeds succeed (final
evaluation successful in >= half its episodes).
"""

from __future__ import annotations

import pathlib
import sys

import pandas as pd

from rlab import spec as spec_lib
from rlab import store

HERE = pathlib.Path(__file__).resolve().parent


def collect(runs: pathlib.Path) -> pd.DataFrame:
    parts = []
    for spec_path in sorted(HERE.glob("*.toml")):
        label = spec_path.stem
        spec = spec_lib.load(spec_path)
        frame = store.load(runs / label)
        last = frame[frame["eval"] == frame["eval"].max()].copy()
        for name, value in spec.env_params.items():
            if f"env.{name}" not in last:
                last[f"env.{name}"] = value
        settings = sorted(c for c in last.columns if c.startswith(("env.", "hp.")))
        part = last[["algo", "seed", "env_steps", "eval_success", "eval_return", *settings]].copy()
        part.insert(0, "pilot", label)
        part.insert(1, "env", spec.env)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    frame = collect(pathlib.Path(argv[0]))
    frame.to_csv(HERE / "final_evaluations.csv", index=False)
    settings = [c for c in frame.columns if c.startswith(("env.", "hp."))]
    summary = (frame.assign(succeeded=frame["eval_success"] >= 0.5)
               .groupby(["pilot", "algo", *settings], dropna=False)
               .agg(seeds=("seed", "size"), seeds_succeeding=("succeeded", "sum")).reset_index())
    print(summary.dropna(axis=1, how="all").to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
