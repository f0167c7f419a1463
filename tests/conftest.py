"""Test configuration: the `slow` marker and shared fixtures.

`slow` tests (learning runs, big Monte Carlo checks) are skipped by default.
`pytest --slow=ci` adds the slow tests also marked `ci` (a selection bounded to
a few minutes, the one CI runs); `pytest --slow=all` runs every slow test.
"""

import pytest

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


def pytest_collection_modifyitems(config, items):
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
