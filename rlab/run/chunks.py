"""The worker's piece of a sweep: one chunk trained with the lane runner and made ready to store.

What every executor calls, whoever computes the chunk (this process, a Ray
worker): `make_trainer` for the chunk's program, then `compute_chunk` with
the `Chunk` itself and its group's lane width from the run plan. The
store's single writer records the result (`SweepStore.write_chunk`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.run import lanes
from rlab.store.policy_codec import policy_arrays


def make_trainer(spec: spec_lib.Spec, group: spec_lib.Group):
    """The trainer of a group's program (its algorithm, hyperparameters and environment)."""
    return rlab.trainers.make(group.algo, envs.make(spec.env, **group.env_params), **group.hparams)


def run_chunk(trainer, group: spec_lib.Group, chunk: spec_lib.Chunk, width: int, num_evals: int, devices, on_eval=None):
    """Trains one chunk with the lane runner: (metrics name -> [lanes, evals] numpy, final states [lanes]).

    `trainer` may have been built for another group of the same program
    (`rlab.run.plan.program_key`): the group's traced environment constants
    are passed as lane values, so it trains exactly this group.
    """
    overrides = {
        name: np.array([group.float_combos[f][name] for _, f in chunk.lanes], np.float32)
        for name in group.float_combos[0]
    }
    overrides.update(traced_env_values(trainer, group))
    seeds = [seed for seed, _ in chunk.lanes]
    run = lanes.run_lanes(trainer, seeds, overrides, num_evals, width, devices, on_eval)
    return run.metrics, run.final_state


def compute_chunk(trainer, chunk: spec_lib.Chunk, width: int, num_evals: int, devices,
                  on_eval=None) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """One chunk trained and made ready to store: (tidy rows, final policy arrays, manifest entry info)."""
    group = chunk.group
    started, compiled_before = time.perf_counter(), lanes.compile_seconds(trainer)
    metrics, final = run_chunk(trainer, group, chunk, width, num_evals, devices, on_eval=on_eval)
    frame = chunk_frame(group, chunk, metrics)
    info = {"group": group.id, "seeds": list(chunk.seeds), "lanes": len(chunk.lanes),
            "seconds": round(time.perf_counter() - started, 3),
            "compile_seconds": round(lanes.compile_seconds(trainer) - compiled_before, 3),
            "diverged_lanes": int(frame.groupby(["seed", "hp_index"])["diverged"].first().sum())}
    return frame, policy_arrays(trainer, final, chunk.lanes), info


def traced_env_values(trainer, group: spec_lib.Group) -> dict[str, float]:
    """The group's values of the trainer's traced environment constants, as hyperparameter overrides.

    A constant the spec does not set takes its declared default (not the
    value of the group the shared trainer was built for).
    """
    prefix = rlab.trainers.ENV_PREFIX
    declared = {p.name: p.default for p in getattr(trainer.env, "PARAMS", ())}
    return {name: group.env_params.get(name[len(prefix):], declared.get(name[len(prefix):], value))
            for name, value in trainer.defaults.items() if name.startswith(prefix)}


def chunk_frame(group: spec_lib.Group, chunk: spec_lib.Chunk, metrics: dict[str, np.ndarray]) -> pd.DataFrame:
    """Tidy rows of a chunk, with divergence flags: one row per (lane, evaluation)."""
    num_lanes, num_evals = metrics["env_steps"].shape
    finite = np.ones((num_lanes, num_evals), bool)
    for values in metrics.values():
        finite &= np.isfinite(values)
    diverged = ~finite.all(axis=1)
    diverged_eval = np.where(diverged, np.argmin(finite, axis=1), -1)
    columns: dict[str, Any] = {
        "group": group.id,
        "algo": group.algo,
        "seed": np.repeat([seed for seed, _ in chunk.lanes], num_evals),
        "hp_index": np.repeat([f for _, f in chunk.lanes], num_evals),
        "eval": np.tile(np.arange(num_evals), num_lanes),
    }
    for name, value in group.env_axes.items():
        columns[f"env.{name}"] = value
    for name, value in group.static_axes.items():
        columns[f"hp.{name}"] = value
    for name in group.float_combos[0]:
        columns[f"hp.{name}"] = np.repeat([group.float_combos[f][name] for _, f in chunk.lanes], num_evals)
    for name, values in metrics.items():
        columns[name] = values.reshape(-1)
    columns["diverged"] = np.repeat(diverged, num_evals)
    columns["diverged_eval"] = np.repeat(diverged_eval, num_evals)
    return pd.DataFrame(columns)
