"""Sweeps on batch schedulers: --process auto, take-over of a dead task's chunks, and the job files rlab writes."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from rlab import spec as spec_lib
from rlab import store
from rlab.errors import UsageError
from rlab.run import schedulers
from tests.sweep_cases import LAUNCH_DEVICES, cli_reference, stored_rows

BIN = os.path.dirname(sys.executable)  # where the `rlab` command of this environment lies


rows = stored_rows


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """A spec of 12 seeds (2 dims x 2 noise values, 2 seeds a chunk: 12 chunks) and its one-process sweep."""
    # The `rlab` command as one process, each group's width by the rule: the SLURM tasks must store the same bits.
    return cli_reference(tmp_path_factory.mktemp("scheduler_reference"), 12)


def chunk_ids(path):
    return set(json.loads(path.read_text())["chunks"]) if path.exists() else set()


# ----- which process am I -------------------------------------------------------------------


@pytest.mark.parametrize("environ, expected", [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0"}, (3, 8)),
    ({"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "13"}, (2, 4)),
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "2"}, (1, 2)),
    ({"JOB_COMPLETION_INDEX": "4", "RLAB_PROCESS_COUNT": "5"}, (4, 5)),
    ({"RLAB_PROCESS_INDEX": "0", "RLAB_PROCESS_COUNT": "1", "SLURM_ARRAY_TASK_ID": "7"}, (0, 1)),
])
def test_process_auto_reads_the_schedulers_variables(environ, expected):
    assert schedulers.process_from_environment(environ) == expected


@pytest.mark.parametrize("environ, message", [
    ({}, "no scheduler's variables found"),
    ({"JOB_COMPLETION_INDEX": "1"}, "RLAB_PROCESS_COUNT is not"),
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, "SLURM_ARRAY_TASK_ID = 'x'"),
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "2"}, "process 2 of 2"),
    ({"RLAB_PROCESS_INDEX": "0"}, "RLAB_PROCESS_COUNT is not; set both"),
])
def test_process_auto_without_usable_variables_is_one_clear_error(environ, message):
    with pytest.raises(UsageError, match="--process auto: .*" + message.replace("(", r"\(")):
        schedulers.process_from_environment(environ)


def test_process_auto_outside_a_scheduler_exits_2_and_makes_nothing(one_process, tmp_path):
    spec_path, _ = one_process
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION", "RLAB_PROCESS"))}
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "sweep", str(spec_path), "--out", str(tmp_path / "o"),
                             "--process", "auto"], capture_output=True, text=True, env=environ, timeout=120)
    assert result.returncode == 2 and "--process auto: no scheduler's variables found" in result.stderr
    assert not (tmp_path / "o").exists()


# ----- SLURM: the generated array script, one task killed --------------------------------------


def test_a_slurm_array_task_killed_mid_sweep_leaves_its_chunks_to_the_other(one_process, tmp_path):
    spec_path, reference = one_process
    out, script = tmp_path / "out", tmp_path / "sweep.sbatch"
    made = subprocess.run([sys.executable, "-m", "rlab.cli", "launch", "slurm", str(spec_path), "--processes", "2",
                           "--out", str(out), "--write", str(script), "--cpus", "1"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    text = script.read_text()
    assert "#SBATCH --array=0-1" in text and "#SBATCH --cpus-per-task=1" in text
    assert f"#SBATCH --output={out}/logs/%A_%a.out" in text
    assert shlex.split(text.strip().splitlines()[-1]) == ["rlab", "sweep", str(spec_path), "--out", str(out),
                                                          "--process", "auto"]
    # The script run as SLURM runs an array's tasks: bash, with the array's variables set.
    tasks = []
    for index in (0, 1):
        environ = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "SLURM_ARRAY_JOB_ID": "77",
                   "SLURM_ARRAY_TASK_ID": str(index), "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0",
                   "RLAB_CACHE_DIR": "none", **LAUNCH_DEVICES}
        tasks.append(subprocess.Popen(["bash", str(script)], env=environ, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, start_new_session=True))
    deadline = time.monotonic() + 300
    while not chunk_ids(out / "manifest.p0.json") and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(tasks[0].pid, signal.SIGKILL)  # the scheduler kills task 0 (bash and rlab) after its first chunk
    tasks[0].wait(timeout=60)
    _, errors = tasks[1].communicate(timeout=600)
    assert tasks[1].returncode == 0, errors
    spec = spec_lib.load(spec_path)
    stripe_0 = {chunk.id for position, chunk in enumerate(spec.chunks(4)) if position % 2 == 0}
    killed_had = chunk_ids(out / "manifest.p0.json")
    assert killed_had < stripe_0, "task 0 finished its share before it was killed: the test proves nothing"
    taken_over = chunk_ids(out / "manifest.p1.json") & stripe_0
    assert taken_over == stripe_0 - killed_had
    frame = rows(out)
    assert not frame.duplicated(["group", "seed", "hp_index", "eval"]).any()
    pd.testing.assert_frame_equal(rows(reference), frame)
    # Each group's width is the rule's for this kind of machine, as in the one-process run, not the chunk's.
    widths = {g: e["lane_width"] for g, e in store.read_manifest(out)["lane_widths"].items()}
    assert widths == {g: e["lane_width"] for g, e in store.read_manifest(reference)["lane_widths"].items()}
    assert set(widths.values()) == {2}
    status = store.status(out)
    assert status["status"] == "complete" and status["chunks_complete"] == len(spec.chunks(4))
    assert json.loads((out / "manifest.p0.json").read_text())["finished_by"] == "process 1"


# ----- Kubernetes: the generated Indexed Job ---------------------------------------------------


def test_the_kubernetes_indexed_job_runs_the_documented_command_in_every_pod(one_process, tmp_path):
    spec_path, reference = one_process
    out, manifest = tmp_path / "out", tmp_path / "job.yaml"
    made = subprocess.run([sys.executable, "-m", "rlab.cli", "launch", "k8s", str(spec_path), "--processes", "3",
                           "--out", str(out), "--write", str(manifest), "--image", "ghcr.io/example/rlab:1",
                           "--claim", "sweeps", "--mount", "/work", "--gpus", "1", "--memory", "8Gi"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    job = yaml.safe_load(manifest.read_text())
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 3
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["restartPolicy"] == "Never" and container["image"] == "ghcr.io/example/rlab:1"
    assert container["command"] == ["rlab", "sweep", str(spec_path), "--out", str(out), "--process", "auto"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "sweeps"
    assert container["volumeMounts"][0]["mountPath"] == "/work"
    # Each pod as Kubernetes runs it: the container's command and env, plus the pod's completion index.
    pods = []
    for index in range(3):
        environ = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "JOB_COMPLETION_INDEX": str(index),
                   "RLAB_CACHE_DIR": "none", **{e["name"]: e["value"] for e in container["env"]}}
        pods.append(subprocess.Popen(container["command"], env=environ, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True))
    for p in pods:
        _, errors = p.communicate(timeout=600)
        assert p.returncode == 0, errors
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    assert store.status(out)["status"] == "complete"


# ----- submitit ------------------------------------------------------------------------------


def test_submit_through_submitit_runs_the_sweep_where_no_slurm_is(one_process, tmp_path):
    pytest.importorskip("submitit")
    spec_path, reference = one_process
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "launch", "slurm", str(spec_path), "--processes", "2",
                             "--out", str(out), "--submit"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RLAB_CACHE_DIR": "none"})
    assert result.returncode == 0, result.stderr
    assert "submitted 2 task(s) through submitit (local)" in result.stdout
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if out.exists() and (out / "manifest.p0.json").exists() and store.status(out)["status"] == "complete":
            break
        time.sleep(1)
    pd.testing.assert_frame_equal(rows(reference), rows(out))
    assert (out / "logs").is_dir()


# ----- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["pbs", "{spec}", "--processes", "2"], "scheduler = 'pbs'; allowed: slurm, k8s"),
    (["slurm", "{spec}", "--processes", "0"], "--processes = 0; allowed: an integer from 1 to 4096"),
    (["slurm", "{spec}", "--processes", "2", "--time", "soon"], "--time = 'soon'; allowed: HH:MM:SS"),
    (["slurm", "{spec}", "--processes", "2", "--cpus", "0"], "--cpus = 0; allowed: an integer from 1 to 1024"),
    (["k8s", "{spec}", "--processes", "2"], "k8s needs --image"),
    (["k8s", "{spec}", "--processes", "2", "--image", "x", "--submit"], "--submit is for slurm"),
    (["slurm", "{missing}", "--processes", "2"], "missing.toml"),
    (["slurm", "{spec}", "--processes", "2", "--time", "\u00b24:00:00"], "--time = '\u00b24:00:00'"),
    (["slurm", "{spec}", "--processes", "2", "--out", "runs/a\nrm -rf b"], "--out = 'runs/a\\nrm -rf b' holds a control"),
    (["slurm", "{spec}", "--processes", "2", "--partition", "gpu\necho"], "--partition = 'gpu\\necho' holds a control"),
    (["slurm", "{spec}", "--processes", "2", "--memory", "8G\recho"], "--memory = '8G\\recho' holds a control"),
    (["k8s", "{spec}", "--processes", "2", "--image", "x"], "k8s needs --claim"),
])
def test_launch_refuses_bad_input_in_one_line(one_process, tmp_path, args, message):
    spec_path, _ = one_process
    args = [a.format(spec=spec_path, missing=tmp_path / "missing.toml") for a in args]
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "launch", *args, "--write", str(tmp_path / "job")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "job").exists()


def test_a_written_slurm_script_has_its_log_folder(one_process, tmp_path):
    spec_path, _ = one_process
    out, script = tmp_path / "fresh", tmp_path / "sweep.sbatch"
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "launch", "slurm", str(spec_path), "--processes", "2",
                             "--out", str(out), "--write", str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"#SBATCH --output={out}/logs/%A_%a.out" in script.read_text() and (out / "logs").is_dir()


def test_process_auto_refuses_digits_that_int_does_not_read():
    with pytest.raises(UsageError, match="RLAB_PROCESS_INDEX = '\u00b2'"):
        schedulers.process_from_environment({"RLAB_PROCESS_INDEX": "\u00b2", "RLAB_PROCESS_COUNT": "2"})
