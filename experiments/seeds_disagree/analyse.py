"""Seeds disagree: one PPO configuration, 1,024 seeds, and what standard tests make of them.

    rlab sweep experiments/seeds_disagree/seeds_disagree.toml            # trains (runs/seeds_disagree)
    python experiments/seeds_disagree/analyse.py --sweep runs/seeds_disagree
    python experiments/seeds_disagree/analyse.py                          # re-analyse the committed curves

`--sweep` extracts every seed's evaluation curve into results/curves.parquet
(small; no model parameters); without it the committed curves are analysed.
Writes results/*.csv, results/figures/*.png and the results block of README.md.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import pandas as pd

from rlab import experiment, markdown, plots, stats, store

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SEED = 2024
# The "Deep RL that matters" split: 5 vs 5 seeds of one algorithm, t = -9.09, p = 0.0016 (Henderson et al. 2018).
HENDERSON_P = 0.0016
TESTS = {"welch": "Welch t-test on final returns", "mann_whitney": "Mann-Whitney U on final returns",
         "bootstrap": "bootstrap test of the mean difference", "pooled_welch": "Welch t over every evaluation point"}
BY_N_TESTS = ("welch", "mann_whitney", "bootstrap")
BOOTSTRAP_N = (2, 3, 4, 5, 7, 10, 15, 20)  # the bootstrap test costs 1,000 resamples per split: fewer N
COVERAGE_K = (3, 5, 10, 25, 50)
# How many of the last evaluations a pooled-points test pools: its rate depends on it.
POOLING_WINDOWS = (1, 2, 3, 5, 10)


def extract(sweep_dir) -> pd.DataFrame:
    frame = store.load(sweep_dir)
    if frame.attrs.get("damaged"):
        sys.exit(f"{sweep_dir} has damaged chunks: {sorted(frame.attrs['damaged'])}; rerun the sweep first")
    curves = frame[["seed", "eval", "env_steps", "eval_return", "eval_success"]].sort_values(["seed", "eval"])
    RESULTS.mkdir(exist_ok=True)
    store.atomic_write(RESULTS / "curves.parquet", lambda tmp: curves.to_parquet(tmp, index=False))
    return curves


def analyse(curves: pd.DataFrame) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    returns = curves.pivot(index="seed", columns="eval", values="eval_return").to_numpy()  # [S, E]
    success = curves.pivot(index="seed", columns="eval", values="eval_success").to_numpy()
    final = returns[:, -1]
    seeds = final.size
    tables: dict[str, pd.DataFrame] = {}

    rows = []
    for name, fn in (("mean", np.mean), ("median", np.median), ("iqm", stats.iqm)):
        ci = stats.bootstrap_ci(final[:, None], fn, rng, n_resamples=10_000)
        rows.append({"quantity": f"{name} of final return (95% bootstrap CI)", "point": float(np.ravel(ci.point)[0]),
                     "low": float(np.ravel(ci.low)[0]), "high": float(np.ravel(ci.high)[0])})
    low, high = stats.tolerance_interval(final, 0.9, 0.95)
    rows.append({"quantity": "90% of seeds lie in (95% tolerance interval)", "point": np.nan, "low": low, "high": high})
    q05, q95 = np.quantile(final, [0.05, 0.95])
    rows.append({"quantity": "5-95% range of final return", "point": np.nan, "low": q05, "high": q95})
    succeeded = int(np.sum(success[:, -1] >= 0.5))
    rate = stats.success_rate(succeeded, seeds)
    rows.append({"quantity": "seeds whose final evaluation succeeds in >= 50% of episodes (Wilson)",
                 "point": float(rate.point), "low": float(rate.low), "high": float(rate.high)})
    tables["spread"] = pd.DataFrame(rows)

    rows = []
    for test, label in TESTS.items():
        scores = returns if test == "pooled_welch" else final
        rate = stats.false_positive_rate(scores, 5, rng, n_experiments=10_000, test=test, pool_resamples=10)
        rows.append({"test": label, "false_positive_rate": float(rate.point), "low": float(rate.low), "high": float(rate.high)})
    picks = np.argsort(rng.random((10_000, seeds)), axis=1)[:, :10]
    pooled_p = stats._pvalues(returns[picks[:, :5]], returns[picks[:, 5:]], "pooled_welch")
    extreme = stats.success_rate(int(np.sum(pooled_p <= HENDERSON_P)), pooled_p.size)
    rows.append({"test": f"Welch over every evaluation point at p <= {HENDERSON_P}", "false_positive_rate": float(extreme.point),
                 "low": float(extreme.low), "high": float(extreme.high)})
    tables["false_positives_5v5"] = pd.DataFrame(rows)

    rows = []
    for n in range(2, 21):
        for test in BY_N_TESTS:
            if test == "bootstrap" and n not in BOOTSTRAP_N:
                continue
            rate = stats.false_positive_rate(final, n, rng, n_experiments=2_000, test=test, pool_resamples=10)
            rows.append({"seeds_per_group": n, "test": test, "false_positive_rate": float(rate.point),
                         "low": float(rate.low), "high": float(rate.high)})
    tables["false_positives_by_n"] = pd.DataFrame(rows)

    rows = []
    for k in COVERAGE_K:
        for statistic in ("iqm", "median"):
            coverage = stats.bootstrap_coverage(final, k, statistic, rng, n_experiments=1_000, n_resamples=2_000)
            rows.append({"runs": k, "statistic": statistic, "coverage": float(coverage.point),
                         "low": float(coverage.low), "high": float(coverage.high)})
    tables["coverage"] = pd.DataFrame(rows)
    tables["coverage"]["ceiling_draws"] = [_all_at_ceiling(final, k) for k in tables["coverage"]["runs"]]

    # A stream of its own, so that adding this table left every number above unchanged.
    window_rng = np.random.default_rng(SEED + 1)
    rows = []
    for window in POOLING_WINDOWS:
        rate = stats.false_positive_rate(returns[:, -window:], 5, window_rng, n_experiments=10_000,
                                         test="pooled_welch", pool_resamples=10)
        rows.append({"last_evaluations_pooled": window, "false_positive_rate": float(rate.point),
                     "low": float(rate.low), "high": float(rate.high)})
    tables["pooling_window"] = pd.DataFrame(rows)
    return tables


def _all_at_ceiling(final: np.ndarray, k: int) -> float:
    """P(k distinct seeds drawn from the pool all score the maximum): their bootstrap interval is then a point."""
    top = int(np.sum(final == final.max()))
    return float(np.prod([(top - i) / (final.size - i) for i in range(k)]))


def against_nominal(row, nominal: float = 0.05) -> str:
    """What a false-positive rate means against the nominal level: its 95% interval below, around or above it."""
    if row["high"] < nominal:
        return f"conservative (below the nominal {nominal:.0%})"
    if row["low"] > nominal:
        return f"liberal (above the nominal {nominal:.0%})"
    return f"at the nominal {nominal:.0%}"


def figures(curves: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> None:
    out = RESULTS / "figures"
    returns = curves.pivot(index="seed", columns="eval", values="eval_return")
    steps = curves.groupby("eval")["env_steps"].first().to_numpy()
    fig, _ = plots.fan_chart(steps, {"ppo": returns.to_numpy()}, title=f"{len(returns)} seeds of one PPO configuration")
    plots.save(fig, out / "fan", formats=("png",))
    fig, ax = plots.plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    ax.hist(returns.to_numpy()[:, -1], bins=60, color=plots.color_for("ppo"))
    ax.set(xlabel="final evaluation return", ylabel="seeds", title="Final returns: the distribution, not its mean")
    plots.save(fig, out / "final_distribution", formats=("png",))
    fig, ax = plots.plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    by_n = tables["false_positives_by_n"]
    for test, rows in by_n.groupby("test"):
        ax.errorbar(rows["seeds_per_group"], rows["false_positive_rate"],
                    yerr=[rows["false_positive_rate"] - rows["low"], rows["high"] - rows["false_positive_rate"]],
                    marker="o", ms=3, capsize=2, label=test)
    ax.axhline(0.05, color="0.4", ls="--", lw=1, label="nominal 5%")
    ax.set(xlabel="seeds per group N", ylabel="false-positive rate (same configuration)", ylim=(0, None))
    ax.legend(frameon=False)
    plots.save(fig, out / "false_positives_by_n", formats=("png",))
    fig, ax = plots.plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    for statistic, rows in tables["coverage"].groupby("statistic"):
        ax.errorbar(rows["runs"], rows["coverage"], yerr=[rows["coverage"] - rows["low"], rows["high"] - rows["coverage"]],
                    marker="o", capsize=2, label=statistic)
    ax.axhline(0.95, color="0.4", ls="--", lw=1, label="nominal 95%")
    ax.set(xscale="log", xlabel="runs K", ylabel="coverage of the 95% percentile bootstrap CI")
    ax.legend(frameon=False)
    plots.save(fig, out / "coverage", formats=("png",))
    for figure in plots.plt.get_fignums():
        plots.plt.close(figure)


def results_block(tables: dict[str, pd.DataFrame]) -> str:
    """The README's results section, generated from the tables (a test checks it matches the committed CSVs)."""
    def fmt(frame):
        return markdown.table(frame, ".3f")

    by_n = tables["false_positives_by_n"].pivot(index="seeds_per_group", columns="test", values="false_positive_rate")
    five = tables["false_positives_5v5"].copy()
    five["against a nominal 5% test"] = [against_nominal(row) for _, row in five.iterrows()]
    five.loc[five["test"].str.contains("p <= "), "against a nominal 5% test"] = "(a stricter level: nominal 0.16%)"
    window = tables["pooling_window"].copy()
    window["against a nominal 5% test"] = [against_nominal(row) for _, row in window.iterrows()]
    return "\n\n".join([
        "### Spread and uncertainty of the final return", fmt(tables["spread"]),
        "### False positives: 5 vs 5 seeds of the same configuration (10,000 splits, 95% intervals)",
        "Each test is run at a nominal level of 5%: a rate below it means the test is conservative on this "
        "distribution (it rarely rejects, and so has little power), a rate above it that it is liberal.",
        fmt(five),
        "### Pooled points: the rate depends on how many evaluations are pooled (10,000 splits, 95% intervals)",
        "\"Welch t over every evaluation point\" above pools all 10 evaluations of each seed, as the Deep RL "
        "that matters protocol pools the whole curve; pooling fewer of the last evaluations gives (the 10 row repeats it with other random splits):",
        fmt(window),
        "### False-positive rate against seeds per group (2,000 splits each)", fmt(by_n.reset_index()),
        "### Coverage of 95% percentile-bootstrap intervals (1,000 draws of K runs, Wilson 95%)",
        "`ceiling_draws`: the chance that all K runs drawn score the maximum final return, so that their "
        "interval is a single point at the ceiling, which misses any pool value below it.",
        fmt(tables["coverage"]),
    ])


def headline(tables: dict[str, pd.DataFrame]) -> str:
    """One sentence for the top-level README's claims table."""
    spread = tables["spread"].set_index("quantity")
    rate = spread.loc[[q for q in spread.index if q.startswith("seeds whose")][0]]
    tolerance = spread.loc["90% of seeds lie in (95% tolerance interval)"]
    mean = spread.loc["mean of final return (95% bootstrap CI)"]
    fp = tables["false_positives_5v5"].set_index("test")
    coverage = tables["coverage"].set_index(["runs", "statistic"])

    def interval(row, key):
        return f"{row[key]:.3f} [{row['low']:.3f}, {row['high']:.3f}]"

    windows = tables["pooling_window"].set_index("last_evaluations_pooled")["false_positive_rate"]
    iqm3 = coverage.loc[(3, 'iqm')]
    return (f"one configuration, 1,024 seeds: {interval(rate, 'point')} of seeds succeed; mean final return "
            f"{interval(mean, 'point')} while 90% of seeds lie in [{tolerance['low']:.2f}, {tolerance['high']:.2f}] (a "
            "tolerance interval at 95% confidence); "
            f"same configuration, 5 vs 5 seeds, tests at a nominal 5%: Welch calls them different in "
            f"{interval(fp.loc[TESTS['welch']], 'false_positive_rate')} of splits (conservative on this bimodal "
            f"distribution), the bootstrap test {interval(fp.loc[TESTS['bootstrap']], 'false_positive_rate')} "
            f"(liberal), Welch over pooled evaluation points {windows.min():.3f} to {windows.max():.3f} depending on "
            f"how many of the last evaluations are pooled (1 to {windows.index.max()}); a 95% bootstrap CI of the "
            f"IQM from 3 runs covers {interval(iqm3, 'coverage')}, mostly because in {iqm3['ceiling_draws']:.2f} "
            f"of draws all 3 runs score the maximum and the interval is that point")


def load_tables() -> dict[str, pd.DataFrame]:
    """The committed tables, as `analyse` made them."""
    names = ("spread", "false_positives_5v5", "false_positives_by_n", "coverage", "pooling_window")
    return {name: pd.read_csv(RESULTS / f"{name}.csv") for name in names}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", metavar="DIR", help="a finished sweep of seeds_disagree.toml to extract curves from")
    args = parser.parse_args(argv)
    curves = extract(args.sweep) if args.sweep else pd.read_parquet(RESULTS / "curves.parquet")
    return experiment.publish(sys.modules[__name__], analyse(curves), lambda tables: figures(curves, tables))


if __name__ == "__main__":
    sys.exit(main())
