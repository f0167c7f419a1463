"""The ES family on the sparse point-mass ladder: tables, figure and README block from one sweep.

    rlab sweep experiments/es_family/es_family.toml --out runs/es_family
    python experiments/es_family/analyse.py --sweep runs/es_family

Writes `results/curves.parquet` (every seed's evaluation curve),
`results/success.csv` (per method and dimension: seeds whose final
evaluation succeeds in at least half its episodes, Wilson 95%),
`results/controls.csv` (per dimension: the floor, an idle policy's closed
form, and the ceiling, a controller that steers to the hole, by Monte Carlo),
`results/random_search_vs.csv` (random search against every other method at
every dimension: the difference of success rates with Newcombe's 95%
interval, Fisher's exact p and Holm's adjustment over the comparisons
whose margins are not degenerate), the figure, and the README's results block. Without `--sweep`
it rebuilds everything from the committed curves.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import pandas as pd

import envs
from rlab import compare, experiment, plots, spec as spec_lib, stats, store

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SPEC = HERE / "es_family.toml"
CURVES = RESULTS / "curves.parquet"
# A seed succeeds when its final evaluation succeeds in at least half its episodes (as in one_more_dim).
SUCCESS_THRESHOLD = 0.5
# Which family each method belongs to, in the order tables and the figure list them.
FAMILIES = {
    "ppo": "policy gradient",
    "openai_es": "ES (rlab)",
    "ars": "ES (rlab)",
    "evosax/Open_ES": "ES (evosax)",
    "evosax/PGPE": "ES (evosax)",
    "evosax/SNES": "ES (evosax)",
    "evosax/Sep_CMA_ES": "ES (evosax)",
    "random_search": "random search",
}
# Episodes per dimension of the two controls.
CONTROL_EPISODES = 4096
SEED = 0


def extract(sweep_dir) -> pd.DataFrame:
    """Every seed's evaluation curve: algo, dim, seed, eval, env_steps, eval_return, eval_success."""
    frame = store.load(sweep_dir)
    if frame.attrs.get("damaged"):
        sys.exit(f"{sweep_dir} has damaged chunks: {sorted(frame.attrs['damaged'])}; rerun the sweep first")
    curves = pd.DataFrame({
        "algo": frame["algo"], "dim": frame["env.dim"].astype(int), "seed": frame["seed"], "eval": frame["eval"],
        "env_steps": frame["env_steps"], "eval_return": frame["eval_return"].astype(np.float32),
        "eval_success": frame["eval_success"].astype(np.float32),
    }).sort_values(["algo", "dim", "seed", "eval"]).reset_index(drop=True)
    RESULTS.mkdir(exist_ok=True)
    store.atomic_write(CURVES, lambda tmp: curves.to_parquet(tmp, index=False))
    return curves


def final_outcomes(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (algo, dim, seed): whether the seed's final evaluation succeeded."""
    final = curves[curves["eval"] == curves["eval"].max()]
    return final.assign(succeeded=final["eval_success"] >= SUCCESS_THRESHOLD)


def success_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Per method and dimension: seeds that succeed, Wilson 95%, and the mean final return."""
    rows = []
    for (algo, dim), group in final_outcomes(curves).groupby(["algo", "dim"]):
        wins = int(group["succeeded"].sum())
        rate = stats.success_rate(wins, len(group))
        rows.append({"method": algo, "family": FAMILIES[algo], "dim": int(dim), "seeds": len(group),
                     "successes": wins, "success": float(rate.point), "low": float(rate.low),
                     "high": float(rate.high), "mean_return": float(group["eval_return"].mean()),
                     "env_steps": int(group["env_steps"].iloc[0])})
    return pd.DataFrame(rows)


def random_search_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Random search against each other method at each dimension: rate difference (other - random search)."""
    final = final_outcomes(curves)
    rows = []
    for dim in sorted(final["dim"].unique()):
        baseline = final[(final["algo"] == "random_search") & (final["dim"] == dim)]["succeeded"].to_numpy(float)
        for algo in FAMILIES:
            if algo == "random_search":
                continue
            other = final[(final["algo"] == algo) & (final["dim"] == dim)]["succeeded"].to_numpy(float)
            result = compare.compare_samples(other, baseline, "success", np.random.default_rng(SEED), n_resamples=0)
            rows.append({"dim": int(dim), "method": algo, "family": FAMILIES[algo],
                         "method_successes": int(other.sum()), "random_search_successes": int(baseline.sum()),
                         "seeds": other.size, "difference": float(result.difference.point),
                         "low": float(result.difference.low), "high": float(result.difference.high),
                         "fisher_p": result.pvalue})
    table = pd.DataFrame(rows)
    # Holm's family: the comparisons whose margins are not degenerate. Where every seed on both sides
    # succeeds (or every one fails), Fisher's test, conditional on the margins, is p = 1 whatever happens:
    # such a cell can show no difference and only dilutes the correction.
    wins = table["method_successes"] + table["random_search_successes"]
    table["informative"] = (wins > 0) & (wins < 2 * table["seeds"])
    table["holm_p"] = np.nan
    table.loc[table["informative"], "holm_p"] = stats.holm(table.loc[table["informative"], "fisher_p"].to_numpy())
    return table


def controls_table(dims) -> pd.DataFrame:
    """Per dimension, the level's floor and ceiling.

    Floor: the idle policy (zero action, start uniform in the box) succeeds
    with the closed-form probability that a uniform point lies in the hole.
    Ceiling: a controller that knows the hole's centre and steps straight at
    it (action = clip((centre - position) / max_step, -1, 1)); with horizon
    10 and steps of 0.25 per axis it can cross the box, so every level is
    solvable by a policy of the networks' kind (a clipped linear map of the
    observed position). Measured on CONTROL_EPISODES episodes of the task.
    """
    import jax
    import jax.numpy as jnp

    spec = spec_lib.load(SPEC)
    rows = []
    for dim in dims:
        env = envs.make(spec.env, **{**spec.env_params, "dim": int(dim)})
        centre = jnp.asarray(env.hole_centres[0])

        def episode(key, env=env, centre=centre):
            state = env.reset(key)

            def one_step(state, _):
                position = state.obs[: env.dim]
                state = env.step(state, jnp.clip((centre - position) / env.max_step, -1.0, 1.0))
                return state, state.metrics["success"]

            return jnp.max(jax.lax.scan(one_step, state, None, length=env.horizon)[1])

        keys = jax.random.split(jax.random.PRNGKey(SEED), CONTROL_EPISODES)
        hits = int(np.asarray(jax.jit(jax.vmap(episode))(keys)).sum())
        ceiling = stats.success_rate(hits, CONTROL_EPISODES)
        rows.append({"dim": int(dim), "floor_idle_policy": env.reference_success_probability(),
                     "ceiling_episodes": CONTROL_EPISODES, "ceiling_successes": hits,
                     "ceiling": float(ceiling.point), "ceiling_low": float(ceiling.low)})
    return pd.DataFrame(rows)


TABLES = ("success", "random_search_vs", "controls")


def load_tables() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(RESULTS / f"{name}.csv") for name in TABLES}


def figures(tables: dict[str, pd.DataFrame]) -> list[pathlib.Path]:
    success, controls = tables["success"], tables["controls"]
    fig, ax = plots.plt.subplots(figsize=(8.0, 5.6), layout="constrained")
    styles = {"policy gradient": "-", "ES (rlab)": "--", "ES (evosax)": "-.", "random search": ":"}
    offsets = np.linspace(-0.18, 0.18, len(FAMILIES))
    for offset, method in zip(offsets, FAMILIES):
        own = success[success["method"] == method].sort_values("dim")
        x = own["dim"] + offset  # side by side, so that overlapping intervals stay readable
        ax.errorbar(x, own["success"], yerr=[own["success"] - own["low"], own["high"] - own["success"]],
                    marker="o", markersize=4, capsize=2, linestyle=styles[FAMILIES[method]],
                    label=f"{method} ({FAMILIES[method]})")
    ax.plot(controls["dim"], controls["ceiling"], color="black", marker="s", linewidth=2.5, alpha=0.35,
            label="ceiling: steer to the hole (share of episodes)")
    ax.plot(controls["dim"], controls["floor_idle_policy"], color="0.4", marker="x", linestyle=":",
            label="floor: idle policy (share of episodes, closed form)")
    seeds = int(success["seeds"].min())
    steps = int(success["env_steps"].iloc[0])
    ax.set(xlabel="dimension", ylabel=f"share of {seeds} seeds that succeed (Wilson 95%)", ylim=(-0.03, 1.05),
           xticks=sorted(success["dim"].unique()),
           title=f"Sparse point mass, {steps:,} env steps per seed: the ES family against random search")
    ax.legend(frameon=False, fontsize="small", loc="center right")
    path = RESULTS / "figures" / "success_against_dimension"
    written = plots.save(fig, path, formats=("png",))
    plots.plt.close(fig)
    return written


def _cell(row) -> str:
    return f"{int(row.successes)}/{int(row.seeds)} ({row.success:.2f} [{row.low:.2f}, {row.high:.2f}])"


def results_block(tables: dict[str, pd.DataFrame]) -> str:
    success, versus, controls = tables["success"], tables["random_search_vs"], tables["controls"]
    dims = sorted(success["dim"].unique())
    lines = ["Seeds whose final evaluation succeeds, of "
             f"{int(success['seeds'].min())} per cell (Wilson 95%), {int(success['env_steps'].iloc[0]):,} env "
             "steps per seed:", "", "| method | family | " + " | ".join(f"d = {d}" for d in dims) + " |",
             "|---|---|" + "---|" * len(dims)]
    for method in FAMILIES:
        own = success[success["method"] == method].set_index("dim")
        lines.append(f"| {method} | {FAMILIES[method]} | " + " | ".join(_cell(own.loc[d]) for d in dims) + " |")
    lines.append("| controls: ceiling (steer to the hole) | share of episodes | " + " | ".join(
        f"{r.ceiling_successes}/{r.ceiling_episodes}" for r in controls.sort_values("dim").itertuples()) + " |")
    lines.append("| controls: floor (idle policy) | closed form | " + " | ".join(
        f"{r.floor_idle_policy:.2g}" for r in controls.sort_values("dim").itertuples()) + " |")
    informative = versus[versus["informative"]]
    lines += ["", "Is random search as good? Each method's success rate minus random search's (Newcombe 95% "
              f"interval; Fisher's exact p, Holm-adjusted over these {len(informative)} comparisons, those where "
              "some seeds succeed and some fail; at the other dimensions every seed of both sides succeeds, or "
              "every one fails):", "",
              "| d | method | method / random search | difference [95%] | Holm p |", "|---|---|---|---|---|"]
    for r in informative.itertuples():
        lines.append(f"| {r.dim} | {r.method} | {r.method_successes}/{r.seeds} vs {r.random_search_successes}/"
                     f"{r.seeds} | {r.difference:+.2f} [{r.low:+.2f}, {r.high:+.2f}] | {r.holm_p:.2g} |")
    return "\n".join(lines)


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One sentence for the top-level README's claims table: per informative dimension, who beats random search."""
    success, versus, controls = tables["success"], tables["random_search_vs"], tables["controls"]
    seeds, steps = int(success["seeds"].min()), int(success["env_steps"].iloc[0])
    informative = versus[versus["informative"].astype(bool)]
    parts = []
    for dim, rows in informative.groupby("dim"):
        baseline = int(rows["random_search_successes"].iloc[0])
        shown = rows[rows["holm_p"] < 0.05].sort_values("difference")
        rest = rows[rows["holm_p"] >= 0.05]
        text = f"at d = {dim} random search {baseline}/{seeds} is beaten by {len(shown)} of {len(rows)}"
        if len(shown):
            low, high = shown.iloc[0], shown.iloc[-1]
            text += (f" ({', '.join(shown['method'])}; differences from {low.difference:+.2f} "
                     f"[{low.low:+.2f}, {low.high:+.2f}] to {high.difference:+.2f} [{high.low:+.2f}, {high.high:+.2f}])")
        if len(rest):
            text += f", not by {', '.join(f'{r.method} ({r.method_successes}/{r.seeds})' for r in rest.itertuples())}"
        parts.append(text)
    top = int(success["dim"].max())
    last = int(success[success["successes"] > 0]["dim"].max())
    return (f"Sparse point mass, d = 1-{top}, {seeds} seeds per cell, {steps:,} env steps per seed, PPO, 3 rlab and "
            f"4 evosax ES/search methods (difference in share of seeds, Newcombe 95%, Holm p < 0.05): "
            + "; ".join(parts) + f". No seed of any method succeeds beyond d = {last}, while a controller that "
            f"steers to the hole succeeds in {int(controls['ceiling_successes'].min())}/"
            f"{int(controls['ceiling_episodes'].iloc[0])} episodes at every dimension")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", metavar="DIR", help="the sweep of es_family.toml (default: the committed curves)")
    args = parser.parse_args(argv)
    if args.sweep:
        curves = extract(args.sweep)
    elif CURVES.exists():
        curves = pd.read_parquet(CURVES)
    else:
        parser.error("no committed curves: give --sweep DIR")
    tables = {"success": success_table(curves), "random_search_vs": random_search_table(curves),
              "controls": controls_table(sorted(curves["dim"].unique()))}
    return experiment.publish(sys.modules[__name__], tables, figures)


if __name__ == "__main__":
    sys.exit(main())
