"""The lab's committed experiments, in one list, and the top-level README's claims table written from them.

    python experiments/claims.py

Each row's numbers are the experiment's `headline`, computed from its
committed tables (a test checks the README holds exactly these rows). Adding
an experiment with a claim: its folder (see `rlab.experiment` for the
protocol its `analyse.py` follows) and one entry of EXPERIMENTS.
"""

from __future__ import annotations

import pathlib
import sys

from rlab import markdown
from rlab.experiment import Experiment

HERE = pathlib.Path(__file__).resolve().parent
README = HERE.parent / "README.md"

EXPERIMENTS = (
    Experiment(HERE / "seeds_disagree", "Seeds disagree", "results/figures/false_positives_by_n.png"),
    Experiment(HERE / "swiss_cheese", "Sparse reward makes a Swiss-cheese landscape",
               "bandit/figures/00-zero-update-law-measured-against-predicted-every-grid-point.png"),
    Experiment(HERE / "es_noise", "Evolution strategies simulate a smoothed problem",
               "results/figures/success_against_sigma.png"),
    Experiment(HERE / "one_more_dim", "One more dimension breaks it",
               "results/figures/point_mass_success_against_dimension.png"),
    Experiment(HERE / "one_more_dim", "One more dimension breaks it, on MuJoCo physics",
               "results/figures/cartpole_512k_success_against_poles.png", headline_of="physics_headline"),
    Experiment(HERE / "es_family", "Random search is as good as the ES family",
               "results/figures/success_against_dimension.png"),
)


def table() -> str:
    rows = ["| claim | what rlab measured | figure |", "|---|---|---|"]
    for item in EXPERIMENTS:
        rows.append(f"| {item.claim} | {item.headline()} ([{item.name}](experiments/{item.name}/README.md)) | "
                    f"[figure](experiments/{item.name}/{item.figure}) |")
    return "\n".join(rows)


def main() -> int:
    markdown.replace_block(README, "claims", table())
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
