"""rliable's own estimates on three score sets: the independent truth of rlab's rliable-parity tests.

rliable 1.2.0 (archived, read-only) pins `arch < 8`, and arch 7.x does not
import beside pandas 3, which rlab needs; so rliable runs in a virtual
environment of its own and its numbers are committed here:

    python3 -m venv /tmp/rliable-env
    /tmp/rliable-env/bin/pip install rliable==1.2.0 arch==7.2.0 pandas==2.3.3 "numpy<2.4"
    /tmp/rliable-env/bin/python tests/data/rliable/make_reference.py

Writes scores.npz (the inputs, made here from a fixed seed) and reference.json
(rliable's point estimates and 95% percentile intervals, REPS bootstrap
replications each, profiles PROFILE_REPS). rliable draws its resamples from
NumPy's global generator, whatever `random_state` says, so it is seeded here.
"""

import json
import pathlib

import numpy as np
from rliable import library, metrics

HERE = pathlib.Path(__file__).resolve().parent
REPS, PROFILE_REPS = 20_000, 5_000


def score_sets() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(20251129)
    task_means = rng.uniform(0.2, 1.2, size=5)
    normal = {"A": rng.normal(task_means, 0.4, size=(10, 5)), "B": rng.normal(task_means + 0.15, 0.4, size=(10, 5))}
    # Success-like scores with ties and a ceiling: 0, 0.5 or 1 per run.
    ceiling = {"A": rng.choice([0.0, 0.5, 1.0], p=[0.3, 0.2, 0.5], size=(6, 3)),
               "B": rng.choice([0.0, 0.5, 1.0], p=[0.5, 0.2, 0.3], size=(6, 3))}
    # Learning curves (runs, tasks, evaluations): rliable's 3-D shape.
    steps = np.linspace(0.0, 1.0, 6)
    curves = {"A": np.clip(steps * rng.uniform(0.5, 1.5, size=(8, 4, 1)) + rng.normal(0, 0.1, (8, 4, 6)), 0, None),
              "B": np.clip(steps * rng.uniform(0.3, 1.2, size=(8, 4, 1)) + rng.normal(0, 0.1, (8, 4, 6)), 0, None)}
    return {"normal": normal, "ceiling": ceiling, "curves": curves}


AGGREGATES = {
    "mean": metrics.aggregate_mean,
    "median": metrics.aggregate_median,
    "iqm": metrics.aggregate_iqm,
    "optimality_gap": metrics.aggregate_optimality_gap,
}


def taus_of(scores: dict[str, np.ndarray]) -> np.ndarray:
    values = np.concatenate([s.ravel() for s in scores.values()])
    return np.linspace(values.min(), values.max(), 11)


def main() -> None:
    sets = score_sets()
    np.savez(HERE / "scores.npz", **{f"{name}/{algo}": s for name, d in sets.items() for algo, s in d.items()})
    reference: dict = {"reps": REPS, "profile_reps": PROFILE_REPS, "confidence": 0.95, "sets": {}}
    for name, scores in sets.items():
        out: dict = {}
        np.random.seed(0)
        if scores["A"].ndim == 2:
            for metric, func in AGGREGATES.items():
                point, interval = library.get_interval_estimates(scores, lambda x, f=func: np.array([f(x)]), reps=REPS)
                out[metric] = {a: {"point": float(point[a][0]), "low": float(interval[a][0, 0]),
                                   "high": float(interval[a][1, 0])} for a in scores}
            point, interval = library.get_interval_estimates(
                {"A,B": [scores["A"], scores["B"]]}, lambda x, y: np.array([metrics.probability_of_improvement(x, y)]),
                reps=REPS)
            out["probability_of_improvement"] = {"point": float(point["A,B"][0]), "low": float(interval["A,B"][0, 0]),
                                                 "high": float(interval["A,B"][1, 0])}
            taus = taus_of(scores)
            profiles, cis = library.create_performance_profile(scores, taus, reps=PROFILE_REPS)
            out["profile"] = {"taus": taus.tolist(), **{a: {"point": profiles[a].tolist(), "low": cis[a][0].tolist(),
                                                             "high": cis[a][1].tolist()} for a in scores}}
        else:
            per_step = lambda x: np.array([metrics.aggregate_iqm(x[..., t]) for t in range(x.shape[-1])])  # noqa: E731
            point, interval = library.get_interval_estimates(scores, per_step, reps=REPS)
            out["iqm_per_step"] = {a: {"point": point[a].tolist(), "low": interval[a][0].tolist(),
                                       "high": interval[a][1].tolist()} for a in scores}
        reference["sets"][name] = out
    (HERE / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
