"""The benchmarks' own measuring tools, against closed forms."""

import importlib.util
import pathlib

import jax
import jax.numpy as jnp


def _seed_scaling():
    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "seed_scaling.py"
    spec = importlib.util.spec_from_file_location("seed_scaling", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matmul_flops_multiply_a_loop_body_by_its_trip_count():
    matmul_flops = _seed_scaling().matmul_flops
    n, k, m, steps, batch = 8, 16, 4, 7, 3

    def program(x, w):  # a vmapped scan of matmuls, a cond, and a while loop
        def body(carry, _):
            return jnp.tanh(carry @ w @ w.T), None

        y, _ = jax.lax.scan(body, x, None, length=steps)
        y = jax.lax.cond(y.sum() > 0, lambda v: v @ w @ w.T, lambda v: v, y)
        return jax.lax.while_loop(lambda v: v.sum() > 1e9, lambda v: v @ w @ w.T, y)

    x, w = jnp.ones((batch, n, k)), jnp.ones((k, m))
    flops, whiles = matmul_flops(jax.make_jaxpr(jax.vmap(program, in_axes=(0, None)))(x, w).jaxpr)
    one_pass = batch * (2 * n * k * m + 2 * n * m * k)  # [n, k] @ [k, m], then [n, m] @ [m, k]
    # scan: `steps` passes; cond: its costlier branch, one pass; while: its body once (flagged).
    assert flops == (steps + 1 + 1) * one_pass
    assert whiles == 1
