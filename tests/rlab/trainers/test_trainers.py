"""The contract every registered trainer keeps: pure, deterministic, vmappable, one compile."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
import rlab
import rlab.trainers
from rlab.seeds import split_streams
from rlab.run.training import compiled, seed_keys
from tests.trainer_cases import all_algos, swept, tiny

ENVS = {
    "continuous": lambda: envs.make("cheese_point_mass", dim=2, horizon=5, reward="dense"),
    "discrete": lambda: envs.make("deep_sea", size=4),
}
CASES = [(algo, kind) for algo in all_algos() for kind in ENVS]


@pytest.fixture(scope="module", params=CASES, ids=[f"{a}-{k}" for a, k in CASES])
def trainer(request):
    algo, kind = request.param
    return tiny(algo, ENVS[kind]())


def run(trainer, seeds, hparams=None):
    """Two steps of four seeds: every test uses this batch size, so each trainer compiles once."""
    assert len(seeds) == 4
    return rlab.train(trainer, seeds, 2, hparams=hparams, progress=False)


def test_every_trainer_is_registered_with_sweepable_floats():
    from rlab.trainers import evosax_family

    builtin = {"ppo", "reinforce", "openai_es", "ars", "random_search"}
    evosax = {evosax_family.PREFIX + name for name in evosax_family.STRATEGIES}
    assert set(all_algos()) == builtin | (evosax if evosax_family.available() else set())
    assert len(evosax) >= 6 and evosax_family.available()  # the test extra installs evosax
    for algo, spec in rlab.trainers.registered().items():
        assert spec.description
        assert swept(algo) in {p.name for p in spec.params if p.kind is float}


def test_same_key_gives_bitwise_identical_metrics(trainer):
    first, second = run(trainer, [3, 4, 5, 6]), run(trainer, [3, 4, 5, 6])
    for name in first.metrics:
        np.testing.assert_array_equal(first.metrics[name], second.metrics[name], err_msg=name)


def test_a_seed_does_not_depend_on_the_other_seeds_in_its_batch(trainer):
    together = run(trainer, [5, 6, 7, 8])
    shuffled = run(trainer, [8, 100, 5, 101])
    for name in together.metrics:
        np.testing.assert_array_equal(together.metrics[name][0], shuffled.metrics[name][2], err_msg=name)
        np.testing.assert_array_equal(together.metrics[name][3], shuffled.metrics[name][0], err_msg=name)
    # Different seeds really differ.
    noisy = together.metrics[_noisy(trainer)]
    assert not np.array_equal(noisy[0], noisy[1])


def _noisy(trainer):
    """A metric that depends on the seed's randomness for this trainer."""
    return {"ppo": "policy_loss", "reinforce": "train_return"}.get(trainer.algo, "fitness_mean")


def test_metrics_are_finite_and_include_the_common_ones(trainer):
    curves = run(trainer, [0, 1, 2, 3])
    for name in rlab.trainers.COMMON_METRICS:
        assert name in curves.metrics, name
    for name, values in curves.metrics.items():
        assert values.shape == (4, 2) and np.all(np.isfinite(values)), name
    assert 0 <= curves.metrics["eval_success"].min() and curves.metrics["eval_success"].max() <= 1
    np.testing.assert_array_equal(
        curves.metrics["env_steps"][0], trainer.env_steps_per_eval * np.array([1, 2])
    )


def test_a_swept_float_hyperparameter_does_not_recompile(trainer):
    traces = []

    def counted_step(state):
        traces.append(1)
        return trainer.step(state)

    step = jax.jit(jax.vmap(counted_step))
    init, _ = compiled(trainer)
    name = swept(trainer.algo)
    states = []
    for value in (0.01, 0.05):
        state = init(seed_keys([0, 1, 2, 3]), {name: jnp.full((4,), value)})
        states.append(step(step(state)[0])[0])
    assert len(traces) == 1
    # The value really reached the program: the trained weights differ.
    assert not same(weights(states[0]), weights(states[1]))


def test_a_grid_of_values_runs_as_one_program_per_seed(trainer):
    name = swept(trainer.algo)
    grid = run(trainer, [0, 0, 0, 0], hparams={name: np.array([0.01, 0.05, 0.01, 0.05])})
    alone = run(trainer, [0, 0, 0, 0], hparams={name: np.full(4, 0.05)})
    for metric in grid.metrics:
        np.testing.assert_array_equal(grid.metrics[metric][1], alone.metrics[metric][1], err_msg=metric)
    assert not same(weights(grid.final_state), weights(alone.final_state))


def weights(state):
    """The policy weights of any trainer's state, as a list of arrays."""
    for name in ("params", "theta", "best_theta"):
        if hasattr(state, name):
            return [np.asarray(x) for x in jax.tree.leaves(getattr(state, name))]
    raise AssertionError(f"no policy weights in {type(state).__name__}")


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_streams_can_be_held_fixed_independently(trainer):
    init, step = compiled(trainer)
    hp = {k: jnp.broadcast_to(v, (4,)) for k, v in trainer.hparams().items()}
    base = jax.vmap(split_streams)(seed_keys([0, 1, 2, 3]))
    other = jax.vmap(split_streams)(seed_keys([10, 11, 12, 13]))

    def start(streams):
        return init(streams, hp)

    # Holding the init stream fixed while the others vary: same initial
    # weights, different training.
    fixed_init = {**other, "init": base["init"]}
    assert same(weights(start(base)), weights(start(fixed_init)))
    assert not same(weights(step(start(base))[0]), weights(step(start(fixed_init))[0]))
    # Varying the init stream alone changes the initial weights.
    assert not same(weights(start(base)), weights(start({**base, "init": other["init"]})))


def test_an_algorithm_is_added_by_one_register_call(monkeypatch):
    import dataclasses
    import types

    from rlab.trainers import reinforce

    monkeypatch.setattr(rlab.trainers, "_REGISTRY", dict(rlab.trainers._REGISTRY))
    record = dataclasses.replace(reinforce.ALGORITHM, name="reinforce_copy")
    rlab.trainers.register(record)
    assert "reinforce_copy" in rlab.trainers.registered()
    env = envs.make("cheese_point_mass", dim=2, reward="dense", horizon=4)
    copy = rlab.train(tiny("reinforce_copy", env), [0, 1], 1, progress=False)
    original = rlab.train(tiny("reinforce", env), [0, 1], 1, progress=False)
    np.testing.assert_array_equal(copy.metrics["eval_return"], original.metrics["eval_return"])
    with pytest.raises(ValueError, match="already registered"):
        rlab.trainers.register(record)
    with pytest.raises(ValueError, match="lacks .*plateau, small"):
        rlab.trainers.register(types.SimpleNamespace(name="broken", description="", params=(),
                                                     steps_per_iteration=None, build=None, batch_param="n"))


def test_ppo_zeroes_a_constant_minibatch_relative_to_the_tasks_own_scale():
    import jax.numpy as jnp
    import numpy as np

    from rlab.trainers.ppo import normalised_advantages

    # Equal advantages a few float32 ulps apart (a residue of rounding): exactly zero, at any scale.
    for scale in (1e-6, 1.0, 1e6):
        value = jnp.full(40, 0.3 * scale, jnp.float32)
        residue = jnp.float32(0.5 * scale) * (1 + jnp.arange(40) % 3 * jnp.finfo(jnp.float32).eps)
        assert np.all(np.asarray(normalised_advantages(residue, value, value + residue)) == 0.0)
    # Advantages that really differ, of rewards of order 1e-6: normalised to unit scale, not zeroed.
    small = jnp.linspace(-1e-6, 1e-6, 40, dtype=jnp.float32)
    values = jnp.full(40, 2e-6, jnp.float32)
    normalised = np.asarray(normalised_advantages(small, values, values + small))
    assert abs(normalised.std() - 1.0) < 0.02 and abs(normalised.mean()) < 1e-5
