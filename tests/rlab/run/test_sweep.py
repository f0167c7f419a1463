"""The sweep runner and what it stores: results that are complete, reproducible and never lost."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from rlab import spec as spec_lib
from rlab import store
from rlab.run import sweep
from rlab.console import Progress
from rlab.errors import UsageError
from tests.sweep_cases import tiny_spec


def write_spec(tmp_path, seeds=6, noise="[0.02, 0.05]", name="spec.toml"):
    path = tmp_path / name
    path.write_text(tiny_spec(seeds, noise))
    return path


def run_cli(*args, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def rows(directory, seeds=None):
    frame = store.load(directory)
    if seeds is not None:
        frame = frame[frame["seed"].isin(seeds)]
    return frame.sort_values(["group", "seed", "hp_index", "eval"]).reset_index(drop=True)


# ----- the runner and the store -------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted sweep of 6 seeds, run in-process."""
    tmp = tmp_path_factory.mktemp("reference")
    spec = spec_lib.load(write_spec(tmp))
    sweep.run(spec, tmp / "out")
    return tmp / "out"


def test_a_sweep_stores_every_cell_seed_and_evaluation(reference):
    frame = store.load(reference)
    assert len(frame) == 2 * 2 * 6 * 2  # dims x noise values x seeds x evaluations
    assert set(frame["env.dim"]) == {1, 2} and set(frame["hp.noise_std"].round(3)) == {0.02, 0.05}
    assert not frame["diverged"].any()
    manifest = store.read_manifest(reference)
    assert manifest["status"] == "complete" and manifest["chunk_size"] == 4
    assert manifest["versions"]["jax"] and manifest["backend"]["platform"] == "cpu"
    assert (reference / "spec.toml").read_text().startswith("\nname = \"tiny\"")
    params = store.load_params(reference, "g000-c00000")
    assert params["seed"].tolist() == [0, 0, 1, 1] and params["policy"].shape[0] == 4  # ES: theta itself


def test_rerunning_a_finished_sweep_runs_nothing_and_changes_nothing(reference, tmp_path):
    before = rows(reference)
    result = run_cli("sweep", str(reference / "spec.toml"), "--out", str(reference), "--cache-dir", "none")
    assert result.returncode == 0, result.stderr
    assert "every chunk is already stored" in result.stderr
    pd.testing.assert_frame_equal(before, rows(reference))


def stored_chunks(out) -> int:
    """How many chunks the sweep's manifest lists so far (0 before it has one)."""
    try:
        return len(store.read_manifest(out)["chunks"])
    except ValueError:  # no manifest yet (a UsageError)
        return 0


def test_resume_after_sigkill_equals_an_uninterrupted_run(reference, tmp_path):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out", str(out), "--quiet",
         "--cache-dir", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    # Killed once the manifest lists two chunks (a chunk's file lands before the manifest names it).
    while time.time() < deadline and stored_chunks(out) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = store.read_manifest(out)
    assert partial["status"] == "running" and 2 <= len(partial["chunks"]) < 4
    resumed = run_cli("sweep", str(spec_path), "--out", str(out), "--quiet", "--cache-dir", "none")
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    assert not list(out.rglob("*.tmp"))


def test_raising_the_seed_count_runs_only_new_seeds_and_keeps_stored_ones(reference, tmp_path):
    out = tmp_path / "out"
    spec = spec_lib.load(write_spec(tmp_path, seeds=3))
    sweep.run(spec, out)
    first = rows(out)
    chunk_times = {k: v["completed_at"] for k, v in store.read_manifest(out)["chunks"].items()}
    sweep.run(spec.with_seeds(6), out)
    extended = rows(out)
    pd.testing.assert_frame_equal(first, rows(out, seeds=[0, 1, 2]))
    pd.testing.assert_frame_equal(rows(reference), extended)
    manifest = store.read_manifest(out)
    # Chunks holding only old seeds were not rerun.
    assert manifest["chunks"]["g000-c00000"]["completed_at"] == chunk_times["g000-c00000"]
    assert manifest["num_seeds"] == 6


def test_a_seeds_curve_does_not_depend_on_how_many_seeds_run(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    sweep.run(spec_lib.load(write_spec(tmp_path, seeds=8, name="a.toml")), small)
    sweep.run(spec_lib.load(write_spec(tmp_path, seeds=24, name="b.toml")), large)
    pd.testing.assert_frame_equal(rows(small), rows(large, seeds=range(8)))


def test_a_different_spec_is_refused_in_an_existing_directory(reference, tmp_path):
    other = spec_lib.load(write_spec(tmp_path, noise="[0.3]"))
    with pytest.raises(UsageError, match="holds a different sweep"):
        sweep.run(other, reference)
    same = spec_lib.load(reference / "spec.toml")
    with pytest.raises(UsageError, match="chunk size 4"):
        sweep.run(same, reference, chunk_size=8)


def test_a_diverging_lane_is_flagged_and_the_others_are_unaffected(reference, tmp_path):
    out = tmp_path / "out"
    # noise_std 3e38 overflows the perturbed weights to inf: those lanes diverge.
    sweep.run(spec_lib.load(write_spec(tmp_path, noise="[0.02, 0.05, 3e38]")), out)
    frame = store.load(out)
    bad = frame[frame["hp.noise_std"] > 1]
    good = frame[frame["hp.noise_std"] < 1]
    assert bad["diverged"].all() and (bad["diverged_eval"] == 0).all()
    assert not good["diverged"].any()
    # The other lanes are bitwise what the reference run (without the bad value) stored.
    good = good.sort_values(["group", "seed", "hp_index", "eval"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rows(reference), good)


def test_sharding_over_four_devices_gives_the_same_bits_as_one(reference, tmp_path):
    out = tmp_path / "sharded"
    result = run_cli(
        "sweep", str(reference / "spec.toml"), "--out", str(out), "--quiet", "--cache-dir", "none",
        env={"RLAB_CPU_DEVICES": "4"},  # four CPU devices (`rlab.run.devices`), blocks round robin over them
    )
    assert result.returncode == 0, result.stderr
    assert len(store.read_manifest(out)["backend"]["devices"]) == 4
    pd.testing.assert_frame_equal(rows(reference), rows(out))


def test_a_sweep_records_compile_time_apart_from_run_time(reference):
    manifest = store.read_manifest(reference)
    timing = manifest["timing"][0]  # the run that made this directory (a rerun adds an entry of its own)
    assert timing["chunks"] == len(manifest["chunks"])
    assert timing["compile_seconds"] > 0 and timing["run_seconds"] > 0
    assert timing["compile_seconds"] + timing["run_seconds"] == pytest.approx(timing["wall_seconds"], abs=0.01)
    per_chunk = sum(entry["compile_seconds"] for entry in manifest["chunks"].values())
    assert 0 < per_chunk <= timing["compile_seconds"] + 0.01
    # The second program compiled in a background thread while the first ran: making it took longer
    # than the run waited for it.
    assert timing["making_seconds"] > timing["compile_seconds"]


def test_compiling_ahead_in_background_threads_changes_no_bit(reference, tmp_path):
    out = tmp_path / "one_at_a_time"
    sweep.run(spec_lib.load(reference / "spec.toml"), out, compile_ahead=0)
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    timing = store.read_manifest(out)["timing"][0]
    assert timing["making_seconds"] == pytest.approx(timing["compile_seconds"], abs=0.5)  # nothing compiled ahead


def test_status_summarises_a_sweep(reference):
    result = run_cli("status", str(reference))
    assert result.returncode == 0 and "complete" in result.stdout and "chunks_complete: 6" in result.stdout
    missing = run_cli("status", str(reference / "nowhere"))
    assert missing.returncode == 2 and "not a sweep directory" in missing.stderr


DISTRIBUTED_DRIVER = """
import sys
import jax

jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
from rlab import spec
from rlab.run import sweep

sweep.run(spec.load(sys.argv[3]), sys.argv[4])
"""


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_under_jax_distributed_share_the_chunks(reference, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DISTRIBUTED_DRIVER)
    out = tmp_path / "out"
    address = f"127.0.0.1:{free_port()}"
    processes = [
        subprocess.Popen(
            [sys.executable, str(driver), address, str(i), str(reference / "spec.toml"), str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], logs
    manifests = sorted(p.name for p in out.glob("manifest*.json"))
    assert manifests == ["manifest.p0.json", "manifest.p1.json"]
    assert len(store.read_manifest(out)["chunks"]) == 6
    for name in manifests:
        written = json_chunks(out / name)
        assert 0 < len(written) < 6  # each process wrote its own share
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    assert store.read_manifest(out)["status"] == "complete"


def json_chunks(path):
    import json

    return json.loads(path.read_text())["chunks"]


def test_process_flag_splits_a_sweep_between_two_runs(reference, tmp_path):
    out = tmp_path / "out"
    first = run_cli("sweep", str(reference / "spec.toml"), "--out", str(out), "--cache-dir", "none",
                    "--process", "0/2")
    assert first.returncode == 0, first.stderr
    # Alone, process 0 ran its share, then took over process 1's unclaimed chunks and closed its manifest.
    p0, p1 = (json.loads((out / f"manifest.p{i}.json").read_text()) for i in (0, 1))
    assert len(p0["chunks"]) == len(spec_lib.load(reference / "spec.toml").chunks(4)) and not p1["chunks"]
    assert p1["status"] == "complete" and p1["finished_by"] == "process 0"
    assert "closed the manifests of processes 1" in first.stderr
    second = run_cli("sweep", str(reference / "spec.toml"), "--out", str(out), "--quiet", "--cache-dir", "none",
                     "--process", "1/2")
    assert second.returncode == 0, second.stderr
    assert not json_chunks(out / "manifest.p1.json")  # nothing left to do
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    bad = run_cli("sweep", str(reference / "spec.toml"), "--out", str(out), "--process", "2/2")
    assert bad.returncode == 2 and "--process = '2/2'" in bad.stderr
    # A process's manifest lost: its chunks are listed nowhere, and every summary says so.
    (out / "manifest.p0.json").unlink()
    status = run_cli("status", str(out), "--verify")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "incomplete: manifest.p0.json missing" in status.stdout and "missing manifest.p0.json" in status.stdout
    assert store.read_manifest(out)["status"] == "incomplete"
    assert store.unlisted_chunks(out)  # its chunk files are still there, listed in no manifest
    assert run_cli("report", str(out)).returncode == 0
    assert "manifest.p0.json missing" in (out / "report" / "summary.md").read_text()
    rerun = run_cli("sweep", str(reference / "spec.toml"), "--out", str(out), "--quiet", "--cache-dir", "none",
                    "--process", "0/2")
    assert rerun.returncode == 0, rerun.stderr
    assert store.read_manifest(out)["status"] == "complete" and not store.unlisted_chunks(out)
    pd.testing.assert_frame_equal(rows(reference), rows(out))


def test_processes_of_different_counts_cannot_write_one_directory_at_once(reference, tmp_path):
    out = tmp_path / "out"
    spec = spec_lib.load(reference / "spec.toml")
    plain = store.SweepStore.open(out, spec, 4, {"platform": "cpu"}, (0, 1))  # a live plain `rlab sweep`
    try:
        second = run_cli("sweep", str(reference / "spec.toml"), "--out", str(out), "--quiet", "--process", "1/2")
        assert second.returncode == 2 and "processes sharing a sweep must agree" in second.stderr, second.stderr
        assert not any(out.glob("manifest.p*.json")) and not any(out.glob("chunks/*"))  # it wrote nothing
    finally:
        plain.release()


def test_lane_width_is_a_chunk_over_the_devices_by_default(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(tiny_spec(3, "[0.02]").replace("lane_width = 2\n", "").replace("dim = [1, 2]", "dim = [1]"))
    out = tmp_path / "out"
    lines = io.StringIO()
    # chunks of 4 lanes, 3 lanes in the group, one device in the tests
    sweep.run(spec_lib.load(path), out, progress=Progress(stream=lines, live=False))
    entry = store.read_manifest(out)["lane_widths"]["g000"]
    assert entry["lane_width"] == 3 and entry["lane_width_reason"].startswith("rule")
    assert entry["lane_width_steps_per_second"] == {}  # nothing timed, nothing compiled beyond the run's program
    # The default says nothing about widths; the progress lines are chunks and the end.
    printed = lines.getvalue()
    assert "per compiled program" not in printed and "chunk 1/1 g000-c00000" in printed
    assert "s waiting for programs" in printed.splitlines()[-1]


def test_lane_width_is_measured_on_request_recorded_and_reused(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(tiny_spec(2, "[0.02]").replace("lane_width = 2\n", 'lane_width = "measure"\n')
                    .replace("dim = [1, 2]", "dim = [1]"))
    out = tmp_path / "out"
    sweep.run(spec_lib.load(path), out)
    entry = store.read_manifest(out)["lane_widths"]["g000"]
    assert entry["lane_width_reason"].startswith("measured")
    timings = {int(w): v for w, v in entry["lane_width_steps_per_second"].items()}
    assert set(timings) <= {1, 2} and entry["lane_width"] == max(timings, key=timings.get)
    first = rows(out)
    sweep.run(spec_lib.load(path).with_seeds(3), out)  # extension: the recorded width is reused
    assert store.read_manifest(out)["lane_widths"]["g000"] == entry
    pd.testing.assert_frame_equal(first, rows(out, seeds=[0, 1]))
    other = 3 - entry["lane_width"]
    with pytest.raises(UsageError, match=f"ran with lane width {entry['lane_width']}"):
        sweep.run(spec_lib.load(path).with_seeds(4), out, lane_width=other)


def test_a_second_writer_of_one_directory_is_refused_and_nothing_is_lost(tmp_path):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out", str(out), "--quiet", "--cache-dir", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "manifest.json").exists():
        time.sleep(0.05)
    first.send_signal(signal.SIGSTOP)  # paused mid-sweep, still holding its lock: no race with its finish
    try:
        second = run_cli("sweep", str(spec_path), "--out", str(out), "--quiet", "--seeds", "8", "--cache-dir", "none")
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2 and "is being written by pid" in second.stderr, second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert first.wait(timeout=300) == 0, first.stderr.read()
    manifest = store.read_manifest(out)
    assert manifest["status"] == "complete" and manifest["num_seeds"] == 6
    assert len(manifest["chunks"]) == len(list((out / "chunks").glob("*.parquet"))) == 6
    # Once the first writer is done, the lock is free: the extension runs.
    assert run_cli("sweep", str(spec_path), "--out", str(out), "--quiet", "--seeds", "8", "--cache-dir", "none").returncode == 0
    assert sorted(store.load(out)["seed"].unique()) == list(range(8))


# ----- integrity: damaged chunks, manifests and specs -----------------------------------------


@pytest.fixture
def damaged_copy(reference, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference, copy, ignore=shutil.ignore_patterns(".lock*", "report"))
    return copy


def test_a_deleted_chunk_is_reported_left_out_and_recomputed_alone(reference, damaged_copy):
    (damaged_copy / "chunks" / "g000-c00001.parquet").unlink()
    assert store.verify(damaged_copy) == {"g000-c00001": "chunks/g000-c00001.parquet is missing"}
    status = run_cli("status", str(damaged_copy), "--verify")
    assert status.returncode == 1 and "damaged g000-c00001: chunks/g000-c00001.parquet is missing" in status.stdout
    assert len(store.load(damaged_copy)) == len(store.load(reference)) - 2 * 2 * 2  # 2 seeds x 2 noise x 2 evals
    page = run_cli("report", str(damaged_copy))
    assert page.returncode == 0 and "1 damaged chunk(s) left out" in (damaged_copy / "report" / "index.html").read_text()
    before = {k: v["completed_at"] for k, v in store.read_manifest(damaged_copy)["chunks"].items()}
    resumed = run_cli("sweep", str(damaged_copy / "spec.toml"), "--out", str(damaged_copy), "--quiet", "--cache-dir", "none")
    assert resumed.returncode == 0, resumed.stderr
    after = {k: v["completed_at"] for k, v in store.read_manifest(damaged_copy)["chunks"].items()}
    assert [k for k in after if after[k] != before[k]] == ["g000-c00001"]  # exactly the damaged chunk
    pd.testing.assert_frame_equal(rows(reference), rows(damaged_copy))
    assert store.verify(damaged_copy) == {}


def test_truncated_or_swapped_chunk_files_fail_their_checksums_and_are_recomputed(reference, damaged_copy):
    table = damaged_copy / "chunks" / "g001-c00000.parquet"
    table.write_bytes(table.read_bytes()[:100])  # truncated
    swapped = damaged_copy / "chunks" / "g001-c00002.parquet"
    swapped.write_bytes((damaged_copy / "chunks" / "g001-c00001.parquet").read_bytes())  # another valid chunk
    damaged = store.verify(damaged_copy)
    assert set(damaged) == {"g001-c00000", "g001-c00002"} and all("checksum" in v for v in damaged.values())
    frame = store.load(damaged_copy)
    assert not frame.duplicated(["group", "seed", "hp_index", "eval"]).any()  # nothing duplicated, nothing half-read
    sweep.run(spec_lib.load(damaged_copy / "spec.toml"), damaged_copy)
    pd.testing.assert_frame_equal(rows(reference), rows(damaged_copy))


def test_manifest_paths_cannot_leave_the_sweep_directory(damaged_copy):
    import json

    path = damaged_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["chunks"]["g000-c00000"]["file"] = "../../../etc/passwd"
    manifest["chunks"]["g000-c00001"]["params"] = "/etc/hostname"
    path.write_text(json.dumps(manifest))
    damaged = store.verify(damaged_copy)
    assert "leaves the sweep directory" in damaged["g000-c00000"] and "leaves the sweep directory" in damaged["g000-c00001"]
    with pytest.raises(UsageError, match="g000-c00001 is damaged"):
        store.load_params(damaged_copy, "g000-c00001")
    frame = store.load(damaged_copy)
    assert not ((frame["group"] == "g000") & frame["seed"].isin([0, 1])).any()  # g000-c00000's rows left out


@pytest.mark.parametrize("content, message", [("{not json", "unreadable manifest"), ('{"chunks": []}', "not an rlab manifest")])
def test_a_broken_manifest_is_a_clear_error_not_a_traceback(damaged_copy, content, message):
    (damaged_copy / "manifest.json").write_text(content)
    for command in (["status", str(damaged_copy)], ["report", str(damaged_copy)]):
        result = run_cli(*command)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_lost_manifest_is_rebuilt_from_the_intact_chunks(reference, damaged_copy):
    (damaged_copy / "manifest.json").write_text("{not json")
    (damaged_copy / "chunks" / "g001-c00001.parquet").write_bytes(b"damaged")
    rebuilt = run_cli("status", str(damaged_copy), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "left out g001-c00001" in rebuilt.stdout and "checksum" in rebuilt.stdout
    manifest = store.read_manifest(damaged_copy)
    original = store.read_manifest(reference)
    assert set(manifest["chunks"]) == set(original["chunks"]) - {"g001-c00001"}
    for key in ("spec_hash", "chunk_size", "num_seeds", "groups", "lane_widths"):
        assert manifest[key] == original[key], key
    with pytest.raises(UsageError, match="intact; nothing to rebuild"):
        store.rebuild_manifest(damaged_copy)
    sweep.run(spec_lib.load(damaged_copy / "spec.toml"), damaged_copy)  # recomputes the one left out
    pd.testing.assert_frame_equal(rows(reference), rows(damaged_copy))


def test_a_rebuild_takes_the_sweep_s_identity_from_its_spec_not_from_a_foreign_chunk(reference, damaged_copy, tmp_path):
    other = tmp_path / "other"
    sweep.run(spec_lib.load(write_spec(tmp_path, seeds=2, noise="[0.03]", name="other.toml")), other)
    for suffix in (".parquet", ".json"):  # copied in under a name that sorts before every own chunk
        shutil.copy(other / "chunks" / f"g000-c00000{suffix}", damaged_copy / "chunks" / f"a-foreign{suffix}")
    shutil.copy(other / "params" / "g000-c00000.npz", damaged_copy / "params" / "a-foreign.npz")
    sidecar = json.loads((damaged_copy / "chunks" / "a-foreign.json").read_text())
    sidecar["chunk_id"] = "a-foreign"
    for field in ("file", "params"):
        sidecar["entry"][field] = sidecar["entry"][field].replace("g000-c00000", "a-foreign")
    (damaged_copy / "chunks" / "a-foreign.json").write_text(json.dumps(sidecar))
    (damaged_copy / "manifest.json").unlink()
    rebuilt = run_cli("status", str(damaged_copy), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "left out a-foreign" in rebuilt.stdout and "belongs to another sweep" in rebuilt.stdout
    assert set(store.read_manifest(damaged_copy)["chunks"]) == set(store.read_manifest(reference)["chunks"])
    pd.testing.assert_frame_equal(rows(reference), rows(damaged_copy))


def test_a_spec_edited_after_the_run_is_refused_by_report_and_render(damaged_copy):
    spec_path = damaged_copy / "spec.toml"
    spec_path.write_text(spec_path.read_text().replace("horizon = 4", "horizon = 5"))
    result = run_cli("report", str(damaged_copy))
    assert result.returncode == 2 and "changed after the sweep ran" in result.stderr, result.stderr
    from rlab.store import policies

    with pytest.raises(UsageError, match="changed after the sweep ran"):
        policies.StoredGroup(damaged_copy, "g000")  # what `rlab render` rebuilds policies with


def test_status_of_a_killed_sweep_says_interrupted(tmp_path):
    spec_path = write_spec(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out", str(out), "--quiet", "--cache-dir", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "chunks").glob("*.parquet")):
        time.sleep(0.05)
    process.send_signal(signal.SIGSTOP)  # paused, alive and holding its lock: it cannot finish meanwhile
    try:
        assert "running" in run_cli("status", str(out)).stdout
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    status = run_cli("status", str(out))
    assert status.returncode == 0 and "interrupted" in status.stdout


def test_default_chunk_size_fits_xla_s_memory_plan_in_the_budget():
    import jax
    import numpy as np

    import envs
    from rlab.run import lanes
    from rlab.run import widths
    from tests.trainer_cases import tiny

    trainer = tiny("openai_es", envs.make("cheese_point_mass", dim=2, reward="dense", horizon=4))
    plan = widths.step_bytes(trainer, 1, jax.local_devices()[0])
    # The plan holds at least the step's own arguments: the trainer state of one lane.
    state = jax.eval_shape(lanes.compiled(trainer)[0], lanes.seed_keys([0]), lanes.lane_hparams(trainer, None, 1))
    assert plan >= sum(leaf.size * np.dtype(leaf.dtype).itemsize for leaf in jax.tree.leaves(state)) > 0
    # Each lane charged the one-lane plan: chunks are powers of two times the devices, within the budget per device.
    assert widths.default_chunk_size([trainer], 1, budget_bytes=5 * plan, probe_lanes=1) == 4
    assert widths.default_chunk_size([trainer], 2, budget_bytes=5 * plan, probe_lanes=1) == 8
    assert widths.default_chunk_size([trainer], 1, budget_bytes=3 * plan, probe_lanes=1) == 2
    assert widths.default_chunk_size([trainer], 1, budget_bytes=10**6 * plan, probe_lanes=1) == widths.DEFAULT_MAX_CHUNK


def test_a_sweep_compiles_one_program_per_group_its_sizing_probe_included(tmp_path, monkeypatch):
    from rlab.run import lanes
    from rlab.run import widths

    compiled = []
    compile_for_device = lanes.compile_for_device

    def counted(trainer, width, device):
        compiled.append((trainer.algo, width))
        return compile_for_device(trainer, width, device)

    monkeypatch.setattr(lanes, "compile_for_device", counted)
    path = tmp_path / "spec.toml"
    path.write_text(tiny_spec(3, "[0.02]").replace("lane_width = 2\n", "").replace("chunk_size = 4\n", ""))
    sweep.run(spec_lib.load(path), tmp_path / "out")
    manifest = store.read_manifest(tmp_path / "out")
    assert manifest["chunk_size"] == widths.DEFAULT_MAX_CHUNK  # the probe sized the chunks...
    assert compiled == [("openai_es", 3), ("openai_es", 3)]  # ...with the program of one group, which the run reused
    assert {entry["lane_width"] for entry in manifest["lane_widths"].values()} == {3}


def test_a_chunks_directory_linked_to_another_disk_is_the_sweep_s_own(reference, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(reference, out)
    elsewhere = tmp_path / "bigger_disk" / "chunks"
    shutil.move(out / "chunks", elsewhere)
    (out / "chunks").symlink_to(elsewhere, target_is_directory=True)
    assert store.verify(out) == {}
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    before = store.read_manifest(out)["chunks"]
    sweep.run(spec_lib.load(out / "spec.toml"), out)  # a resume: nothing to run
    assert store.read_manifest(out)["chunks"] == before
