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
    assert set(frame["env.id"]) == {"CartPole-v1"} and set(frame["algo"]) == {"ppo", "dqn"}
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
