"""Named random streams derived from one seed.

A run's randomness is split into independent streams with
`jax.random.fold_in`, so a user can hold one fixed while varying another
(e.g. the same network initialisation under different exploration noise):

* ``init``: network / policy-parameter initialisation;
* ``env``: episode resets (start states) during training;
* ``explore``: action sampling, ES/ARS perturbations, random-search draws;
* ``eval``: the evaluation episodes.

The task itself (hole centres, codes) is fixed by the environment's
``task_seed`` parameter, not by these streams.
"""

from __future__ import annotations

from typing import Mapping

import jax

STREAMS = ("init", "env", "explore", "eval")


def seed_key(seed: int) -> jax.Array:
    """The root key of an integer seed (a raw uint32 key, as Brax uses)."""
    return jax.random.PRNGKey(seed)


def split_streams(key: jax.Array) -> dict[str, jax.Array]:
    """One key per named stream: `{name: fold_in(key, index)}`."""
    return {name: jax.random.fold_in(key, index) for index, name in enumerate(STREAMS)}


def as_streams(key_or_streams: jax.Array | Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """Accepts a root key or a ready dict of stream keys (to hold some streams fixed)."""
    if isinstance(key_or_streams, Mapping):
        missing = set(STREAMS) - set(key_or_streams)
        if missing:
            raise ValueError(f"stream keys missing: {sorted(missing)}; needed: {', '.join(STREAMS)}")
        return {name: key_or_streams[name] for name in STREAMS}
    return split_streams(key_or_streams)
