"""`rlab doctor`: what this installation runs on, and whether the known defects of its JAX reach rlab's programs.

Each check is a probe of seconds, compiled the way rlab compiles
(`rlab.run.xla.jit`), that says "ok", or what is wrong and what rlab does
about it. The known defects (public trackers; see docs/development.md):

- `wrong_sum`: jaxlib 0.10.2's YNNPACK reduction fusions return a wrong
  value for `vmap(lambda r: sum((M @ r) ** 2))` from 32,769 rows (the last
  row: 1,065,369,600 instead of 2^30). rlab compiles without those fusions.
- `small_reductions`: the same fusions make small reductions at MJX's
  shapes slow (a `[512, 3, 3]` multiply-and-sum, as in MJX's line search).
- `lapack_threads`: LAPACK batch kernels on XLA's shared thread pool (jaxlib
  0.10.0-0.11.0) can deadlock when several CPU devices run programs at once
  (batched Cholesky, as in MJX's solver); run in a child process under a
  timeout.
- `long_scan`: jaxlib 0.11.1 makes a scan that stacks small per-step
  outputs cost quadratically in its length.

Exit status 0 when rlab's programs are safe on this installation, 1 when a
check failed.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
import subprocess
import sys
import time

# Rows of the wrong-sum probe: the defect shows from 32,769 (2^15 + 1).
WRONG_SUM_ROWS = 32_769
LAPACK_TIMEOUT_SECONDS = 120
PACKAGES = ("jax", "jaxlib", "mujoco", "mujoco-mjx", "brax", "flax", "optax", "numpy", "evosax", "gymnax",
            "playground", "ray")


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    says: str


def versions() -> dict[str, str]:
    """Installed versions of the packages rlab runs on ("-" for one that is not installed)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def check_wrong_sum() -> Check:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from rlab.run import xla

    matrix = jnp.eye(3, dtype=jnp.float32)
    per_row = jax.vmap(lambda r: jnp.sum((matrix @ r) ** 2))
    rows = jnp.zeros((WRONG_SUM_ROWS, 3), jnp.float32).at[:, 0].set(jnp.arange(WRONG_SUM_ROWS, dtype=jnp.float32))
    # Each row's one non-zero square, rounded once to float32: what a correct float32 program returns.
    expected = (np.arange(WRONG_SUM_ROWS, dtype=np.float64) ** 2).astype(np.float32).astype(np.float64)
    ours = np.asarray(xla.jit(per_row)(rows), np.float64)
    default = np.asarray(jax.jit(per_row)(rows), np.float64)
    wrong_ours, wrong_default = int((ours != expected).sum()), int((default != expected).sum())
    if wrong_ours:
        return Check("wrong_sum", False, f"{wrong_ours} of {WRONG_SUM_ROWS:,} rows wrong as rlab compiles them: "
                                         "results of reductions cannot be trusted on this jaxlib")
    if wrong_default:
        return Check("wrong_sum", True, f"present in this jaxlib ({wrong_default} row(s) wrong with XLA's defaults, "
                                        f"e.g. {default[-1]:,.0f} for {expected[-1]:,.0f}); rlab's programs, "
                                        "compiled without YNNPACK fusions, are right")
    return Check("wrong_sum", True, "ok: every row right, with XLA's defaults too")


def check_small_reductions() -> Check:
    import jax
    import jax.numpy as jnp

    from rlab.run import xla

    def loop(x):  # MJX's line search: many small multiply-and-sums over the batch
        return jax.lax.fori_loop(0, 2000, lambda i, a: a + jnp.sum(x * a, axis=(1, 2), keepdims=True) * 1e-6, x)

    x = jnp.ones((512, 3, 3), jnp.float32)
    seconds = {}
    for label, compiled in (("rlab", xla.jit(loop)), ("default", jax.jit(loop))):
        compiled(x).block_until_ready()
        started = time.perf_counter()
        compiled(x).block_until_ready()
        seconds[label] = time.perf_counter() - started
    ratio = seconds["default"] / max(seconds["rlab"], 1e-9)
    ok = seconds["rlab"] <= 1.5 * seconds["default"] + 0.01
    return Check("small_reductions", ok, f"{'ok' if ok else 'slow'}: rlab's compile {seconds['rlab'] * 1e3:.1f} ms, "
                                         f"XLA's defaults {seconds['default'] * 1e3:.1f} ms ({ratio:.1f}x)")


_LAPACK_CHILD = """
import threading, jax, jax.numpy as jnp
from rlab.run import xla
devices = jax.local_devices()
spd = jnp.eye(4) * 2.0 + 0.1
batch = jnp.broadcast_to(spd, (256, 4, 4))
chol = xla.jit(jax.vmap(jnp.linalg.cholesky))
def run(device):
    x = jax.device_put(batch, device)
    for _ in range(50):
        chol(x).block_until_ready()
threads = [threading.Thread(target=run, args=(d,)) for d in devices]
[t.start() for t in threads]; [t.join() for t in threads]
print(len(devices))
"""


def check_lapack_threads() -> Check:
    env = {**os.environ, "RLAB_CPU_DEVICES": "2"}
    code = "from rlab.run import devices; devices.use_cpu_cores()\n" + _LAPACK_CHILD
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                timeout=LAPACK_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return Check("lapack_threads", False, f"batched Cholesky on two CPU devices at once did not finish in "
                                              f"{LAPACK_TIMEOUT_SECONDS} s (a deadlock): run sweeps with "
                                              "RLAB_CPU_DEVICES=1 on this jaxlib")
    if result.returncode:
        line = (result.stderr.strip().splitlines() or ["?"])[-1]
        return Check("lapack_threads", False, f"the probe failed: {line[:200]}")
    return Check("lapack_threads", True, f"ok: batched Cholesky on {result.stdout.strip()} CPU devices at once")


def check_long_scan() -> Check:
    import jax
    import jax.numpy as jnp

    from rlab.run import xla

    def stacked(length):
        def run(x):
            return jax.lax.scan(lambda c, _: (c + 1.0, c * 2.0), x, None, length=length)[1]
        return xla.jit(run)

    seconds = {}
    for length in (20_000, 80_000):
        program = stacked(length)
        program(jnp.zeros(4)).block_until_ready()
        started = time.perf_counter()
        program(jnp.zeros(4)).block_until_ready()
        seconds[length] = time.perf_counter() - started
    growth = seconds[80_000] / max(seconds[20_000], 1e-9)
    ok = growth < 8.0  # 4x longer: about 4x the time if linear, 16x if quadratic
    return Check("long_scan", ok, f"{'ok' if ok else 'quadratic'}: a scan 4x longer took {growth:.1f}x the time "
                                  f"({seconds[20_000] * 1e3:.1f} ms -> {seconds[80_000] * 1e3:.1f} ms)")


CHECKS = (check_wrong_sum, check_small_reductions, check_lapack_threads, check_long_scan)


def run(write=print) -> int:
    """Prints versions, devices, rlab's compiler options and every check; 0 when every check is ok."""
    import jax

    from rlab.run import xla

    found = versions()
    write("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    devices = jax.local_devices()
    write(f"devices: {len(devices)} x {devices[0].device_kind} ({jax.default_backend()})")
    write(f"rlab's XLA options: {xla.compiler_options() or 'none (XLA defaults)'}")
    failed = 0
    for check in CHECKS:
        result = check()
        failed += not result.ok
        write(f"{result.name}: {result.says}")
    write("rlab's programs are safe here" if not failed else f"{failed} check(s) failed")
    return 0 if not failed else 1
