"""The bounds of everything rlab reads: a spec, a manifest read back from disk, an imported file.

One place, no dependencies, so that the plan (`rlab.spec`), the store and
the importers apply the same bounds to what a user writes and to what they
read back: a damaged or hostile file is refused with the bound it breaks,
never allowed to size an allocation.
"""

MAX_SEED = 2**32 - 1  # seeds become uint32 PRNG keys
# Lane widths (lanes per compiled program) a run may be given or read back.
MAX_LANE_WIDTH = 1024
# Stored chunks a sweep may plan before it is refused (counted before any is made).
MAX_CHUNKS = 200_000
# Trained lanes (seeds x float combinations, over every group) a sweep may plan: far beyond any machine's
# day of work, and small enough that the plan itself (a few hundred bytes per lane) fits in memory.
MAX_LANES = 10_000_000
# Lanes one chunk may hold (one stored file, one batch of programs).
MAX_CHUNK_SIZE = 65_536
# Evaluations per seed (each one row per lane in the stored table).
MAX_EVALS = 10_000
# Env steps one seed may train: trainers count them in int32.
MAX_ENV_STEPS_PER_SEED = 2**31 - 1
# Processes that may share one sweep.
MAX_PROCESSES = 4096
# A file `rlab import` reads (a CSV, Parquet, JSON or .npz file, one TensorBoard event file).
MAX_IMPORT_BYTES = 2 * 2**30
# Numbers an imported array file may hold once decompressed (8 bytes each: 800 MB).
MAX_IMPORT_VALUES = 100_000_000
# An imported seed, evaluation index or env step: every integer up to it is exact in float64 and in int64.
MAX_IMPORT_INTEGER = 2**53
# A run directory's manifest, sidecar or record (JSON): far above any real one.
MAX_RECORD_BYTES = 256 * 2**20
