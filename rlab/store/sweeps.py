"""The results store: a sweep directory that keeps every seed and loses nothing.

    DIR/spec.toml             the spec as given
    DIR/manifest.json         spec hash, versions, backend and devices, git revision,
                              start/end times, chunk size, and per-chunk status
                              (in a multi-process sweep, one manifest.pI.json per
                              process I, each listing the chunks it wrote)
    DIR/chunks/ID.parquet     tidy long form: one row per (cell, seed, evaluation)
    DIR/params/ID.npz         final policy parameters of every seed of the chunk
    DIR/chunks/ID.json        the chunk's manifest entry, its group and the sweep's
                              identity: enough to rebuild a lost manifest

Every file is written to a temporary name and renamed into place, and a chunk
is listed in the manifest only after both its files are in place: a chunk is
either complete or absent, whatever happens to the process.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import pathlib
from typing import Any

import numpy as np
import pandas as pd

from rlab import limits
from rlab.errors import UsageError
from rlab.store import files
from rlab.store.directory import RunDirectory, run_state
from rlab.store import lock as lock_lib
from rlab.store.lock import ChunkClaim, WriterLock
from rlab.store.manifest import (  # noqa: F401 (the store's readers, also read as sweeps.NAME)
    MANIFEST, Manifest, coverage, integer_within, lane_width_entry, manifest_name, missing_manifests, newest_entries,
    process_manifests, read_manifest, read_manifest_file, supersedes, unlisted_chunks,
)

def recorded_num_seeds(directory, spec_hash: str) -> int | None:
    """The most seeds any manifest of `directory` records for the sweep `spec_hash` (its target), or None.

    None for a new directory, an unreadable one or another sweep's: `SweepStore.open` says what is wrong.
    """
    counts = []
    for path in sorted(pathlib.Path(directory).glob("manifest*.json")):
        try:
            manifest = read_manifest_file(path)
        except UsageError:
            return None
        if manifest.spec_hash != spec_hash:
            return None
        counts.append(manifest.num_seeds)
    return max(counts, default=None)


def resolve_chunk_size(directory, spec, given: int | None = None) -> int | None:
    """The chunk size a sweep into `directory` uses: `given`, else the spec's, else the one the directory recorded.

    None when none of them says (a new sweep without one: the runner sizes
    chunks to memory). `SweepStore.open` refuses a size that differs from
    the recorded one.
    """
    if given or spec.chunk_size:
        return given or spec.chunk_size
    for manifest in sorted(pathlib.Path(directory).glob("manifest*.json")):
        try:
            return read_manifest_file(manifest)["chunk_size"]
        except UsageError:
            return None  # `open` says what is wrong with it
    return None


class SweepStore(RunDirectory):
    """One sweep directory, opened for writing by the runner (by one process of possibly several)."""

    KIND = "sweep"
    MANIFEST = MANIFEST

    def __init__(self, directory: pathlib.Path, manifest: dict, name: str = MANIFEST, lock=None):
        super().__init__(directory, manifest, name, lock)
        directory = self.directory
        self._claims: dict[str, ChunkClaim] = {}
        self.damaged: dict[str, str] = {}
        self.refresh()
        # Chunks whose files are missing or changed: recomputed by a resume, never merged with.
        self.damaged = verify(directory, self.manifest["chunks"])

    def refresh(self) -> None:
        """Reads again what the other processes of the sweep have stored (at open, and before claiming a chunk).

        A chunk has one current entry in the whole sweep, the newest
        (`supersedes`): when another process stored a chunk again with more
        seeds (it extended or took over the chunk), this process's older
        entry of it is dropped from its manifest, never merged with.
        """
        mine = self.manifest.get("process")
        self.others_manifests = [m for m in process_manifests(self.directory) if m.get("process") != mine]
        theirs = newest_entries(self.others_manifests)
        stale = [k for k, entry in theirs.items() if k in self.manifest["chunks"]
                 and supersedes(entry, self.manifest["chunks"][k])]
        for chunk_id in stale:
            del self.manifest["chunks"][chunk_id]
            self.damaged.pop(chunk_id, None)
        if stale:
            self.save()
        self.others_chunks = {k: v for k, v in theirs.items() if k not in self.manifest["chunks"]
                              or supersedes(v, self.manifest["chunks"][k])}

    def entry(self, chunk_id: str) -> dict | None:
        """The chunk's current entry in the sweep (this process's or another's), or None if it is not stored."""
        return self.others_chunks.get(chunk_id) or self.manifest["chunks"].get(chunk_id)

    @property
    def shared(self) -> bool:
        """Whether several processes write this sweep (each its own manifest)."""
        return (self.manifest.get("process") or {}).get("count", 1) > 1

    def claim_chunk(self, chunk) -> bool:
        """Claims a chunk (`id`, `seeds`) for this process: False if it is stored or another live process holds it.

        Alone in a sweep a process needs no claims (its writer lock suffices).
        Sharing it, the claim (`ChunkClaim`) is held until the chunk is
        written (`write_chunk`) or `release_claims`; a claim of a process that
        died is free again.
        """
        if not self.shared:
            return bool(self.pending([chunk]))
        claim = ChunkClaim.try_take(self.directory, chunk.id)
        if claim is None:
            return False
        self.refresh()  # stored by another process since this one last looked?
        if not self.pending([chunk]):
            claim.release()
            return False
        self._claims[chunk.id] = claim
        return True

    @contextlib.contextmanager
    def planning(self):
        """Held while this process plans: processes sharing the sweep plan one at a time, each seeing the last's.

        Inside, the other processes' manifests are read again, so lane widths
        another process recorded while planning are found (`lane_width`).
        """
        with WriterLock.opening(self.directory):
            self.refresh()
            yield

    @property
    def backend(self) -> dict:
        """The backend and devices this process's manifest records."""
        return self.manifest["backend"]

    def chunks_stored(self) -> int:
        """Chunks of the sweep stored by any of its processes (each counted once)."""
        return len(set(self.manifest["chunks"]) | set(self.others_chunks))

    def process_finished(self, index: int, count: int) -> bool:
        """Whether the manifest of process `index` of `count` records it as complete."""
        path = self.directory / manifest_name(index, count)
        try:
            return path.exists() and read_manifest_file(path)["status"] == "complete"
        except UsageError:
            return False

    def finish(self, finished_by: str | None = None) -> None:
        """Marks this process's part complete (`finished_by`: which process closed it for a dead one)."""
        if finished_by is not None:
            self.manifest["finished_by"] = finished_by
        super().finish()

    def release_claims(self) -> None:
        for claim in self._claims.values():
            claim.release()
        self._claims.clear()

    def release(self) -> None:
        self.release_claims()
        super().release()

    @classmethod
    def open(cls, directory, spec, chunk_size: int, backend: dict, process=(0, 1)) -> "SweepStore":
        """Creates the directory for `spec`, or reopens it to resume or extend the same sweep.

        Raises:
          UsageError: if the directory holds a different sweep (another spec
            or chunk size), or exists and is not a sweep directory.
        """
        if process[1] > 1:
            lock_lib.claim_lease_seconds()  # a bad lease setting is refused before anything is claimed
        directory, lock = cls.claim(directory, process[0])
        try:
            with WriterLock.opening(directory):
                return cls._open_locked(directory, spec, chunk_size, backend, process, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def has_manifest(cls, directory: pathlib.Path) -> bool:
        return any(directory.glob("manifest*.json"))

    @classmethod
    def _open_locked(cls, directory, spec, chunk_size, backend, process, lock) -> "SweepStore":
        name = manifest_name(*process)
        manifest_path = directory / name
        others = [p for p in directory.glob("manifest*.json") if p.name != name]
        for other in others:
            theirs = read_manifest_file(other)
            if theirs["spec_hash"] != spec.identity_hash() or theirs["chunk_size"] != chunk_size:
                raise UsageError(
                    f"{directory} holds a different sweep ({other.name}: spec hash {theirs['spec_hash']}, "
                    f"chunk size {theirs['chunk_size']}); choose another --out"
                )
            their_process = theirs.get("process") or {}
            their_index = their_process.get("index", 0)
            # The lock of their index is held by this process itself when the indexes agree (taken above).
            if (their_process.get("count", 1) != process[1] and their_index != process[0]
                    and WriterLock.held(directory, their_index)):
                raise UsageError(
                    f"{directory} is being written by process {their_process.get('index', 0)} of "
                    f"{their_process.get('count', 1)} ({other.name}); processes sharing a sweep must agree on "
                    f"their count: run this one as --process I/{their_process.get('count', 1)}, or wait for it"
                )
        new = not manifest_path.exists()
        if not new:
            manifest = read_manifest_file(manifest_path)
            if manifest["spec_hash"] != spec.identity_hash():
                raise UsageError(
                    f"{directory} holds a different sweep (spec hash {manifest['spec_hash']}, this spec "
                    f"{spec.identity_hash()}); choose another --out, or rerun the spec stored in "
                    f"{directory / 'spec.toml'}"
                )
            if manifest["chunk_size"] != chunk_size:
                raise UsageError(
                    f"{directory} was run with chunk size {manifest['chunk_size']}; its chunk files are cut by it, "
                    f"so it cannot continue with chunk size {chunk_size} (omit --chunk-size to reuse it)"
                )
            # Temporaries of a writer that was killed mid-write are not results. With
            # several processes they may be another live writer's: left alone then.
            if process[1] == 1:
                for stale in directory.rglob(".*.tmp"):
                    stale.unlink(missing_ok=True)
            manifest["num_seeds"] = max(manifest["num_seeds"], spec.num_seeds)
            manifest["status"] = "running"
            manifest["resumed_at"] = manifest.get("resumed_at", []) + [files.now()]
        else:
            manifest = Manifest({
                "name": spec.name,
                "spec_hash": spec.identity_hash(),
                "spec": spec.identity(),
                "num_seeds": spec.num_seeds,
                "chunk_size": chunk_size,
                "versions": files.versions(),
                "backend": backend,
                "git_revision": files.git_revision(),
                "started_at": files.now(),
                "finished_at": None,
                "process": {"index": process[0], "count": process[1]},
                "status": "running",
                "groups": {},
                "chunks": {},
                "spec_text_sha256": hashlib.sha256(spec.text.encode()).hexdigest(),
            })
        store = cls(directory, manifest, name, lock)
        # The manifest first: another process of the sweep, starting now, must find a
        # manifest beside any file it sees, or it would take the directory for a stranger's.
        store.save()
        if new:
            files.write_text(directory / "spec.toml", spec.text)
        return store

    def describe_group(self, group_id: str, description: dict) -> None:
        self.manifest["groups"][group_id] = description

    def stored_seeds(self, chunk_id: str) -> set[int]:
        """Seeds of a chunk already stored by this or any other process of the sweep."""
        entry = self.entry(chunk_id)
        if not entry or chunk_id in self.damaged or chunk_problem(self.directory, entry):
            return set()
        return set(entry["seeds"])

    def pending(self, chunks) -> list:
        """The chunks (anything with `id` and `seeds`) that still have seeds to compute."""
        return [chunk for chunk in chunks if not set(chunk.seeds) <= self.stored_seeds(chunk.id)]

    def plan(self, chunk_ids) -> None:
        """Records how many chunks the sweep will have once the planned ones are written."""
        new = {c for c in chunk_ids if c not in self.manifest["chunks"]}
        self.manifest["chunks_planned"] = len(self.manifest["chunks"]) + len(new)
        self.save()

    def lane_width(self, group_id: str) -> dict | None:
        """The lane width recorded for a group by this or another process of the sweep, or None."""
        for manifest in [self.manifest, *self.others_manifests]:
            entry = manifest.get("lane_widths", {}).get(group_id)
            if entry is not None:
                return entry
        return None

    def record_lane_width(self, group_id: str, entry: dict) -> None:
        """Records a group's lane width (`lane_width`, how it was chosen, timings) before its first chunk runs."""
        self.manifest.setdefault("lane_widths", {})[group_id] = entry
        self.save()

    def record_timing(self, chunks: int, wall_seconds: float, compile_seconds: float,
                      making_seconds: float | None = None) -> dict:
        """Appends one run's timing to the manifest's `timing` list: its chunks, wall, compile and run seconds.

        Compile seconds are the time the run waited for programs (compiling,
        reading the compilation cache, copying to other devices); run seconds
        the rest of the wall time; making seconds all the time spent making
        programs in any thread (default: compile seconds), part of it in
        background threads beside running chunks, hidden from the wall time.
        A resumed or extended sweep adds an entry per run.
        """
        entry = {"chunks": chunks, "wall_seconds": round(wall_seconds, 3),
                 "compile_seconds": round(compile_seconds, 3),
                 "making_seconds": round(compile_seconds if making_seconds is None else making_seconds, 3),
                 "run_seconds": round(max(wall_seconds - compile_seconds, 0.0), 3), "at": files.now()}
        self.manifest.setdefault("timing", []).append(entry)
        self.save()
        return entry

    def _merge_stored(self, entry: dict, frame: pd.DataFrame, arrays: dict[str, np.ndarray]):
        """Merges a re-run chunk with its stored version (`entry`): stored seeds keep their stored rows.

        A chunk is re-run when seeds are added to its block; its old seeds are
        recomputed with the same program, and a difference means the machine or
        versions changed, which is reported rather than silently overwritten.
        The stored seeds are those in the stored file (which its checksum
        ties to `entry`), whichever process wrote it.
        """
        old_frame = pd.read_parquet(self.directory / entry["file"])
        old_seeds = set(old_frame["seed"].unique().tolist())
        again = frame[frame["seed"].isin(old_seeds)].reset_index(drop=True)
        if not again.equals(old_frame.reset_index(drop=True)):
            import warnings

            warnings.warn(
                f"{entry['file']}: recomputing its stored seeds gave different values (another machine, versions "
                "or lane width?); the stored values are kept",
                stacklevel=2,
            )
        merged_frame = pd.concat([old_frame, frame[~frame["seed"].isin(old_seeds)]], ignore_index=True)
        with np.load(self.directory / entry["params"]) as data:
            old_arrays = {k: data[k] for k in data.files}
        new_lanes = ~np.isin(arrays["seed"], list(old_seeds))
        merged_arrays = {k: np.concatenate([old_arrays[k], arrays[k][new_lanes]]) for k in arrays}
        return merged_frame, merged_arrays

    def write_chunk(self, chunk_id: str, frame: pd.DataFrame, params: dict[str, np.ndarray], info: dict) -> None:
        """Writes a chunk's rows and parameters, then records it as complete.

        A chunk already stored (seeds were added to its block) keeps its stored
        seeds' rows and parameters; only the new seeds are added.
        """
        if self.shared:
            with WriterLock.opening(self.directory):  # no claim is broken while this one is checked and written
                claim = self._claims.get(chunk_id)
                if claim is not None and not claim.is_current():
                    import warnings

                    warnings.warn(f"chunk {chunk_id}: this process's claim was taken over after its lease of "
                                  f"{lock_lib.claim_lease_seconds():.0f} s ran out (was the process stopped?); its "
                                  "result is left out, the other process's is kept", stacklevel=2)
                    self._claims.pop(chunk_id).release()
                    return
                self.refresh()  # the chunk's current entry may be another process's
                self._write_chunk(chunk_id, frame, params, info)
        else:
            self._write_chunk(chunk_id, frame, params, info)

    def _write_chunk(self, chunk_id: str, frame: pd.DataFrame, params: dict[str, np.ndarray], info: dict) -> None:
        stored = self.entry(chunk_id)
        if chunk_id in self.damaged:
            del self.manifest["chunks"][chunk_id]  # recomputed whole: nothing of it is trusted
            del self.damaged[chunk_id]
        elif stored is not None and not chunk_problem(self.directory, stored):
            frame, params = self._merge_stored(stored, frame, params)
        table_path = self.directory / "chunks" / f"{chunk_id}.parquet"
        params_path = self.directory / "params" / f"{chunk_id}.npz"
        files.atomic_write(table_path, lambda tmp: frame.to_parquet(tmp, index=False))
        files.atomic_write(params_path, lambda tmp: files.save_npz(tmp, params))
        entry = {
            **info,
            "seeds": sorted(set(frame["seed"].tolist())),
            "file": str(table_path.relative_to(self.directory)),
            "params": str(params_path.relative_to(self.directory)),
            "rows": len(frame),
            "sha256": {"file": files.sha256(table_path), "params": files.sha256(params_path)},
            "completed_at": files.now(),
        }
        group_id = info.get("group")
        sidecar = {
            "chunk_id": chunk_id, "entry": entry, "group_id": group_id,
            "group": self.manifest["groups"].get(group_id), "lane_width": self.lane_width(group_id),
            "sweep": {k: self.manifest.get(k) for k in _IDENTITY_FIELDS},
        }
        files.write_text(table_path.with_suffix(".json"), json.dumps(sidecar, indent=1, sort_keys=True, default=str))
        self.manifest["chunks"][chunk_id] = entry
        self.others_chunks.pop(chunk_id, None)
        self.save()
        claim = self._claims.pop(chunk_id, None)
        if claim is not None:
            claim.release()


# Manifest fields a chunk's sidecar repeats, so that a lost manifest can be rebuilt.
_IDENTITY_FIELDS = ("name", "spec_hash", "spec", "chunk_size", "num_seeds", "versions", "backend", "git_revision",
                    "started_at", "spec_text_sha256")


def _rebuild_identity(directory: pathlib.Path, hashes: list[str]) -> tuple[str | None, str]:
    """Which sweep a rebuilt manifest belongs to: (spec hash, where it came from).

    The sweep's own DIR/spec.toml when it parses, else the spec hash most
    intact sidecars carry: a chunk copied in from another sweep is then left
    out by name, never taken as the identity because its file sorts first.
    """
    from rlab import spec as spec_lib

    try:
        return spec_lib.load(directory / "spec.toml").identity_hash(), "from spec.toml"
    except (UsageError, OSError, ValueError):
        pass
    if not hashes:
        return None, "(no intact chunk)"
    counts = collections.Counter(hashes)
    return counts.most_common(1)[0][0], f"carried by {counts.most_common(1)[0][1]} of {len(hashes)} intact chunks"


def rebuild_manifest(directory) -> dict[str, Any]:
    """Writes DIR/manifest.json again from the intact chunks' sidecars (DIR/chunks/ID.json).

    For a sweep whose manifest was deleted or damaged: every chunk whose
    files still match their recorded checksums is listed again; a damaged or
    unlisted one is simply recomputed by the next `rlab sweep`. The result is
    a single-process manifest (process 0 of 1); other processes' manifests
    are left where they are.

    Returns:
      {"chunks": how many were recovered, "skipped": chunk id -> why not}.

    Raises:
      UsageError: a writer holds the directory, the manifest is intact, or
        no chunk sidecar is left to rebuild from.
    """
    directory = pathlib.Path(directory)
    manifest_path = directory / MANIFEST
    try:
        process_manifests(directory)
        intact = manifest_path.exists()
    except UsageError:
        intact = False
    if intact:
        raise UsageError(f"{manifest_path} is intact; nothing to rebuild (`rlab status DIR --verify` checks the chunks)")
    sidecars = sorted((directory / "chunks").glob("*.json")) if (directory / "chunks").is_dir() else []
    if not sidecars:
        raise UsageError(f"{directory} has no chunk sidecars (chunks/*.json) to rebuild a manifest from")
    lock = WriterLock.take(directory, 0)
    try:
        readable, skipped = [], {}
        for path in sidecars:
            try:
                sidecar = json.loads(files.read_bounded_text(path, limits.MAX_RECORD_BYTES, "chunk sidecar"))
                chunk_id, entry, sweep_hash = sidecar["chunk_id"], sidecar["entry"], sidecar["sweep"]["spec_hash"]
                if not (isinstance(chunk_id, str) and isinstance(entry, dict) and isinstance(sweep_hash, str)):
                    raise TypeError("chunk_id, entry or spec hash of the wrong type")
                if sidecar.get("lane_width") is not None and not lane_width_entry(sidecar["lane_width"]):
                    raise ValueError(f"lane width {sidecar['lane_width']!r:.60} out of bounds")
                if not integer_within(sidecar["sweep"].get("num_seeds") or 0, 0, limits.MAX_SEED + 1):
                    raise ValueError(f"num_seeds {sidecar['sweep'].get('num_seeds')!r:.60} out of bounds")
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                skipped[path.stem] = f"unreadable sidecar ({err})"
                continue
            problem = chunk_problem(directory, entry)
            if problem:
                skipped[chunk_id] = problem
            else:
                readable.append((chunk_id, entry, sidecar, sweep_hash))
        identity, source = _rebuild_identity(directory, [hash_ for *_, hash_ in readable])
        manifest = None
        for chunk_id, entry, sidecar, sweep_hash in readable:
            if sweep_hash != identity:
                skipped[chunk_id] = f"belongs to another sweep (spec hash {sweep_hash}, this sweep's {identity} {source})"
                continue
            if manifest is None:
                manifest = {**sidecar["sweep"], "num_seeds": 0, "finished_at": None, "status": "rebuilt",
                            "process": {"index": 0, "count": 1}, "groups": {}, "chunks": {}, "lane_widths": {}}
            manifest["chunks"][chunk_id] = entry
            manifest["num_seeds"] = max(manifest["num_seeds"], sidecar["sweep"].get("num_seeds") or 0)
            if sidecar.get("group") is not None:
                manifest["groups"][sidecar["group_id"]] = sidecar["group"]
            if sidecar.get("lane_width") is not None:
                manifest["lane_widths"][sidecar["group_id"]] = sidecar["lane_width"]
        if manifest is None:
            raise UsageError(f"{directory}: no intact chunk left to rebuild a manifest from ({len(skipped)} damaged)")
        files.write_text(manifest_path, json.dumps(manifest, indent=1, sort_keys=True, default=str))
    finally:
        lock.release()
    return {"chunks": len(manifest["chunks"]), "skipped": skipped}


def chunk_problem(directory, entry: dict) -> str | None:
    """Why a manifest's chunk entry cannot be trusted (path outside the sweep, missing, changed), or None."""
    return files.entry_problem(directory, entry, ("file", "params"), "sweep")


def verify(directory, chunks: dict | None = None, seeds: bool = False) -> dict[str, str]:
    """Every damaged chunk of a sweep: chunk id -> what is wrong (empty when all are intact).

    A chunk is damaged when a file is missing or differs from its checksum;
    with `seeds`, also when its files do not hold its entry's seeds exactly
    once each (every seed's lanes and evaluations, no seed twice, none
    missing), which checksums cannot see when the entry itself is wrong.
    """
    directory = pathlib.Path(directory)
    if chunks is None:
        chunks = read_manifest(directory)["chunks"]
    problems = {}
    for chunk_id, entry in chunks.items():
        problem = chunk_problem(directory, entry) or (seeds and seed_problem(directory, entry))
        if problem:
            problems[chunk_id] = problem
    return problems


def seed_problem(directory, entry: dict) -> str | None:
    """Whether an intact chunk's files hold its entry's seeds exactly once each (None), or what is wrong."""
    keys = pd.read_parquet(pathlib.Path(directory) / entry["file"], columns=["seed", "hp_index", "eval"])
    listed = sorted(entry["seeds"])
    if keys.duplicated().any():
        twice = sorted(set(keys.loc[keys.duplicated(), "seed"].tolist()))
        return f"rows stored twice for seed(s) {twice[:8]}"
    if sorted(set(keys["seed"].tolist())) != listed:
        return f"its rows hold seeds {sorted(set(keys['seed'].tolist()))[:8]}, its entry lists {listed[:8]}"
    lanes = keys.groupby("seed")["hp_index"].nunique()
    evals = keys.groupby(["seed", "hp_index"]).size()
    if lanes.nunique() > 1 or evals.nunique() > 1:
        return "its seeds do not all have the same lanes and evaluations"
    with np.load(pathlib.Path(directory) / entry["params"]) as data:
        param_seeds = data["seed"].tolist() if "seed" in data.files else None
    if param_seeds is not None and (len(param_seeds) != len(lanes) * int(lanes.iloc[0] if len(lanes) else 0)
                                    or sorted(set(param_seeds)) != listed):
        return f"its policy file holds {len(param_seeds)} lanes of seeds {sorted(set(param_seeds))[:8]}"
    return None


def stored_spec_text(directory) -> str:
    """DIR/spec.toml, refused if it changed since the sweep wrote it (its results came from the old one)."""
    directory = pathlib.Path(directory)
    path = directory / "spec.toml"
    try:
        text = path.read_text()
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None
    recorded = read_manifest(directory).get("spec_text_sha256")
    if recorded is not None and hashlib.sha256(text.encode()).hexdigest() != recorded:
        raise UsageError(f"{path} changed after the sweep ran; its results come from the spec it was run with. "
                         "Restore it (or run the edited spec into another --out)")
    return text


def load(directory) -> pd.DataFrame:
    """Every stored row of a sweep, also of one still running (its completed chunks).

    Returns:
      A tidy DataFrame: one row per (cell, seed, evaluation), with columns
      `group`, `algo`, `env.<axis>`, `hp.<axis>`, `seed`, `eval`, `env_steps`,
      every metric, `diverged` and `diverged_eval`. Sorted by group, seed, eval.
    """
    directory = pathlib.Path(directory)
    manifest = read_manifest(directory)
    damaged = verify(directory, manifest["chunks"])
    frames = [pd.read_parquet(directory / entry["file"]) for chunk_id, entry in manifest["chunks"].items()
              if chunk_id not in damaged]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(frame):
        sort = [c for c in ("group", "hp_index", "seed", "eval") if c in frame.columns]
        frame = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    # Damaged chunks are left out, never half-read; callers say so (see `rlab status --verify`).
    frame.attrs["damaged"] = damaged
    return frame


def load_params(directory, chunk_id: str) -> dict[str, np.ndarray]:
    """Final policy parameters of a chunk: arrays with a leading seed-lane axis, plus `seed`."""
    entry = read_manifest(directory)["chunks"][chunk_id]
    problem = chunk_problem(directory, entry)
    if problem:
        raise UsageError(f"chunk {chunk_id} is damaged: {problem}; rerun the sweep to recompute it")
    with np.load(pathlib.Path(directory) / entry["params"]) as data:
        return {k: data[k] for k in data.files}


def status(directory) -> dict[str, Any]:
    """A summary of a sweep directory: chunks done, seeds stored, times; its state says what is stored."""
    manifest = read_manifest(directory)
    chunks = manifest["chunks"]
    damaged = verify(directory, chunks)
    covered = coverage(manifest, damaged)
    state = run_state(directory, manifest["status"])
    if damaged and state == "complete":
        state = (f"incomplete: {len(damaged)} damaged chunk(s) left out (`--verify` says which); "
                 f"`rlab sweep {directory}/spec.toml --out {directory}` recomputes them")
    elif state == "interrupted":
        state = "interrupted (no writer holds it; rerun `rlab sweep` to resume)"
    elif state == "incomplete":
        state = (f"incomplete: {len(covered['pending'])} of {covered['chunks_expected']} chunks have seeds still to "
                 f"compute; `rlab sweep {directory}/spec.toml --out {directory}` computes them")
    lost = manifest.get("missing_manifests", [])
    if lost:
        state = (f"incomplete: {', '.join(lost)} missing, so the chunks those processes stored are not counted "
                 f"({len(unlisted_chunks(directory, chunks))} chunk file(s) listed in no manifest); rerun those "
                 "processes (`rlab sweep DIR/spec.toml --out DIR --process I/N`) to recompute them")
    return {
        "name": manifest["name"],
        "status": state,
        "chunks_damaged": len(damaged),
        "chunks_complete": covered["chunks_stored"],
        "chunks_planned": manifest.get("chunks_planned"),
        "seeds": manifest["num_seeds"],
        "seed_lanes": f"{covered['lanes_stored']} of {covered['lanes_expected']} stored",
        "groups": len(manifest["groups"]),
        "started_at": manifest["started_at"],
        "finished_at": manifest["finished_at"],
        "backend": manifest["backend"],
    }
