"""Train many seeds of one trainer at once: `jit(vmap(...))` over seeds, a Python loop over evaluations.

    curves = rlab.train(trainer, seeds=range(64), num_evals=20)
    curves.metrics["eval_success"]        # numpy [seed, eval]
    curves.to_frame()                     # tidy pandas DataFrame

This is the simple in-memory path; the sweep runner adds chunking, devices,
persistence and resumption on top of the same trainer programs.
"""

from __future__ import annotations

import dataclasses
import sys
import weakref
from typing import Any, Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from rlab.seeds import seed_key
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


def seed_keys(seeds: Iterable[int]) -> jax.Array:
    """Root keys `[S, 2]` of integer seeds."""
    return jax.vmap(seed_key)(jnp.asarray(list(seeds), jnp.uint32))


def train(
    trainer: Trainer,
    seeds: Iterable[int],
    num_evals: int,
    hparams: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> Curves:
    """Trains every seed for `num_evals` trainer steps in one compiled program.

    Args:
      trainer: from `rlab.trainers.make`.
      seeds: integer seeds; their number fixes the vmapped batch size, and a
        seed's results are bitwise the same whatever other seeds share the batch
        (at the same batch size).
      num_evals: trainer steps (each one training interval and an evaluation).
      hparams: float-hyperparameter overrides: scalars, or arrays `[S]` giving
        each seed its own value (a hyperparameter x seed grid in one program).
      progress: show a progress bar (default: when stderr is a terminal).

    Returns:
      Curves with metrics `[S, num_evals]`.
    """
    seeds = np.asarray(list(seeds), dtype=np.int64)
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError("seeds: give at least one integer seed")
    if num_evals < 1:
        raise ValueError(f"num_evals = {num_evals}; allowed: an integer >= 1")
    per_seed = {}
    for name, value in trainer.hparams(hparams).items():
        if value.ndim > 1 or (value.ndim == 1 and value.shape[0] != seeds.size):
            raise ValueError(
                f"hparams[{name!r}] has shape {value.shape}; allowed: a scalar or one value per seed ({seeds.size},)"
            )
        per_seed[name] = jnp.broadcast_to(value, (seeds.size,))
    init, step = compiled(trainer)
    state = init(seed_keys(seeds), per_seed)
    history: list[dict[str, np.ndarray]] = []
    show = sys.stderr.isatty() if progress is None else progress
    with _progress_bar(show, num_evals, f"{trainer.algo} x {seeds.size} seeds") as advance:
        for _ in range(num_evals):
            state, metrics = step(state)
            history.append({k: np.asarray(v) for k, v in metrics.items()})
            advance()
    stacked = {name: np.stack([h[name] for h in history], axis=1) for name in history[0]}
    return Curves(seeds=seeds, metrics=stacked, final_state=state)


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled(trainer: Trainer):
    """`(jit(vmap(init)), jit(vmap(step)))` of a trainer, made once per trainer object.

    Reusing the same jitted functions lets JAX's cache serve every later call
    with the same batch size without compiling again.
    """
    if trainer not in _COMPILED:
        _COMPILED[trainer] = (
            jax.jit(jax.vmap(trainer.init)),
            jax.jit(jax.vmap(trainer.step), donate_argnums=0),
        )
    return _COMPILED[trainer]


class _progress_bar:
    """A rich progress bar over evaluations, or nothing."""

    def __init__(self, show: bool, total: int, label: str):
        self.show, self.total, self.label = show, total, label

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
        )
        self.bar.__enter__()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.show:
            self.bar.__exit__(*exc)
        return False
