"""Bring your own runs: the four import formats, the three exports, round trips, and reports on imported data."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from rlab import interop, report, store
from rlab.errors import UsageError
from rlab.interop import contract
from tests.sweep_cases import tiny_reference

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "interop"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def cli(*args):
    return subprocess.run([sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, timeout=300)


def contract_rows(directory) -> pd.DataFrame:
    """A directory's rows without the store's bookkeeping columns, in the contract's dtypes and order."""
    frame = store.load(directory)
    return contract.normalise(frame.drop(columns=list(contract.STORE_COLUMNS)), str(directory))


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """An rlab sweep: OpenAI-ES, 2 dims x 2 noise values x 6 seeds x 2 evaluations."""
    return tiny_reference(tmp_path_factory.mktemp("interop"), 6)[1]


# ----- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_export_then_import_gives_every_stored_column_bit_for_bit(sweep_dir, tmp_path, suffix):
    exported = tmp_path / f"runs{suffix}"
    assert cli("export", "tidy", str(sweep_dir), "--out", str(exported)).returncode == 0
    result = cli("import", "tidy", str(exported), "--out", str(tmp_path / "back"))
    assert result.returncode == 0, result.stderr
    original, back = contract_rows(sweep_dir), contract_rows(tmp_path / "back")
    # Every column the sweep stores (float32 metrics, int32 steps) comes back in the contract's dtypes, exactly.
    assert set(original.columns) == set(back.columns) and len(original.columns) == 16
    pd.testing.assert_frame_equal(original, back[original.columns], check_exact=True)
    # The store's own columns are recomputed on import: divergence flags agree too.
    keys = ["algo", "env.dim", "hp.noise_std", "seed", "eval"]
    flags = ["diverged", "diverged_eval"]
    pd.testing.assert_frame_equal(store.load(sweep_dir).sort_values(keys)[flags].reset_index(drop=True),
                                  store.load(tmp_path / "back").sort_values(keys)[flags].reset_index(drop=True))
    raw = store.load(sweep_dir)
    np.testing.assert_array_equal(raw.sort_values(["algo", "env.dim", "hp.noise_std", "seed", "eval"])
                                  ["eval_return"].to_numpy().astype(np.float64), original["eval_return"].to_numpy())


def test_marl_eval_export_then_import_round_trips(sweep_dir, tmp_path):
    first = tmp_path / "a.json"
    assert cli("export", "marl-eval", str(sweep_dir), "--out", str(first)).returncode == 0
    assert cli("import", "marl-eval", str(first), "--out", str(tmp_path / "back")).returncode == 0
    second = tmp_path / "b.json"
    assert cli("export", "marl-eval", str(tmp_path / "back"), "--out", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    tree = json.loads(first.read_text())
    original = contract_rows(sweep_dir)
    for _, row in original.iterrows():
        run = tree["cheese_point_mass"][f"dim={row['env.dim']}"][f"openai_es[noise_std={row['hp.noise_std']}]"][
            f"seed_{row['seed']}"]
        step = run[f"step_{row['eval']}"]
        assert step["step_count"] == row["env_steps"]
        assert step["return"] == [row["eval_return"]] and step["success"] == [row["eval_success"]]
        if row["eval"] == original["eval"].max():  # marl-eval reads a run's absolute metrics from its last entry
            assert list(run)[-1] == "absolute_metrics" and run["absolute_metrics"]["return"] == [row["eval_return"]]


def test_rliable_export_then_import_round_trips(sweep_dir, tmp_path):
    arrays = tmp_path / "scores.npz"
    assert cli("export", "rliable", str(sweep_dir), "--out", str(arrays)).returncode == 0
    with np.load(arrays) as data:
        assert data["openai_es[noise_std=0.02]"].shape == (6, 2, 2)  # runs, tasks, evaluations
        assert list(data["tasks"]) == ["1", "2"]
    result = cli("import", "rliable", str(arrays), "--out", str(tmp_path / "back"), "--steps", "steps")
    assert result.returncode == 0, result.stderr
    back, original = contract_rows(tmp_path / "back"), contract_rows(sweep_dir)
    merged = original.assign(algo=original["algo"] + "[noise_std=" + original["hp.noise_std"].astype(str) + "]",
                             task=original["env.dim"].astype(str))
    joined = merged.merge(back, left_on=["algo", "task", "seed", "eval"],
                          right_on=["algo", "env.task", "seed", "eval"], suffixes=("", "_back"))
    assert len(joined) == len(original)
    np.testing.assert_array_equal(joined["eval_return"], joined["eval_return_back"])
    np.testing.assert_array_equal(joined["env_steps"], joined["env_steps_back"])


# ----- the four formats, from files made by their tools or to their schemas ----------------------


def test_marl_eval_file_imports_and_its_report_matches_an_independent_computation(tmp_path):
    out = tmp_path / "smac"
    result = cli("import", "marl-eval", str(DATA / "marl_eval.json"), "--out", str(out), "--success-metric",
                 "win_rate")
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    for key, (mean_return, win_rate) in EXPECTED["marl_eval"].items():
        algo, seed, k = key.split("/")
        row = frame[(frame["algo"] == algo) & (frame["seed"] == int(seed)) & (frame["eval"] == int(k))]
        assert row["eval_return"].item() == mean_return and row["eval_success"].item() == win_rate
    assert set(frame["env.env"]) == {"smac"} and set(frame["env.task"]) == {"3m"}
    assert report.build(out).exists()
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    for algo in ("mappo", "ippo"):
        finals = [EXPECTED["marl_eval"][f"{algo}/{s}/3"] for s in range(5)]
        returns, wins = np.array([f[0] for f in finals]), sum(f[1] >= 0.5 for f in finals)
        line = summary[summary["configuration"] == algo].iloc[0]
        assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(returns, 0.25):.3f} [")
        interval = scipy.stats.binomtest(int(wins), 5).proportion_ci(method="wilson")
        assert line[report.SUCCESS_COLUMN] == f"{wins / 5:.2f} [{interval.low:.2f}, {interval.high:.2f}]"
    assert "smac" in (out / "report" / "index.html").read_text()


def test_rliable_arrays_import_and_their_report_matches_an_independent_computation(tmp_path):
    out = tmp_path / "atari"
    assert cli("import", "rliable", str(DATA / "rliable_scores.npz"), "--out", str(out)).returncode == 0
    frame = store.load(out)
    assert set(frame["env.task"]) == {"Pong", "Breakout", "Seaquest", "Qbert"}
    for algo, scores in EXPECTED["rliable"].items():
        scores = np.array(scores)
        for t, task in enumerate(["Pong", "Breakout", "Seaquest", "Qbert"]):
            values = frame[(frame["algo"] == algo) & (frame["env.task"] == task)].sort_values("seed")["eval_return"]
            np.testing.assert_array_equal(values.to_numpy(), scores[:, t])
    assert report.build(out).exists()
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    line = summary[(summary["task"] == "Pong") & (summary["configuration"] == "SPR")].iloc[0]
    pong = np.array(EXPECTED["rliable"]["SPR"])[:, 0]
    assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(pong, 0.25):.3f} [")
    assert report.SUCCESS_COLUMN not in summary.columns  # returns only: no success claimed


def test_a_wandb_style_csv_imports_through_a_column_mapping(tmp_path):
    out = tmp_path / "wandb"
    result = cli("import", "tidy", str(DATA / "wandb_export.csv"), "--out", str(out), "--map", "algo=Name",
                 "--map", "env_steps=_step", "--map", "eval_return=eval/episodic_return")
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    source = pd.read_csv(DATA / "wandb_export.csv")
    assert len(frame) == len(source) and sorted(frame["eval"].unique()) == [0, 1, 2]
    merged = frame.merge(source, left_on=["algo", "seed", "env_steps"], right_on=["Name", "seed", "_step"])
    np.testing.assert_array_equal(merged["eval_return"], merged["eval/episodic_return"])
    assert report.build(out).exists()
    assert_iqm_lines(frame, {name: rows[rows["_step"] == 15000]["eval/episodic_return"].to_numpy()
                             for name, rows in source.groupby("Name")})


def assert_iqm_lines(frame, finals: dict):
    """The report's IQM of final returns per configuration equals scipy's trimmed mean of them."""
    summary = report.summary_table(frame.assign(config=report.configurations(frame)), np.random.default_rng(0))
    for config, values in finals.items():
        line = summary[summary["configuration"] == config].iloc[0]
        assert line[report.IQM_COLUMN].startswith(f"{scipy.stats.trim_mean(values, 0.25):.3f} ["), (config, line)


def test_tensorboard_event_files_import_with_tensorboards_reader(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "tb"
    result = cli("import", "tensorboard", str(DATA / "tensorboard"), "--out", str(out), "--return-tag",
                 "charts/episodic_return", "--success-tag", "charts/success")
    assert result.returncode == 0, result.stderr
    frame = store.load(out)
    assert len(frame) == len(EXPECTED["tensorboard"])
    for key, (step, value, success) in EXPECTED["tensorboard"].items():
        algo, seed, k = key.split("/")
        row = frame[(frame["algo"] == algo) & (frame["seed"] == int(seed)) & (frame["eval"] == int(k))]
        assert row["env_steps"].item() == step
        assert row["eval_return"].item() == float(np.float32(value))  # TensorBoard keeps float32 scalars
        assert row["eval_success"].item() == success
    assert report.build(out).exists()
    assert_iqm_lines(frame, {algo: np.float32([EXPECTED["tensorboard"][f"{algo}/{s}/2"][1] for s in (0, 1)])
                             .astype(float) for algo in ("ppo", "dqn")})


# ----- bad input ---------------------------------------------------------------------------------


def write_json(path, tree):
    path.write_text(json.dumps(tree))
    return path


def step(count, value):
    return {"step_count": count, "return": [value]}


@pytest.mark.parametrize("tree, message", [
    ({"e": {"t": {"a": {"seed_0": {"step_0": step(0, 1.0), "step_1": step(10, 2.0)},
                        "seed_1": {"step_0": step(0, 1.0)},
                        "seed_2": {"step_0": step(0, 1.0), "step_1": step(10, 2.0)}}}}},
     "algo=a env.env=e env.task=t seed 1: evaluations 1 at steps [0] where the other seeds have 2"),
    ({"e": {"t": {"a": {"seed_0": {"step_0": step(0, 1.0), "step_1": step(10, 2.0)},
                        "seed_1": {"step_0": step(0, 1.0), "step_1": step(20, 2.0)}}}}}, "ragged runs or steps"),
    ({"e": {"t": {"a": {"seed_0": {"step_0": {"return": [1.0]}}}}}}, "e/t/a/seed_0/step_0: no step_count"),
    ({"e": {"t": {"a": {"trial_0": {"step_0": step(0, 1.0)}}}}},
     "e/t/a/trial_0: a run key must read seed_<integer> or run_<integer>"),
    ({"e": {"t": {"a": {"seed_0": {"step_0": {"step_count": 0, "score": [1.0]}}}}}},
     "no metric 'return' in 1 step(s) (first: e/t/a/seed_0/step_0; the steps have score); choose it with --metric"),
    ({"e": {"t": {"a": {"seed_0": {"step_0": {"step_count": 0, "return": "high"}}}}}}, "is not a number"),
])
def test_bad_marl_eval_files_are_reported_by_name(tmp_path, tree, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        interop.read("marl-eval", write_json(tmp_path / "bad.json", tree))


def test_a_duplicate_seed_in_marl_eval_json_is_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"e": {"t": {"a": {"seed_0": {"step_0": {"step_count": 0, "return": [1]}}, '
                    '"seed_0": {"step_0": {"step_count": 0, "return": [2]}}}}}}')
    with pytest.raises(UsageError, match="key 'seed_0' appears twice"):
        interop.read("marl-eval", path)


@pytest.mark.parametrize("args, message", [
    (["import", "csv", "{data}/wandb_export.csv", "--out", "{out}"], "format = 'csv'; allowed: marl-eval, rliable"),
    (["import", "tidy", "{data}/missing.csv", "--out", "{out}"], "missing.csv: no such file or directory"),
    (["import", "tidy", "{data}/wandb_export.csv", "--out", "{out}"], "no column algo, eval, env_steps, eval_return"),
    (["import", "tidy", "{data}/wandb_export.csv", "--out", "{out}", "--map", "algo"], "--map 'algo'; allowed"),
    (["import", "tidy", "{data}/wandb_export.csv", "--out", "{out}", "--map", "algo=nope"],
     "--map algo=nope: no such column"),
    (["import", "rliable", "{data}/marl_eval.json", "--out", "{out}"], "not a NumPy .npz file"),
    (["import", "marl-eval", "{data}/wandb_export.csv", "--out", "{out}"], "not JSON"),
    (["import", "tensorboard", "{data}/tensorboard", "--out", "{out}"], "tensorboard needs --return-tag"),
    (["import", "tensorboard", "{data}/tensorboard", "--out", "{out}", "--return-tag", "loss"],
     "no scalar tag 'loss'"),
    (["import", "marl-eval", "{data}/marl_eval.json", "--out", "{out}", "--map", "a=b"], "--map is for the tidy"),
    (["export", "json", "{data}", "--out", "{out}"], "format = 'json'; allowed: marl-eval, rliable, tidy"),
    (["export", "tidy", "{data}", "--out", "{out}"], "is not a sweep directory"),
])
def test_bad_import_and_export_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    args = [a.format(data=DATA, out=tmp_path / "out") for a in args]
    result = cli(*args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_an_imported_directory_is_not_a_spec_to_run(tmp_path):
    out = tmp_path / "atari"
    assert cli("import", "rliable", str(DATA / "rliable_scores.npz"), "--out", str(out)).returncode == 0
    result = cli("sweep", str(out / "spec.toml"), "--out", str(tmp_path / "again"))
    assert result.returncode == 2 and "records results imported with `rlab import` (rliable file)" in result.stderr
    assert cli("status", str(out), "--verify").returncode == 0


def _npz_claiming(path: pathlib.Path, shape: tuple) -> None:
    """An .npz whose one array's header claims `shape` of float64 (its data left out: a few hundred bytes)."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ppo.npy", header.getvalue())


@pytest.mark.parametrize("make, kind, message", [
    (lambda p: os.mkfifo(p), "marl-eval", "a FIFO; allowed: a regular marl-eval file"),
    (lambda p: os.mkfifo(p), "tidy", "a FIFO; allowed: a regular tidy file"),
    (lambda p: _npz_claiming(p, (1_000_000_000, 2)), "rliable", "2,000,000,000 numbers; allowed: at most 100,000,000"),
    (lambda p: p.mkdir(), "rliable", "a directory; allowed: a regular rliable file"),
])
def test_an_import_reads_only_bounded_regular_files(tmp_path, make, kind, message):
    path = tmp_path / ("input.npz" if kind == "rliable" else "input.csv")
    make(path)
    result = cli("import", kind, str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_device_is_not_imported():
    with pytest.raises(UsageError, match="/dev/zero: a device; allowed: a regular marl-eval file"):
        interop.read("marl-eval", "/dev/zero")


def test_a_fifo_among_tensorboard_logs_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    os.mkfifo(tmp_path / "run" / "events.out.tfevents.1.host")
    with pytest.raises(UsageError, match="a FIFO; allowed: a regular TensorBoard event file"):
        interop.read("tensorboard", tmp_path, return_tag="charts/episodic_return")
