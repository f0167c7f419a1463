"""Everything on disk: run directories that keep every seed and lose nothing.

    from rlab import store
    frame = store.load("runs/point_mass")        # every stored row of a sweep (tidy pandas)
    store.status("runs/point_mass")              # chunks done, seeds, times
    store.verify("runs/point_mass")              # damaged chunks, by id

Modules: `files` (atomic writes, checksums, provenance), `lock` (one writer
per directory and process), `directory` (the run-directory base), `sweeps`
(the sweep store and its readers), `probes` (the probe store),
`policy_codec` (policies as named arrays) and `policies` (pick stored seeds
and act with their policies; imports JAX).
"""

from rlab.store.files import atomic_write
from rlab.store.sweeps import (
    SweepStore, chunk_problem, load, load_params, missing_manifests, read_manifest, rebuild_manifest,
    recorded_num_seeds, resolve_chunk_size, status, stored_spec_text, unlisted_chunks, verify,
)

__all__ = [
    "SweepStore", "atomic_write", "chunk_problem", "load", "load_params", "missing_manifests", "read_manifest",
    "rebuild_manifest", "recorded_num_seeds", "resolve_chunk_size", "status", "stored_spec_text", "unlisted_chunks", "verify",
]
