"""The stored policies of a sweep: pick seeds by their results and act with their final parameters.

    picks = policies.pick(directory, ["best", "median", "worst"])
    policy = policies.load(directory, picks[0])
    action = policy.act(obs)          # obs [obs_size] -> the deterministic action evaluation runs

A sweep stores every seed's final policy (`Trainer.policy_params`, in
DIR/params/*.npz, see `rlab.store.policy_codec`); this module rebuilds the
environment and trainer of the seed's group from DIR/spec.toml and acts with
those parameters through the trainer's pure `act`.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import tomllib
from typing import Any, Callable

import jax
import numpy as np
import pandas as pd

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.errors import UsageError
from rlab.store import policy_codec
from rlab.store import sweeps

RANKS = ("best", "median", "worst")


@dataclasses.dataclass(frozen=True)
class Pick:
    """One stored seed: its group, float-hyperparameter combination, seed, and why it was picked."""

    group: str
    hp_index: int
    seed: int
    label: str
    final_return: float

    @property
    def name(self) -> str:
        hp = f"_hp{self.hp_index}" if self.hp_index else ""
        return f"{self.group}{hp}_seed{self.seed}"


@dataclasses.dataclass(frozen=True)
class StoredPolicy:
    """A seed's final policy with what it acts in.

    Attributes:
      env: the environment of the seed's group (built from the stored spec).
      trainer: the trainer of the group.
      act: `obs [obs_size] -> action` (float32 `[action_size]`, or an int32
        scalar), the deterministic policy evaluation runs; jitted.
    """

    pick: Pick
    env: Any
    trainer: Any
    act: Callable


def final_results(directory) -> pd.DataFrame:
    """One row per stored (group, hp_index, seed): its last evaluation's return, success and divergence."""
    frame = sweeps.load(directory)
    if frame.empty:
        raise UsageError(f"{directory} holds no completed chunks yet; wait for `rlab status {directory}` to show one")
    last = frame.sort_values("eval").groupby(["group", "hp_index", "seed"], as_index=False).last()
    return last[["group", "hp_index", "seed", "eval_return", "eval_success", "diverged"]]


def pick(directory, seeds: list[str], group: str | None = None, hp_index: int | None = None) -> list[Pick]:
    """Resolves seed choices ("best", "median", "worst" by final evaluation return, or a seed number).

    Args:
      group: a group id such as "g000"; required when the sweep has more than
        one group (the message lists them).
      hp_index: a float-hyperparameter combination; default: all of the
        group's for ranks, 0 for a seed number.

    Raises:
      UsageError: unknown group or seed, naming what is stored.
    """
    table = final_results(directory)
    groups = sorted(table["group"].unique())
    if group is None:
        if len(groups) > 1:
            described = read_groups(directory)
            listing = "; ".join(f"{g} ({_describe(described.get(g, {}))})" for g in groups)
            raise UsageError(f"this sweep has {len(groups)} groups; choose one with --group: {listing}")
        group = groups[0]
    if group not in groups:
        raise UsageError(f"group {group!r} has no stored seeds; allowed: {', '.join(groups)}")
    rows = table[table["group"] == group]
    if hp_index is not None:
        rows = rows[rows["hp_index"] == hp_index]
        if rows.empty:
            raise UsageError(f"group {group} has no hp_index {hp_index}; stored: {sorted(table['hp_index'].unique())}")
    picks = []
    for choice in seeds:
        if choice in RANKS:
            picks.append(_ranked(rows, choice, group))
            continue
        try:
            number = int(choice)
        except ValueError:
            raise UsageError(f"--seed {choice!r}: allowed: a seed number or one of {', '.join(RANKS)}") from None
        match = rows[(rows["seed"] == number) & (rows["hp_index"] == (hp_index or 0))]
        if match.empty:
            stored = sorted(rows["seed"].unique())
            raise UsageError(f"seed {number} is not stored for group {group}; stored seeds: {_span(stored)}")
        row = match.iloc[0]
        picks.append(Pick(group, int(row.hp_index), number, f"seed {number}", float(row.eval_return)))
    return picks


def _ranked(rows: pd.DataFrame, rank: str, group: str) -> Pick:
    finite = rows[~rows["diverged"] & np.isfinite(rows["eval_return"])]
    if finite.empty:
        raise UsageError(f"every seed of group {group} diverged; pick one by number")
    ordered = finite.sort_values(["eval_return", "seed"], ascending=[False, True], kind="stable")
    position = {"best": 0, "median": (len(ordered) - 1) // 2, "worst": len(ordered) - 1}[rank]
    row = ordered.iloc[position]
    return Pick(group, int(row.hp_index), int(row.seed), rank, float(row.eval_return))


def _span(values) -> str:
    values = list(values)
    return f"{values[0]}..{values[-1]} ({len(values)})" if len(values) > 3 else ", ".join(map(str, values))


def _describe(group: dict) -> str:
    parts = [group.get("algo", "?")]
    parts += [f"{k}={v}" for k, v in {**group.get("env_axes", {}), **group.get("static_axes", {})}.items()]
    return " ".join(parts)


def read_groups(directory) -> dict[str, dict]:
    """The manifest's description of every group (algorithm and axis values)."""
    return sweeps.read_manifest(directory)["groups"]


class StoredGroup:
    """One group of a sweep rebuilt from its stored spec: its environment, trainer and a
    compiled policy that any of its seeds' stored parameters can be plugged into."""

    def __init__(self, directory, group_id: str):
        self.directory = pathlib.Path(directory)
        text = sweeps.stored_spec_text(self.directory)
        spec = spec_lib.parse(tomllib.loads(text), text, str(self.directory / "spec.toml"),
                              default_name=self.directory.name)
        matches = [g for g in spec.groups() if g.id == group_id]
        if not matches:
            raise UsageError(f"group {group_id!r} is not in {self.directory / 'spec.toml'}")
        self.group = matches[0]
        self.env = envs.make(spec.env, **self.group.env_params)
        self.trainer = rlab.trainers.make(self.group.algo, self.env, **self.group.hparams)
        self._template = policy_codec.policy_template(self.trainer)
        self._act = jax.jit(self.trainer.act)

    def policy(self, chosen: Pick) -> StoredPolicy:
        arrays, lane = _stored_lane(self.directory, chosen)
        params = policy_codec.restore_policy_params(self._template, arrays, lane)
        return StoredPolicy(chosen, self.env, self.trainer, functools.partial(self._act, params))


def load(directory, chosen: Pick) -> StoredPolicy:
    """Rebuilds the environment, the trainer and the final policy of one stored seed."""
    return StoredGroup(directory, chosen.group).policy(chosen)


def _stored_lane(directory: pathlib.Path, chosen: Pick) -> tuple[dict[str, np.ndarray], int]:
    for chunk_id, entry in sweeps.read_manifest(directory)["chunks"].items():
        if entry["group"] != chosen.group or chosen.seed not in entry["seeds"]:
            continue
        arrays = sweeps.load_params(directory, chunk_id)
        lanes = np.flatnonzero((arrays["seed"] == chosen.seed) & (arrays["hp_index"] == chosen.hp_index))
        if lanes.size:
            return arrays, int(lanes[0])
    raise UsageError(f"no stored parameters for {chosen.name} in {directory}")
