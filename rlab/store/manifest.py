"""A sweep's manifest: its fields checked when read, merged over processes, and what it says it holds.

    DIR/manifest.json      one process's record (DIR/manifest.pI.json when N processes share the sweep)

`read_manifest_file` checks one file field by field against the same bounds
a spec has (`rlab.limits`); `read_manifest` merges a sweep's files into one
`Manifest`, whose status and `coverage` are computed from what the chunk
entries hold, never taken on trust. The store owns the manifest: code
outside `rlab.store` reads it through `Manifest`'s typed properties.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from rlab import blocks, limits
from rlab.errors import UsageError
from rlab.store import files
from rlab.store.lock import WriterLock


class Manifest(dict):
    """A sweep's manifest (a JSON table, so still readable by key) with typed properties for what the lab reads.

    Made by `read_manifest_file` (one process's file, checked) and
    `read_manifest` (a sweep's files merged, with `coverage` and the status
    that coverage implies).
    """

    @property
    def name(self) -> str:
        return self["name"]

    @property
    def status(self) -> str:
        """"complete", "running", "incomplete" or "rebuilt" (`rlab.store.directory.run_state` tells a dead run)."""
        return self["status"]

    @property
    def spec_hash(self) -> str:
        return self["spec_hash"]

    @property
    def num_seeds(self) -> int:
        """The sweep's target seed count (the most any run asked for)."""
        return self["num_seeds"]

    @property
    def chunk_size(self) -> int:
        return self["chunk_size"]

    @property
    def backend(self) -> dict:
        return self["backend"]

    @property
    def groups(self) -> dict[str, dict]:
        """Group id -> its description (`rlab.spec.Group.describe`, or an import's configuration)."""
        return self["groups"]

    @property
    def chunks(self) -> dict[str, dict]:
        """Chunk id -> its current entry (file, params, seeds, checksums, timings)."""
        return self["chunks"]

    @property
    def coverage(self) -> dict[str, Any]:
        """What the sweep should hold against what it holds (`coverage`); only on a merged manifest."""
        return self["coverage"] if "coverage" in self else coverage(self)

    @property
    def missing_manifests(self) -> list[str]:
        """Process manifests lost while chunks they listed are listed nowhere (`missing_manifests`)."""
        return self.get("missing_manifests", [])

    @property
    def rows(self) -> int:
        """Stored rows over every chunk entry."""
        return sum(entry.get("rows", 0) for entry in self["chunks"].values())

    @property
    def defines_success(self) -> bool:
        """False when the sweep's task defines no success (every group says so), else True."""
        described = [g.get("has_success") for g in self["groups"].values()]
        return not (described and all(value is False for value in described))

    @property
    def environment(self) -> dict:
        """The task every group shares: {"env": id, **its fixed parameters} from the spec ({} for imports)."""
        spec = self.get("spec") or {}
        if not isinstance(spec.get("env"), str):
            return {}
        return {"env": spec["env"], **(spec.get("env_params") or {})}

    def lane_width(self, group_id: str) -> dict | None:
        """The group's recorded lane width entry ({lane_width, lane_width_reason, ...}), or None."""
        return (self.get("lane_widths") or {}).get(group_id)


MANIFEST = "manifest.json"


def manifest_name(process_index: int = 0, process_count: int = 1) -> str:
    """The manifest a process writes: one per process when several share a sweep."""
    return MANIFEST if process_count == 1 else f"manifest.p{process_index}.json"


def process_manifests(directory) -> list[Manifest]:
    """Every process's manifest of a sweep directory, each checked (`read_manifest_file`), by file name."""
    return [read_manifest_file(path) for path in sorted(pathlib.Path(directory).glob("manifest*.json"))]


# What a sweep manifest's fields must be (name -> (check, what it should be)); optional ones may be absent.
_REQUIRED = {
    "name": (lambda v: isinstance(v, str), "a string"),
    "spec_hash": (lambda v: isinstance(v, str), "a string"),
    "chunk_size": (lambda v: integer_within(v, 1, limits.MAX_CHUNK_SIZE), f"an integer from 1 to {limits.MAX_CHUNK_SIZE:,}"),
    "num_seeds": (lambda v: integer_within(v, 0, limits.MAX_SEED + 1), f"an integer from 0 to {limits.MAX_SEED + 1:,}"),
    "status": (lambda v: isinstance(v, str), "a string"),
    "started_at": (lambda v: isinstance(v, str), "a time stamp"),
    "finished_at": (lambda v: v is None or isinstance(v, str), "a time stamp or null"),
    "backend": (lambda v: isinstance(v, dict), "a table"),
    "chunks": (lambda v: isinstance(v, dict) and all(isinstance(e, dict) for e in v.values()),
               "a table of chunk entries"),
    "groups": (lambda v: isinstance(v, dict) and all(isinstance(g, dict) for g in v.values()),
               "a table of group descriptions"),
}
_OPTIONAL = {
    "process": (lambda v: isinstance(v, dict) and integer_within(v.get("count", 1), 1, limits.MAX_PROCESSES)
                and integer_within(v.get("index", 0), 0, v.get("count", 1) - 1),
                f"a table of integers 0 <= index < count <= {limits.MAX_PROCESSES}"),
    "lane_widths": (lambda v: isinstance(v, dict) and all(lane_width_entry(e) for e in v.values()),
                    f"a table of {{lane_width = W}} entries, W from 1 to {limits.MAX_LANE_WIDTH}"),
    "chunks_planned": (lambda v: v is None or isinstance(v, int), "an integer"),
    "timing": (lambda v: isinstance(v, list), "a list"),
}
_ENTRY = {
    "file": (lambda v: isinstance(v, str), "a path"),
    "params": (lambda v: isinstance(v, str), "a path"),
    "seeds": (lambda v: isinstance(v, list) and all(isinstance(x, int) for x in v), "a list of integer seeds"),
    "sha256": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
               "a table of checksums"),
}


def integer_within(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def lane_width_entry(entry) -> bool:
    """A recorded lane width within the bounds a spec may give (read back, it sizes the next run's programs)."""
    return isinstance(entry, dict) and integer_within(entry.get("lane_width"), 1, limits.MAX_LANE_WIDTH)


def read_manifest_file(path: pathlib.Path) -> Manifest:
    """One manifest file, checked field by field; a UsageError naming the first bad field and the way out.

    A manifest is data that people edit, copy and damage: every field the
    lab reads is checked here, once, so no later step meets a wrong type.
    """
    rebuild = f"`rlab status {path.parent} --rebuild` rebuilds it from the chunks, which are untouched"
    try:
        manifest = json.loads(files.read_bounded_text(path, limits.MAX_RECORD_BYTES, "manifest"))
    except UsageError as err:
        raise UsageError(f"{err}; {rebuild}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: unreadable manifest ({err}); {rebuild}") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{path}: not an rlab manifest (a {type(manifest).__name__}, not a table); {rebuild}")
    problems = [f"{key} missing" for key in _REQUIRED if key not in manifest]
    problems += [f"{key} = {manifest[key]!r:.60} (expected {what})"
                 for key, (ok, what) in {**_REQUIRED, **_OPTIONAL}.items() if key in manifest and not ok(manifest[key])]
    if not problems:
        for chunk_id, entry in manifest["chunks"].items():
            problems += [f"chunks.{chunk_id}.{key} = {entry.get(key)!r:.60} (expected {what})"
                         for key, (ok, what) in _ENTRY.items() if (key in entry or key != "sha256") and not ok(entry.get(key))]
    if problems:
        raise UsageError(f"{path}: not an rlab manifest ({problems[0]}); {rebuild}")
    return Manifest(manifest)


def supersedes(new: dict, old: dict) -> bool:
    """Whether chunk entry `new` replaces `old`: a chunk is only ever stored again with at least its seeds.

    More seeds is newer (an extension or a take-over that added seeds); with
    as many, the later write (a damaged chunk recomputed whole).
    """
    return (len(new["seeds"]), str(new.get("completed_at") or "")) > (len(old["seeds"]), str(old.get("completed_at") or ""))


def newest_entries(manifests: list[dict]) -> dict:
    """Chunk id -> its current entry over several manifests (`supersedes`)."""
    chunks: dict = {}
    for manifest in manifests:
        for chunk_id, entry in manifest["chunks"].items():
            if chunk_id not in chunks or supersedes(entry, chunks[chunk_id]):
                chunks[chunk_id] = entry
    return chunks


def _merged_chunks(directory) -> dict:
    return newest_entries(process_manifests(directory))


def coverage(manifest: dict, damaged=()) -> dict[str, Any]:
    """What a sweep should hold against what it holds, from its (merged) manifest alone.

    Every described group's seed blocks (`rlab.blocks`) for the manifest's
    target seed count, against the current chunk entries that are not
    `damaged`: a chunk counts as stored when its entry holds every seed of
    its block.

    Returns:
      {"chunks_expected", "chunks_stored", "lanes_expected", "lanes_stored",
       "pending": chunk ids with seeds still to compute}.
    """
    seed_start = (manifest.get("spec") or {}).get("seed_start", 0)
    seed_start = seed_start if isinstance(seed_start, int) else 0
    result = {"chunks_expected": 0, "chunks_stored": 0, "lanes_expected": 0, "lanes_stored": 0, "pending": []}
    for group_id, group in sorted(manifest["groups"].items()):
        if group.get("imported"):  # another tool's runs: what was imported is the whole of it
            entry = manifest["chunks"].get(blocks.chunk_id(group_id, 0))
            lanes = len(entry["seeds"]) if entry and blocks.chunk_id(group_id, 0) not in damaged else 0
            result["chunks_expected"] += 1
            result["chunks_stored"] += bool(lanes)
            result["lanes_expected"] += lanes
            result["lanes_stored"] += lanes
            continue
        combos = len(group.get("float_combos") or [{}])
        for block, seeds in enumerate(blocks.seed_blocks(
                seed_start, manifest["num_seeds"], blocks.seeds_per_block(manifest["chunk_size"], combos))):
            chunk_id = blocks.chunk_id(group_id, block)
            entry = manifest["chunks"].get(chunk_id) if chunk_id not in damaged else None
            stored = set(seeds) & set(entry["seeds"]) if entry else set()
            result["chunks_expected"] += 1
            result["lanes_expected"] += len(seeds) * combos
            result["lanes_stored"] += len(stored) * combos
            if len(stored) == len(seeds):
                result["chunks_stored"] += 1
            else:
                result["pending"].append(chunk_id)
    return result


def read_manifest(directory) -> Manifest:
    """The sweep's manifest (merged over its processes' manifests), or a UsageError saying why there is none.

    Its `status` says "complete" when every seed of every described group
    is stored (`coverage`, also recorded under "coverage") and no process
    is still writing; otherwise "running" while a process is recorded as
    running (`run_state` tells a dead one), else "incomplete".
    `chunks_planned` is the number of chunks the sweep has once complete.
    """
    manifests = process_manifests(directory)
    if not manifests:
        raise UsageError(f"{directory} is not a sweep directory (no {MANIFEST}); run `rlab sweep SPEC --out DIR` first")
    lost = missing_manifests(directory, manifests)
    merged = Manifest(manifests[0])
    if len(manifests) > 1:
        merged["chunks"] = newest_entries(manifests)
        merged["groups"] = {k: v for m in manifests for k, v in m["groups"].items()}
        merged["lane_widths"] = {k: v for m in reversed(manifests) for k, v in (m.get("lane_widths") or {}).items()}
        merged["num_seeds"] = max(m["num_seeds"] for m in manifests)
        merged["started_at"] = min(m["started_at"] for m in manifests)
        finished = [m["finished_at"] for m in manifests]
        merged["finished_at"] = None if None in finished else max(finished)
        merged["backend"] = {"processes": [m["backend"] for m in manifests]}
    statuses = {m["status"] for m in manifests}
    covered = coverage(merged)
    merged["coverage"] = covered
    merged["chunks_planned"] = covered["chunks_expected"] or merged.get("chunks_planned")
    if statuses == {"rebuilt"}:
        merged["status"] = "rebuilt"
    elif not covered["pending"] and (statuses <= {"complete", "rebuilt"} or not WriterLock.held(directory)):
        merged["status"] = "complete"  # every seed stored, and no writer left that could still be adding any
    else:
        merged["status"] = "running" if "running" in statuses else "incomplete"
    if lost:
        merged["status"], merged["missing_manifests"] = "incomplete", lost
    return merged


def missing_manifests(directory, manifests: list[dict] | None = None) -> list[str]:
    """The per-process manifests a sweep of several processes lacks, when chunks they stored are listed nowhere.

    Each manifest records its process count N; of manifest.p0.json ...
    manifest.p{N-1}.json, the missing ones are reported while some chunk
    file is listed in no manifest (`unlisted_chunks`): then the chunks a
    lost manifest listed are silently missing from every read. A manifest
    never written, or one whose chunks are all listed by others, lost nothing.
    """
    directory = pathlib.Path(directory)
    manifests = process_manifests(directory) if manifests is None else manifests
    counts = {m.get("process", {}).get("count", 1) for m in manifests}
    expected = {manifest_name(i, n) for n in counts if isinstance(n, int) and 1 < n <= 4096 for i in range(n)}
    missing = sorted(name for name in expected if not (directory / name).exists())
    if missing and unlisted_chunks(directory, newest_entries(manifests)):
        return missing
    return []


def unlisted_chunks(directory, chunks: dict | None = None) -> list[str]:
    """Chunk ids with a sidecar in DIR/chunks but listed in no manifest (a lost manifest's, or a copied-in file)."""
    directory = pathlib.Path(directory)
    chunks = _merged_chunks(directory) if chunks is None else chunks
    sidecars = directory / "chunks"
    return sorted(p.stem for p in sidecars.glob("*.json") if p.stem not in chunks) if sidecars.is_dir() else []
