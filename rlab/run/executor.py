"""The executor contract: who computes a run plan's chunks, and what it reports back.

    executor(store, plan, progress) -> Executed

`rlab.run.sweep.run` opens the store, makes the plan (`rlab.run.plan`),
hands both to an executor and finishes the sweep with what it reports.
An executor computes chunks with `rlab.run.chunks` at the plan's widths
and writes each through the store (the sweep's one writer in this
process); it plans nothing itself. Two implement it: `rlab.run.local`
(this process) and `rlab.run.on_ray` (chunks as Ray tasks).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Protocol


@dataclasses.dataclass(frozen=True)
class Executed:
    """What an executor did.

    Attributes:
      chunks: chunks it computed and stored.
      waited_seconds: time the run waited for programs (compiling, reading the cache).
      making_seconds: time spent making programs in any thread (None: the waited time).
      failed: chunk id -> why it failed for good (left pending; a rerun computes it).
    """

    chunks: int
    waited_seconds: float
    making_seconds: float | None = None
    failed: Mapping[str, str] = dataclasses.field(default_factory=dict)


class Executor(Protocol):
    """Computes the plan's chunks (`plan.share`, and others' it may take over) into the open store."""

    def __call__(self, store, plan, progress) -> Executed: ...
