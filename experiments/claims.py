"""Writes the top-level README's claims table from the committed experiment results.

    python experiments/claims.py

Each row's numbers are the experiment's `headline`, computed from its
committed tables (a test checks the README holds exactly these rows).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

from rlab import markdown

HERE = pathlib.Path(__file__).resolve().parent
README = HERE.parent / "README.md"

# (claim, experiment folder, figure shown for it)
CLAIMS = (
    ("Seeds disagree", "seeds_disagree", "seeds_disagree/results/figures/false_positives_by_n.png"),
    ("Sparse reward makes a Swiss-cheese landscape", "swiss_cheese",
     "swiss_cheese/bandit/figures/00-zero-update-law-measured-against-predicted-every-grid-point.png"),
    ("Evolution strategies simulate a smoothed problem", "es_noise", "es_noise/results/figures/success_against_sigma.png"),
    ("One more dimension breaks it", "one_more_dim",
     "one_more_dim/results/figures/point_mass_success_against_dimension.png"),
)


def experiment(name: str):
    path = HERE / name / "analyse.py"
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def headline(name: str) -> str:
    module = experiment(name)
    return module.headline(module.load_tables()) if hasattr(module, "load_tables") else module.headline()


def table() -> str:
    rows = ["| claim | what rlab measured | figure |", "|---|---|---|"]
    for claim, name, figure in CLAIMS:
        rows.append(f"| {claim} | {headline(name)} ([{name}](experiments/{name}/README.md)) | "
                    f"[figure](experiments/{figure}) |")
    return "\n".join(rows)


def main() -> int:
    markdown.replace_block(README, "claims", table())
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
