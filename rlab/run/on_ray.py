"""Sweeps on Ray: every pending chunk a Ray task, the store written by the driver alone.

    rlab sweep SPEC --ray            # a local Ray cluster, started for the sweep
    rlab sweep SPEC --ray auto       # the cluster this machine belongs to
    rlab sweep SPEC --ray HOST:PORT  # a cluster's address

The driver plans the sweep exactly as a one-process run does (the run
plan of `rlab.run.plan`: chunk size, each group's lane width W recorded
before anything is dispatched); this executor submits one task per
pending chunk of the plan, in its program order, with the `Chunk` itself. Ray schedules them on
whatever workers are free, and retries a task whose worker or node dies
(`RAY_RETRIES` times). Each worker process keeps the trainer of its last
program, so its later chunks of that program reuse the compiled program.
A worker returns its chunk's rows and policy arrays; the driver, the
sweep's only writer, records each as it arrives, so the store's lock,
checksums and resume are those of a local sweep, and the stored frame is
bitwise that of a one-process run with the same W. A chunk that fails for
good is left pending: rerunning the command computes it.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from rlab.errors import RunIncomplete, UsageError, is_decimal
from rlab.run.executor import Executed

# Times a task is run again after its worker process or node died.
RAY_RETRIES = 3
# Seconds between the driver's looks at finished tasks and started chunks.
POLL_SECONDS = 1.0


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'rlab[ray]'") from None
    return ray


def connect(address: str | None, num_cpus: int | None = None, modules: dict | None = None) -> dict[str, float]:
    """Joins the Ray cluster at `address` ("auto": this machine's), or starts a local one; its resources.

    Args:
      modules: the user's own modules the sweep names, {name: file or folder} (`envs.external.module_sources`).
        Joining a cluster, they are shipped to its workers with Ray's runtime environment (`py_modules`): the
        cluster's nodes need not share the driver's files or PYTHONPATH. A local cluster's workers inherit
        the driver's path. Either way every worker must then import them (checked before anything runs).

    Raises:
      UsageError: Ray is not installed, no cluster answers at `address`, or its workers cannot import `modules`.
    """
    modules = modules or {}
    ray = import_ray()
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, "configure_logging": False}
        if address is None:
            # Ray starts its workers at niceness 15, below everything else on the machine; on a local
            # cluster started for this sweep the workers are the sweep, and a busy machine starved them
            # (a 3 s compile took 32 s beside another job). A cluster's own settings are left alone.
            options["_system_config"] = {"worker_niceness": 0}
            if num_cpus is not None:
                options["num_cpus"] = num_cpus
        if address not in (None, "auto"):
            _check_reachable(address)
        if address is not None and modules:
            options["runtime_env"] = {"py_modules": [str(path) for path in modules.values()]}
        try:
            # "local": a new cluster for this sweep, even where another already runs on this machine
            # (Ray's default would join that one, whose workers lack this driver's path).
            ray.init(address="local" if address is None else address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            if address is None:
                raise UsageError(f"--ray: could not start a local Ray cluster ({_first_line(err)}); `ray start "
                                 "--head` says why, or run without --ray") from None
            raise UsageError(f"--ray {address}: cannot join a Ray cluster there ({_first_line(err)}); allowed: "
                             "nothing (a local cluster), 'auto' (this machine's cluster), or a running cluster's "
                             "HOST:PORT") from None
        except Exception as err:  # Ray's own errors (a start that timed out...), whatever their class
            raise UsageError(f"--ray {address or ''}: Ray did not start ({type(err).__name__}: "
                             f"{_first_line(err)}); nothing was computed") from None
        if address is None:
            _shut_down_on_termination(ray)
    if modules:
        _check_importable(ray, address, sorted(modules))
    return dict(ray.cluster_resources())


# Seconds the import check waits for a worker (a cluster's first task may set up its runtime environment).
IMPORT_CHECK_SECONDS = 300.0


def _check_importable(ray, address: str | None, names: list[str]) -> None:
    """Refuses, in one line, a cluster whose workers cannot import the user's modules (before any chunk runs)."""
    check = ray.remote(num_cpus=0)(_import_problems)
    where = f"--ray {address}" if address else "--ray"
    try:
        problems = ray.get(check.remote(names), timeout=IMPORT_CHECK_SECONDS)
    except Exception as err:  # a runtime environment that failed to set up, a timeout: Ray's own errors
        raise UsageError(f"{where}: the cluster's workers could not be given {', '.join(names)} "
                         f"({type(err).__name__}: {_first_line(err)}); nothing was computed") from None
    if problems:
        raise UsageError(f"{where}: the cluster's workers cannot import {'; '.join(problems)}; install it on the "
                         "cluster's nodes or put it on their PYTHONPATH; nothing was computed")


def _import_problems(names: list[str]) -> list[str]:
    """A Ray task: which of the modules `names` this worker cannot import, each with its error."""
    import importlib

    problems = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:  # whatever the user's module raises while importing
            problems.append(f"{name} ({type(err).__name__}: {_first_line(err)})")
    return problems


def _shut_down_on_termination(ray) -> None:
    """A local cluster started for this sweep ends with it, also when the driver is terminated (SIGTERM, SIGHUP).

    Python's default on those signals ends the process without running
    `ray.shutdown`, which left Ray's agents running; a handler turns them
    into an orderly exit. (A SIGKILLed driver cannot clean up: its local
    cluster's processes notice their driver is gone and exit on their own.)
    """
    import atexit
    import signal

    atexit.register(ray.shutdown)

    def terminated(signum, frame):
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if signal.getsignal(getattr(signal, name)) in (signal.SIG_DFL, None):
            try:
                signal.signal(getattr(signal, name), terminated)
            except ValueError:  # not the main thread: leave the signals alone
                pass


class RayExecutor:
    """Computes a sweep's pending chunks as Ray tasks (see the module docstring); `rlab.run.sweep.run(executor=...)`.

    Args:
      task_cpus: CPUs each task declares (its worker splits the CPU into that many JAX devices).
      task_gpus: GPUs each task declares; default: 1 when the cluster has GPUs, else 0.
      cache_dir: JAX persistent compilation cache directory for the workers (None: none).
    """

    def __init__(self, task_cpus: int = 1, task_gpus: int | None = None, cache_dir: str | None = None):
        self.task_cpus, self.task_gpus, self.cache_dir = task_cpus, task_gpus, cache_dir

    def __call__(self, store, plan, progress) -> Executed:
        ray = import_ray()
        gpus = self.task_gpus
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
        chunks, num_evals = plan.share, plan.spec.num_evals
        progress.note(f"running {len(chunks)} chunks x {num_evals} evaluations as Ray tasks "
                      f"({self.task_cpus} CPU{'s' if self.task_cpus > 1 else ''}"
                      f"{f', {gpus} GPU' if gpus else ''} each; cluster: "
                      f"{_describe(ray.cluster_resources())})" if chunks else
                      "nothing to run: every chunk is already stored")
        progress.start(len(chunks) * num_evals, "evaluations")
        board = ray.remote(num_cpus=0)(ChunkBoard).remote()
        task = ray.remote(num_cpus=self.task_cpus, num_gpus=gpus, max_retries=RAY_RETRIES)(train_chunk)
        pending = {task.remote(plan.spec, chunk, plan.width(chunk), self.task_cpus, self.cache_dir, board): chunk
                   for chunk in chunks}
        failed: dict[str, str] = {}
        try:
            done, compile_seconds = self._collect(ray, store, board, pending, failed, progress, len(chunks), num_evals)
        except (ray.exceptions.RayError, ConnectionError) as err:  # the cluster failed (a node died, the head...)
            raise RunIncomplete(f"the Ray cluster failed ({type(err).__name__}: {_first_line(err)}); the chunks "
                                f"stored so far are in {store.directory} (`rlab status {store.directory}`); rerun "
                                "the same command to compute the rest") from None
        # Compile seconds here are the workers' (each compiles a program once, for its first chunk of it).
        return Executed(done, compile_seconds, failed=failed)

    @staticmethod
    def _collect(ray, store, board, pending: dict, failed: dict, progress, total: int, num_evals: int):
        """Writes each task's chunk as it arrives; (chunks stored, seconds the workers waited for programs)."""
        compile_seconds, done = 0.0, 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            for chunk_id, where, attempt in ray.get(board.news.remote()):
                again = f" (attempt {attempt})" if attempt > 1 else ""
                progress.note(f"chunk {chunk_id} started on {where}{again}")
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    frame, params, info = ray.get(ref)
                except ray.exceptions.RayError as err:
                    failed[chunk.id] = _failure(ray, err)
                    progress.note(f"chunk {chunk.id} failed: {failed[chunk.id]}")
                    continue
                store.write_chunk(chunk.id, frame, params, info)
                compile_seconds += info["compile_seconds"]
                done += 1
                progress.advance(num_evals)
                progress.note(f"chunk {done}/{total} {chunk.id} ({chunk.group.algo} {chunk.group.env_axes}) "
                              f"stored, from {info['worker']}: {info['seconds']:.1f} s")
        return done, compile_seconds


class ChunkBoard:
    """A Ray actor where workers say which chunk they start, and on which host and process (for progress lines)."""

    def __init__(self):
        self.starts: dict[str, int] = {}
        self.unread: list[tuple[str, str, int]] = []

    def started(self, chunk_id: str, where: str) -> None:
        self.starts[chunk_id] = self.starts.get(chunk_id, 0) + 1
        self.unread.append((chunk_id, where, self.starts[chunk_id]))

    def news(self) -> list[tuple[str, str, int]]:
        unread, self.unread = self.unread, []
        return unread


# The worker process's current program: (spec identity, program key) -> trainer, at most one kept.
_WORKER_TRAINERS: dict[tuple, Any] = {}


def train_chunk(spec, chunk, width: int, cpus: int, cache_dir: str | None, board):
    """A Ray task: trains one chunk of `spec` at lane width `width`; (rows, policy arrays, manifest entry info)."""
    from rlab import process_setup
    from rlab.run import devices as host_devices

    process_setup.mark_warp_absent()  # as in the `rlab` process: MJX's JAX implementation only
    host_devices.use_cpu_cores(max(1, cpus))  # a new worker process: before JAX starts its backends
    import jax

    from rlab.run.chunks import compute_chunk, make_trainer
    from rlab.run.plan import program_key

    if cache_dir:
        process_setup.enable_compilation_cache(cache_dir)
    where = f"{socket.gethostname()} pid {os.getpid()}"
    board.started.remote(chunk.id, where)
    key = (spec.identity_hash(), program_key(spec, chunk.group))
    if key not in _WORKER_TRAINERS:
        if _WORKER_TRAINERS:  # another program: free the last one and XLA's caches, as a local sweep does
            _WORKER_TRAINERS.clear()
            jax.clear_caches()
        _WORKER_TRAINERS[key] = make_trainer(spec, chunk.group)
    frame, params, info = compute_chunk(_WORKER_TRAINERS[key], chunk, width, spec.num_evals, jax.local_devices())
    info["worker"] = where
    return frame, params, info


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuses an address where nothing listens (Ray itself keeps trying for minutes before it gives up)."""
    host, sep, port = address.split("://")[-1].rpartition(":")
    if not (sep and host and is_decimal(port) and 0 < int(port) < 65536):
        raise UsageError(f"--ray {address}: not an address; allowed: nothing (a local cluster), 'auto' (this "
                         "machine's cluster), or HOST:PORT of a running cluster's head")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise UsageError(f"--ray {address}: no Ray cluster answers there ({err.strerror or err}); start one "
                         "(`ray start --head`) or give the address `ray status` shows") from None


def _describe(resources: dict[str, float]) -> str:
    parts = [f"{resources.get('CPU', 0):g} CPUs"]
    if resources.get("GPU"):
        parts.append(f"{resources['GPU']:g} GPUs")
    nodes = sum(1 for name in resources if name.startswith("node:") and not name.startswith("node:__internal"))
    return ", ".join(parts) + (f", {nodes} node{'s' if nodes != 1 else ''}" if nodes else "")


def _failure(ray, err: BaseException) -> str:
    """Why a chunk's task failed, in one line: the exception the task raised, or the crash Ray retried."""
    cause = getattr(err, "cause", None)
    if isinstance(err, ray.exceptions.RayTaskError) and cause is not None:  # raised by rlab's or the user's code
        return f"{type(cause).__name__}: {_first_line(cause)}"
    return f"{_first_line(err)} (after {RAY_RETRIES} retries)"  # its worker or node died each time


# Ray colours its task names for terminals; messages here are plain text.
_TERMINAL_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(err: BaseException) -> str:
    text = _TERMINAL_COLOURS.sub("", str(err)).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]
