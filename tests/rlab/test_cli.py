"""The `rlab` console script, run as a user runs it."""

import importlib.util
import os
import subprocess
import sys

import pytest

import envs
from rlab import cli, process_setup


def rlab(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_envs_lists_every_environment_with_its_parameters_and_no_import_noise():
    result = rlab("envs")
    assert result.returncode == 0, result.stderr
    for env_id, spec in envs.registered().items():
        assert env_id in result.stdout
        for param in spec.params:
            assert param.name in result.stdout
    assert "Failed to import" not in result.stdout + result.stderr


WARP_PROBE = (
    "import sys; from rlab import cli; sys.argv = ['rlab', 'envs', 'reacher_nd']; code = cli.console_main(); "
    "print('warp loaded:', sys.modules.get('warp') is not None); sys.exit(code)"
)


@pytest.mark.parametrize("switch", [None, "MJX_WARP_ENABLED"])
def test_the_rlab_process_starts_without_mujoco_warp_unless_mjx_is_told_to_use_it(switch):
    if switch and importlib.util.find_spec("warp") is None:
        pytest.skip("MuJoCo Warp is not installed")
    env = {k: v for k, v in os.environ.items() if k not in process_setup.WARP_SWITCHES}
    if switch:
        env[switch] = "true"
    result = subprocess.run([sys.executable, "-c", WARP_PROBE], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "reacher_nd" in result.stdout and "Failed to import" not in result.stdout + result.stderr
    assert f"warp loaded: {bool(switch)}" in result.stdout


def test_envs_describes_one_environment_with_given_parameters():
    result = rlab("envs", "cheese_point_mass", "-p", "dim=5", "-p", "distractor_dims=1")
    assert result.returncode == 0, result.stderr
    assert "observation [7], actions continuous [6]" in result.stdout


def test_envs_check_agrees_with_the_closed_form():
    result = rlab("envs", "deep_sea", "-p", "size=4", "--check", "--episodes", "20000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0.0625" in result.stdout and "yes" in result.stdout


def test_bad_input_is_one_message_with_exit_code_2_and_no_traceback(capsys):
    cases = [
        (["envs", "cheese_pointmass"], "did you mean 'cheese_point_mass'"),
        (["envs", "deep_sea", "-p", "size=big"], "'size' = 'big' is not an integer"),
        (["envs", "deep_sea", "-p", "size=0"], "'size' = 0 is out of range"),
        (["envs", "deep_sea", "-p", "sise=4"], "unknown parameter 'sise'"),
        (["envs", "deep_sea", "-p", "size"], "expected NAME=VALUE"),
        (["envs", "--episodes", "0", "--check"], "--episodes = 0"),
    ]
    # The first through a process of its own, the rest through `main` in this process
    # (each process spends ~10 s on imports; an escaping exception fails the test).
    result = rlab(*cases[0][0])
    assert result.returncode == 2 and cases[0][1] in result.stderr and "Traceback" not in result.stderr, result.stderr
    for args, fragment in cases[1:]:
        assert cli.main(args) == 2, args
        stderr = capsys.readouterr().err
        assert fragment in stderr and "Traceback" not in stderr, (args, stderr)


def test_usage_errors_and_help():
    assert rlab().returncode == 2
    assert rlab("frobnicate").returncode == 2
    for args in (["--help"], ["envs", "--help"]):
        result = rlab(*args)
        assert result.returncode == 0 and "usage: rlab" in result.stdout
    assert rlab("--version").stdout.startswith("rlab ")


def test_algos_lists_every_trainer_and_describes_one(capsys):
    from rlab.trainers import registered

    listing = rlab("algos")
    assert listing.returncode == 0, listing.stderr
    for algo in registered():
        assert algo in listing.stdout
    # The rest through `main` in this process (a process spends ~10 s on imports).
    assert cli.main(["algos", "openai_es"]) == 0
    detail = capsys.readouterr().out
    assert "tie_break" in detail and "float leaf" in detail
    assert cli.main(["algos", "opnai_es"]) == 2
    assert "did you mean 'openai_es'" in capsys.readouterr().err
