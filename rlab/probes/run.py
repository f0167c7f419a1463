"""Run the landscape probes over a grid of hole radius x dimension into a probe directory.

    config = rlab.probes.run.default_config("cheese_bandit")
    rlab.probes.run.run(config, "runs/probe-cheese_bandit")

Every (probe, grid cell, batch size, algorithm) is one stored part, so an
interrupted run resumes where it stopped. Each algorithm sees the same
networks (`width`, `depth`) and, in the budget probe, the same training env
steps per seed (`budget`).
"""

from __future__ import annotations

import time

import jax
import numpy as np
import pandas as pd

import envs
from rlab import trainers
from rlab.console import Progress
from rlab.errors import UsageError
from rlab.probes import budget, gradients, surface, zero_law
from rlab.store import probes as store
from rlab.trainers.population import FlatPolicy

PROBES = ("zero_law", "gradients", "budget", "surface")
TASKS = ("cheese_bandit", "cheese_point_mass")

# Algorithm variants of the zero-update law: label -> (algorithm, hyperparameters given the batch size N).
ZERO_LAW_VARIANTS = {
    "reinforce/none": ("reinforce", lambda n: {"baseline": "none", "num_envs": n}),
    "reinforce/leave_one_out": ("reinforce", lambda n: {"baseline": "leave_one_out", "num_envs": n}),
    "ppo": ("ppo", lambda n: {"num_envs": n, "num_minibatches": 1}),
    "openai_es": ("openai_es", lambda n: {"population": n}),
    "ars/v1": ("ars", lambda n: {"num_directions": n, "top_directions": max(1, n // 2), "version": "v1"}),
}
# The budget probe's methods, each spending 32 episodes per iteration.
BUDGET_METHODS = {
    "reinforce": ("reinforce", {"baseline": "leave_one_out", "num_envs": 32}),
    "openai_es": ("openai_es", {"population": 32}),
    "random_search": ("random_search", {"population": 16, "reevaluation_episodes": 8}),
}


def default_config(task: str) -> dict:
    """The grid and sizes `rlab probe TASK` uses unless told otherwise (minutes on a 2-core CPU)."""
    if task not in TASKS:
        raise UsageError(f"task = {task!r}; allowed: {', '.join(TASKS)}")
    bandit = task == "cheese_bandit"
    return {
        "task": task,
        "env_params": {} if bandit else {"reward": "sparse"},
        "probes": list(PROBES) if bandit else ["zero_law", "budget", "surface"],
        "zero_law_variants": list(ZERO_LAW_VARIANTS),
        "budget_methods": list(BUDGET_METHODS),
        "dims": [1, 2, 4] if bandit else [1, 2, 3],
        "radii": [0.4, 0.15] if bandit else [0.3, 0.15],
        "batch_sizes": [4, 32],
        "seeds": 512 if bandit else 256,
        "budget": 32 * 64 * (1 if bandit else 10),
        "width": 16,
        "depth": 1,
        "gradient_batch_sizes": [8, 64, 512, 4096],
        "gradient_repeats": 64,
        "es_noise_std": 0.5,
    }


# Bounds on a probe's size, checked before its directory exists (each far above any committed probe).
MAX_SEEDS = 65_536
MAX_BUDGET = 100_000_000  # env steps per seed of the budget probe
MAX_EPISODES_AT_ONCE = 2**24  # seeds x batch size: the episodes of one vmapped measurement
MAX_CELLS = 1_000  # dims x radii
MAX_PARTS = 10_000


def check_config(config: dict) -> None:
    """Every problem of a config in one message."""
    problems = []
    unknown = set(config.get("probes", [])) - set(PROBES)
    if unknown:
        problems.append(f"probes {sorted(unknown)} unknown; allowed: {', '.join(PROBES)}")
    for key, known in (("zero_law_variants", ZERO_LAW_VARIANTS), ("budget_methods", BUDGET_METHODS)):
        bad = [v for v in config[key] if v not in known]
        if bad or not config[key]:
            problems.append(f"{key} = {config[key]}; allowed: a non-empty list of {', '.join(known)}")
    if "gradients" in config.get("probes", []) and config["task"] != "cheese_bandit":
        problems.append("probe 'gradients' needs the exact gradient, which only cheese_bandit has; drop it")
    for key in ("dims", "batch_sizes", "gradient_batch_sizes"):
        if not config[key] or any(not isinstance(v, int) or v < 1 for v in config[key]):
            problems.append(f"{key} = {config[key]}; allowed: integers >= 1")
    if any(n % 2 for n in config["batch_sizes"]) or any(n % 2 for n in config["gradient_batch_sizes"]):
        problems.append("batch sizes must be even (OpenAI-ES uses antithetic pairs)")
    if not config["radii"] or any(not (isinstance(r, (int, float)) and 0 < r < 1) for r in config["radii"]):
        problems.append(f"radii = {config['radii']}; allowed: numbers in (0, 1)")
    for key in ("seeds", "budget", "width", "gradient_repeats"):
        if not isinstance(config[key], int) or config[key] < (2 if key == "gradient_repeats" else 1):
            problems.append(f"{key} = {config[key]}; allowed: an integer >= {2 if key == 'gradient_repeats' else 1}")
    for key, most in (("seeds", MAX_SEEDS), ("budget", MAX_BUDGET), ("gradient_repeats", MAX_SEEDS)):
        if isinstance(config[key], int) and config[key] > most:
            problems.append(f"{key} = {config[key]:,}; allowed: at most {most:,}")
    for count, sizes in (("seeds", "batch_sizes"), ("gradient_repeats", "gradient_batch_sizes")):
        widest = max([n for n in config[sizes] if isinstance(n, int)], default=0)
        if isinstance(config[count], int) and config[count] * widest > MAX_EPISODES_AT_ONCE:
            problems.append(f"{count} x the largest of {sizes} = {config[count]:,} x {widest:,} episodes in one "
                            f"measurement; allowed: at most {MAX_EPISODES_AT_ONCE:,} (fewer {count} or smaller batches)")
    if problems:
        raise UsageError("; ".join(problems))
    if len(config["dims"]) * len(config["radii"]) > MAX_CELLS or len(plan(config)) > MAX_PARTS:
        raise UsageError(f"{len(config['dims'])} dims x {len(config['radii'])} radii make {len(plan(config)):,} "
                         f"measurements; allowed: at most {MAX_PARTS:,} (and {MAX_CELLS} grid cells)")
    for dim in config["dims"]:
        for radius in config["radii"]:
            make_env(config, dim, radius)  # env parameter errors before any work


def make_env(config: dict, dim: int, radius: float):
    return envs.make(config["task"], **{**config["env_params"], "dim": dim, "hole_radius": radius})


def cells(config: dict):
    for dim in config["dims"]:
        for radius in config["radii"]:
            yield dim, radius


def plan(config: dict) -> list[tuple[str, str, dict]]:
    """Every part: (probe, part id, what to compute)."""
    parts = []
    net = {"width": config["width"], "depth": config["depth"]}
    for dim, radius in cells(config):
        cell = {"dim": dim, "hole_radius": radius}
        tag = f"dim={dim},r={radius}"
        if "zero_law" in config["probes"]:
            for n in config["batch_sizes"]:
                for label in config["zero_law_variants"]:
                    algo, hparams = ZERO_LAW_VARIANTS[label]
                    parts.append(("zero_law", f"zero_law,{tag},N={n},{label}",
                                  {**cell, "batch_size": n, "variant": label, "algo": algo, "hparams": {**hparams(n), **net}}))
        if "gradients" in config["probes"]:
            parts.append(("gradients", f"gradients,{tag}", dict(cell)))
        if "budget" in config["probes"]:
            for label in config["budget_methods"]:
                algo, hparams = BUDGET_METHODS[label]
                parts.append(("budget", f"budget,{tag},{label}",
                              {**cell, "method": label, "algo": algo, "hparams": {**hparams, **net}}))
        if "surface" in config["probes"]:
            for shape in ("line", "plane"):
                parts.append(("surface", f"surface,{tag},{shape}", {**cell, "shape": shape}))
    return parts


def run(config: dict, directory, quiet: bool = False) -> store.ProbeStore:
    """Computes every part not yet stored in `directory`; returns the finished store."""
    check_config(config)
    todo = plan(config)
    probe_store = store.ProbeStore.open(directory, config)
    progress = Progress(quiet=quiet).start(len(todo), "probe parts")
    try:
        for index, (probe, part, what) in enumerate(todo, 1):
            if probe_store.has(part):
                continue
            started = time.perf_counter()
            frame, summary = _compute(config, probe, what)
            seconds = time.perf_counter() - started
            info = {k: v for k, v in what.items() if k != "hparams"}
            probe_store.write(part, probe, frame, {**info, "seconds": round(seconds, 2)})
            progress.note(f"[{index}/{len(todo)}] {part}: {summary} ({seconds:.1f} s)")
            progress.advance()
        probe_store.finish()
    except BaseException:
        probe_store.release()
        raise
    finally:
        progress.stop()
    return probe_store


def _compute(config: dict, probe: str, what: dict) -> tuple[pd.DataFrame, str]:
    env = make_env(config, what["dim"], what["hole_radius"])
    seeds = range(config["seeds"])
    if probe == "zero_law":
        hparams = dict(what["hparams"])
        if "rollout_length" in trainers.lookup(what["algo"]).defaults:
            hparams["rollout_length"] = env.horizon  # one episode per environment: N episodes, like the others
        flags = zero_law.measure(what["algo"], env, hparams, seeds)
        frame = pd.DataFrame({"seed": np.asarray(seeds), **flags})
        s = zero_law.summarise(flags)
        return frame, f"zero {s['zero_fraction']:.3f} [{s['zero_low']:.3f}, {s['zero_high']:.3f}], predicted {s['predicted']:.3f}"
    if probe == "gradients":
        frame = gradient_table(env, config)
        best = frame[frame["batch_size"] == frame["batch_size"].max()]
        return frame, ", ".join(f"{e} cos {c:.3f}" for e, c in zip(best["estimator"], best["cosine"]))
    if probe == "budget":
        frame = budget.measure(what["algo"], env, what["hparams"], seeds, config["budget"])
        return frame, f"success {frame['success'].mean():.3f}, first hit in {np.mean(frame['first_hit'] > 0):.3f} of seeds"
    plane = what["shape"] == "plane"
    frame = surface.measure(env, width=config["width"], depth=config["depth"], points=31 if plane else 101,
                            plane=plane, noise_std=config["es_noise_std"])
    s = surface.summarise(frame)
    return frame, ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in s.items())


def gradient_table(env, config: dict) -> pd.DataFrame:
    """Cosine and SNR of each estimator against N, on one bandit cell: one row per (estimator, N)."""
    policy = gradients.gaussian_policy(env, config["width"], config["depth"])
    params = policy.init(jax.random.PRNGKey(0), 0.01, 0.5)
    exact = gradients.exact_log_gradient(env, policy, params)
    linear = FlatPolicy(env, config["width"], 0)
    theta = linear.sample_initial(jax.random.PRNGKey(0), 0.01)
    sigma = config["es_noise_std"]
    exact_es = gradients.exact_smoothed_log_gradient(env, linear, theta, sigma)
    rows = []
    key = jax.random.PRNGKey(1)
    for n in config["gradient_batch_sizes"]:
        for baseline in gradients.BASELINES:
            key, sub = jax.random.split(key)
            estimates = gradients.reinforce_estimates(env, policy, params, n, baseline, sub, config["gradient_repeats"])
            rows.append({"estimator": f"reinforce/{baseline}", "batch_size": n,
                         **gradients.direction_quality(estimates, exact)})
        key, sub = jax.random.split(key)
        estimates = gradients.es_estimates(env, linear, theta, sigma, n, sub, config["gradient_repeats"])
        rows.append({"estimator": "openai_es", "batch_size": n, **gradients.direction_quality(estimates, exact_es)})
    frame = pd.DataFrame(rows)
    frame["p_policy"] = float(env.hit_probability(np.zeros(env.dim), 0.5))
    frame["p_smoothed"] = gradients.smoothed_hit_probability(env, linear, theta, sigma)
    return frame
