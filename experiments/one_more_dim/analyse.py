"""One more dimension: success against a task's dimension knob, the cliff, and its prediction.

    rlab sweep experiments/one_more_dim/one_more_dim_point_mass.toml --out runs/one_more_dim_point_mass
    rlab sweep experiments/one_more_dim/one_more_dim_reacher.toml --out runs/one_more_dim_reacher
    python experiments/one_more_dim/analyse.py --sweep point_mass=runs/one_more_dim_point_mass \\
        --sweep reacher=runs/one_more_dim_reacher
    (the physics specs alike: --sweep reacher_dense=..., cartpole=..., cartpole_512k=...)
    python experiments/one_more_dim/analyse.py      # re-analyse the committed curves

`--sweep TASK=DIR` extracts every seed's evaluation curve of that task into
results/TASK_curves.parquet (small; no model parameters); tasks not given are
read from their committed curves. A seed succeeds when its final evaluation
succeeds in >= 50% of its episodes. Writes results/*.csv,
results/figures/*.png and the results block of README.md.

The prediction: a sparse task gives no learning signal until some episode is
rewarded, so a method whose initial policy hits with probability p(d) per
episode should fail once its budget of episodes B has B * p(d) << 1. p(d) is
measured by Monte Carlo for the policy-gradient methods' initial stochastic
policy (REINFORCE's; PPO's is the same network, std and output scale) and for
random search's policy draws, and the dimension where B * p(d) = 1 is drawn
beside the measured cliff.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import pandas as pd

import envs
from rlab import experiment, markdown, plots, spec as spec_lib, stats, store, trainers
from rlab.run import lanes
from rlab.probes import budget as budget_probe, zero_law

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SEED = 7
# task -> (spec file, the dimension knob, its label on the figures)
TASKS = {
    "point_mass": ("one_more_dim_point_mass.toml", "dim", "dimension"),
    "reacher": ("one_more_dim_reacher.toml", "num_links", "links"),
    "reacher_dense": ("one_more_dim_reacher_dense.toml", "num_links", "links"),
    "cartpole": ("one_more_dim_cartpole.toml", "num_poles", "poles"),
    "cartpole_512k": ("one_more_dim_cartpole_512k.toml", "num_poles", "poles"),
}
PHYSICS = ("reacher", "reacher_dense", "cartpole", "cartpole_512k")
METHODS = ("ppo", "reinforce", "openai_es", "ars", "random_search")
SUCCESS_THRESHOLD = 0.5  # a seed succeeds when its final evaluation succeeds in >= half its episodes
# Monte Carlo size of the hit-probability prediction, per dimension.
PREDICTION_SEEDS, PREDICTION_EPISODES, RANDOM_DRAWS = 16, 8192, 2**17
# Episodes of uniform random actions per level of a physics task (its reference success rate).
REFERENCE_EPISODES = 1024


def curves_path(task: str) -> pathlib.Path:
    return RESULTS / f"{task}_curves.parquet"


def extract(task: str, sweep_dir) -> pd.DataFrame:
    """Every seed's evaluation curve of one task's sweep: algo, reward, level, seed, eval, env_steps, eval_*."""
    spec_file, axis, _ = TASKS[task]
    frame = store.load(sweep_dir)
    if frame.attrs.get("damaged"):
        sys.exit(f"{sweep_dir} has damaged chunks: {sorted(frame.attrs['damaged'])}; rerun the sweep first")
    spec = spec_lib.load(HERE / spec_file)
    reward = frame["env.reward"] if "env.reward" in frame else spec.env_params.get("reward", "sparse")
    curves = pd.DataFrame({
        "algo": frame["algo"], "reward": reward, "level": frame[f"env.{axis}"].astype(int), "seed": frame["seed"],
        "eval": frame["eval"], "env_steps": frame["env_steps"],
        "eval_return": frame["eval_return"].astype(np.float32), "eval_success": frame["eval_success"].astype(np.float32),
    }).sort_values(["algo", "reward", "level", "seed", "eval"])
    RESULTS.mkdir(exist_ok=True)
    store.atomic_write(curves_path(task), lambda tmp: curves.to_parquet(tmp, index=False))
    return curves


def success_table(task: str, curves: pd.DataFrame) -> pd.DataFrame:
    """Per (reward, method, level): seeds that succeed at the final evaluation, Wilson 95%."""
    final = curves[curves["eval"] == curves["eval"].max()]
    rows = []
    for (reward, algo, level), group in final.groupby(["reward", "algo", "level"]):
        succeeded = int(np.sum(group["eval_success"] >= SUCCESS_THRESHOLD))
        rate = stats.success_rate(succeeded, len(group))
        rows.append({"task": task, "reward": reward, "method": algo, "level": int(level), "seeds": len(group),
                     "success": float(rate.point), "low": float(rate.low), "high": float(rate.high),
                     "env_steps": int(group["env_steps"].iloc[0])})
    return pd.DataFrame(rows)


def cliff_tables(task: str, curves: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cliff (isotonic fit crossing 0.8 and 0.1, bootstrap 95%) and the steepest one-level drop, per method."""
    final = curves[curves["eval"] == curves["eval"].max()]
    cliffs, drops = [], []
    for (reward, algo), group in final.groupby(["reward", "algo"]):
        levels = np.sort(group["level"].unique())
        outcomes = [(group[group["level"] == level].sort_values("seed")["eval_success"].to_numpy() >= SUCCESS_THRESHOLD)
                    for level in levels]
        result = stats.degradation(levels, outcomes, rng)
        for threshold, crossing in result["crossings"].items():
            cliffs.append({"task": task, "reward": reward, "method": algo, "threshold": threshold,
                           "crossing": crossing.point, "low": crossing.low, "high": crossing.high,
                           "as_text": crossing.describe()})
        rates = [r.point for r in result["rates"]]
        step = int(np.argmax(np.diff(rates) * -1)) if len(rates) > 1 else 0
        before, after = result["rates"][step], result["rates"][min(step + 1, len(rates) - 1)]
        drops.append({"task": task, "reward": reward, "method": algo, "from_level": int(levels[step]),
                      "to_level": int(levels[min(step + 1, len(levels) - 1)]),
                      "before": float(before.point), "before_low": float(before.low),
                      "after": float(after.point), "after_high": float(after.high),
                      "cliff_in_one_step": bool(before.point >= 0.8 and after.point <= 0.1)})
    return pd.DataFrame(cliffs), pd.DataFrame(drops)


def budget_tries(spec, algo: str, env) -> int:
    """Independent tries one seed's whole budget buys `algo`: its iterations x the batch of each.

    Episodes of the stochastic policy for a policy gradient, policies drawn
    for random search (the algorithm's `Plateau`); the budget is the spec's,
    spent as the trainers spend it.
    """
    hparams = next(a for a in spec.algorithms if a.name == algo).hparams
    trainer = trainers.make(algo, env, **hparams, env_steps_per_eval=spec.env_steps_per_eval)
    return trainer.static["iterations_per_eval"] * spec.num_evals * trainer.algorithm.plateau.batch_size(trainer.static)


def prediction_table(spec_file: str = TASKS["point_mass"][0]) -> pd.DataFrame:
    """Per dimension of the sparse task: the initial policies' hit probability p(d) and budget x p(d).

    `pg`: REINFORCE's (= PPO's) initial stochastic policy, PREDICTION_SEEDS
    seeds x PREDICTION_EPISODES fresh episodes; `random_search`: policies
    drawn as random search draws them, RANDOM_DRAWS draws of one episode.
    Intervals are Wilson 95% on the pooled episodes.
    """
    spec = spec_lib.load(HERE / spec_file)
    algos = {a.name: a.hparams for a in spec.algorithms}
    rows = []
    for dim in sorted(spec.env_axes["dim"]):
        env = envs.make(spec.env, **{**spec.env_params, "dim": dim, "reward": "sparse"})
        pg = trainers.make("reinforce", env, **algos["reinforce"])
        seeds = np.arange(PREDICTION_SEEDS)
        initial = lanes.initial_policies(pg, seeds)
        _, misses = zero_law.hit_probabilities(pg, initial, seeds, PREDICTION_EPISODES)
        pg_hits, pg_trials = int(PREDICTION_EPISODES * seeds.size - misses.sum()), PREDICTION_EPISODES * seeds.size
        searcher = trainers.make("random_search", env, **algos["random_search"])
        rs_p = budget_probe.random_policy_hit_probability(searcher, RANDOM_DRAWS)
        rs_hits = int(round(rs_p * RANDOM_DRAWS))
        for method, hits, trials in (("pg", pg_hits, pg_trials), ("random_search", rs_hits, RANDOM_DRAWS)):
            rate = stats.success_rate(hits, trials)
            budget = budget_tries(spec, "random_search" if method == "random_search" else "reinforce", env)
            rows.append({"dim": dim, "policy": method, "hits": hits, "episodes": trials, "p": float(rate.point),
                         "p_low": float(rate.low), "p_high": float(rate.high), "budget": budget,
                         "budget_x_p": budget * float(rate.point)})
    return pd.DataFrame(rows)


def reference_table(tasks) -> pd.DataFrame:
    """Per physics task and level: the success rate of uniform random actions (Monte Carlo, Wilson 95%).

    Physics has no closed form; `envs.rollout.reference_successes` runs
    REFERENCE_EPISODES episodes of the task's reference policy (independent
    uniform actions in [-1, 1] every step) with the spec's environment
    parameters, success judged as the trainers' evaluation judges it.
    """
    import jax

    from envs.rollout import reference_successes

    rows = []
    for task in tasks:
        spec_file, axis, _ = TASKS[task]
        spec = spec_lib.load(HERE / spec_file)
        for level in sorted(spec.env_axes[axis]):
            env = envs.make(spec.env, **{**spec.env_params, axis: level})
            hits = int(np.asarray(reference_successes(env, jax.random.PRNGKey(SEED), REFERENCE_EPISODES)).sum())
            rate = stats.success_rate(hits, REFERENCE_EPISODES)
            rows.append({"task": task, "level": int(level), "episodes": REFERENCE_EPISODES, "successes": hits,
                         "p": float(rate.point), "p_low": float(rate.low), "p_high": float(rate.high)})
    return pd.DataFrame(rows)


def predicted_level(prediction: pd.DataFrame, policy: str, column: str = "p") -> float:
    """The dimension where budget x p(d) falls through 1, interpolated in log p (+inf: never within the sweep)."""
    rows = prediction[prediction["policy"] == policy].sort_values("dim")
    expected = (rows["budget"] * rows[column]).to_numpy()
    dims = rows["dim"].to_numpy(float)
    below = np.flatnonzero(expected < 1)
    if below.size == 0:
        return np.inf
    i = below[0]
    if i == 0:
        return -np.inf
    hi, lo = np.log(expected[i - 1]), np.log(max(expected[i], 1e-12))
    return float(dims[i - 1] + (hi - 0.0) / (hi - lo) * (dims[i] - dims[i - 1]))


def analyse(curves_by_task: dict[str, pd.DataFrame], with_prediction: bool = True) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    success, cliffs, drops = [], [], []
    for task, curves in curves_by_task.items():
        success.append(success_table(task, curves))
        cliff, drop = cliff_tables(task, curves, rng)
        cliffs.append(cliff)
        drops.append(drop)
    tables = {"success": pd.concat(success, ignore_index=True), "cliff": pd.concat(cliffs, ignore_index=True),
              "one_step": pd.concat(drops, ignore_index=True)}
    if with_prediction:
        tables["prediction"] = prediction_table()
        tables["reference"] = reference_table([task for task in PHYSICS if task in curves_by_task])
    return tables


TABLES = ("success", "cliff", "one_step", "prediction", "reference")


def load_tables() -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_csv(RESULTS / f"{name}.csv") for name in TABLES}
    # The controllers' ceilings, written by controls.py (not by this script: they need no sweep).
    controllers = RESULTS / "controllers.csv"
    tables["controllers"] = pd.read_csv(controllers) if controllers.exists() else pd.DataFrame()
    return tables


def _rates(success: pd.DataFrame, task: str, reward: str) -> dict[str, dict]:
    """Per method, the dict `plots.degradation_plot` draws, rebuilt from the committed tables."""
    rows = success[(success["task"] == task) & (success["reward"] == reward)]
    drawn = {}
    for method in [m for m in METHODS if m in set(rows["method"])]:
        own = rows[rows["method"] == method].sort_values("level")
        rates = [stats.Interval(p, lo, hi) for p, lo, hi in zip(own["success"], own["low"], own["high"])]
        drawn[method] = {"levels": own["level"].to_numpy(float), "rates": rates,
                         "fit": stats.monotone_rates(own["success"], own["seeds"]), "crossings": {},
                         "seeds": [int(n) for n in own["seeds"]]}
    return drawn


def _crossings(cliff: pd.DataFrame, task: str, reward: str, method: str, first: float, last: float) -> dict:
    rows = cliff[(cliff["task"] == task) & (cliff["reward"] == reward) & (cliff["method"] == method)]
    return {float(r.threshold): stats.Crossing(float(r.threshold), float(r.crossing), float(r.low), float(r.high),
                                               first, last) for r in rows.itertuples()}


def figures(tables: dict[str, pd.DataFrame]) -> list[pathlib.Path]:
    success, cliff, prediction = tables["success"], tables["cliff"], tables["prediction"]
    written = []
    for task in success["task"].unique():
        _, _, label = TASKS[task]
        rewards = sorted(success[success["task"] == task]["reward"].unique(), key=lambda r: r != "sparse")
        panels = len(rewards) + (task == "point_mass")
        fig, axes = plots.plt.subplots(1, panels, figsize=(6.4 * panels, 6.0), layout="constrained", squeeze=False)
        for ax, reward in zip(axes[0], rewards):
            drawn = _rates(success, task, reward)
            for method, result in drawn.items():
                levels = result["levels"]
                result["crossings"] = _crossings(cliff, task, reward, method, levels[0], levels[-1])
            levels = next(iter(drawn.values()))["levels"]
            plots.degradation_plot(levels, drawn, axis_name=label, ax=ax,
                                   title=f"{task}, {reward} reward: seeds that succeed")
            reference = tables["reference"]
            reference = reference[reference["task"] == task].sort_values("level")
            if len(reference):
                ax.plot(reference["level"], reference["p"], color="0.5", linestyle=":", marker=".",
                        label=f"uniform random actions: share of episodes, not seeds "
                              f"({int(reference['episodes'].iloc[0]):,} per level)")
            controllers = tables.get("controllers", pd.DataFrame())
            kind = "cartpole" if task.startswith("cartpole") else "reacher" if task.startswith("reacher") else None
            own = controllers[controllers["task"] == kind] if len(controllers) else controllers
            if len(own):
                best = own.groupby("level")["p"].max().sort_index()
                best = best[best.index.isin(levels)]  # the levels this panel's sweep ran
                ax.plot(best.index, best.to_numpy(), color="black", marker="s", linewidth=2.5, alpha=0.35,
                        label=f"ceiling: best of {own['controller'].nunique()} "
                              f"{'LQR' if kind == 'cartpole' else 'PD'} controllers (share of episodes, "
                              f"{int(own['episodes'].iloc[0]):,} per level)")
            if task == "point_mass" and reward == "sparse":
                for policy, style in (("pg", ":"), ("random_search", "-.")):
                    level = predicted_level(prediction, policy)
                    if np.isfinite(level):
                        ax.axvline(level, color="0.25", linestyle=style, linewidth=1.2,
                                   label=f"predicted: budget x p(d) = 1 ({policy})")
            ax.set_xticks(levels)
            # Below the panel: inside it the legend covered the curves.
            ax.legend(frameon=False, fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
        if task == "point_mass":
            ax = axes[0][-1]
            for policy, color in (("pg", plots.color_for("reinforce")), ("random_search", plots.color_for("random_search"))):
                rows = prediction[prediction["policy"] == policy].sort_values("dim")
                expected = rows["budget"] * rows["p"]
                ax.errorbar(rows["dim"], np.maximum(expected, 1e-4),
                            yerr=[expected - rows["budget"] * rows["p_low"], rows["budget"] * rows["p_high"] - expected],
                            marker="o", capsize=3, color=color,
                            label=f"{policy}: {int(rows['budget'].iloc[0]):,} x p(d)")
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8, label="one rewarded episode expected")
            ax.set(yscale="log", xlabel="dimension", ylabel="expected rewarded episodes in the budget",
                   title="the initial policy's hit probability x budget")
            ax.set_ylim(bottom=1e-4)
            ax.legend(frameon=False, fontsize="small")
        path = RESULTS / "figures" / f"{task}_success_against_{label}"
        written += plots.save(fig, path, formats=("png",))
        plots.plt.close(fig)
    return written


def results_block(tables: dict[str, pd.DataFrame]) -> str:
    success, cliff, one_step, prediction = (tables[k] for k in ("success", "cliff", "one_step", "prediction"))
    wide = success.assign(cell=[f"{s:.2f} [{lo:.2f}, {hi:.2f}]" for s, lo, hi in
                                zip(success["success"], success["low"], success["high"])])
    parts = []
    for task in success["task"].unique():
        own = wide[wide["task"] == task]
        seeds = int(own["seeds"].min())
        parts.append(f"### {task} ({seeds} seeds per cell, {int(own['env_steps'].iloc[0]):,} env steps per seed)")
        grid = own.pivot(index=["reward", "method"], columns="level", values="cell").reset_index()
        grid.columns = [str(c) for c in grid.columns]
        parts.append("Seeds that succeed (Wilson 95%), by " + TASKS[task][2] + ":")
        parts.append(markdown.table(grid))
    thresholds = sorted(cliff["threshold"].unique(), reverse=True)
    crossings = pd.DataFrame([
        {"task": task, "reward": reward, "method": method,
         **{f"falls to <= {c:g}": below_bracket(success, task, reward, method, c) for c in thresholds}}
        for (task, reward, method), _ in success.groupby(["task", "reward", "method"], sort=True)
    ])
    parts += ["### The cliff",
              "Between which two levels (dimension, links or poles) each method's share of succeeding seeds first falls to "
              "0.8 and to 0.1 or below; levels are integers, so the data bracket a fall between two of them and no "
              "more precisely:",
              markdown.table(crossings)]
    steep = one_step[["task", "reward", "method", "from_level", "to_level", "before", "after", "cliff_in_one_step"]]
    parts += ["The steepest drop between neighbouring levels, and whether it falls from >= 0.8 to <= 0.1:",
              markdown.table(steep, float_format=".2f")]
    reference = tables["reference"]
    if len(reference):
        cells = reference.assign(cell=[f"{k}/{n} ({hi:.3f})" for k, n, hi in
                                       zip(reference["successes"], reference["episodes"], reference["p_high"])])
        grid = cells.pivot(index="task", columns="level", values="cell").reset_index()
        grid.columns = [str(c) for c in grid.columns]
        parts += ["### Random actions on the physics tasks",
                  f"Episodes of uniform random actions that succeed, of {int(reference['episodes'].iloc[0]):,} "
                  "per level (upper end of the Wilson 95% interval in parentheses): what a policy that learned "
                  "nothing would score.",
                  markdown.table(grid.fillna(""))]
    controllers = tables.get("controllers", pd.DataFrame())
    if len(controllers):
        cells = controllers.assign(cell=[f"{k}/{n} ({sat:.0%} saturated)" for k, n, sat in zip(
            controllers["successes"], controllers["episodes"], controllers["saturated_steps"])])
        grid = cells.pivot(index=["task", "controller"], columns="level", values="cell").reset_index()
        grid.columns = [str(c) for c in grid.columns]
        parts += ["### Controllers on the physics ladders (the ceilings)",
                  "Episodes that succeed under a controller that knows the model, from the task's own starts and "
                  "under its success test, the action clipped to the actuators' range: a discrete LQR (linearised "
                  "at upright on the task's MJCF) for cart-pole, an operational-space PD controller (J^T on the "
                  f"fingertip's error) for the reacher; {int(controllers['episodes'].iloc[0]):,} episodes per level, "
                  "and the share of steps where an action saturates (`controls.py`):",
                  markdown.table(grid.fillna(""))]
    shown = prediction.assign(p=[f"{p:.2g} [{lo:.2g}, {hi:.2g}]" for p, lo, hi in
                                 zip(prediction["p"], prediction["p_low"], prediction["p_high"])])
    shown = shown.pivot(index="dim", columns="policy", values="p").reset_index()
    shown.columns = ["dim"] + [f"p(d), {c}" for c in shown.columns[1:]]
    predicted = {policy: predicted_level(prediction, policy) for policy in ("pg", "random_search")}
    parts += ["### The prediction",
              "Per-episode hit probability of the initial policies on the sparse point mass (Wilson 95%):",
              markdown.table(shown),
              "Budget x p(d) = 1 at dimension " + ", ".join(f"{d:.2f} ({policy})" for policy, d in predicted.items())
              + f" (budgets: {budget_text(prediction)})."]
    return "\n\n".join(parts)


def budget_text(prediction: pd.DataFrame) -> str:
    budgets = prediction.groupby("policy")["budget"].first()
    return ", ".join(f"{int(b):,} {'policies screened' if p == 'random_search' else 'episodes'} ({p})"
                     for p, b in budgets.items())


def below_bracket(success: pd.DataFrame, task: str, reward: str, method: str, threshold: float) -> str:
    """Between which two integer levels a method's success first falls to `threshold` or below.

    The dimension is an integer: the data place the fall between two levels
    and no more precisely (an interpolated crossing would claim more).
    """
    rows = success.query(f"task == '{task}' and reward == '{reward}' and method == '{method}'").sort_values("level")
    levels, rates = rows["level"].to_list(), rows["success"].to_list()
    for i, rate in enumerate(rates):
        if rate <= threshold:
            return f"between {levels[i - 1]} and {levels[i]}" if i else f"already at {levels[0]}"
    return f"not by {levels[-1]}"


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One sentence for the top-level README's claims table."""
    one_step, success, prediction = tables["one_step"], tables["success"], tables["prediction"]
    sparse = one_step[(one_step["task"] == "point_mass") & (one_step["reward"] == "sparse")]
    worst = sparse.sort_values("before", ascending=False).loc[(sparse["before"] - sparse["after"]).idxmax()]
    cliffs = one_step[one_step["cliff_in_one_step"] & (one_step["task"] == "point_mass")]  # physics: its own row
    where = "; ".join(f"{r.method} on {r.task} ({r.reward}) {r.from_level}->{r.to_level}" for r in cliffs.itertuples())
    dense = success[(success["task"] == "point_mass") & (success["reward"] == "dense")]
    top = int(dense["level"].max())
    dense_top = dense[dense["level"] == top]
    best_dense = dense_top.loc[dense_top["success"].idxmax()]
    pg_level = predicted_level(prediction, "pg")
    measured = {m: below_bracket(success, "point_mass", "sparse", m, 0.1) for m in ("ppo", "reinforce")}
    return (f"Sparse point mass, one added dimension: {worst['method']} falls from {worst['before']:.2f} "
            f"(d = {worst['from_level']}) to {worst['after']:.2f} (d = {worst['to_level']}); "
            f"a fall from >= 0.8 to <= 0.1 in one step: {where or 'none'}. Budget x p(d) = 1 predicts "
            f"d = {pg_level:.1f} for policy gradients; they fall to 10% or below earlier (PPO {measured['ppo']}, "
            f"REINFORCE {measured['reinforce']}: integer dimensions bracket the fall). Dense reward at d = {top}: "
            f"{best_dense['method']} "
            f"{best_dense['success']:.2f} [{best_dense['low']:.2f}, {best_dense['high']:.2f}]")


# The physics tasks of the claims table's physics row: (words, level noun singular, plural).
PHYSICS_HEADLINE = {"reacher_dense": ("Dense reacher", "link", "links"),
                    "cartpole_512k": ("cart-pole balance", "pole", "poles")}


def physics_headline(tables: dict[str, pd.DataFrame]) -> str:
    """One sentence for the claims table's physics row: whether a cliff happened, then each task's fall."""
    one_step, success = tables["one_step"], tables["success"]

    def rate(row) -> str:
        return f"{row['success']:.2f} [{row['low']:.2f}, {row['high']:.2f}]"

    parts, cliffs, seeds = [], [], set()
    for task, (label, one, many) in PHYSICS_HEADLINE.items():
        own = success[success["task"] == task].sort_values("level")
        if own.empty:
            continue
        seeds.add(int(own["seeds"].min()))
        first = int(own["level"].min())
        lowest = own[own["level"] == first].sort_values("success", ascending=False)
        best = lowest.iloc[0]
        mine = own[own["method"] == best["method"]]
        second = mine[mine["level"] == first + 1].iloc[0]
        noun = lambda n: one if n == 1 else many  # noqa: E731
        text = (f"{label} ({int(own['env_steps'].iloc[0]):,} env steps per seed): {best['method']} {rate(best)} of "
                f"seeds at {first} {noun(first)}, {rate(second)} at {first + 1}, "
                f"falling to <= 0.1 {below_bracket(success, task, best['reward'], best['method'], 0.1)} {many}")
        others = [f"{r.method} {r.success:.2f}" for r in lowest.iloc[1:].itertuples()]
        parts.append(text + (f" ({', '.join(others)} at {first} {noun(first)})" if others else ""))
        cliffs += [f"{r.method} on {label} {r.from_level}->{r.to_level} ({r.before:.2f}, lower 95% bound "
                   f"{r.before_low:.2f} -> {r.after:.2f}, upper bound {r.after_high:.2f})"
                   for r in one_step[(one_step["task"] == task) & one_step["cliff_in_one_step"]].itertuples()]
    if not parts:
        return "not run"
    ceiling = ""
    controllers = tables.get("controllers", pd.DataFrame())
    if len(controllers):
        episodes = int(controllers["episodes"].iloc[0])
        cartpole = controllers[controllers["task"] == "cartpole"].groupby("level")["successes"].max()
        reacher = controllers[controllers["task"] == "reacher"].groupby("level")["successes"].max()
        ceiling = (". Ceilings: the best LQR controller balances "
                   + ", ".join(f"{cartpole[level]}/{episodes} episodes at {int(level)} pole{'s' if level > 1 else ''}"
                               for level in cartpole.index)
                   + " (force limited): above one pole the task, not only learning, fails; a PD controller reaches "
                   f"the reacher's target in {reacher.min()}-{reacher.max()} of {episodes} episodes at every link "
                   f"count ({int(reacher.index.min())}-{int(reacher.index.max())}): there learning falls short")
    return (f"MuJoCo (MJX), shaped reward, {min(seeds)} seeds per cell, one budget per task; a fall from >= 0.8 to "
            f"<= 0.1 of seeds (point estimates, Wilson 95% bounds beside them) within one added dimension: "
            f"{'; '.join(cliffs) or 'none'}. " + "; ".join(parts) + ceiling)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", metavar="TASK=DIR", action="append", default=[],
                        help=f"a sweep of a task's spec (tasks: {', '.join(TASKS)})")
    parser.add_argument("--keep-prediction", action="store_true",
                        help="reuse the committed results/prediction.csv and reference.csv instead of recomputing "
                             "them (minutes); a physics task missing from reference.csv is measured")
    args = parser.parse_args(argv)
    given = {}
    for item in args.sweep:
        task, _, directory = item.partition("=")
        if task not in TASKS or not directory:
            parser.error(f"--sweep {item!r}: give TASK=DIR with TASK one of {', '.join(TASKS)}")
        given[task] = directory
    curves = {task: extract(task, given[task]) if task in given else pd.read_parquet(curves_path(task))
              for task in TASKS if task in given or curves_path(task).exists()}
    if not curves:
        parser.error("no curves: give --sweep TASK=DIR")
    tables = analyse(curves, with_prediction=not args.keep_prediction)
    if args.keep_prediction:
        kept = pd.read_csv(RESULTS / "reference.csv") if (RESULTS / "reference.csv").exists() else None
        missing = [t for t in PHYSICS if t in curves and (kept is None or t not in set(kept["task"]))]
        if missing:
            tables["reference"] = pd.concat([kept, reference_table(missing)], ignore_index=True)
    return experiment.publish(sys.modules[__name__], tables, figures)


if __name__ == "__main__":
    sys.exit(main())
