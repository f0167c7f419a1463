"""Sweeps on a real local Ray cluster: bitwise those of one process, also when a worker dies holding a chunk."""

import json
import os
import re
import signal
import subprocess
import sys

import pandas as pd
import pytest

pytest.importorskip("ray")

from rlab import store  # noqa: E402
from tests.sweep_cases import LAUNCH_DEVICES, cli_reference, stored_rows  # noqa: E402


rows = stored_rows


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The spec (6 seeds, 2 dims x 2 noise values, chunks of 4 lanes: 6 chunks) and its one-process sweep."""
    # The `rlab` command as one process, each group's width by the rule: the Ray tasks must store the same bits.
    return cli_reference(tmp_path_factory.mktemp("ray_reference"), 6)


def ray_sweep(spec_path, out, *extra):
    """`rlab sweep SPEC --ray` (a local cluster: a head and a worker process per CPU), its output streamed."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **LAUNCH_DEVICES}
    return subprocess.Popen(
        [sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out", str(out), "--ray", "--cache-dir", "none",
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def test_a_sweep_on_a_local_ray_cluster_stores_the_one_process_frame_bitwise(one_process, tmp_path):
    spec_path, reference = one_process
    run = ray_sweep(spec_path, tmp_path / "out")
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    pd.testing.assert_frame_equal(rows(reference), rows(tmp_path / "out"))
    manifest = store.read_manifest(tmp_path / "out")
    assert manifest["status"] == "complete" and len(manifest["chunks"]) == 6
    # Two worker processes shared the chunks; the driver was the one writer (one manifest).
    workers = {entry["worker"] for entry in manifest["chunks"].values()}
    assert len(workers) >= 2, workers
    # A worker compiles a program once: only its first chunk of each group waited for one.
    compiled = {}
    for entry in manifest["chunks"].values():
        key = (entry["worker"], entry["group"])
        compiled[key] = compiled.get(key, 0) + (entry["compile_seconds"] > 0)
    assert all(count <= 1 for count in compiled.values()), manifest["chunks"]
    assert sum(entry["compile_seconds"] == 0 for entry in manifest["chunks"].values()) >= 1
    assert sorted(p.name for p in (tmp_path / "out").glob("manifest*.json")) == ["manifest.json"]
    assert manifest["lane_widths"] == store.read_manifest(reference)["lane_widths"]
    assert "running 6 chunks x 2 evaluations as Ray tasks" in output


def test_a_worker_killed_while_it_holds_a_chunk_loses_nothing(one_process, tmp_path):
    spec_path, reference = one_process
    run = ray_sweep(spec_path, tmp_path / "out")
    lines, killed = [], None
    for line in run.stdout:
        lines.append(line)
        started = re.search(r"chunk (\S+) started on .* pid (\d+)", line)
        if started and killed is None:
            killed = started.group(1)
            os.kill(int(started.group(2)), signal.SIGKILL)  # the worker dies mid-chunk (compiling or training)
    run.wait(timeout=600)
    output = "".join(lines)
    assert run.returncode == 0, output
    assert f"chunk {killed} started on" in output and re.search(rf"chunk {killed} started on .*\(attempt 2\)", output)
    frame = rows(tmp_path / "out")
    assert not frame.duplicated(["group", "seed", "hp_index", "eval"]).any()  # every seed once
    pd.testing.assert_frame_equal(rows(reference), frame)
    chunks = json.loads((tmp_path / "out" / "manifest.json").read_text())["chunks"]
    assert len(chunks) == 6 and store.verify(tmp_path / "out") == {}


def test_ray_options_are_checked_before_anything_is_made(one_process, tmp_path):
    spec_path, _ = one_process
    cases = [
        (["--ray", "127.0.0.1:1"], "--ray 127.0.0.1:1: no Ray cluster answers there"),
        (["--ray", "nowhere"], "--ray nowhere: not an address"),
        (["--ray", "--process", "0/2"], "--process and --ray exclude each other"),
        (["--ray", "--lane-width", "measure"], "--lane-width measure and --ray exclude each other"),
        (["--ray", "--ray-task-cpus", "0"], "--ray-task-cpus = 0; allowed: an integer from 1 to 1024"),
    ]
    for extra, message in cases:
        result = subprocess.run([sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out",
                                 str(tmp_path / "out"), *extra], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and message in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()


def test_a_local_ray_start_that_fails_is_one_line(monkeypatch):
    import ray

    from rlab.errors import UsageError
    from rlab.run import on_ray

    def times_out(**options):
        raise TimeoutError("Timed out after 60 seconds waiting for the raylet to start")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", times_out)
    with pytest.raises(UsageError, match="Ray did not start .TimeoutError: Timed out after 60 seconds"):
        on_ray.connect(None)


def test_a_cluster_that_dies_mid_sweep_says_what_is_stored_and_how_to_resume(tmp_path, monkeypatch):
    import types

    import ray

    from rlab import spec as spec_lib
    from rlab.errors import RunIncomplete
    from rlab.run import on_ray, plan as plan_lib
    from tests.sweep_cases import tiny_spec

    class DeadCluster:
        exceptions = ray.exceptions

        @staticmethod
        def cluster_resources():
            return {"CPU": 2.0}

        @staticmethod
        def remote(**options):
            return lambda target: types.SimpleNamespace(remote=lambda *args: object())

        @staticmethod
        def wait(refs, **options):
            raise ray.exceptions.RayActorError()

    monkeypatch.setattr(on_ray, "import_ray", lambda: DeadCluster)
    (tmp_path / "spec.toml").write_text(tiny_spec(2))
    spec = spec_lib.load(tmp_path / "spec.toml")
    opened = store.SweepStore.open(tmp_path / "out", spec, 4, {"platform": "cpu"})
    try:
        plan = plan_lib.make(opened, spec, 4, (0, 1), [types.SimpleNamespace()], None)
        with pytest.raises(RunIncomplete, match=r"the Ray cluster failed \(RayActorError.*rerun the same command"):
            on_ray.RayExecutor()(opened, plan, types.SimpleNamespace(note=print, start=lambda *a: None))
    finally:
        opened.release()
