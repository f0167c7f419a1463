"""Figures of a probe directory: measured points with intervals, predicted curves drawn over them.

Each function takes the tables of `rlab.store.probes.load` and returns a list
of (title, figure). Grids of panels have one row per hole radius and one
column per dimension.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlab import stats, trainers
from rlab.plots import color_for, plt
from rlab.probes import budget as budget_probe

MARKERS = ("o", "s", "^", "D", "v", "P")


def _variant_style(label: str, labels: list[str]) -> dict:
    return {"color": color_for(label.split("/")[0]), "marker": MARKERS[labels.index(label) % len(MARKERS)]}


def _panels(frame: pd.DataFrame, width: float = 3.4, height: float = 2.8):
    dims, radii = sorted(frame["dim"].unique()), sorted(frame["hole_radius"].unique(), reverse=True)
    fig, axes = plt.subplots(len(radii), len(dims), figsize=(width * len(dims), height * len(radii)),
                             layout="constrained", squeeze=False, sharey=True)
    for row, radius in enumerate(radii):
        for col, dim in enumerate(dims):
            axes[row, col].set_title(f"dim {dim}, hole radius {radius}", fontsize="small")
            yield fig, axes[row, col], frame[(frame["dim"] == dim) & (frame["hole_radius"] == radius)]


def zero_law_summary(frame: pd.DataFrame, confidence: float = 0.99) -> pd.DataFrame:
    """Per (variant, dim, radius, N): measured zero fraction with a Wilson interval, predicted, mean p."""
    rows = []
    for (variant, dim, radius, n), group in frame.groupby(["variant", "dim", "hole_radius", "batch_size"]):
        zero = group["zero"].to_numpy()
        interval = stats.success_rate(int(zero.sum()), zero.size, confidence)
        rows.append({"variant": variant, "dim": dim, "hole_radius": radius, "batch_size": n, "seeds": zero.size,
                     "measured": zero.mean(), "low": float(interval.low), "high": float(interval.high),
                     "predicted": group["predicted"].mean(), "p": group["p"].mean()})
    return pd.DataFrame(rows)


def zero_law(frame: pd.DataFrame) -> list:
    summary = zero_law_summary(frame)
    labels = sorted(summary["variant"].unique())
    fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, label="measured = predicted")
    for label in labels:
        rows = summary[(summary["variant"] == label) & summary["predicted"].notna()]
        ax.errorbar(rows["predicted"], rows["measured"], yerr=[rows["measured"] - rows["low"], rows["high"] - rows["measured"]],
                    ls="none", capsize=2, ms=5, label=label, **_variant_style(label, labels))
    ax.set(xlabel="predicted P(first update exactly zero)", ylabel="measured fraction (99% Wilson)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    figures = [("Zero-update law: measured against predicted, every grid point", fig)]

    reinforce = summary[summary["variant"] == "reinforce/none"].sort_values("p")
    if len(reinforce):
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        grid = np.logspace(np.log10(max(reinforce["p"].min() / 2, 1e-6)), 0, 200)
        for i, (n, rows) in enumerate(reinforce.groupby("batch_size")):
            colour = f"C{i}"
            ax.plot(grid, (1 - grid) ** n, color=colour, lw=1.2, label=f"(1 - p)^{n}")
            ax.errorbar(rows["p"], rows["measured"], yerr=[rows["measured"] - rows["low"], rows["high"] - rows["measured"]],
                        ls="none", marker="o", ms=5, capsize=2, color=colour, label=f"measured, N = {n}")
        ax.set(xscale="log", xlabel="p: the initial policy's hit probability (closed form or Monte Carlo)",
               ylabel="P(REINFORCE estimate = 0)")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize="small")
        figures.append(("REINFORCE without baseline: zero-gradient fraction against p, with (1 - p)^N", fig))
    return figures


def gradient_quality(frame: pd.DataFrame) -> list:
    figures = []
    labels = sorted(frame["estimator"].unique())
    for metric, ylabel in (("cosine", "cosine with the exact gradient"), ("snr", "signal-to-noise ratio")):
        fig = None
        for fig, ax, cell in _panels(frame):
            for label in labels:
                rows = cell[cell["estimator"] == label].sort_values("batch_size")
                style = _variant_style(label, labels)
                if metric == "cosine":
                    ax.errorbar(rows["batch_size"], rows["cosine"], yerr=[rows["cosine"] - rows["cosine_low"],
                                rows["cosine_high"] - rows["cosine"]], capsize=2, ms=4, label=label, **style)
                else:
                    ax.plot(rows["batch_size"], rows["snr"].clip(lower=1e-3), ms=4, label=label, **style)
            ax.set_xscale("log")
            if metric == "snr":
                ax.set_yscale("log")
            ax.set_xlabel("episodes per estimate N")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        if fig is not None:
            fig.axes[0].legend(frameon=False, fontsize="x-small")
            figures.append((f"Gradient quality ({metric}): REINFORCE against grad J, OpenAI-ES against grad J_sigma", fig))
    return figures


def first_hit(frame: pd.DataFrame) -> list:
    methods = sorted(frame["method"].unique())
    fig = None
    for fig, ax, cell in _panels(frame):
        shown = 0.0  # zoom on where the curves still move: up to where every one is below 1%
        for method in methods:
            rows = cell[cell["method"] == method]
            if rows.empty:
                continue
            table = budget_probe.survival_table(rows)
            alive = (table["survival"] > 0.01) | (table["predicted"].fillna(0) > 0.01)
            shown = max(shown, float(table["env_steps"][alive].max()) * 1.3, float(table["env_steps"].iloc[2]))
            colour = color_for(method)
            ax.step(table["env_steps"], table["survival"], where="post", color=colour, label=f"{method} measured")
            ax.fill_between(table["env_steps"], table["low"], table["high"], step="post", color=colour, alpha=0.2)
            if table["predicted"].notna().all():
                ax.step(table["env_steps"], table["predicted"], where="post", ls="--", color=colour, lw=1.2,
                        label=f"{method} law")
        ax.set_xlim(0, shown)
        ax.set_xlabel("training env steps")
        ax.set_ylabel("P(no rewarded batch yet)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    if fig is None:
        return []
    fig.axes[0].legend(frameon=False, fontsize="x-small")
    return [("Time to the first rewarded batch: survival (95% Wilson band) against the geometric law", fig)]


def crossover_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (method, dim, radius): success rate at the budget with a Wilson interval; random search's prediction."""
    batches = {method: _batch_of(method) for method in frame["method"].unique()}
    # The initial stochastic policy's p, from the methods that sample episodes of it.
    sampled = frame[frame["method"].map(batches) == "episodes"]
    density = sampled.groupby(["dim", "hole_radius"])["p"].mean()
    rows = []
    for (method, dim, radius), group in frame.groupby(["method", "dim", "hole_radius"]):
        success = group["success"].to_numpy()
        interval = stats.success_rate(int(success.sum()), success.size)
        rows.append({"method": method, "dim": dim, "hole_radius": radius, "seeds": success.size,
                     "success": success.mean(), "low": float(interval.low), "high": float(interval.high),
                     "predicted": group["predicted_success"].mean(), "p_initial": density.get((dim, radius), np.nan),
                     "p_random_policy": group["p"].mean() if batches[method] == "policy_draws" else np.nan})
    return pd.DataFrame(rows)


def _batch_of(method: str) -> str | None:
    """What the algorithm of a budget-probe method draws per iteration (`Plateau.batch_of`), None if unknown."""
    algorithm = trainers.registered().get(method.split("/")[0])
    return algorithm.plateau.batch_of if algorithm is not None else None


def crossover(frame: pd.DataFrame) -> list:
    summary = crossover_summary(frame).sort_values("p_initial")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for method, rows in summary.groupby("method"):
        colour = color_for(method)
        ax.errorbar(rows["p_initial"], rows["success"], yerr=[rows["success"] - rows["low"], rows["high"] - rows["success"]],
                    marker="o", ms=5, capsize=2, color=colour, label=f"{method} measured")
        if rows["predicted"].notna().any():
            ax.plot(rows["p_initial"], rows["predicted"], ls="--", marker="x", color=colour, label=f"{method}: 1 - (1 - p)^S")
    ax.set(xscale="log", xlabel="p: hit probability of the initial Gaussian policy (smaller holes, more dimensions: left)",
           ylabel="seeds that succeed at the budget (95% Wilson)", ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize="small")
    return [("Where each method wins: success at one env-step budget as the holes shrink", fig)]


def surfaces(frame: pd.DataFrame) -> list:
    figures = []
    line = frame[frame["shape"] == "line"]
    fig = None
    for fig, ax, cell in _panels(line):
        for kind, style in (("deterministic", "-"), ("gaussian", "--"), ("smoothed", ":")):
            ax.plot(cell["alpha"], cell[kind], ls=style, label=kind)
        ax.set_xlabel("step along a layer-normalised direction")
        ax.set_ylabel("J")
        ax.grid(alpha=0.3)
    if fig is not None:
        fig.axes[0].legend(frameon=False, fontsize="x-small")
        figures.append(("The objective along a line: the mean action's J (flat or 1), the Gaussian policy's, and ES's J_sigma", fig))
    plane = frame[frame["shape"] == "plane"]
    for kind in ("deterministic", "smoothed"):
        fig = None
        for fig, ax, cell in _panels(plane, width=3.0, height=2.8):
            points = int(round(np.sqrt(len(cell))))
            if points * points != len(cell) or points == 0:
                continue
            values = cell[kind].to_numpy().reshape(points, points).T
            extent = (cell["alpha"].min(), cell["alpha"].max(), cell["beta"].min(), cell["beta"].max())
            image = ax.imshow(values, origin="lower", extent=extent, vmin=0, vmax=max(values.max(), 1e-9), cmap="viridis")
            ax.set_xlabel("alpha")
            ax.set_ylabel("beta")
        if fig is not None:
            fig.colorbar(image, ax=fig.axes, shrink=0.6, label="J")
            figures.append((f"The {kind} objective over a plane through the initial policy", fig))
    return figures



def all_figures(tables: dict[str, pd.DataFrame]) -> list:
    """Every figure the stored tables allow, in report order."""
    figures = []
    if "zero_law" in tables:
        figures += zero_law(tables["zero_law"])
    if "gradients" in tables:
        figures += gradient_quality(tables["gradients"])
    if "budget" in tables:
        figures += first_hit(tables["budget"]) + crossover(tables["budget"])
    if "surface" in tables:
        figures += surfaces(tables["surface"])
    return figures
