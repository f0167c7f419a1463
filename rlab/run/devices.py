"""One JAX CPU device per core, so that a CPU runs several lane blocks at once.

XLA runs the programs of one device one after another, and a single small
program does not keep two cores busy: its small batched matmuls run on one
core. Split into one device per core, the lane runner dispatches its W-wide
blocks round robin over the devices and they run concurrently
(`docs/performance.md` has the measurements). A lane's results do not
depend on which device runs its block (tested bitwise). A program is
compiled once, for the first device, and copied to the others
(`rlab.run.executables`): JAX alone compiles it again for every device.

JAX fixes its devices when its backends start, so this must run first: the
`rlab` command line calls it before anything touches JAX; Python users call
`rlab.run.devices.use_cpu_cores()` at the top of their script.
"""

from __future__ import annotations

import os

# Set to a positive integer to choose the number of CPU devices (1: one device, JAX's default).
DEVICES_VARIABLE = "RLAB_CPU_DEVICES"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def use_cpu_cores(count: int | None = None) -> int | None:
    """Makes JAX's CPU backend expose `count` devices (default: `RLAB_CPU_DEVICES`, else one per usable core).

    Does nothing, and returns None, when the choice is no longer ours: JAX's
    backends already started, or the user set `--xla_force_host_platform_device_count`
    in `XLA_FLAGS` or `jax_num_cpu_devices` themselves. Harmless on a GPU or
    TPU machine (only the CPU backend's device count changes).

    Returns:
      The number of CPU devices set, or None when nothing was changed.
    """
    import jax
    from jax._src import xla_bridge

    from rlab.errors import UsageError, is_decimal

    if count is None:
        configured = os.environ.get(DEVICES_VARIABLE, "").strip()
        if configured:
            if not is_decimal(configured) or int(configured) < 1:
                raise UsageError(f"{DEVICES_VARIABLE} = {configured!r}; allowed: an integer >= 1")
            count = int(configured)
        else:
            count = usable_cores()
    if (
        xla_bridge.backends_are_initialized()
        or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
        or jax.config.jax_num_cpu_devices not in (-1, None)
    ):
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count
