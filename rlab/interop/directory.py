"""An imported sweep directory: a table that follows the data contract, stored as rlab stores its own sweeps.

The same store (`rlab.store.SweepStore`: writer lock, atomic files,
checksums, manifest), one group and one chunk per configuration, and a
DIR/spec.toml that records where the data came from instead of an
experiment to run. `rlab report`, `rlab status --verify`, `rlab.store.load`
and every `rlab.stats` function read it as they read a sweep.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib

import numpy as np
import pandas as pd

from rlab.interop import contract
from rlab.store import SweepStore, files


@dataclasses.dataclass(frozen=True)
class ImportRecord:
    """What SweepStore needs of a spec, for data rlab did not train: where it came from."""

    name: str
    format: str
    source: str
    source_sha256: str
    options: dict
    num_seeds: int

    @property
    def text(self) -> str:
        # Written by a TOML writer: JSON's escapes are not all TOML's (a --map table, a name with a
        # character outside the Basic Multilingual Plane), and the file must read back as TOML.
        import tomli_w

        record = {"name": self.name, "imported": {"format": self.format, "source": self.source,
                                                  "sha256": self.source_sha256, "options": dict(sorted(
                                                      self.options.items()))}}
        return (f"# Results imported with `rlab import {self.format}`: rlab did not train them.\n"
                + tomli_w.dumps(record))

    def identity(self) -> dict:
        return {"imported": self.format, "source_sha256": self.source_sha256, "options": self.options}

    def identity_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]


def source_sha256(path: pathlib.Path) -> str:
    """Checksum of a file, or of every file under a directory (names and contents)."""
    path = pathlib.Path(path)
    if path.is_file():
        return files.sha256(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(files.sha256(item).encode())
    return digest.hexdigest()


def write(frame: pd.DataFrame, out_dir, record_format: str, source, options: dict, name: str | None = None) -> SweepStore:
    """Stores `frame` (already `contract.normalise`d) as a sweep directory at `out_dir`; returns its store.

    Refuses (UsageError) a directory that holds anything else, as `rlab sweep` does.
    """
    source = pathlib.Path(source)
    record = ImportRecord(name=name or source.stem or "imported", format=record_format, source=str(source),
                          source_sha256=source_sha256(source), options=options,
                          num_seeds=int(frame["seed"].nunique()))
    configs = contract.config_columns(frame)
    store = SweepStore.open(out_dir, record, chunk_size=max(1, record.num_seeds),
                            backend={"platform": "imported", "devices": []})
    try:
        for index, (values, rows) in enumerate(frame.groupby(configs, dropna=False, sort=True)):
            values = values if isinstance(values, tuple) else (values,)
            group_id = f"g{index:03d}"
            described = dict(zip(configs, values))
            store.describe_group(group_id, {
                "algo": str(described.pop("algo")),
                "env_params": {k[4:]: _plain(v) for k, v in described.items() if k.startswith("env.")},
                "hparams": {k[3:]: _plain(v) for k, v in described.items() if k.startswith("hp.")},
                "imported": record_format,
            })
            rows = _with_store_columns(rows, group_id)
            seeds = sorted(int(s) for s in rows["seed"].unique())
            store.write_chunk(f"{group_id}-c00000", rows, {"seed": np.array(seeds, np.int64)},
                              {"group": group_id, "seeds": seeds, "lanes": len(seeds), "imported": record_format})
        store.plan([])
        store.finish()
    finally:
        store.release()
    return store


def _with_store_columns(rows: pd.DataFrame, group_id: str) -> pd.DataFrame:
    """The group's rows with group, hp_index and the divergence flags (a run with a non-finite metric)."""
    rows = rows.copy()
    metrics = [c for c in rows.columns if c not in ("algo", "seed", "eval", "env_steps")
               and not c.startswith(("env.", "hp."))]
    finite = np.isfinite(rows[metrics].to_numpy(float)).all(axis=1) if metrics else np.ones(len(rows), bool)
    rows["finite"] = finite
    diverged = ~rows.groupby("seed")["finite"].transform("all")
    first_bad = rows.assign(bad_eval=np.where(finite, np.iinfo(np.int64).max, rows["eval"])) \
        .groupby("seed")["bad_eval"].transform("min")
    rows = rows.drop(columns="finite")
    rows.insert(0, "group", group_id)
    rows.insert(3, "hp_index", np.int64(0))
    rows["diverged"] = diverged.to_numpy(bool)
    rows["diverged_eval"] = np.where(diverged, first_bad, -1).astype(np.int64)
    return rows.reset_index(drop=True)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
