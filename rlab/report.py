"""`rlab report DIR`: one self-contained HTML page (and a Markdown summary) of a sweep.

A seed counts as a success when its final evaluation succeeds in at least half
of its evaluation episodes; success rates get Wilson intervals, returns get
IQM with bootstrap intervals, and the spread across seeds is reported apart
from both. Works on a sweep still running (its completed chunks).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import pathlib

import numpy as np
import pandas as pd

from rlab import compare, plots, stats, store
from rlab.frames import (  # noqa: F401 (the report's vocabulary, also used as report.NAME)
    SUCCESS_SHARE, budget_mismatch, configurations, curves, describe_grid, env_columns, env_label, slices, step_grid,
)
from rlab.errors import UsageError
from rlab.report_figures import FIGURES, SUCCESS_KINDS, figure, note  # noqa: F401 (also read as report.NAME)
from rlab.store.directory import run_state

# Summary columns name their interval, its level and what it is over.
SUCCESS_COLUMN = "success rate [Wilson 95% CI over seeds]"
IQM_COLUMN = "IQM final return [bootstrap 95% CI]"
TOLERANCE_COLUMN = "90% of seeds within [95% confidence]"
TUNING_NOTE = ("Tuning seeds: these runs chose the configurations of `rlab tune`, so no comparison or test is drawn "
               "from them (their best looks better than it is); conclusions come from the report phase, DIR/../report.")


def summary_table(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per (environment values, configuration): seeds, diverged, success rate, IQM, spread."""
    records = []
    for env_values, rows in slices(frame):
        for config, cfg_rows in rows.groupby("config", sort=True):
            _, returns = curves(cfg_rows, "eval_return")
            final_return, diverged = stats.drop_diverged(returns)
            record = {**{k[4:]: v for k, v in env_values.items()}, "configuration": config,
                      "seeds": returns.shape[0], "diverged": diverged}
            if final_return.shape[0]:
                if "eval_success" in cfg_rows.columns:
                    _, success = curves(cfg_rows, "eval_success")
                    final_success = success[np.isfinite(returns).all(axis=1)]
                    wins = int(np.sum(final_success[:, -1] >= SUCCESS_SHARE))
                    rate = stats.success_rate(wins, final_return.shape[0])
                    record[SUCCESS_COLUMN] = f"{float(rate.point):.2f} [{float(rate.low):.2f}, {float(rate.high):.2f}]"
                iqm = stats.bootstrap_ci(final_return[:, -1], "iqm", rng, n_resamples=2000)
                iqr = stats.SPREADS["iqr"](final_return[:, -1])
                record.update({
                    IQM_COLUMN: f"{float(iqm.point):.3f} [{float(iqm.low):.3f}, {float(iqm.high):.3f}]",
                    "IQR across seeds": f"{float(iqr):.3f}",
                    TOLERANCE_COLUMN: _tolerance(final_return[:, -1]),
                })
            records.append(record)
    return pd.DataFrame(records)


def _tolerance(values: np.ndarray) -> str:
    """The distribution-free interval that holds 90% of seeds with 95% confidence, or why there is none."""
    try:
        low, high = stats.tolerance_interval(values, coverage=0.9, confidence=0.95)
    except ValueError:
        return f"needs >= {MIN_TOLERANCE_SEEDS} seeds"
    return f"[{low:.3f}, {high:.3f}]"


# Fewest seeds for a two-sided distribution-free 90% / 95% tolerance interval (order statistics 1 and n).
MIN_TOLERANCE_SEEDS = 46


def comparisons(frame: pd.DataFrame, rng: np.random.Generator, notes: list[str] | None = None) -> pd.DataFrame:
    """Every pair of configurations within each environment slice: P(X > Y), Welch and Mann-Whitney p (Holm),
    the standardised effect and the seeds per side Welch's test needs for 80% power at it (`rlab compare`).

    A slice whose configurations ran at different env-step budgets is not
    compared; the reason is appended to `notes`.
    """
    records = []
    for env_values, rows in slices(frame):
        mismatch = budget_mismatch(dict(tuple(rows.groupby("config", sort=True))))
        if mismatch:
            note(notes, f"No comparison at {env_label(env_values)}: {mismatch}.")
            continue
        finals = {}
        for config, cfg_rows in rows.groupby("config", sort=True):
            values, _ = stats.drop_diverged(curves(cfg_rows, "eval_return")[1][:, -1])
            if values.size >= 2:
                finals[config] = values
        for x, y in itertools.combinations(finals, 2):
            poi = stats.probability_of_improvement(finals[x], finals[y], rng, n_resamples=2000)
            found = compare.compare_samples(finals[x], finals[y], "return", rng, n_resamples=200)
            needed = found.seeds_for_power
            records.append({
                **{k[4:]: v for k, v in env_values.items()}, "X": x, "Y": y,
                "P(X > Y) [95% CI]": f"{float(poi.point):.2f} [{float(poi.low):.2f}, {float(poi.high):.2f}]",
                "Welch p": _safe_p(lambda: stats.welch_test(finals[x], finals[y]).pvalue),
                "Mann-Whitney p": _safe_p(lambda: stats.mann_whitney(finals[x], finals[y]).pvalue),
                "Cohen's d": f"{found.standardised:.2f}",
                "seeds/side for 80% power": ("-" if needed is None else f">{compare.MAX_SEEDS:,}"
                                             if needed > compare.MAX_SEEDS else f"{needed:,}"),
            })
    table = pd.DataFrame(records)
    if len(table):
        for column in ("Welch p", "Mann-Whitney p"):
            table[column + " (Holm)"] = stats.holm(table[column].fillna(1.0))
    return table


def _safe_p(compute) -> float:
    with np.errstate(all="ignore"):
        p = float(compute())
    return p if np.isfinite(p) else 1.0


def _png_data(fig) -> str:
    buffer = io.BytesIO()
    plots.plain_ticks(fig)
    fig.savefig(buffer, format="png", dpi=110)
    plots.plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def describe_backend(backend) -> str:
    """Where a sweep ran, in words: "cpu, 2 devices" (and its compiler options), or its processes'."""
    if not isinstance(backend, dict):
        return str(backend)
    if isinstance(backend.get("processes"), list):
        return "; ".join(f"process {i}: {describe_backend(b)}" for i, b in enumerate(backend["processes"]))
    devices = backend.get("devices") or []
    words = f"{backend.get('platform', '?')}, {len(devices)} device{'s' if len(devices) != 1 else ''}"
    options = backend.get("compiler_options") or {}
    if options:
        words += ", compiler options " + ", ".join(f"{k}={v!r}" for k, v in options.items())
    return words


def is_tuning_phase(spec_text: str) -> bool:
    from rlab import tuning

    return tuning.is_tuning_phase(spec_text)


def build(directory, seed: int = 0) -> pathlib.Path:
    """Writes DIR/report/index.html and DIR/report/summary.md; returns the HTML path."""
    directory = pathlib.Path(directory)
    manifest = store.read_manifest(directory)
    spec_text = store.stored_spec_text(directory)  # refuses a spec edited after the run, before any work
    frame = store.load(directory)
    out = directory / "report"
    out.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    if not manifest.defines_success and "eval_success" in frame.columns:
        frame = frame.drop(columns=["eval_success"]).__finalize__(frame)  # always 0 there: not a result
        notes.append(f"{manifest.environment.get('env', 'This task')} defines no success: the report shows returns.")
    selection = selection_table(directory, spec_text, notes)
    if frame.empty:
        body = "<p>No chunk has completed yet.</p>"
        summary, comparison = pd.DataFrame(), pd.DataFrame()
    else:
        frame = frame.assign(config=configurations(frame))
        tuning_phase = is_tuning_phase(spec_text)
        if tuning_phase:
            notes.append(TUNING_NOTE)
        summary = summary_table(frame, rng)
        comparison = pd.DataFrame() if tuning_phase else comparisons(frame, rng, notes)
        sections = []
        for kind in FIGURES:
            if tuning_phase and kind == "improvement":
                continue
            for title, fig in figure(kind, frame, rng, notes):
                sections.append(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{_png_data(fig)}">'
                                f"<figcaption>{html.escape(title)}</figcaption></figure>")
        refused = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        body = (
            (f'<h2>Not compared</h2><ul class="refused">{refused}</ul>' if notes else "")
            + _selection_section(selection)
            + "<h2>Summary</h2>" + summary.to_html(index=False, border=0)
            + "<h2>Figures</h2>" + "\n".join(sections)
            + "<h2>Comparisons</h2>" + (comparison.to_html(index=False, border=0, float_format=lambda p: f"{p:.3g}")
                                         if len(comparison) else f"<p>{html.escape(TUNING_NOTE)}</p>"
                                         if tuning_phase else "<p>Fewer than two configurations.</p>")
        )
    damaged = frame.attrs.get("damaged", {})
    if damaged:
        warning = (f"{len(damaged)} damaged chunk(s) left out ({', '.join(sorted(damaged))}); `rlab status DIR "
                   "--verify` says what is wrong, rerunning the sweep recomputes them")
        body = f'<p class="damaged"><strong>{html.escape(warning)}</strong></p>' + body
        notes.insert(0, warning)
    lost = manifest.missing_manifests
    if lost:
        warning = (f"{', '.join(lost)} missing: the chunks those processes stored are not shown; rerun those "
                   "processes (`rlab sweep DIR/spec.toml --out DIR --process I/N`) to recompute them")
        body = f'<p class="damaged"><strong>{html.escape(warning)}</strong></p>' + body
        notes.insert(0, warning)
    state = run_state(directory, manifest.status)
    covered = manifest.coverage
    if covered["pending"] and not lost:
        warning = (f"{covered['lanes_stored']} of {covered['lanes_expected']} seed lanes stored "
                   f"({manifest.num_seeds} seeds asked for): the figures and tables show the stored ones; "
                   "`rlab sweep DIR/spec.toml --out DIR` computes the rest")
        body = f'<p class="damaged"><strong>{html.escape(warning)}</strong></p>' + body
        notes.insert(0, warning)
    progress = f"{covered['chunks_stored']} of {covered['chunks_expected']}"
    page = _PAGE.format(
        name=html.escape(manifest.name), status=html.escape(state), progress=html.escape(progress),
        backend=html.escape(describe_backend(manifest.backend)), spec=html.escape(spec_text), body=body,
        rule=SUCCESS_SHARE, style=STYLE, script=FIGURE_CHECK,
    )
    html_path = out / "index.html"
    store.atomic_write(html_path, lambda tmp: tmp.write_text(page))
    markdown = [f"# {manifest.name} ({state}, {progress} chunks)", ""]
    markdown += [f"- Note: {n}" for n in notes] + ([""] if notes else [])
    for table in (selection, summary):
        if len(table):
            markdown += [table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False), ""]
    store.atomic_write(out / "summary.md", lambda tmp: tmp.write_text("\n".join(markdown) + "\n"))
    return html_path


def selection_table(directory, spec_text: str, notes: list[str] | None = None) -> pd.DataFrame:
    """For the report phase of `rlab tune`: each algorithm's choice, its IQM on both seed sets and the optimism.

    The choice comes from DIR/../tune.json, checked and tied to this report
    phase (`tuning.read_record`); one that cannot be trusted leaves the table
    empty and says why in `notes`.
    """
    import tomllib

    from rlab import tuning

    try:
        phase = tomllib.loads(spec_text).get("protocol", {}).get("phase")
    except (tomllib.TOMLDecodeError, AttributeError):
        return pd.DataFrame()
    if phase != "report" or not (pathlib.Path(directory).parent / tuning.RECORD).exists():
        return pd.DataFrame()
    try:
        record = tuning.read_record(directory)
    except UsageError as err:
        note(notes, f"no selection shown: {err}")
        return pd.DataFrame()
    rows = []
    for algo, entry in record["algorithms"].items():
        if entry.get("chosen") is None:
            continue
        gap = entry["optimism"]
        rows.append({"algorithm": algo, "chosen": ", ".join(f"{k}={v}" for k, v in entry["chosen"].items()),
                     "of configurations": entry["configurations"],
                     "IQM final return, tuning seeds": f"{entry['tuning_iqm']:.3f}",
                     "IQM final return, report seeds": f"{entry['report_iqm']:.3f}",
                     "optimism of selection [bootstrap 95% CI]":
                         f"{gap['point']:.3f} [{gap['low']:.3f}, {gap['high']:.3f}]"})
    return pd.DataFrame(rows)


def _selection_section(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    return ("<h2>Tuning and selection</h2><p>Chosen on the tuning seeds by the rule in the spec, measured here on "
            "the report seeds; the optimism is the tuning IQM minus the report IQM.</p>"
            + table.to_html(index=False, border=0))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


# Shared by every rlab page (the sweep report and the landscape report).
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: left; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 520px; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""
# Marks how many figures decoded, and says so on the console if any did not (the browser test reads it).
FIGURE_CHECK = """<script>
addEventListener("load", () => {
  const broken = [...document.images].filter((img) => !(img.complete && img.naturalWidth > 0));
  document.body.dataset.figuresRendered = document.images.length - broken.length;
  if (broken.length) console.error("figures failed to render: " + broken.length);
});
</script>"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rlab report: {name}</title>
<style>{style}</style></head><body>
<h1>rlab report: {name}</h1>
<p>Status: {status}, {progress} chunks complete. Backend: {backend}.</p>
<p>A seed counts as a success when its final evaluation succeeds in at least {rule:.0%} of its episodes.
Success rates carry Wilson 95% intervals; IQM carries a percentile-bootstrap 95% interval (the uncertainty
of the aggregate); the IQR is the spread across seeds, which more seeds do not shrink.</p>
{body}
<h2>Spec</h2><pre>{spec}</pre>
{script}
</body></html>
"""
