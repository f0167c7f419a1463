"""Sweeps on batch schedulers: a process's index from its scheduler, and ready job files for SLURM and Kubernetes.

Every task of a SLURM array or a Kubernetes Indexed Job runs the same
command, `rlab sweep SPEC --out DIR --process auto`, on a file system all of
them share. `process_from_environment` reads which of N processes it is;
the sweep runner then takes that share of the chunks first and every
chunk left unclaimed afterwards (`rlab.run.sweep`), so a task the scheduler
kills only delays its chunks: the others, or a rerun, compute them.

A spec that names the user's own modules (`package.module:Name`, found
outside site-packages) gets their folders on every task's PYTHONPATH
(`python_path`): the tasks import them from the shared file system, as the
command that wrote the job did.
"""

from __future__ import annotations

import os
import shlex
from typing import Mapping

from rlab.errors import UsageError, control_characters, is_decimal
from rlab.store.directory import LOGS

# Set by the generated Kubernetes Job (Kubernetes tells a pod its index, not the count);
# also a way to name index and count on any other launcher.
INDEX_VARIABLE, COUNT_VARIABLE = "RLAB_PROCESS_INDEX", "RLAB_PROCESS_COUNT"
from rlab.limits import MAX_PROCESSES  # noqa: E402 (also read as schedulers.MAX_PROCESSES)


def process_from_environment(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(index, count) of this process among a job's tasks, from its scheduler's environment variables.

    In order: `RLAB_PROCESS_INDEX` / `RLAB_PROCESS_COUNT`; a SLURM array
    (`SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of
    `SLURM_ARRAY_TASK_COUNT`); SLURM tasks of one step (`SLURM_PROCID` of
    `SLURM_NTASKS`); a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of
    `RLAB_PROCESS_COUNT`).

    Raises:
      UsageError: none of them is set, or a value is not a valid index or count.
    """
    env = os.environ if environ is None else environ

    def number(name: str) -> int:
        text = env[name].strip()
        if not is_decimal(text):
            raise UsageError(f"--process auto: {name} = {env[name]!r}; allowed: an integer >= 0")
        return int(text)

    if INDEX_VARIABLE in env:
        if COUNT_VARIABLE not in env:
            raise UsageError(f"--process auto: {INDEX_VARIABLE} is set but {COUNT_VARIABLE} is not; set both")
        found, index, count = f"{INDEX_VARIABLE}/{COUNT_VARIABLE}", number(INDEX_VARIABLE), number(COUNT_VARIABLE)
    elif "SLURM_ARRAY_TASK_ID" in env:
        first = number("SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in env else 0
        if "SLURM_ARRAY_TASK_COUNT" in env:
            count = number("SLURM_ARRAY_TASK_COUNT")
        else:
            count = number("SLURM_ARRAY_TASK_MAX") - first + 1
        found, index = "SLURM_ARRAY_TASK_ID", number("SLURM_ARRAY_TASK_ID") - first
    elif "SLURM_PROCID" in env and "SLURM_NTASKS" in env:
        found, index, count = "SLURM_PROCID/SLURM_NTASKS", number("SLURM_PROCID"), number("SLURM_NTASKS")
    elif "JOB_COMPLETION_INDEX" in env:
        if COUNT_VARIABLE not in env:
            raise UsageError(f"--process auto: JOB_COMPLETION_INDEX is set but {COUNT_VARIABLE} is not (Kubernetes "
                             "does not tell a pod the job's completions; `rlab launch k8s` sets it)")
        found, index, count = "JOB_COMPLETION_INDEX", number("JOB_COMPLETION_INDEX"), number(COUNT_VARIABLE)
    else:
        raise UsageError(
            "--process auto: no scheduler's variables found; allowed: a SLURM array task (SLURM_ARRAY_TASK_ID, "
            "SLURM_ARRAY_TASK_COUNT), a SLURM task (SLURM_PROCID, SLURM_NTASKS), a Kubernetes Indexed Job "
            f"(JOB_COMPLETION_INDEX, {COUNT_VARIABLE}), or {INDEX_VARIABLE} and {COUNT_VARIABLE}; "
            "or give --process I/N"
        )
    if not (1 <= count <= MAX_PROCESSES and 0 <= index < count):
        raise UsageError(f"--process auto: process {index} of {count} (from {found}); allowed: "
                         f"0 <= index < count <= {MAX_PROCESSES}")
    return index, count


def make_log_folder(out_dir: str) -> str:
    """Creates DIR/logs, where the SLURM script sends each task's output (SLURM does not create it): its path."""
    folder = os.path.join(out_dir, LOGS)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{folder}: cannot create the tasks' log folder: {err.strerror}") from None
    return folder


def sweep_command(spec_path: str, out_dir: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The command every task of a job runs (argv)."""
    return ["rlab", "sweep", spec_path, "--out", out_dir, "--process", "auto", *extra]


def slurm_script(spec_path: str, out_dir: str, processes: int, *, time: str = "24:00:00", cpus_per_task: int = 2,
                 gpus_per_task: int = 0, partition: str | None = None, memory: str | None = None,
                 setup: str = "", extra: tuple[str, ...] = (), python_path: tuple[str, ...] = ()) -> str:
    """An sbatch script: a SLURM array of `processes` tasks (0 to N-1), each running `sweep_command`.

    Logs go to DIR/logs/%A_%a.out. `setup` is shell run first in each task
    (e.g. activating the environment that has rlab). `python_path`: folders
    put first on each task's PYTHONPATH (the spec's own modules).
    """
    _check_processes(processes)
    _check_values({"SPEC": spec_path, "--out": out_dir, "--time": time, "--partition": partition or "",
                   "--memory": memory or "", **{f"argument {a!r}": a for a in extra},
                   **{f"module folder {p!r}": p for p in python_path}})
    if control_characters(setup.replace("\n", "")):
        raise UsageError("--setup holds a control character other than a newline; allowed: shell lines")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={_job_name(spec_path)}",
        f"#SBATCH --array=0-{processes - 1}",
        f"#SBATCH --cpus-per-task={cpus_per_task}",
        f"#SBATCH --time={time}",
        f"#SBATCH --output={out_dir}/{LOGS}/%A_%a.out",
    ]
    if gpus_per_task:
        lines.append(f"#SBATCH --gpus-per-task={gpus_per_task}")
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if memory:
        lines.append(f"#SBATCH --mem={memory}")
    lines += [
        "# Each array task is one process of the sweep (--process auto reads SLURM_ARRAY_TASK_ID and",
        "# SLURM_ARRAY_TASK_COUNT); a task that dies leaves its chunks to the others or to a rerun.",
        "set -euo pipefail",
    ]
    if setup:
        lines.append(setup)
    if python_path:
        lines += ["# The spec's own modules, from the folders they were found in when this script was written.",
                  f"export PYTHONPATH={shlex.quote(os.pathsep.join(python_path))}${{PYTHONPATH:+:$PYTHONPATH}}"]
    lines.append(shlex.join(sweep_command(spec_path, out_dir, extra)))
    return "\n".join(lines) + "\n"


def indexed_job(spec_path: str, out_dir: str, processes: int, *, image: str, claim: str | None = None,
                mount: str = "/work", cpus: str = "2", memory: str | None = None, gpus: int = 0,
                backoff_limit_per_index: int = 2, extra: tuple[str, ...] = (), python_path: tuple[str, ...] = ()) -> dict:
    """A Kubernetes Indexed Job (as a dict, for YAML or JSON): `processes` pods, each running `sweep_command`.

    `claim` names a PersistentVolumeClaim mounted at `mount` in every pod: the
    spec and the sweep directory must be on it (give their paths as the pods
    see them). Each pod retries up to `backoff_limit_per_index` times.
    `python_path`: folders set as each pod's PYTHONPATH (the spec's own
    modules; on the claim, or in the image, at those paths).
    """
    _check_processes(processes)
    _check_values({"SPEC": spec_path, "--out": out_dir, "--image": image, "--claim": claim or "", "--mount": mount,
                   "--cpus": cpus, "--memory": memory or "", **{f"argument {a!r}": a for a in extra},
                   **{f"module folder {p!r}": p for p in python_path}})
    if not claim:
        raise UsageError("k8s needs --claim: a PersistentVolumeClaim that every pod mounts, holding the spec and the "
                         "sweep directory; without shared storage each pod would compute the whole sweep on its own "
                         "disk and lose it when the pod ends")
    resources: dict = {"requests": {"cpu": cpus}}
    if memory:
        resources["requests"]["memory"] = memory
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": gpus}
    container = {
        "name": "sweep",
        "image": image,
        "command": sweep_command(spec_path, out_dir, extra),
        "env": [{"name": COUNT_VARIABLE, "value": str(processes)}]
        + ([{"name": "PYTHONPATH", "value": os.pathsep.join(python_path)}] if python_path else []),
        "resources": resources,
    }
    pod: dict = {"restartPolicy": "Never", "containers": [container]}
    if claim:  # always, past the check above
        container["volumeMounts"] = [{"name": "sweeps", "mountPath": mount}]
        pod["volumes"] = [{"name": "sweeps", "persistentVolumeClaim": {"claimName": claim}}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": _job_name(spec_path)},
        "spec": {
            "completionMode": "Indexed",
            "completions": processes,
            "parallelism": processes,
            "backoffLimitPerIndex": backoff_limit_per_index,
            "template": {"spec": pod},
        },
    }


def _check_values(values: Mapping[str, str]) -> None:
    """Refuses a value with a control character: in a job file a newline would become a line of its own."""
    for name, value in values.items():
        if control_characters(str(value)):
            raise UsageError(f"{name} = {value!r} holds a control character (a newline would become a line of the "
                             "job file); allowed: printable characters")


def _check_processes(processes: int) -> None:
    if not 1 <= processes <= MAX_PROCESSES:
        raise UsageError(f"--processes = {processes}; allowed: an integer from 1 to {MAX_PROCESSES}")


def _job_name(spec_path: str) -> str:
    """A job name from the spec's file name: lower case letters, digits and dashes (what Kubernetes accepts)."""
    stem = os.path.splitext(os.path.basename(spec_path))[0].lower()
    cleaned = "".join(c if c.isalnum() else "-" for c in stem).strip("-")
    return ("rlab-" + cleaned)[:63].rstrip("-") or "rlab-sweep"


def submit(spec_path: str, out_dir: str, processes: int, *, cluster: str | None = None, time_minutes: int = 1440,
           cpus_per_task: int = 2, gpus_per_task: int = 0, partition: str | None = None,
           python_path: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """Submits the sweep's `processes` tasks through submitit (a SLURM array where SLURM is, else local processes).

    Returns (the cluster submitit chose, the job ids). Each task runs
    `run_process`, which is `rlab sweep SPEC --out DIR --process I/N`.
    """
    _check_processes(processes)
    try:
        import submitit
    except ImportError:
        raise UsageError("--submit needs submitit: pip install 'rlab[slurm]' (or write the script and run sbatch)") \
            from None
    executor = submitit.AutoExecutor(folder=os.path.join(out_dir, LOGS), cluster=cluster)
    parameters: dict = {"timeout_min": time_minutes, "cpus_per_task": cpus_per_task, "name": _job_name(spec_path),
                        "slurm_array_parallelism": processes}
    if gpus_per_task:
        parameters["gpus_per_node"] = gpus_per_task
    if partition:
        parameters["slurm_partition"] = partition
    executor.update_parameters(**parameters)
    jobs = executor.map_array(run_process, [spec_path] * processes, [out_dir] * processes, list(range(processes)),
                              [processes] * processes, [tuple(python_path)] * processes)
    return executor.cluster, [job.job_id for job in jobs]


def run_process(spec_path: str, out_dir: str, index: int, count: int, python_path: tuple[str, ...] = ()) -> int:
    """One task of a submitted sweep: the command `rlab sweep SPEC --out DIR --process I/N`, in a child process.

    The task runs the command line itself, as a scheduler's script does, so
    that a submitted task and a written script run the same process.
    `python_path` goes first on the child's PYTHONPATH.
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "rlab.cli", "sweep", spec_path, "--out", out_dir, "--process", f"{index}/{count}"]
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join([*python_path, *filter(None, [env.get("PYTHONPATH")])])
    code = subprocess.run(command, check=False, env=env).returncode
    if code:
        raise RuntimeError(f"rlab sweep {spec_path} --process {index}/{count} exited with {code}")
    return code
