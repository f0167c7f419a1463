"""Specs: every problem reported at once, and the plan (groups, chunks) as a pure function of the spec."""

import tomllib

import pytest

from rlab import spec as spec_lib
from rlab.errors import UsageError
from tests.rlab.run.test_sweep import run_cli, write_spec
from tests.sweep_cases import tiny_spec


PLAN_SPEC = """
env = "cheese_point_mass"
seeds = {start = 10, count = 7}
num_evals = 2
[env_params]
horizon = 4
[env_axes]
dim = [1, 2]
[algorithms.ppo]
[algorithms.ppo.axes]
learning_rate = [1e-3, 3e-4]
num_envs = [4, 8]
[algorithms.openai_es]
"""


def plan_spec(text=PLAN_SPEC):
    return spec_lib.parse(tomllib.loads(text), text, "plan")


def test_groups_enumerate_environment_axes_slowest_then_algorithms_then_static_axes():
    groups = plan_spec().groups()
    # 2 dims x (ppo: 2 num_envs values; openai_es: 1) = 6 programs; float axes ride inside them.
    assert [g.id for g in groups] == ["g000", "g001", "g002", "g003", "g004", "g005"]
    assert [(g.env_axes["dim"], g.algo, g.static_axes.get("num_envs")) for g in groups] == [
        (1, "ppo", 4), (1, "ppo", 8), (1, "openai_es", None), (2, "ppo", 4), (2, "ppo", 8), (2, "openai_es", None),
    ]
    assert [len(g.float_combos) for g in groups] == [2, 2, 1, 2, 2, 1]
    assert groups[0].env_params == {"horizon": 4, "dim": 1}


def test_chunks_cover_every_seed_and_float_combination_once_in_fixed_seed_blocks():
    spec = plan_spec()
    chunks = spec.chunks(4)
    by_group = {}
    for chunk in chunks:
        by_group.setdefault(chunk.group.id, []).append(chunk)
    # ppo: 2 float combinations, so 4 // 2 = 2 seeds a block: ceil(7 / 2) = 4 chunks; openai_es: 4 seeds a block, 2.
    assert {g: len(c) for g, c in by_group.items()} == {"g000": 4, "g001": 4, "g002": 2, "g003": 4, "g004": 4, "g005": 2}
    for group_chunks in by_group.values():
        lanes = [lane for chunk in group_chunks for lane in chunk.lanes]
        floats = len(group_chunks[0].group.float_combos)
        assert sorted(lanes) == [(seed, f) for seed in range(10, 17) for f in range(floats)]
    assert by_group["g000"][0].seeds == (10, 11) and by_group["g000"][-1].seeds == (16,)
    assert by_group["g002"][1].id == "g002-c00001" and by_group["g002"][1].seeds == (14, 15, 16)


def test_adding_seeds_keeps_every_full_block_as_it_was():
    spec = plan_spec()
    before = {c.id: c.seeds for c in spec.chunks(4)}
    after = {c.id: c.seeds for c in spec.with_seeds(12).chunks(4)}
    for chunk_id, seeds in before.items():
        assert after[chunk_id][: len(seeds)] == seeds
    assert set(before) < set(after)


def test_a_chunk_smaller_than_the_float_combinations_is_refused():
    with pytest.raises(UsageError, match="chunk size 1 is smaller than the 2 float-hyperparameter combinations"):
        plan_spec().chunks(1)


def test_a_plan_beyond_the_chunk_limit_is_refused_before_any_chunk_is_made():
    huge = plan_spec().with_seeds(spec_lib.MAX_CHUNKS)
    with pytest.raises(UsageError, match="more than 200,000 chunks"):
        huge.chunks(2)


# ----- spec validation ------------------------------------------------------------------


def test_a_valid_spec_parses_into_groups_that_share_float_axes(tmp_path):
    spec = spec_lib.load(write_spec(tmp_path))
    assert spec.env == "cheese_point_mass" and spec.num_seeds == 6 and spec.num_evals == 2
    groups = spec.groups()
    assert [g.env_axes for g in groups] == [{"dim": 1}, {"dim": 2}]
    assert all(len(g.float_combos) == 2 for g in groups)  # noise_std rides inside one program


def test_every_problem_in_a_spec_is_reported_with_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        """
env = "cheese_pointmass"
seeds = 0
num_evals = "ten"
colour = "red"
[env_axes]
dim = []
[algorithms.ppo]
learning_rte = 0.1
[algorithms.ppo.axes]
num_envs = [0, 4]
[algorithms.sac]
"""
    )
    with pytest.raises(spec_lib.SpecError) as caught:
        spec_lib.load(path)
    message = str(caught.value)
    expected = [
        "env: unknown environment 'cheese_pointmass' (did you mean 'cheese_point_mass'?)",
        "seeds: 0; allowed",
        "num_evals: 'ten'; allowed: an integer from 1 to 10,000",
        "colour: unknown key",
        "env_axes.dim: []; allowed: a non-empty list",
        "algorithms.ppo: unknown parameter 'learning_rte' (did you mean 'learning_rate'?)",
        "algorithms.ppo: parameter 'num_envs' = 0 is out of range",
        "algorithms.sac: unknown algorithm 'sac'",
    ]
    for fragment in expected:
        assert fragment in message, fragment
    assert all(line.startswith(str(path)) for line in message.splitlines())


def test_bad_environment_values_in_axes_are_caught_before_compiling(tmp_path):
    path = tmp_path / "axes.toml"
    path.write_text(tiny_spec(2, "[0.1]").replace("dim = [1, 2]", "dim = [1, 0]"))
    with pytest.raises(spec_lib.SpecError, match="env_params/env_axes: parameter 'dim' = 0 is out of range"):
        spec_lib.load(path)


def test_cli_reports_spec_problems_with_exit_code_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('env = "deep_sea"\nseeds = 2\nnum_evals = 1\n')
    result = run_cli("sweep", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "algorithms: missing or empty" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
    missing = run_cli("sweep", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
