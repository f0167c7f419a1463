"""Train many seeds of one trainer at once, in memory (the lane runner over seeds, a loop over evaluations).

    curves = rlab.train(trainer, seeds=range(64), num_evals=20)
    curves.metrics["eval_success"]        # numpy [seed, eval]
    curves.to_frame()                     # tidy pandas DataFrame

This is the simple in-memory path; the sweep runner (`rlab.run.sweep`) adds
chunking, persistence and resumption around the same lane runner
(`rlab.run.lanes`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

import jax
import numpy as np

from rlab.console import Progress
from rlab.run import lanes, widths
from rlab.spec import ALLOWED_LANE_WIDTHS, is_lane_width
from rlab.trainers.base import Trainer


@dataclasses.dataclass
class Curves:
    """Learning curves of many seeds.

    Attributes:
      seeds: int64 `[S]`.
      metrics: name -> `[S, E]` array (E evaluations, in order).
      final_state: the trainers' states after the last evaluation, batched over seeds.
    """

    seeds: np.ndarray
    metrics: dict[str, np.ndarray]
    final_state: Any

    def to_frame(self):
        """Tidy long form: one row per (seed, evaluation), one column per metric."""
        import pandas as pd

        num_seeds, num_evals = next(iter(self.metrics.values())).shape
        columns = {
            "seed": np.repeat(self.seeds, num_evals),
            "eval": np.tile(np.arange(num_evals), num_seeds),
        }
        columns.update({name: values.reshape(-1) for name, values in self.metrics.items()})
        return pd.DataFrame(columns)


def train(
    trainer: Trainer,
    seeds: Iterable[int],
    num_evals: int,
    hparams: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    lane_width: int | str | None = None,
) -> Curves:
    """Trains every seed for `num_evals` trainer steps with the lane runner (`rlab.run.lanes`).

    Args:
      trainer: from `rlab.trainers.make`.
      seeds: integer seeds.
      num_evals: trainer steps (each one training interval and an evaluation).
      hparams: float-hyperparameter overrides: scalars, or arrays `[S]` giving
        each seed its own value (a hyperparameter x seed grid in one program).
      progress: show a progress bar (default: when stderr is a terminal).
      lane_width: seeds per compiled program, W. Default: the seeds split
        evenly over the local devices, one program per device (at most 8
        seeds a program with several CPU devices), narrower only if that
        would not fit in half the available memory
        (`rlab.run.widths.fitting_width`). "measure": the fastest width measured
        on this device (`rlab.run.widths.measure_width`, a search of at most a
        quarter of the run's time). A seed's results are bitwise the same
        whatever other seeds run, for the same W.

    Returns:
      Curves with metrics `[S, num_evals]`.
    """
    seeds = np.asarray(list(seeds), dtype=np.int64)
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError("seeds: give at least one integer seed")
    if num_evals < 1:
        raise ValueError(f"num_evals = {num_evals}; allowed: an integer >= 1")
    if not is_lane_width(lane_width):
        raise ValueError(f"lane_width = {lane_width!r}; allowed: None (the rule), {ALLOWED_LANE_WIDTHS}")
    if lane_width == widths.MEASURE:
        run_env_steps = seeds.size * num_evals * trainer.env_steps_per_eval
        lane_width = widths.measure_width(trainer, max_width=seeds.size, run_env_steps=run_env_steps).width
    elif lane_width is None:
        budget = widths.available_memory_bytes() // 2
        lane_width = widths.fitting_width(trainer, seeds.size, jax.local_devices(), budget).width
    live = None if progress is None else progress
    with Progress(quiet=progress is False, live=live).start(num_evals, f"{trainer.algo} x {seeds.size} seeds") as bar:
        run = lanes.run_lanes(trainer, seeds, hparams, num_evals, lane_width, on_eval=bar.advance)
    return Curves(seeds=seeds, metrics=run.metrics, final_state=run.final_state)


# Re-exported: the lane runner owns compilation and keys.
compiled = lanes.compiled
seed_keys = lanes.seed_keys
