"""A probe directory: the same atomic, locked, checksummed storage as a sweep, one Parquet file per part.

    DIR/probe.json            config, status, and every finished part (file, rows, sha256)
    DIR/parts/<part>.parquet  one measured table (one grid cell of one probe)

A part is written atomically and recorded only once its file is complete;
rerunning the same probe skips the parts already stored (resume), and
recomputes a part whose file is missing or changed.
"""

from __future__ import annotations

import json
import pathlib
import re

import pandas as pd

from rlab import limits
from rlab.errors import UsageError
from rlab.store import files
from rlab.store.directory import RunDirectory

MANIFEST = "probe.json"


def is_probe(directory) -> bool:
    return (pathlib.Path(directory) / MANIFEST).is_file()


def part_file(part: str) -> str:
    """The file name of a part id (letters, digits and . _ = , - kept; anything else becomes _)."""
    return "parts/" + re.sub(r"[^A-Za-z0-9._=,-]", "_", part) + ".parquet"


class ProbeStore(RunDirectory):
    """An open probe directory (holds its writer lock until `finish` or `release`)."""

    KIND = "probe"
    MANIFEST = MANIFEST

    @classmethod
    def open(cls, directory, config: dict) -> "ProbeStore":
        """Creates DIR for `config`, or reopens it to resume the same probe.

        Raises:
          UsageError: DIR is a file, holds a sweep or another probe's config, or is a non-empty other directory.
        """
        directory, lock = cls.claim(directory)
        try:
            if cls.has_manifest(directory):
                manifest = read_manifest(directory)
                if manifest["config"] != config:
                    raise UsageError(
                        f"{directory} holds a different probe (its config: {json.dumps(manifest['config'], sort_keys=True)}); "
                        "choose another --out"
                    )
                manifest["status"] = "running"
            else:
                manifest = {"kind": "probe", "config": config, "status": "running", "parts": {},
                            "versions": files.versions(), "started_at": files.now()}
            store = cls(directory, manifest, lock=lock)
            store.save()
            return store
        except BaseException:
            lock.release()
            raise

    def has(self, part: str) -> bool:
        """Whether `part` is stored and its file is intact."""
        entry = self.manifest["parts"].get(part)
        return bool(entry) and part_problem(self.directory, entry) is None

    def write(self, part: str, probe: str, frame: pd.DataFrame, info: dict) -> None:
        """Stores one part's table atomically, then records it (file, rows, checksum, `info`)."""
        relative = part_file(part)
        path = self.directory / relative
        files.atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
        self.manifest["parts"][part] = {
            "probe": probe, "file": relative, "rows": len(frame),
            "sha256": files.sha256(path), **info,
        }
        self.save()


def part_problem(directory, entry: dict) -> str | None:
    """Why a stored part cannot be trusted (path outside DIR, missing, changed), or None."""
    # A part records one checksum (a string), a sweep's chunk one per file: every part has one.
    return files.entry_problem(directory, {"file": entry.get("file"), "sha256": {"file": entry.get("sha256", "")}},
                               ("file",), "probe")


class ProbeManifest(dict):
    """A probe directory's manifest (a JSON table) with typed properties for what the lab reads."""

    @property
    def status(self) -> str:
        return self["status"]

    @property
    def config(self) -> dict:
        """What was measured: the task, its parameters, the probes and their settings."""
        return self["config"]

    @property
    def task(self) -> str:
        return self["config"]["task"]

    @property
    def parts(self) -> dict[str, dict]:
        """Part id -> its entry (probe, file, rows, checksum, seconds, settings)."""
        return self["parts"]


def read_manifest(directory) -> ProbeManifest:
    path = pathlib.Path(directory) / MANIFEST
    if not path.exists():
        raise UsageError(f"{directory} holds no {MANIFEST}: not a probe directory")
    try:
        manifest = json.loads(files.read_bounded_text(path, limits.MAX_RECORD_BYTES, "manifest"))
    except FileNotFoundError:
        raise UsageError(f"{directory} holds no {MANIFEST}: not a probe directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"{path} is damaged ({err}); rerun the probe into a new directory") from None
    if not (isinstance(manifest, dict) and manifest.get("kind") == "probe" and isinstance(manifest.get("parts"), dict)
            and isinstance(manifest.get("config"), dict) and isinstance(manifest.get("status"), str)):
        raise UsageError(f"{path} is not a probe manifest")
    return ProbeManifest(manifest)


def load(directory) -> dict[str, pd.DataFrame]:
    """Every intact part, concatenated per probe: probe name -> DataFrame (each row tagged with its part's info)."""
    directory = pathlib.Path(directory)
    manifest = read_manifest(directory)
    tables: dict[str, list[pd.DataFrame]] = {}
    for part, entry in sorted(manifest["parts"].items()):
        if part_problem(directory, entry) is not None:
            continue
        frame = pd.read_parquet(directory / entry["file"])
        for key, value in entry.items():
            if key not in ("probe", "file", "rows", "sha256") and key not in frame:
                frame[key] = value if not isinstance(value, (list, dict)) else json.dumps(value)
        tables.setdefault(entry["probe"], []).append(frame.assign(part=part))
    return {probe: pd.concat(frames, ignore_index=True) for probe, frames in tables.items()}
