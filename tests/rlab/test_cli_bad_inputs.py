"""Bad input through the CLI: exit code 2, one line naming the field, no traceback, nothing created."""

import pytest

from rlab import cli
from tests.sweep_cases import tiny_spec
from tests.rlab.run.test_sweep import run_cli

BAD_SWEEP_INPUTS = [
    # (spec edit or None, extra CLI args, text the one-line error must contain)
    (("name = \"tiny\"", "name = \"../../x\""), [], "name: '../../x'"),
    (("name = \"tiny\"", "name = \"/abs\""), [], "name: '/abs'"),
    (("name = \"tiny\"", "name = \"" + "n" * 300 + "\""), [], "characters of letters"),
    (("name = \"tiny\"", "name = \"a\\u0000b\""), [], "name:"),
    (("seeds = 6", "seeds = {start = 9223372036854775000, count = 2}"), [], "32-bit keys"),
    (("noise_std = [0.02, 0.05]", "noise_std = [1, 1.0]"), [], "repeats a value"),
    (("noise_std = [0.02, 0.05]", "noise_std = [inf]"), [], "'noise_std' = inf is out of range"),
    (("horizon = 4", "horizon = 4\nhole_radius = nan"), [], "'hole_radius' = nan is out of range"),
    (("dim = [1, 2]", "dim = " + str(list(range(1, 201))) + "\nnum_holes = " + str(list(range(1, 61)))), [],
     "12,000 combinations; allowed: at most 10,000"),
    (None, ["--seeds", "99999999999999999999"], "--seeds"),
    (None, ["--seeds", "2000000"], "more than 200,000 chunks"),
    (None, ["--memory-budget", "nan"], "--memory-budget = nan"),
    (None, ["--memory-budget", "inf"], "--memory-budget = inf"),
    (None, ["--lane-width", "0"], "--lane-width = 0"),
    (None, ["--lane-width", "\u00b2"], "--lane-width = \u00b2"),  # a digit to str.isdigit, not to int
    (None, ["--process", "\u00b2/3"], "--process = '\u00b2/3'"),
    (None, ["--lane-width", "-1"], "--lane-width = -1"),
    (None, ["--lane-width", "1e9"], "--lane-width = 1e9"),
    (None, ["--lane-width", "2048"], "--lane-width = 2048"),
    (None, ["--seeds", "0"], "--seeds = 0"),
    (None, ["--chunk-size", "0"], "--chunk-size = 0"),
    (None, ["--chunk-size", "-5"], "--chunk-size = -5"),
    (None, ["--memory-budget", "0.5"], "--memory-budget = 0.5"),
    (None, ["--memory-budget", "-1"], "--memory-budget = -1"),
    (None, ["--process", "2/2"], "--process = '2/2'"),
    (None, ["--process", "x"], "--process = 'x'"),
    (None, ["--out", "{file}"], "is a file"),
    (None, ["--out", "/proc/rlab-test/x"], "cannot create"),
    (("seeds = 6", "seeds = 0"), [], "seeds: 0"),
    (("seeds = 6", "seeds = -3"), [], "seeds: -3"),
    (("seeds = 6", 'seeds = "ten"'), [], "seeds: 'ten'"),
    (("seeds = 6", "seeds = {start = -1, count = 2}"), [], "seeds:"),
    (("seeds = 6", "seeds = {count = 2, stop = 3}"), [], "seeds:"),
    (("num_evals = 2", "num_evals = 0"), [], "num_evals: 0"),
    (("num_evals = 2", "num_evals = 2.5"), [], "num_evals: 2.5"),
    (("chunk_size = 4", "chunk_size = 0"), [], "chunk_size: 0"),
    (("lane_width = 2", "lane_width = 0"), [], "lane_width: 0"),
    (("lane_width = 2", 'lane_width = "wide"'), [], "lane_width: 'wide'"),
    (("lane_width = 2", "lane_width = 1000000000"), [], "lane_width: 1000000000"),
    (("lane_width = 2", "lane_width = 8"), [], "lane width 8 exceeds the chunk size 4"),
    (None, ["--lane-width", "16", "--chunk-size", "8"], "lane width 16 exceeds the chunk size 8"),
    (('env = "cheese_point_mass"', 'env = "nope"'), [], "unknown environment 'nope'"),
    (("num_evals = 2", "num_evals = 2\ncolour = 1"), [], "colour: unknown key"),
    (("num_evals = 2", "num_evals = 2\nenv_steps_per_eval = 64"), [], "sets it; remove it"),
    (("num_evals = 2", "total_env_steps = 64"), [], "needs env_steps_per_eval"),
    (("num_evals = 2", "num_evals = 2\ntotal_env_steps = 64"), [], "not both"),
    (("horizon = 4", "horizon = 4\ndim = 2"), [], "env_axes.dim: also given in env_params"),
    (('reward = "dense"', 'reward = "Sparse"'), [], "'reward' = 'Sparse' is not allowed"),
    (("dim = [1, 2]", "dim = []"), [], "a non-empty list"),
    (("dim = [1, 2]", "dim = [1, 1]"), [], "repeats a value"),
    (("population = 4", "population = 4\nlearning_rate = -1"), [], "'learning_rate' = -1"),
    (("population = 4", "population = 5"), [], "population = 5 must be even"),
    (("population = 4", "population = 4\neval_episodes_typo = 3"), [], "unknown parameter 'eval_episodes_typo'"),
    (("width = 4", "width = 0"), [], "'width' = 0 is out of range"),
    (("noise_std = [0.02, 0.05]", 'noise_std = ["a"]'), [], "'noise_std' = 'a'"),
    (("[algorithms.openai_es]", "[algorithms.sac]"), [], "unknown algorithm 'sac'"),
    (('name = "tiny"', 'name = ""'), [], "name: ''"),
    (('name = "tiny"', 'name = "a/b"'), [], "name: 'a/b'"),
    (('name = "tiny"', 'name = ".hidden"'), [], "name: '.hidden'"),
    (('name = "tiny"', 'name = "tiny'), [], "not valid TOML"),
]


def run_main(capsys, *args) -> tuple[int, str]:
    """Runs `rlab` in this process (its `main`, as the console script does); returns (exit code, stderr).

    In-process, because each `rlab` process spends ~10 s importing JAX, Brax
    and MJX before it can refuse anything; an escaping exception (what would
    print a traceback) fails the test. The process boundary itself is checked
    once below.
    """
    try:
        code = cli.main(list(args))
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    return code, capsys.readouterr().err


def write_spec(tmp_path, edit, extra) -> tuple[list[str], set]:
    text = tiny_spec(6)
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(text)
    (tmp_path / "a_file").write_text("not a sweep")
    extra = [arg.replace("{file}", str(tmp_path / "a_file")) for arg in extra]
    args = ["sweep", str(spec_path), "--out", str(tmp_path / "out"), "--cache-dir", "none", *extra]
    return args, set(tmp_path.rglob("*"))


@pytest.mark.parametrize("edit, extra, message", BAD_SWEEP_INPUTS, ids=[m[:30] for _, _, m in BAD_SWEEP_INPUTS])
def test_bad_sweep_input_is_one_line_exit_2_and_creates_nothing(tmp_path, capsys, edit, extra, message):
    args, before = write_spec(tmp_path, edit, extra)
    code, stderr = run_main(capsys, *args)
    assert code == 2, stderr
    assert message in stderr and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 2  # one problem line (a spec file may name two problems)
    assert set(tmp_path.rglob("*")) == before  # no directory or file made for a refused command


def test_a_refusal_is_the_same_through_the_installed_process(tmp_path):
    # Refused by the build check, after the process has imported the trainers and environments.
    edit, extra, message = next(case for case in BAD_SWEEP_INPUTS if "must be even" in case[2])
    args, before = write_spec(tmp_path, edit, extra)
    result = run_cli(*args, timeout=120)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and set(tmp_path.rglob("*")) == before
