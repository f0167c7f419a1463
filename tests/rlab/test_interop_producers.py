"""Imports of files written the way the tools that log them really write them (tests/data/interop/producers.py)."""

import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from rlab import report, store
from tests.rlab.test_interop import cli

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "interop"
_spec = importlib.util.spec_from_file_location("producers", DATA / "producers.py")
PRODUCERS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PRODUCERS)
CLEANRL = DATA / "cleanrl" / "runs"
GRID = 2048


def binned_episodes(algo: str, seed: int, grid: int) -> pd.DataFrame:
    """What --grid must give, from the producer's own episode list: mean return and count per bin."""
    episodes = pd.DataFrame(PRODUCERS.cleanrl_episodes(algo, seed), columns=["step", "return", "length"])
    # TensorBoard stores scalars as float32: the values a reader sees are those.
    episodes["return"] = episodes["return"].astype(np.float32).astype(np.float64)
    episodes["bin"] = -(-episodes["step"] // grid) * grid  # (k-1) N < step <= k N -> k N
    return episodes.groupby("bin")["return"].agg(["mean", "size"]).reset_index()


def test_cleanrl_runs_import_with_the_preset_and_a_grid_and_report_scipys_numbers(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "cleanrl"
    result = cli("import", "tensorboard", str(CLEANRL), "--out", str(out), "--preset", "cleanrl", "--grid", str(GRID))
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    assert set(frame["env.env"]) == {"CartPole-v1"} and set(frame["algo"]) == {"ppo", "dqn"}
    finals = {}
    for (algo, seed) in PRODUCERS.RUNS:
        expected = binned_episodes(algo, seed, GRID)
        rows = frame[(frame["algo"] == algo) & (frame["seed"] == seed)].sort_values("eval")
        np.testing.assert_array_equal(rows["env_steps"].to_numpy(), expected["bin"].to_numpy())
        np.testing.assert_allclose(rows["eval_return"].to_numpy(), expected["mean"].to_numpy(), rtol=1e-12)
        np.testing.assert_array_equal(rows["episodes"].to_numpy(), expected["size"].to_numpy())
        finals.setdefault(algo, []).append(expected["mean"].iloc[-1])
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    for algo, values in finals.items():
        line = summary[summary["configuration"].str.startswith(algo)].iloc[0]
        assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(values, 0.25):.3f} ["), line


@pytest.mark.parametrize("source, args, message", [
    ("cleanrl", [], "6 run(s): a tag logged twice at one step; allowed: one value per step, or --grid N"),
    ("cleanrl_restarted", ["--grid", "2048"], "1 run(s): a tag goes back to an earlier step (a run restarted into "
                                              "the same directory?)"),
    ("cleanrl", ["--grid", "100"], "nothing of charts/episodic_return logged in a bin of --grid 100; allowed: a "
                                   "larger --grid"),
    ("cleanrl", ["--grid", "0"], "--grid = 0; allowed: an integer from 1"),
    ("cleanrl", ["--grid", "2048", "--tag", "charts/episodic_return"],
     "--tag 'charts/episodic_return' is already read as --return-tag; allowed: each tag once"),
    ("cleanrl", ["--preset", "sb3"], "--preset = 'sb3'; allowed: cleanrl"),
])
def test_cleanrl_logs_that_cannot_be_read_as_given_are_one_line(tmp_path, source, args, message):
    pytest.importorskip("tensorboard")
    preset = [] if "--preset" in args else ["--preset", "cleanrl"]
    result = cli("import", "tensorboard", str(DATA / source / "runs"), "--out", str(tmp_path / "out"), *preset, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_bad_run_pattern_is_named(tmp_path):
    result = cli("import", "tensorboard", str(CLEANRL), "--out", str(tmp_path / "out"), "--return-tag", "x",
                 "--run-pattern", "(?P<algo")
    assert result.returncode == 2 and "--run-pattern '(?P<algo': not a regular expression" in result.stderr


@pytest.mark.parametrize("value, message", [
    (str(2**70), f"seed = {2**70} is out of range"),
    ("inf", "seed = inf is out of range"),
])
def test_integers_beyond_what_int64_and_float64_hold_exactly_are_refused(tmp_path, value, message):
    table = tmp_path / "runs.csv"
    table.write_text(f"algo,seed,eval,env_steps,eval_return\nppo,{value},0,10,1.0\n")
    result = cli("import", "tidy", str(table), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and message in result.stderr, result.stderr


# ----- marl-eval: as Stoix writes it (marl-eval's JsonLogger) and as marl-eval's README shows it -------------

MARL_EVAL_SOURCES = {"stoix": DATA / "stoix_metrics.json", "readme": DATA / "marl_eval_readme.json"}


def test_stoix_metrics_import_with_episode_return_found_and_absolute_metrics_kept(tmp_path):
    out = tmp_path / "stoix"
    result = cli("import", "marl-eval", str(MARL_EVAL_SOURCES["stoix"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    finals = {}
    for system in ("ff_ppo", "ff_sac"):
        for seed in range(5):
            *evaluations, (_, absolute) = PRODUCERS.stoix_returns(system, seed)
            rows = frame[(frame["algo"] == system) & (frame["seed"] == seed)].sort_values("eval")
            np.testing.assert_allclose(rows["eval_return"], [np.mean(r) for _, r in evaluations], rtol=1e-12)
            np.testing.assert_array_equal(rows["env_steps"], [s for s, _ in evaluations])
            np.testing.assert_allclose(rows["absolute_eval_return"], np.mean(absolute), rtol=1e-12)
            finals.setdefault(system, []).append(np.mean(evaluations[-1][1]))
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    for system, values in finals.items():
        line = summary[summary["configuration"].str.startswith(system)].iloc[0]
        assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(values, 0.25):.3f} ["), line


def test_readme_style_run_keys_import(tmp_path):
    result = cli("import", "marl-eval", str(MARL_EVAL_SOURCES["readme"]), "--out", str(tmp_path / "readme"))
    assert result.returncode == 0, result.stderr
    frame = store.load(tmp_path / "readme")
    assert sorted(frame["seed"].unique()) == [0, 1, 2] and "absolute_win_rate" in frame.columns


# Every producer's file as marl_eval_reference.py imports it: (format, path, options).
PRODUCER_FILES = {
    "stoix": ("marl-eval", MARL_EVAL_SOURCES["stoix"], []),
    "readme": ("marl-eval", MARL_EVAL_SOURCES["readme"], []),
    "cleanrl": ("tensorboard", CLEANRL, ["--preset", "cleanrl", "--grid", "2048"]),
    "wandb": ("wandb", DATA / "wandb_panel.csv", ["--preset", "cleanrl", "--grid", "2048"]),
}


@pytest.mark.parametrize("name", list(PRODUCER_FILES))
def test_marl_evals_own_pipeline_read_the_export_without_a_complaint(name, tmp_path):
    """The committed reference: marl-eval's DiagnoseData, data_process_pipeline and create_matrices_for_rliable
    ran on the committed export (tests/data/interop/marl_eval_reference.py); the export is still those bytes."""
    import json

    if name == "cleanrl":
        pytest.importorskip("tensorboard")
    kind, source, options = PRODUCER_FILES[name]
    imported = cli("import", kind, str(source), "--out", str(tmp_path / "in"), *options)
    assert imported.returncode == 0, imported.stderr
    exported = tmp_path / "out.json"
    result = cli("export", "marl-eval", str(tmp_path / "in"), "--out", str(exported))
    assert result.returncode == 0, result.stderr
    assert exported.read_bytes() == (DATA / f"marl_eval_export_{name}.json").read_bytes()
    reference = json.loads((DATA / f"marl_eval_processed_{name}.json").read_text())
    assert all(all(verdict.values()) for verdict in reference["check_data"].values())
    assert not any("issue" in line for line in reference["printed"]), reference["printed"]
    # marl-eval's final matrix: each run's absolute return, min-max normalised over every return of its task.
    tree = json.loads(exported.read_text())
    (env, tasks), = tree.items()
    (task, algos), = tasks.items()
    every = [v for runs in algos.values() for run in runs.values() for entry in run.values() for v in entry["return"]]
    low, high = min(every), max(every)
    for algo, runs in algos.items():
        expected = [[(run["absolute_metrics"]["return"][0] - low) / (high - low)] for run in runs.values()]
        # (marl-eval updates its running minimum or its maximum per list, not both, so its bounds can differ
        # from the true ones in the last digits.)
        np.testing.assert_allclose(reference["mean_norm_return"][algo], expected, rtol=1e-6)


# ----- exports that the peers accept, and what cannot be written is refused -----------------------------------


def tidy_import(tmp_path, text: str, name: str = "in"):
    table = tmp_path / f"{name}.csv"
    table.write_text(text)
    result = cli("import", "tidy", str(table), "--out", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    return tmp_path / name


def test_colliding_configuration_names_are_refused_not_merged(tmp_path):
    directory = tidy_import(tmp_path, "algo,hp.learning_rate,seed,eval,env_steps,eval_return\n"
                                      "ppo[learning_rate=0.1],,0,0,10,1.0\nppo,0.1,0,0,10,2.0\n")
    for kind, target in (("marl-eval", "out.json"), ("rliable", "out.npz")):
        result = cli("export", kind, str(directory), "--out", str(tmp_path / target))
        assert result.returncode == 2 and "two configurations would both be named 'ppo[learning_rate=0.1]'" in \
            result.stderr, result.stderr
        assert not (tmp_path / target).exists()


def test_any_algorithm_name_is_an_rliable_key_and_the_files_own_arrays_are_not_overwritten(tmp_path):
    directory = tidy_import(tmp_path, "algo,seed,eval,env_steps,eval_return\nfile,0,0,10,1.0\nallow_pickle,0,0,10,2.0\n")
    assert cli("export", "rliable", str(directory), "--out", str(tmp_path / "a.npz")).returncode == 0
    with np.load(tmp_path / "a.npz") as data:
        assert data["file"].tolist() == [[[1.0]]] and data["allow_pickle"].tolist() == [[[2.0]]]
    clash = tidy_import(tmp_path, "algo,seed,eval,env_steps,eval_return\nsteps,0,0,10,1.0\n", "clash")
    result = cli("export", "rliable", str(clash), "--out", str(tmp_path / "b.npz"))
    assert result.returncode == 2 and "an algorithm named 'steps' would collide with the file's 'steps' array" in \
        result.stderr


def test_marl_eval_export_is_strict_json_and_refuses_what_json_cannot_hold(tmp_path):
    directory = tidy_import(tmp_path, "algo,seed,eval,env_steps,eval_return\nppo,0,0,10,1.0\nppo,1,0,10,nan\n")
    result = cli("export", "marl-eval", str(directory), "--out", str(tmp_path / "out.json"))
    assert result.returncode == 2 and "1 value(s) are NaN or infinite (first: ppo seed 1 eval 0)" in result.stderr
    assert "allowed: export tidy or rliable" in result.stderr and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("kind, suffix", [("rliable", "npz"), ("tidy", "csv"), ("tidy", "parquet"),
                                          ("marl-eval", "json")])
def test_export_import_export_is_the_same_bytes(tmp_path, kind, suffix):
    directory = tidy_import(tmp_path, "algo,env.task,seed,eval,env_steps,eval_return,eval_success\n" + "".join(
        f"{algo},{task},{seed},{k},{(k + 1) * 100},{seed + k / 3 + len(algo)},{(seed + k) % 2}\n"
        for algo in ("ppo", "sac") for task in ("a", "b") for seed in range(3) for k in range(2)))
    first, second = tmp_path / f"first.{suffix}", tmp_path / f"second.{suffix}"
    assert cli("export", kind, str(directory), "--out", str(first)).returncode == 0
    back = ["--steps", "steps"] if kind == "rliable" else []
    result = cli("import", kind, str(first), "--out", str(tmp_path / "back"), *back)
    assert result.returncode == 0, result.stderr
    result = cli("export", kind, str(tmp_path / "back"), "--out", str(second))
    assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()


def test_a_sweep_that_is_not_complete_is_exported_only_when_asked(tmp_path):
    from rlab import spec as spec_lib
    from rlab.run import sweep
    from tests.sweep_cases import tiny_spec

    (tmp_path / "spec.toml").write_text(tiny_spec(4))
    sweep.run(spec_lib.load(tmp_path / "spec.toml"), tmp_path / "half", process=(0, 2), take_over=False)
    refused = cli("export", "tidy", str(tmp_path / "half"), "--out", str(tmp_path / "half.csv"))
    assert refused.returncode == 2 and "an export of part of it would read as the whole" in refused.stderr
    assert "--partial" in refused.stderr and not (tmp_path / "half.csv").exists()
    allowed = cli("export", "tidy", str(tmp_path / "half"), "--out", str(tmp_path / "half.csv"), "--partial")
    assert allowed.returncode == 0 and "holds only what is stored" in allowed.stderr, allowed.stderr


def test_an_empty_task_value_is_refused_rather_than_dropped_from_the_report(tmp_path):
    table = tmp_path / "runs.csv"
    table.write_text("algo,env.task,seed,eval,env_steps,eval_return\nppo,a,0,0,10,1.0\nppo,,1,0,10,2.0\n")
    result = cli("import", "tidy", str(table), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "env.task is empty in 1 rows (first: algo ppo seed 1)" in result.stderr


# ----- W&B: a chart's CSV export and run histories --------------------------------------------------------------


def test_a_wandb_panel_export_imports_by_run_name_with_a_grid(tmp_path):
    out = tmp_path / "panel"
    result = cli("import", "wandb", str(DATA / "wandb_panel.csv"), "--out", str(out), "--preset", "cleanrl",
                 "--grid", str(GRID))
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    finals = {}
    for run, points in PRODUCERS.wandb_panel_points().items():
        _, algo, seed, _ = run.split("__")
        steps, values = np.array([s for s, _ in points]), np.array([v for _, v in points])
        bins = -(-steps // GRID) * GRID
        expected = pd.DataFrame({"bin": bins, "v": values}).groupby("bin")["v"].agg(["mean", "size"])
        rows = frame[(frame["algo"] == algo) & (frame["seed"] == int(seed))].sort_values("eval")
        np.testing.assert_array_equal(rows["env_steps"], expected.index)  # MIN/MAX columns left out
        np.testing.assert_allclose(rows["eval_return"], expected["mean"], rtol=1e-12)
        np.testing.assert_array_equal(rows["episodes"], expected["size"])
        finals.setdefault(algo, []).append(expected["mean"].iloc[-1])
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    for algo, values in finals.items():
        line = summary[summary["configuration"].str.startswith(algo)].iloc[0]
        assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(values, 0.25):.3f} ["), line
    ragged = cli("import", "wandb", str(DATA / "wandb_panel.csv"), "--out", str(tmp_path / "r"), "--preset", "cleanrl")
    assert ragged.returncode == 2 and "at different steps (per-episode points" in ragged.stderr


def test_wandb_run_histories_are_read_per_metric_and_a_logged_nan_stays(tmp_path):
    out = tmp_path / "history"
    result = cli("import", "wandb", str(DATA / "wandb_history.csv"), "--out", str(out), "--map", "algo=Name",
                 "--map", "env_steps=global_step", "--map", "eval_return=eval/return", "--map",
                 "eval_success=eval/success")
    assert result.returncode == 0, result.stderr
    frame = store.load(out).sort_values(["seed", "eval"])
    calls = pd.DataFrame(PRODUCERS.wandb_history_rows())
    returns = calls[calls["eval/return"].notna()]
    successes = calls[calls["eval/success"].notna()]
    assert list(frame["env_steps"]) == list(returns["global_step"])  # the steps that log the return, only
    np.testing.assert_array_equal(frame["eval_return"].to_numpy(), returns["eval/return"].astype(float).to_numpy())
    np.testing.assert_array_equal(frame["eval_success"].to_numpy(), successes["eval/success"].astype(float).to_numpy())
    # The logged NaN marks its seed diverged (not a dropped row); losses, logged between evaluations, are left out.
    assert frame.groupby("seed")["diverged"].any().to_dict() == {1: False, 2: True}
    assert "losses/qf_loss" not in frame.columns


def test_an_imports_record_is_toml_whatever_its_names_and_options(tmp_path):
    import tomllib

    table = tmp_path / "runs.csv"
    table.write_text("algo,run,eval,env_steps,eval_return\n\U0001F600ppo,0,0,10,1.0\n", encoding="utf-8")
    result = cli("import", "tidy", str(table), "--out", str(tmp_path / "out"), "--map", "seed=run",
                 "--name", "run $x$ \U0001F600 \"quoted\"")
    assert result.returncode == 0, result.stderr
    record = tomllib.loads((tmp_path / "out" / "spec.toml").read_text(encoding="utf-8"))
    assert record["name"] == "run $x$ \U0001F600 \"quoted\""
    assert record["imported"]["options"]["mapping"] == {"seed": "run"}
    assert cli("report", str(tmp_path / "out")).returncode == 0
