"""Test configuration: the `slow` marker and shared fixtures.

`slow` tests (learning runs, big Monte Carlo checks) are skipped by default.
`pytest --slow=ci` adds the slow tests also marked `ci` (a selection bounded to
a few minutes, the one CI runs); `pytest --slow=all` runs every slow test.
"""

import os
import pathlib
import subprocess
import sys

import pytest

# One CPU device in tests and in the `rlab` commands they start (the command line's
# default is one device per core, `rlab.run.devices`): the two pytest workers already use
# both cores, and more devices would only oversubscribe them.
# Tests that check the device split set their own value.
os.environ["RLAB_CPU_DEVICES"] = "1"

# Tests compile far more than they compute (small programs, a few steps each), so
# they run, and the `rlab` commands they start, with XLA's backend optimisation and
# its CPU fusion emitters off. Measured on 2 cores: the policy and lane tests take
# 60 s instead of 109 s with the first; the trainer contract tests 78 s instead of
# 144 s with both; the learning tests about the same time (compile saved, compute
# lost). A flag the installed XLA does not know aborts every process, so the flags
# are tried in a subprocess first. A user's own XLA_FLAGS are kept as they are.
TEST_XLA_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")


def _xla_accepts(flags: str) -> bool:
    probe = "import jax.numpy as jnp; jnp.zeros(1).block_until_ready()"
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0


if not os.environ.get("XLA_FLAGS") and _xla_accepts(" ".join(TEST_XLA_FLAGS)):
    os.environ["XLA_FLAGS"] = " ".join(TEST_XLA_FLAGS)

# `envs` chooses MuJoCo's OpenGL backend (EGL without a display) before importing
# MuJoCo; import it before any test module imports MuJoCo itself.
import envs  # noqa: F401


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        choices=("none", "ci", "all"),
        default="none",
        help="which slow tests to run: none (default), the bounded CI selection, or all",
    )


# The longest test files first: with `-n 2 --dist loadfile` a long file collected last
# (alphabetically, the learning tests) ran alone on one worker while the other idled.
LONGEST_FIRST = (
    "rlab/run/test_sweep.py", "rlab/trainers/test_learning.py", "rlab/test_report.py", "rlab/probes/test_probes.py",
    "rlab/test_render.py", "envs/test_reacher_nd.py", "envs/test_cartpole_poles.py", "envs/test_brax_tasks.py",
    "rlab/test_cli_bad_inputs.py", "rlab/test_cli.py",
)
TESTS = pathlib.Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.resolve().relative_to(TESTS).as_posix()
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and of the other files, is kept
    mode = config.getoption("--slow")
    for item in items:
        # Markers, not `item.keywords`: keywords also hold the names of parent
        # directories, so a checkout in a folder called "ci" would match.
        if item.get_closest_marker("slow") is None:
            continue
        in_ci = item.get_closest_marker("ci") is not None
        if mode == "all" or (mode == "ci" and in_ci):
            continue
        reason = "slow test: run with --slow=all" + (" or --slow=ci" if in_ci else "")
        item.add_marker(pytest.mark.skip(reason=reason))
