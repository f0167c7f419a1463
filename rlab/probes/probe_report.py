"""The landscape report of a probe directory: DIR/report/index.html, summary.md and DIR/figures/*.png."""

from __future__ import annotations

import base64
import html
import io
import json
import pathlib
import re

import numpy as np
import pandas as pd

from rlab import plots, report
from rlab.plots import plt
from rlab.store import files
from rlab.probes import budget as budget_probe
from rlab.probes import figures, surface
from rlab.store import probes as probe_store
from rlab.store.directory import run_state


def tables(loaded: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The report's summary tables, by section title."""
    out = {}
    if "zero_law" in loaded:
        out["Zero-update law (99% Wilson intervals)"] = figures.zero_law_summary(loaded["zero_law"])
    if "gradients" in loaded:
        columns = ["dim", "hole_radius", "estimator", "batch_size", "cosine", "cosine_low", "cosine_high", "snr",
                   "zero_fraction", "p_policy", "p_smoothed"]
        out["Gradient quality"] = loaded["gradients"][columns]
    if "budget" in loaded:
        out["Success at one env-step budget (95% Wilson intervals)"] = figures.crossover_summary(loaded["budget"])
        out["First rewarded batch"] = first_hit_summary(loaded["budget"])
    if "surface" in loaded:
        rows = [{"dim": dim, "hole_radius": radius, "shape": shape, **surface.summarise(group)}
                for (dim, radius, shape), group in loaded["surface"].groupby(["dim", "hole_radius", "shape"])]
        out["Surfaces (flat: J <= 1e-6)"] = pd.DataFrame(rows)
    return out


def first_hit_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (method, cell): share of seeds with a rewarded batch, mean iterations to it against the law's."""
    rows = []
    for (method, dim, radius), group in frame.groupby(["method", "dim", "hole_radius"]):
        table = budget_probe.survival_table(group)
        rows.append({
            "method": method, "dim": dim, "hole_radius": radius, "seeds": len(group),
            "hit_by_budget": float(np.mean(group["first_hit"] > 0)),
            "predicted_hit_by_budget": 1 - table["predicted"].iloc[-1],
            "max_gap": float(np.max(np.abs(table["survival"] - table["predicted"]))),
            "outside_band": int(np.sum((table["predicted"] < table["low"]) | (table["predicted"] > table["high"]))),
        })
    return pd.DataFrame(rows)


def build(directory) -> pathlib.Path:
    """Writes the report and the PNG figures; returns the HTML path."""
    directory = pathlib.Path(directory)
    manifest = probe_store.read_manifest(directory)
    loaded = probe_store.load(directory)
    damaged = sorted(set(manifest.parts) - {p for frame in loaded.values() for p in frame["part"].unique()})
    out = directory / "report"
    out.mkdir(exist_ok=True)
    state = run_state(directory, manifest.status)
    sections, markdown = [], [f"# Landscape probe: {manifest.task} ({state})", ""]
    if damaged:
        warning = f"{len(damaged)} damaged part(s) left out: {', '.join(damaged)}; rerunning the probe recomputes them"
        sections.append(f'<p class="damaged"><strong>{html.escape(warning)}</strong></p>')
        markdown += [f"- Note: {warning}", ""]
    for title, table in tables(loaded).items():
        sections.append(f"<h3>{html.escape(title)}</h3>" + table.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}"))
        markdown += [f"## {title}", "", table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), ""]
    images = []
    for index, (title, fig) in enumerate(figures.all_figures(loaded)):
        name = f"{index:02d}-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] + ".png"
        buffer = io.BytesIO()
        plots.plain_ticks(fig)
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        data = buffer.getvalue()
        files.atomic_write(directory / "figures" / name, lambda tmp: tmp.write_bytes(data))
        images.append(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
                      f"<figcaption>{html.escape(title)}</figcaption></figure>")
    page = _PAGE.format(
        task=html.escape(manifest.task), status=html.escape(state),
        parts=len(manifest.parts), config=html.escape(json.dumps(manifest.config, indent=1)),
        figures="\n".join(images), tables="\n".join(sections), style=report.STYLE, script=report.FIGURE_CHECK,
    )
    html_path = out / "index.html"
    files.atomic_write(html_path, lambda tmp: tmp.write_text(page))
    files.atomic_write(out / "summary.md", lambda tmp: tmp.write_text("\n".join(markdown) + "\n"))
    return html_path


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rlab landscape: {task}</title>
<style>{style} figure img {{ max-width: 1100px; }}</style></head><body>
<h1>rlab landscape probe: {task}</h1>
<p>Status: {status}, {parts} parts stored. Measured points carry binomial (Wilson) or t intervals; dashed
lines and the diagonal are the predictions: closed forms on the bandit, independent Monte Carlo elsewhere.</p>
<h2>Landscape</h2>
{figures}
<h2>Tables</h2>
{tables}
<h2>Config</h2><pre>{config}</pre>
{script}
</body></html>
"""
