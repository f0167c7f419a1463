"""What an rlab process sets up before JAX runs anything: no MuJoCo Warp, the compilation cache.

Used by the `rlab` command line and by every process that computes chunks
on its behalf (a Ray worker, a scheduler's task), so they all simulate and
compile the same way. Below `rlab.run`: it imports nothing of rlab.
"""

from __future__ import annotations

import os
import pathlib
import sys

# MJX's switches for its MuJoCo Warp backend; when the user sets one, warp stays importable.
WARP_SWITCHES = ("MJX_WARP_ENABLED", "MJX_GPU_DEFAULT_WARP")

# Programs that compile faster than this are not written to the persistent cache.
CACHE_MIN_COMPILE_SECONDS = 0.5


def mark_warp_absent() -> None:
    """Makes `import warp` fail in this process, unless it is loaded already or one of MJX's warp switches is set.

    MJX imports the optional `warp` package, when installed (MuJoCo Playground
    installs it), as soon as Brax is imported: seconds of every command's
    start (it doubled `import envs` where measured). rlab simulates with
    MJX's JAX implementation only, so its processes mark `warp` as absent,
    which MJX handles as on a machine without it.
    """
    if "warp" not in sys.modules and not any(os.environ.get(name) for name in WARP_SWITCHES):
        sys.modules["warp"] = None  # `import warp` raises ImportError from here on


def compilation_cache_dir(directory: str | None) -> str | None:
    """`directory` (`--cache-dir`), else $RLAB_CACHE_DIR, else ~/.cache/rlab/jax; None for 'none'."""
    cache = directory or os.environ.get("RLAB_CACHE_DIR") or str(pathlib.Path.home() / ".cache" / "rlab" / "jax")
    return None if cache == "none" else cache


def enable_compilation_cache(directory: str | None) -> None:
    """Turns on JAX's persistent compilation cache in `compilation_cache_dir(directory)` (unless that is None)."""
    cache = compilation_cache_dir(directory)
    if cache is not None:
        import jax

        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", CACHE_MIN_COMPILE_SECONDS)
