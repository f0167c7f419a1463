"""rlab's XLA options: wide programs compile without YNNPACK library calls, and an XLA without the option is no error."""

import jax
import jax.numpy as jnp
import pytest

import envs
from rlab.run import lanes
from rlab.run import xla
from tests.trainer_cases import tiny


def _line_search_like(m, c):
    """The reduction that made MJX's solver slow when batched: `[B, 3, 3] x [B, 3]` summed over the middle axis."""

    def body(carry, _):
        return jnp.sum(m * carry[:, :, None], axis=1) * 0.5 + carry, None

    return jax.lax.scan(body, c, None, length=4)[0]


def _library_calls(compiled) -> int:
    return compiled.as_text().count('"__ynn_fusion"')


def _compiled(batch: int, options=None):
    operands = (jnp.ones((batch, 3, 3)), jnp.ones((batch, 3)))
    return jax.jit(_line_search_like).lower(*operands).compile(options)


def test_the_batched_reduction_compiles_to_xla_s_own_fusion_with_rlab_s_options():
    if jax.default_backend() != "cpu":
        pytest.skip("the option concerns XLA:CPU")
    assert xla.compiler_options() == xla.WITHOUT_YNNPACK  # the installed jaxlib takes it
    assert _library_calls(_compiled(512, xla.compiler_options())) == 0
    assert _library_calls(_compiled(64)) == 0  # below XLA's threshold even with its defaults
    # With XLA's defaults (jaxlib 0.10.2) the wide batch goes to the library; a later XLA may not do so.
    print("library calls with XLA's defaults at 512:", _library_calls(_compiled(512)))


def test_the_lane_runner_compiles_every_width_with_rlab_s_options():
    if jax.default_backend() != "cpu":
        pytest.skip("the option concerns XLA:CPU")
    trainer = tiny("ppo", envs.make("cheese_point_mass", dim=2, reward="dense", horizon=8))
    init, step = lanes.compile_for_device(trainer, 64, jax.local_devices()[0])
    assert _library_calls(init) == 0 and _library_calls(step) == 0
    state = jax.eval_shape(lanes.compiled(trainer)[0], lanes.seed_keys(range(64)), lanes.lane_hparams(trainer, None, 64))
    default = lanes.compiled(trainer)[1].lower(state).compile()
    print("library calls of the same step with XLA's defaults:", _library_calls(default))


def test_an_xla_without_the_option_compiles_with_its_defaults(monkeypatch):
    monkeypatch.setattr(xla, "WITHOUT_YNNPACK", {"xla_cpu_option_that_does_not_exist": ""})
    xla.compiler_options.cache_clear()
    try:
        assert xla.compiler_options() == {}
        assert float(xla.jit(lambda x: x * 2)(3.0)) == 6.0
    finally:
        monkeypatch.undo()
        xla.compiler_options.cache_clear()
    assert xla.compiler_options() == xla.WITHOUT_YNNPACK or jax.default_backend() != "cpu"
