"""Optimisation as simulation: OpenAI-ES's noise scale against success, beside the smoothed objective it climbs.

    rlab sweep experiments/es_noise/es_noise.toml --out runs/es_noise
    python experiments/es_noise/analyse.py --sweep runs/es_noise
    python experiments/es_noise/analyse.py          # re-analyse the committed results

For each noise scale sigma the analysis also computes, in closed form at every
seed's initial policy (linear, so the smoothed objective is exact):
J_sigma(theta_0), the chance that a perturbed policy is rewarded, and the
norm of its gradient, the slope OpenAI-ES follows, while the unsmoothed J of
the deterministic initial policy is 0 (flat) for almost every seed.
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
from rlab.probes import gradients
from rlab.trainers.population import FlatPolicy

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SPEC = HERE / "es_noise.toml"


def extract(sweep_dir, file_name: str = "curves.parquet") -> pd.DataFrame:
    """A sweep's per-seed curves, stored as results/`file_name`."""
    frame = store.load(sweep_dir)
    if frame.attrs.get("damaged"):
        sys.exit(f"{sweep_dir} has damaged chunks: {sorted(frame.attrs['damaged'])}")
    columns = ["algo", "hp.noise_std", "seed", "eval", "env_steps", "eval_return", "eval_success"]
    curves = frame.reindex(columns=columns).sort_values(["algo", "hp.noise_std", "seed", "eval"])
    RESULTS.mkdir(exist_ok=True)
    store.atomic_write(RESULTS / file_name, lambda tmp: curves.to_parquet(tmp, index=False))
    return curves


def smoothed_objective(sigmas, seeds) -> pd.DataFrame:
    """Per sigma: median over seeds of J_sigma(theta_0) and of ||grad J_sigma(theta_0)||, in closed form."""
    spec = spec_lib.load(SPEC)
    env = envs.make(spec.env, **spec.env_params)
    hparams = {k: v for k, v in spec.algorithms[0].hparams.items()}
    trainer = trainers.make("openai_es", env, **hparams)
    thetas = np.asarray(lanes.initial_policies(trainer, seeds))
    flat = FlatPolicy(env, trainer.static["width"], trainer.static["depth"])
    rows = []
    for sigma in sigmas:
        value = np.array([gradients.smoothed_hit_probability(env, flat, t, sigma) for t in thetas])
        log_grad = np.array([np.linalg.norm(gradients.exact_smoothed_log_gradient(env, flat, t, sigma)) for t in thetas])
        rows.append({"noise_std": sigma, "J_sigma_median": float(np.median(value)),
                     "slope_median": float(np.median(value * log_grad))})
    return pd.DataFrame(rows)


def analyse(curves: pd.DataFrame) -> dict[str, pd.DataFrame]:
    final = curves[curves["eval"] == curves["eval"].max()]
    rows = []
    for (algo, sigma), group in final.groupby(["algo", final["hp.noise_std"].fillna(-1.0)], sort=False):
        succeeded = int(np.sum(group["eval_success"] >= 0.5))
        rate = stats.success_rate(succeeded, len(group))
        rows.append({"method": algo, "noise_std": sigma if sigma >= 0 else np.nan, "seeds": len(group),
                     "success": float(rate.point), "low": float(rate.low), "high": float(rate.high),
                     "env_steps": int(group["env_steps"].iloc[0])})
    success = pd.DataFrame(rows)
    sigmas = sorted(success["noise_std"].dropna().unique())
    seeds = sorted(final["seed"].unique())
    landscape = smoothed_objective(sigmas, seeds)
    return {"success": success, "smoothed_objective": landscape}


# The budgets read off the 4x run: its evaluations 10, 20 and 40 (1x is es_noise.toml's own budget).
BUDGET_EVALS = {1: 10, 2: 20, 4: 40}


def extract_4x(sweep_dir) -> pd.DataFrame:
    """The 4x run's curves (results/curves_4x.parquet); main checks that its first evaluations are the 1x run's."""
    return extract(sweep_dir, "curves_4x.parquet")


def budget_table(curves_4x: pd.DataFrame) -> pd.DataFrame:
    """Per method, sigma and budget (1x, 2x, 4x): seeds whose evaluation at that budget succeeds (Wilson 95%)."""
    rows = []
    for multiple, evals in BUDGET_EVALS.items():
        at = curves_4x[curves_4x["eval"] == evals - 1]
        for (algo, sigma), group in at.groupby(["algo", at["hp.noise_std"].fillna(-1.0)], sort=False):
            wins = int(np.sum(group["eval_success"] >= 0.5))
            rate = stats.success_rate(wins, len(group))
            rows.append({"budget": f"{multiple}x", "env_steps": int(group["env_steps"].iloc[0]), "method": algo,
                         "noise_std": sigma if sigma >= 0 else np.nan, "seeds": len(group), "successes": wins,
                         "success": float(rate.point), "low": float(rate.low), "high": float(rate.high)})
    return pd.DataFrame(rows)


def window(budgets: pd.DataFrame, budget: str) -> str:
    """The sigmas at which OpenAI-ES's share of succeeding seeds is above 0 (Wilson lower bound) at `budget`."""
    es = budgets[(budgets["method"] == "openai_es") & (budgets["budget"] == budget)].sort_values("noise_std")
    above = es[es["low"] > 0]
    if above.empty:
        return "none"
    return (f"sigma {above['noise_std'].min():g}-{above['noise_std'].max():g} ({len(above)} of {len(es)} values; "
            f"best {above['success'].max():.2f} at {above.loc[above['success'].idxmax(), 'noise_std']:g})")


def figures(tables: dict[str, pd.DataFrame]) -> None:
    success, landscape = tables["success"], tables["smoothed_objective"]
    fig, ax = plots.plt.subplots(figsize=(6.8, 4.2), layout="constrained")
    es = success[success["method"] == "openai_es"].sort_values("noise_std")
    ax.errorbar(es["noise_std"], es["success"], yerr=[es["success"] - es["low"], es["high"] - es["success"]],
                marker="o", capsize=2, color=plots.color_for("openai_es"), label="OpenAI-ES success (Wilson 95%)")
    budgets = tables.get("budgets")
    if budgets is not None and len(budgets):
        for budget, style in (("2x", "--"), ("4x", ":")):
            more = budgets[(budgets["method"] == "openai_es") & (budgets["budget"] == budget)].sort_values("noise_std")
            ax.plot(more["noise_std"], more["success"], ls=style, marker=".", color=plots.color_for("openai_es"),
                    label=f"OpenAI-ES at {budget} the budget")
    for method in ("reinforce", "random_search"):
        row = success[success["method"] == method].iloc[0]
        ax.axhspan(row["low"], row["high"], color=plots.color_for(method), alpha=0.2)
        ax.axhline(row["success"], color=plots.color_for(method), lw=1.5, label=f"{method} at the same budget")
    ax.set(xscale="log", xlabel="ES noise scale sigma", ylabel="seeds that succeed", ylim=(-0.02, 1.02))
    twin = ax.twinx()
    twin.plot(landscape["noise_std"], landscape["slope_median"], ls="--", color="0.3", label="|grad J_sigma| at theta_0 (median)")
    # Below 1e-6 the slope is no signal at this budget; the axis starts there so that its peak is visible.
    twin.set(yscale="log", ylabel="slope of the smoothed objective (median)", ylim=(1e-6, 1e-1))
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, frameon=False, fontsize="small", loc="center left")
    plots.save(fig, RESULTS / "figures" / "success_against_sigma", formats=("png",))
    plots.plt.close(fig)


def results_block(tables: dict[str, pd.DataFrame]) -> str:
    parts = [
        "Success at the budget (a seed succeeds when its final evaluation does in >= 50% of episodes; Wilson 95%):",
        markdown.table(tables["success"]),
        "The smoothed objective at the initial policies (closed form, median over seeds):",
        markdown.table(tables["smoothed_objective"]),
    ]
    budgets = tables.get("budgets")
    if budgets is not None and len(budgets):
        es = budgets[budgets["method"] == "openai_es"].assign(
            cell=lambda b: [f"{k}/{n} ({lo:.2f})" for k, n, lo in zip(b["successes"], b["seeds"], b["low"])])
        grid = es.pivot(index="noise_std", columns="budget", values="cell").reset_index()
        others = budgets[budgets["method"] != "openai_es"][["method", "budget", "successes", "seeds", "success",
                                                             "low", "high"]]
        parts += ["At 1x, 2x and 4x the budget (`es_noise_4x.toml`, the same seeds; its first 10 evaluations are "
                  "the 1x run's, bit for bit): OpenAI-ES's seeds that succeed per sigma (Wilson lower bound):",
                  markdown.table(grid),
                  "Sigmas with a share above 0 (Wilson lower bound): " + "; ".join(
                      f"{b}: {window(budgets, b)}" for b in ("1x", "2x", "4x")) + ".",
                  "REINFORCE and random search at the same budgets:", markdown.table(others, float_format=".2f")]
    return "\n\n".join(parts)


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One sentence for the top-level README's claims table: what the sigma grid shows, no more."""
    success, landscape = tables["success"], tables["smoothed_objective"]
    es = success[success["method"] == "openai_es"].sort_values("noise_std")
    best = es.loc[es["success"].idxmax()]
    succeeding = es[es["low"] > 0]  # sigmas whose Wilson interval excludes zero
    steepest = landscape.loc[landscape["slope_median"].idxmax(), "noise_std"]
    sigmas = list(es["noise_std"])
    if len(succeeding) == 1:
        at = sigmas.index(best["noise_std"])
        neighbours = " and ".join(f"{s:g}" for s in sigmas[max(at - 1, 0):at + 2] if s != best["noise_std"])
        span = (f"only sigma = {best['noise_std']:g} of {len(es)} log-spaced values (none at its neighbours "
                f"{neighbours}) at this one budget of {int(best['env_steps']):,} env steps per seed: the sigma that "
                "learns first here, not a measured window")
    elif len(succeeding):
        span = (f"sigma in [{succeeding['noise_std'].min():g}, {succeeding['noise_std'].max():g}] "
                f"({len(succeeding)} of {len(es)} log-spaced values)")
    else:
        span = f"none of {len(es)} log-spaced sigma values"
    others = {m: success[success["method"] == m].iloc[0] for m in ("reinforce", "random_search")}
    sentence = (f"OpenAI-ES succeeds in a share of seeds above 0 (Wilson 95%) at {span}, at most "
                f"{best['success']:.2f} [{best['low']:.2f}, {best['high']:.2f}] at sigma = {best['noise_std']:g}; the "
                f"median slope of J_sigma at the initial policies peaks at sigma = {steepest:g}. Same linear policy and "
                f"budget: REINFORCE {others['reinforce']['success']:.2f} [{others['reinforce']['low']:.2f}, "
                f"{others['reinforce']['high']:.2f}], random search {others['random_search']['success']:.2f} "
                f"[{others['random_search']['low']:.2f}, {others['random_search']['high']:.2f}]")
    budgets = tables.get("budgets")
    if budgets is not None and len(budgets):
        sentence += (f". Measured at more budgets (same seeds): above 0 at 2x ({window(budgets, '2x')}) and at 4x "
                     f"({window(budgets, '4x')})")
    return sentence


def load_tables() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(RESULTS / f"{name}.csv")
            for name in ("success", "smoothed_objective", "budgets") if (RESULTS / f"{name}.csv").exists()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", metavar="DIR", help="a finished sweep of es_noise.toml")
    parser.add_argument("--sweep-4x", metavar="DIR", help="a finished sweep of es_noise_4x.toml")
    args = parser.parse_args(argv)
    curves = extract(args.sweep) if args.sweep else pd.read_parquet(RESULTS / "curves.parquet")
    tables = analyse(curves)
    curves_4x = extract_4x(args.sweep_4x) if args.sweep_4x else (
        pd.read_parquet(RESULTS / "curves_4x.parquet") if (RESULTS / "curves_4x.parquet").exists() else None)
    if curves_4x is not None:
        prefix = curves_4x[curves_4x["eval"] < curves["eval"].max() + 1].reset_index(drop=True)
        same = curves.sort_values(["algo", "hp.noise_std", "seed", "eval"]).reset_index(drop=True)
        if not prefix[same.columns].equals(same):
            sys.exit("the 4x run's first evaluations differ from the 1x run's: not the same experiment")
        tables["budgets"] = budget_table(curves_4x)
    return experiment.publish(sys.modules[__name__], tables, figures)


if __name__ == "__main__":
    sys.exit(main())
