"""How a group's seeds are cut into chunks: fixed blocks of seeds (pure arithmetic, no JAX).

Shared by the plan (`rlab.spec.Group.chunks`) and by the store, which
counts what a sweep should hold without building its plan
(`rlab.store.sweeps.coverage`).
"""

from __future__ import annotations


def chunk_id(group_id: str, block: int) -> str:
    """The id of a group's chunk of seed block `block`, e.g. "g003-c00002"."""
    return f"{group_id}-c{block:05d}"


def seeds_per_block(chunk_size: int, num_float_combos: int) -> int:
    """Seeds in one block: a chunk holds every float combination of each of its seeds."""
    return max(chunk_size // num_float_combos, 1)


def seed_blocks(seed_start: int, num_seeds: int, per_block: int) -> list[tuple[int, ...]]:
    """The seeds of each block, in block order.

    Block b holds seeds seed_start + [b * per_block, (b + 1) * per_block),
    the last one cut at seed_start + num_seeds, so adding seeds to a sweep
    only fills its last block and appends new ones.
    """
    end = seed_start + num_seeds
    return [tuple(range(first, min(first + per_block, end))) for first in range(seed_start, end, per_block)]
