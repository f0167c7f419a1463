"""XLA options of the programs rlab compiles, and `jit`, which applies them.

Why: jaxlib 0.10.2's XLA:CPU hands reductions above a size threshold to
YNNPACK ("library fusions" of type reduce, on by default). Inside MJX's
constraint solver that threshold is crossed by the batch: a
multiply-and-sum over a `[B, 3, 3]` operand in the line search runs as a
native loop fusion at B = 64 and as a YNNPACK call at B = 512, and each call
costs tens of microseconds of dispatch for a few thousand multiply-adds.
The line search runs it millions of times per training step, so a wider
program became slower per lane (Brax `reacher`, 512 environments in one
program: 38 k env steps/s with the default, 111 k without YNNPACK
reductions; 64 environments: 85 k either way). The profile and the numbers
are in `docs/performance.md`. rlab compiles every program without YNNPACK
fusions; XLA's own fusions run those reductions instead.

The option is passed per program (`jax.jit(..., compiler_options=...)`),
not through `XLA_FLAGS`: it then works whenever rlab is imported, touches
no program of the user's, and an XLA that does not know the option (older
or newer jaxlib) is detected by one trial compile and simply gets none.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import jax

_log = logging.getLogger(__name__)

# An empty list of YNNPACK fusion types (replacing XLA's default list, which holds
# "reduce"): no part of a program is handed to YNNPACK.
WITHOUT_YNNPACK = {"xla_cpu_experimental_ynn_fusion_type": ""}


@functools.cache
def compiler_options() -> dict[str, Any]:
    """The XLA options rlab compiles with on the default backend ({} where none apply).

    On CPU: `WITHOUT_YNNPACK`, when the installed XLA accepts it (checked
    once by compiling a scalar program with it). Other backends: none.
    """
    if jax.default_backend() != "cpu":
        return {}
    try:
        jax.jit(lambda x: x + 1, compiler_options=WITHOUT_YNNPACK).lower(0.0).compile()
    except Exception as error:  # an XLA without the option: compile with its defaults
        _log.debug("XLA does not take %s: %r", WITHOUT_YNNPACK, error)
        return {}
    return dict(WITHOUT_YNNPACK)


def jit(fun: Callable, **jit_kwargs) -> Callable:
    """`jax.jit(fun, **jit_kwargs)` compiled with `compiler_options()`.

    Use it for any program whose batch grows with the number of seeds,
    environments or samples; `jax.jit` is fine for a single small call. JAX
    takes compiler options only on the outermost program: a function that
    is also traced inside another `jit` (or `make_jaxpr`) stays a plain
    `jax.jit`, and is compiled with `.lower(...).compile(compiler_options())`.
    """
    return jax.jit(fun, compiler_options=compiler_options() or None, **jit_kwargs)
