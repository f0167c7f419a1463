"""One compile for every device: a compiled single-device program copied to the other devices of its backend.

JAX compiles a program once per device it runs on: the device is part of
the compile options, and of the persistent cache's key on CPU. With the
CPU split into one device per core (`rlab.run.devices`), every lane width
of every group would compile once per core, and a physics program takes
the better part of a minute to compile on a small CPU. The machine code does
not depend on which device runs it, so `copy_to` serialises the executable
compiled for one device and loads it for another with that device in its
options, a fraction of a compile, and the copy computes the same bits as a
program compiled for the target device (tested).

This leans on JAX's executable serialisation (`jax.experimental.serialize_executable`)
and on its private compile-options helper; should either change, `copy_to`
returns None and the caller compiles for the device as before.
"""

from __future__ import annotations

import io
import logging

import jax

_log = logging.getLogger(__name__)

_CACHE_HIT = "/jax/compilation_cache/cache_hits"
_cache_hits = 0


def _count_cache_hits(event: str, **_) -> None:
    global _cache_hits
    if event == _CACHE_HIT:
        _cache_hits += 1


jax.monitoring.register_event_listener(_count_cache_hits)


def persistent_cache_hits() -> int:
    """Programs this process has read from JAX's persistent compilation cache so far.

    Callers copy only what XLA compiled in this process (a compile during
    which this count did not move): an executable read from the cache
    serialises, but a copy of it made before it first ran fails at its own
    first call with XLA:CPU's "Function slice.175_kernel not found" (PPO on
    the point mass, a cache written by one process and read by the next;
    `tests/test_lanes.py` runs that case). The functions of a cached
    executable seem to be loaded lazily, at its first run, so its
    serialised form lacks them.
    """
    return _cache_hits


def copy_to(compiled: jax.stages.Compiled, device) -> jax.stages.Compiled | None:
    """`compiled` (a program compiled for one device) loaded to run on `device`; None if that cannot be done.

    Args:
      compiled: from `jax.jit(f).lower(...).compile()`, its arguments placed
        on one device of the same backend as `device`.
      device: a `jax.Device`.
    """
    try:
        from jax._src import compiler
        from jax._src.lib import xla_client
        from jax.experimental import serialize_executable

        blob, in_tree, out_tree = serialize_executable.serialize(compiled)
        options = compiler.get_compile_options(1, 1, device_assignment=[device], backend=device.client)
        devices = xla_client.DeviceList((device,))

        class _OnDevice(serialize_executable._JaxPjrtUnpickler):
            """Loads the executable with `device` in its options, and reads every pickled device as `device`."""

            def persistent_load(self, pid):
                if pid[0] == "device":
                    return device
                if pid[0] == "exec":
                    return device.client.deserialize_executable(pid[1], devices, options)
                return super().persistent_load(pid)

        unloaded, args_info, no_kwargs = _OnDevice(io.BytesIO(blob), device.client, [device]).load()
        return jax.stages.Compiled(unloaded.load(), [], in_tree.unflatten(args_info), out_tree, no_kwargs=no_kwargs)
    except Exception as error:  # any change in JAX's internals: compile for the device instead
        _log.debug("could not copy a compiled program to %s: %r", device, error)
        return None
