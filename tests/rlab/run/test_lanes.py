"""The lane runner: a seed's results depend on the lane width W only; W by rule, or timed on request."""

import numpy as np
import pytest

import envs
import rlab
from rlab.run import lanes
from rlab.run import widths
from tests.trainer_cases import tiny


@pytest.fixture(scope="module")
def trainer():
    return tiny("openai_es", envs.make("cheese_point_mass", dim=2, reward="dense", horizon=4))


def test_a_seed_gives_the_same_bits_whatever_else_runs_at_one_width(trainer):
    few = lanes.run_lanes(trainer, [0, 1, 2], None, 2, width=2)  # one padded block
    many = lanes.run_lanes(trainer, [7, 2, 0, 9, 1], None, 2, width=2)  # other neighbours, other blocks
    for name, values in few.metrics.items():
        np.testing.assert_array_equal(values, many.metrics[name][[2, 4, 1]], err_msg=name)
    np.testing.assert_array_equal(few.final_state.theta, many.final_state.theta[[2, 4, 1]])
    assert few.metrics["eval_return"].shape == (3, 2)


def test_train_splits_the_seeds_over_the_devices_by_default_and_runs_any_width_on_request(trainer):
    default = rlab.train(trainer, range(4), 2, progress=False)
    one_program = lanes.run_lanes(trainer, range(4), None, 2, width=4)  # the tests run one CPU device
    np.testing.assert_array_equal(default.metrics["eval_return"], one_program.metrics["eval_return"])
    narrow = rlab.train(trainer, range(4), 2, progress=False, lane_width=1)
    assert narrow.metrics["eval_return"].shape == (4, 2)
    for bad in (0, True, "auto", 2.0):
        with pytest.raises(ValueError, match="lane_width"):
            rlab.train(trainer, range(4), 2, progress=False, lane_width=bad)


def test_rule_width_gives_every_device_one_block():
    assert [widths.rule_width(n, 1) for n in (1, 5, 64)] == [1, 5, 64]
    assert [widths.rule_width(n, 2, "gpu") for n in (1, 2, 7, 8, 64)] == [1, 1, 4, 4, 32]
    # Several CPU devices at once: at most 8 lanes a block (wider MJX blocks deadlock in jaxlib 0.10.2).
    assert [widths.rule_width(n, 2) for n in (1, 8, 64, 256)] == [1, 4, 8, 8]
    assert widths.rule_width(10**6, 1) == widths.MAX_WIDTH
    with pytest.raises(ValueError, match="num_devices"):
        widths.rule_width(4, 0)


def test_fitting_width_halves_the_rule_until_xla_s_memory_plan_fits(trainer):
    import jax

    device = jax.local_devices()[0]
    assert widths.fitting_width(trainer, 8, [device], budget_bytes=2**40).width == 8
    one_lane = widths.step_bytes(trainer, 1, device)
    eight_lanes = widths.step_bytes(trainer, 8, device)
    assert eight_lanes > one_lane > 0
    # A budget below the 8-lane plan but above the 2-lane one: halved until it fits.
    budget = widths.step_bytes(trainer, 2, device)
    choice = widths.fitting_width(trainer, 8, [device], budget_bytes=budget)
    assert choice.width == 2 and choice.reason.startswith("rule")
    assert widths.fitting_width(trainer, 8, [device], budget_bytes=0).width == 1  # never below one lane


def test_per_lane_hyperparameters_follow_their_lanes_across_blocks(trainer):
    noise = np.array([0.01, 0.02, 0.03, 0.04, 0.05], np.float32)
    blocked = lanes.run_lanes(trainer, range(5), {"noise_std": noise}, 1, width=2)
    for lane in range(5):
        alone = lanes.run_lanes(trainer, [lane, 0], {"noise_std": np.r_[noise[lane], 0.9]}, 1, width=2)
        np.testing.assert_array_equal(blocked.metrics["update_norm"][lane], alone.metrics["update_norm"][0])


def _search(rates: dict, ruled_out=()) -> dict:
    """The widths `next_width` has timed, in order, on a throughput curve given in advance."""
    timings = {}
    while (width := widths.next_width(sorted(rates), timings, set(ruled_out))) is not None:
        timings[width] = rates[width]
    return timings


def test_width_search_finds_the_fastest_width_of_any_rise_then_fall_curve():
    candidates = widths.candidate_widths(300)
    assert candidates == [1, 2, 4, 8, 16, 32, 64, 128, 256] and widths.candidate_widths(1) == [1]
    rng = np.random.default_rng(0)
    for _ in range(300):
        peak = rng.integers(len(candidates))
        position = np.cumsum(rng.uniform(0.01, 1.0, len(candidates)))
        rates = dict(zip(candidates, 10.0 - np.abs(position - position[peak])))  # strictly rises, then falls
        timings = _search(rates)
        assert max(timings, key=timings.get) == max(rates, key=rates.get)  # the exhaustive answer
        assert list(timings)[:3] == [1, 256, 16]  # the ends, then the middle in log2 W
    # With the widest ruled out (memory, or the search's time budget) the middle comes second.
    assert list(_search({w: float(w) for w in candidates}, ruled_out={256}))[:2] == [1, 16]
    # Measured on the point mass (64 seeds): the bisection reaches the plateau at 8-16 in its third width.
    point_mass = {1: 153, 2: 185, 4: 211, 8: 215, 16: 216, 32: 190, 64: 170}
    assert list(_search(point_mass)) == [1, 64, 8, 16, 32]


def test_measure_width_times_both_ends_first_and_picks_the_fastest(trainer):
    choice = widths.measure_width(trainer, max_width=8, repeats=1)
    tried = list(choice.steps_per_second)
    assert tried[:2] == [1, 8] and set(tried) <= {1, 2, 4, 8}
    assert choice.width == max(choice.steps_per_second, key=choice.steps_per_second.get)
    assert choice.reason == "measured" and all(v > 0 for v in choice.steps_per_second.values())
    assert widths.measure_width(trainer, max_width=8, fits=lambda w: w <= 2, repeats=1).width <= 2
    described = choice.describe()
    assert described["lane_width"] == choice.width and set(described["lane_width_steps_per_second"]) == set(map(str, tried))


def test_measure_width_stops_when_the_search_would_outweigh_the_run(trainer):
    # A run of a few env steps is over long before a second compile pays: only W = 1 is measured.
    short = widths.measure_width(trainer, max_width=8, repeats=1, run_env_steps=10)
    assert list(short.steps_per_second) == [1] and short.width == 1 and "budget" in short.reason
    # A run of 10^12 env steps affords every candidate.
    long = widths.measure_width(trainer, max_width=8, repeats=1, run_env_steps=1e12)
    assert set(long.steps_per_second) >= {1, 8} and long.reason == "measured"


def test_a_program_traces_the_environment_once_however_often_it_calls_it():
    env = envs.make("cheese_point_mass", dim=2, horizon=4)
    calls = {"reset": 0, "step": 0}
    reset, step = env.reset, env.step

    def counted_reset(key):
        calls["reset"] += 1
        return reset(key)

    def counted_step(state, action):
        calls["step"] += 1
        return step(state, action)

    env.reset, env.step = counted_reset, counted_step
    # PPO resets in its first batch, its rollout's start states and its evaluation, and steps in two.
    trainer = tiny("ppo", env)
    init, step_fn = lanes.compiled(trainer)
    state = init(lanes.seed_keys([0]), lanes.lane_hparams(trainer, None, 1))
    step_fn.lower(state)
    assert calls == {"reset": 1, "step": 1}



COPIED_PROGRAM = """
import jax
import numpy as np

from rlab.run import devices

devices.use_cpu_cores(2)
jax.config.update("jax_enable_compilation_cache", False)  # count compiles, not reads of an earlier run's cache
import envs
from rlab.run import executables
from rlab.run import lanes
from rlab.run import widths
from rlab.run import xla
from tests.trainer_cases import tiny

compiles = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **_: compiles.append(event) if event == "/jax/core/compile/backend_compile_duration" else None
)
trainer = tiny("openai_es", envs.make("cheese_point_mass", dim=2, horizon=4))
first, second = jax.devices()
inputs = (lanes.seed_keys([3, 4]), lanes.lane_hparams(trainer, None, 2))


def two_steps(init, step, device):
    state = init(*jax.device_put(inputs, device))
    state, _ = step(state)
    state, metrics = step(state)
    return jax.device_get((state, metrics))


xla.compiler_options()  # its one trial compile, before counting
before = len(compiles)
lanes.programs(trainer, 2, first)
compiled_first = len(compiles) - before
before = len(compiles)
lanes.programs(trainer, 2, second)
assert compiled_first == 2 and len(compiles) == before, compiles  # init and step; the copy compiled nothing
copied = two_steps(*lanes.programs(trainer, 2, second), second)
assert {leaf.device for leaf in jax.tree.leaves(lanes.programs(trainer, 2, second)[0](*jax.device_put(inputs, second)))} == {second}
# The same bits as a program compiled for the second device itself.
compiled_there = two_steps(*lanes.compile_for_device(trainer, 2, second), second)
assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(copied), jax.tree.leaves(compiled_there)))
# When copying fails (a JAX whose internals changed), the device compiles its own.
executables.copy_to = lambda compiled, device: None
before = len(compiles)
lanes.programs(trainer, 4, first), lanes.programs(trainer, 4, second)
assert len(compiles) == before + 4
print("ok")
"""


def test_a_program_compiles_once_and_runs_on_every_device_with_the_same_bits():
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", COPIED_PROGRAM], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "RLAB_CPU_DEVICES": "2"})
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


CACHE_READ_PROGRAM = """
import sys

import jax
import numpy as np

from rlab.run import devices

devices.use_cpu_cores(2)
jax.config.update("jax_compilation_cache_dir", sys.argv[1])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
import envs
from rlab.run import executables
from rlab.run import lanes
from rlab.run import widths
from tests.trainer_cases import tiny

trainer = tiny("ppo", envs.make("cheese_point_mass", dim=2))
inputs = (lanes.seed_keys([5]), lanes.lane_hparams(trainer, None, 1))
second_steps = []  # every metric of the second step, per device
placed = [lanes.programs(trainer, 1, device) for device in jax.devices()]  # all placed before any runs
for (init, step), device in zip(placed, jax.devices()):
    state, metrics = step(init(*jax.device_put(inputs, device)))
    _, metrics = step(state)
    second_steps.append(np.concatenate([np.ravel(metrics[name]) for name in sorted(metrics)]))
print(executables.persistent_cache_hits(), *(m.tobytes().hex() for m in second_steps))
"""


def test_programs_read_from_the_persistent_cache_run_on_every_device(tmp_path):
    # An executable read from the cache serialises, but its copy failed at its first call on the
    # second device ("Function wrapped_broadcast.7 not found"): the runner compiles there instead.
    import os
    import subprocess
    import sys

    runs = []
    for _ in range(2):  # the first writes the cache, the second reads it
        result = subprocess.run([sys.executable, "-c", CACHE_READ_PROGRAM, str(tmp_path)], capture_output=True,
                                text=True, timeout=300, env={**os.environ, "RLAB_CPU_DEVICES": "2"})
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(result.stdout.split())
    (hits_written, *written), (hits_read, *read) = runs
    assert int(hits_written) == 0 and int(hits_read) >= 2  # init and step came from the cache
    assert written[0] == written[1] == read[0] == read[1]  # one lane's bits, on either device, either run
