"""The local executor: a run plan's chunks computed in this process, one program at a time.

Alone, a process runs every pending chunk. Sharing the sweep (`--process
I/N`), it runs its own share first, then takes over every chunk still
pending that no live process holds (a process that finished early, or
died or stopped, left them: claims are leased, `rlab.store.lock`),
waiting while live processes hold the last ones; a process that completes
the sweep also closes the manifests of processes that died
(`finish_for_dead_processes`).
"""

from __future__ import annotations

import gc
import time
from typing import Any

import jax

from rlab.errors import UsageError
from rlab.run import lanes
from rlab.run.chunks import compute_chunk, make_trainer
from rlab.run.executor import Executed
from rlab.run.plan import RunPlan
from rlab.store import SweepStore

# Seconds between looks at a shared sweep while other live processes hold its last chunks.
CLAIM_POLL_SECONDS = 2.0


class LocalExecutor:
    """Computes a plan's chunks in this process (`rlab.run.executor.Executor`).

    Args:
      compile_ahead: programs compiled in background threads ahead of the one running.
      take_over: sharing the sweep, whether this process also runs the chunks
        of other processes that no live process holds once its own share is
        done (False: its own share only, as strict striping).
    """

    def __init__(self, compile_ahead: int = 1, take_over: bool = True):
        if compile_ahead < 0:
            raise UsageError(f"compile_ahead = {compile_ahead}; allowed: an integer >= 0")
        self.compile_ahead, self.take_over = compile_ahead, take_over

    def __call__(self, store: SweepStore, plan: RunPlan, progress) -> Executed:
        progress.note(f"running {len(plan.share)} chunks x {plan.spec.num_evals} evaluations" if plan.share
                      else "nothing to run: every chunk is already stored")
        progress.start(len(plan.share) * plan.spec.num_evals, "evaluations")
        programs = _Programs(plan, self.compile_ahead)
        try:
            ran = self._run(store, plan, plan.share, programs, progress)
            if store.shared and self.take_over:
                ran += self._take_over(store, plan, programs, progress)
        finally:
            programs.close()
        closed = finish_for_dead_processes(store, plan) if store.shared else []
        if closed:
            progress.note(f"closed the manifests of processes {', '.join(map(str, closed))}, which died or never "
                          "started: every chunk of the sweep is stored")
        return Executed(ran, programs.waited, programs.making)

    def _run(self, store, plan: RunPlan, chunks, programs: "_Programs", progress) -> int:
        """Runs those of `chunks` this process can claim; how many it ran."""
        started, done = time.perf_counter(), 0
        try:
            for position, chunk in enumerate(chunks, start=1):
                if not store.claim_chunk(chunk):
                    continue  # stored meanwhile, or another live process is computing it
                trainer = programs.switch_to(chunk.group)
                frame, params, info = compute_chunk(trainer, chunk, plan.width(chunk), plan.spec.num_evals,
                                                    plan.devices, on_eval=progress.advance)
                store.write_chunk(chunk.id, frame, params, info)
                done += 1
                env_steps = trainer.env_steps_per_eval * plan.spec.num_evals * len(chunk.lanes)
                remaining = (time.perf_counter() - started) / position * (len(chunks) - position)
                progress.note(f"chunk {position}/{len(chunks)} {chunk.id} ({chunk.group.algo} "
                              f"{chunk.group.env_axes}): {env_steps / max(info['seconds'], 1e-9):,.0f} env steps/s, "
                              f"ETA {remaining:.0f}s")
        finally:
            store.release_claims()
        return done

    def _take_over(self, store, plan: RunPlan, programs: "_Programs", progress) -> int:
        """Runs the sweep's pending chunks that no live process holds, until every chunk is stored."""
        ran, waiting = 0, False
        while True:
            store.refresh()
            left = store.pending(plan.chunks)
            if not left:
                return ran
            done = self._run(store, plan, left, programs, progress)
            ran += done
            if not done:
                if not waiting:
                    progress.note(f"waiting for {len(left)} chunk(s) that other processes are computing "
                                  "(taken over if a process dies or its claim's lease runs out)")
                    waiting = True
                time.sleep(CLAIM_POLL_SECONDS)
            else:
                waiting = False


def finish_for_dead_processes(store: SweepStore, plan: RunPlan) -> list[int]:
    """Closes the manifests of a shared sweep's processes that are gone, once every chunk is stored.

    What rerunning such a process would do (open its manifest, find nothing
    pending, mark it complete), done by the process that completed the sweep,
    so that the sweep reads as complete. A live process's manifest is left
    to it. Returns the process indexes closed.
    """
    store.refresh()
    if store.pending(plan.chunks):
        return []
    closed = []
    me, count = plan.process
    for index in range(count):
        if index == me or store.process_finished(index, count):
            continue
        try:
            other = SweepStore.open(store.directory, plan.spec, plan.chunk_size, store.backend, (index, count))
        except UsageError:  # alive after all (holds its lock): it closes its own
            continue
        other.finish(finished_by=f"process {me}")
        closed.append(index)
    return closed


class _Programs:
    """The trainers of a plan's programs, one program at a time, the next ones compiled ahead in the background.

    Groups that share a program (`rlab.run.plan.program_key`) are next to
    each other in the plan, so each program is made once. When the run moves
    on to a program, the one before is freed (with XLA's caches) and the
    next `compile_ahead` programs start compiling in background threads
    (`rlab.run.lanes.prepare`), on the cores the running program leaves idle.
    """

    def __init__(self, plan: RunPlan, compile_ahead: int):
        self.plan, self.compile_ahead = plan, compile_ahead
        self._first: dict[tuple, Any] = {}  # key -> the first group of the plan that uses it
        for chunk in plan.chunks:
            if chunk.group.id in plan.widths:
                self._first.setdefault(plan.key(chunk.group), chunk.group)
        self._order = list(self._first)
        self._made = plan.trainers  # made while planning: reused once
        self._trainers: dict[tuple, Any] = {}  # the current program's trainer and those compiling ahead
        self._current = None
        self.waited = 0.0  # seconds the run waited for programs
        self.making = 0.0  # seconds spent making them, in any thread

    def switch_to(self, group):
        """The trainer of the group's program; on a change of program, frees the last one and compiles ahead."""
        key = self.plan.key(group)
        if key == self._current:
            return self._trainers[key]
        if self._current is not None:
            self._retire(self._trainers.pop(self._current))
            # XLA keeps every compiled program (each width measured, each group) mapped until its caches
            # are cleared, and a long sweep of physics groups otherwise runs out of memory mappings
            # (LLVM "Cannot allocate memory").
            jax.clear_caches()
            gc.collect()  # the last trainer and its programs form a cycle: free them now, not at some later GC
        self._current = key
        position = self._order.index(key)
        for upcoming in self._order[position : position + 1 + self.compile_ahead]:
            first = self._first[upcoming]
            lanes.prepare(self._trainer(upcoming), self.plan.widths[first.id].width, self.plan.devices[0])
        return self._trainers[key]

    def _trainer(self, key: tuple):
        if key not in self._trainers:
            made = self._made.pop(key, None)
            self._trainers[key] = made if made is not None else make_trainer(self.plan.spec, self._first[key])
        return self._trainers[key]

    def _retire(self, trainer) -> None:
        self.waited += lanes.compile_seconds(trainer)
        self.making += lanes.making_seconds(trainer)

    def close(self) -> None:
        """Accounts for every program still held or made while planning (waits for none compiling ahead)."""
        for trainer in [*self._trainers.values(), *self._made.values()]:
            self._retire(trainer)
        self._trainers.clear()
        self._made.clear()
