"""Plots and the report: real files, every figure present, honest statistics."""

import re
import subprocess
import sys

import numpy as np
import pytest

from rlab import plots, report, spec as spec_lib, stats
from rlab import store
from rlab.run import sweep
from tests.sweep_cases import RANDOM_SEARCH, tiny_spec

SPEC = tiny_spec(noise="[0.02]", extra=RANDOM_SEARCH, budget=32)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "spec.toml").write_text(SPEC)
    sweep.run(spec_lib.load(tmp / "spec.toml"), tmp / "out")
    return tmp / "out"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, timeout=600)


def test_report_page_embeds_every_figure_and_the_summary(finished):
    result = run_cli("report", str(finished))
    assert result.returncode == 0, result.stderr
    page = (finished / "report" / "index.html").read_text()
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    titles = [title for title, _ in images]
    for kind in ("fan", "success", "final", "profile", "improvement", "survival", "degradation along dim"):
        assert any(t.startswith(kind) for t in titles), kind
    assert all(len(data) > 5000 for _, data in images)  # real pictures, not empty canvases
    assert "IQM final return [bootstrap 95% CI]" in page and "P(X &gt; Y)" in page and "Holm" in page
    text = re.sub(r'src="data:image/png;base64,[^"]+"', "", page.split("<h2>Spec</h2>")[0])
    assert not re.search(r"\bnan\b", text.lower())
    assert (finished / "report" / "summary.md").read_text().startswith("# tiny (complete")
    assert "Not compared" not in page


def test_every_curve_is_drawn_at_its_own_env_steps(finished):
    frame = store.load(finished).assign(config=lambda f: report.configurations(f))
    rows = frame[frame["env.dim"] == 1]
    grids = {c: report.step_grid(r) for c, r in rows.groupby("config")}
    assert set(grids.values()) == {(32, 64)}  # one budget: one grid for every algorithm
    fan = dict(report.figure("fan", rows, np.random.default_rng(0)))
    drawn = {line.get_label().split(" (")[0]: tuple(line.get_xdata()) for line in fan["fan (dim=1)"].axes[0].get_lines()
             if "median" in line.get_label()}
    assert drawn == {c: tuple(float(v) for v in g) for c, g in grids.items()}


def test_a_chart_that_cannot_say_anything_is_left_out_with_the_reason(finished):
    frame = store.load(finished).assign(config=lambda f: report.configurations(f))
    rows = frame[frame["env.dim"] == 1].copy()
    assert report.figure("fan", rows, np.random.default_rng(0)) and report.figure("survival", rows, np.random.default_rng(0))
    notes = []
    sparse = rows.assign(eval_return=rows["eval_success"])  # what a sparse task records: the return is the success
    assert report.figure("fan", sparse, np.random.default_rng(0), notes) == []
    solved = rows.assign(eval_success=1.0)  # every seed succeeds from the first evaluation on
    assert report.figure("survival", solved, np.random.default_rng(0), notes) == []
    assert any("the return equals the success rate" in n for n in notes)
    assert any("every seed succeeds from the first evaluation" in n for n in notes)


def test_configurations_at_different_budgets_are_drawn_apart_and_not_compared(tmp_path):
    (tmp_path / "spec.toml").write_text(tiny_spec(seeds=4, noise="[0.02]", extra=RANDOM_SEARCH.replace(
        "reevaluation_episodes = 2", "reevaluation_episodes = 2\niterations_per_eval = 2")))
    out = tmp_path / "out"
    sweep.run(spec_lib.load(tmp_path / "spec.toml"), out)
    frame = store.load(out).assign(config=lambda f: report.configurations(f))
    grids = {c: report.step_grid(r) for c, r in frame[frame["env.dim"] == 1].groupby("config")}
    assert grids == {"openai_es noise_std=0.02": (16, 32), "random_search": (64, 128)}
    notes = []
    assert report.comparisons(frame, np.random.default_rng(0), notes).empty
    assert report.figure("degradation", frame, np.random.default_rng(0), notes) == []
    assert any("different env-step budgets" in n and "16 steps per evaluation" in n for n in notes)
    fan = dict(report.figure("fan", frame, np.random.default_rng(0)))["fan (dim=1)"]
    xs = sorted(tuple(line.get_xdata()) for line in fan.axes[0].get_lines() if "median" in line.get_label())
    assert xs == [(16.0, 32.0), (64.0, 128.0)]
    page = report.build(out).read_text()
    assert "Not compared" in page and "set env_steps_per_eval in the spec" in page


def test_report_works_on_a_sweep_still_running(tmp_path):
    (tmp_path / "spec.toml").write_text(SPEC)
    out = tmp_path / "out"
    sweep.run(spec_lib.load(tmp_path / "spec.toml"), out, process=(0, 2), take_over=False)  # half the chunks
    assert len(store.read_manifest(out)["chunks"]) < 8  # the other process's chunks are missing
    page = report.build(out).read_text()
    assert "<img" in page and "chunks complete" in page


def test_plot_command_writes_png_and_svg(finished, tmp_path):
    result = run_cli("plot", "degradation", str(finished), "--out", str(tmp_path / "deg"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "deg.png").stat().st_size > 10_000 and (tmp_path / "deg.svg").read_text().startswith("<?xml")
    bad = run_cli("plot", "histogram", str(finished))
    assert bad.returncode == 2 and "unknown figure kind 'histogram'" in bad.stderr
    nowhere = run_cli("report", str(tmp_path / "nowhere"))
    assert nowhere.returncode == 2 and "not a sweep directory" in nowhere.stderr


def test_summary_success_rate_is_a_wilson_interval_over_seeds():
    import pandas as pd

    rows = []
    for seed in range(10):
        for evaluation in range(2):
            rows.append({"group": "g000", "algo": "ppo", "seed": seed, "hp_index": 0, "eval": evaluation,
                         "env_steps": 100 * (evaluation + 1), "eval_return": float(seed),
                         "eval_success": 1.0 if seed < 3 else 0.0})
    frame = pd.DataFrame(rows)
    frame = frame.assign(config=report.configurations(frame))
    table = report.summary_table(frame, np.random.default_rng(0))
    wilson = stats.success_rate(3, 10)
    assert table.loc[0, report.SUCCESS_COLUMN] == f"{float(wilson.point):.2f} [{float(wilson.low):.2f}, {float(wilson.high):.2f}]"
    assert table.loc[0, "seeds"] == 10 and table.loc[0, "diverged"] == 0
    # A seed the store flagged (e.g. update_norm = inf) is counted and left out, though its return is finite.
    flagged = frame.assign(diverged=frame["seed"] == 0)
    table = report.summary_table(flagged, np.random.default_rng(0))
    wilson = stats.success_rate(2, 9)
    assert table.loc[0, "diverged"] == 1
    assert table.loc[0, report.SUCCESS_COLUMN] == f"{float(wilson.point):.2f} [{float(wilson.low):.2f}, {float(wilson.high):.2f}]"
    assert report.comparisons(pd.concat([flagged, flagged.assign(algo="x", config="x")]), np.random.default_rng(0)).shape[0] == 1


def test_plot_functions_return_figure_and_axes_on_plain_arrays():
    rng = np.random.default_rng(0)
    bimodal = np.r_[rng.normal(0, 0.05, 50), rng.normal(1, 0.05, 50)]
    figures = [
        plots.fan_chart(np.arange(5), {"ppo": rng.normal(size=(20, 5))}),
        plots.final_distribution({"ppo": bimodal, "openai_es": rng.normal(size=30)}),
        plots.performance_profile({"ppo": bimodal}),
        plots.probability_of_improvement_chart({"ppo vs es": stats.Interval(np.array(0.6), np.array(0.5), np.array(0.7))}),
        plots.power_curve(),
    ]
    result = stats.degradation([1, 2, 3], [np.ones(10), np.r_[np.ones(5), np.zeros(5)], np.zeros(10)], rng, n_resamples=100)
    fig, ax = plots.degradation_plot([1, 2, 3], {"ppo": result})
    # Integer levels: the rates 1, 0.5, 0 fall to 0.8 and to 0.1 between levels 1 and 2 and between 2 and 3,
    # and the bars say exactly that (no interpolated crossing).
    bars = sorted((tuple(line.get_xdata()), line.get_ydata()[0]) for line in ax.get_lines() if line.get_linewidth() == 5)
    assert bars == [((1, 2), 0.8), ((2, 3), 0.1)]
    assert not [line for line in ax.get_lines() if line.get_marker() == "|"]
    figures.append((fig, ax))
    result = stats.degradation([0.1, 0.2, 0.3], [np.ones(10), np.r_[np.ones(5), np.zeros(5)], np.zeros(10)], rng,
                               n_resamples=100)
    fig, ax = plots.degradation_plot([0.1, 0.2, 0.3], {"ppo": result})
    # A continuous axis: the fit 1, 0.5, 0 crosses 0.8 at 0.14 and 0.1 at 0.28: a tick marks each on its line.
    ticks = sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in ax.get_lines() if line.get_marker() == "|")
    assert ticks == [pytest.approx((0.14, 0.8)), pytest.approx((0.28, 0.1))]
    figures.append((fig, ax))
    for fig, ax in figures:
        assert ax.get_xlabel() and ax.get_ylabel()
        plots.plt.close(fig)
    assert plots.color_for("ppo") != plots.color_for("openai_es") == plots.color_for("openai_es lr=0.1")


def test_demo_command_runs_a_sweep_and_writes_the_report(tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "--seeds", "2", "--lane-width", "2", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "report at" in result.stdout and (out / "report" / "index.html").exists()
    frame = store.load(out)
    assert set(frame["algo"]) == {"ppo", "openai_es", "random_search"} and set(frame["env.dim"]) == {1, 2, 3, 4}
    assert run_cli("demo", "--seeds", "0").returncode == 2


def test_a_configuration_whose_every_seed_diverged_still_gets_a_full_report(tmp_path):
    (tmp_path / "spec.toml").write_text(tiny_spec(seeds=3, noise="[0.02, 3e38]"))  # 3e38 overflows: every seed diverges
    sweep.run(spec_lib.load(tmp_path / "spec.toml"), tmp_path / "out")
    page = report.build(tmp_path / "out").read_text()
    titles = re.findall(r'<img alt="([^"]+)"', page)
    for kind in ("fan", "success", "final", "profile", "survival", "degradation along dim"):
        assert any(t.startswith(kind) for t in titles), kind
    assert "noise_std=3e+38 at dim=1: every seed diverged" in page
    from rlab import cli

    assert cli.main(["plot", "survival", str(tmp_path / "out"), "--out", str(tmp_path / "survival")]) == 0
    assert (tmp_path / "survival-0.png").stat().st_size > 5000  # one figure per dimension


def test_a_file_system_refusal_is_one_line_and_a_killed_run_reads_interrupted(finished, tmp_path, capsys):
    import json
    import shutil

    from rlab import cli

    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    shutil.rmtree(copy / "report", ignore_errors=True)
    (copy / "report").write_text("a file where the report directory belongs")
    assert cli.main(["report", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlab report: error: ") and str(copy / "report") in err and "\n" not in err
    # A run killed mid-way leaves "running" in its manifest and chunks unstored; with no writer holding the
    # lock it is interrupted (with every chunk stored it would be complete: nothing is missing).
    (copy / "report").unlink()
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["status"], manifest["name"] = "running", "<b>9</b>"
    manifest["chunks"].pop(sorted(manifest["chunks"])[-1])
    (copy / "manifest.json").write_text(json.dumps(manifest))
    page = report.build(copy).read_text()
    assert "Status: interrupted," in page and "<b>9</b>" not in page  # what a manifest says is escaped
    assert "Backend: cpu, 1 device" in page and "{" not in page.split("Backend:")[1].split("</p>")[0]
    assert "(interrupted," in (copy / "report" / "summary.md").read_text()


def figure_text(fig) -> str:
    """Every piece of text a figure shows: titles, axis labels, tick labels, legend entries."""
    parts = []
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


def test_every_figure_names_its_band_its_level_and_its_seed_count(finished):
    frame = store.load(finished)
    frame = frame.assign(config=report.configurations(frame))
    rng = np.random.default_rng(0)
    seen = set()
    for kind in report.FIGURES:
        for title, fig in report.figure(kind, frame, rng, []):
            text = figure_text(fig)
            plots.plt.close(fig)
            seen.add(kind)
            if kind == "power":  # no data, no band: the test and its level are named instead
                assert "Welch" in text and "alpha 0.05" in text
                continue
            assert re.search(r"n=\d+", text), (title, text)  # how many seeds
            if kind in ("fan", "success", "final"):  # bands of seeds, not intervals
                assert "of seeds" in text or "dots: seeds" in text, (title, text)
            else:
                assert "95%" in text and ("CI" in text or "Wilson" in text), (title, text)
    assert seen == set(report.FIGURES)


def test_names_with_dollar_signs_are_drawn_as_written(tmp_path):
    """Run names such as "ppo $lr_$" (W&B names hold "$") were parsed as mathtext, which raised on them."""
    import pandas as pd

    from rlab.interop import contract, directory

    rows = [{"algo": algo, "seed": s, "eval": e, "env_steps": 100 * (e + 1), "eval_return": float(s + e)}
            for algo in ("ppo $lr_$", "es $\\sigma^$ 0.1") for s in range(4) for e in range(3)]
    source = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    directory.write(contract.normalise(pd.DataFrame(rows), "runs"), tmp_path / "out", "tidy", source, {})
    page = report.build(tmp_path / "out").read_text()
    assert "ppo $lr_$" in page and "<img" in page


def test_log_axes_are_labelled_with_numbers_not_mathtext_source():
    from rlab import plots

    fig, ax = plots.plt.subplots()
    ax.plot([0.01, 1.0, 100.0], [1.0, 10.0, 1000.0])
    ax.set(xscale="log", yscale="log", title="ppo $lr$")
    plots.plain_ticks(fig)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    assert labels and not any("$" in label or "mathdefault" in label for label in labels), labels
    assert "0.01" in labels and "100" in labels
    plots.plt.close(fig)
