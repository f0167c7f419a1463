"""Imports Brax's environment package without its start-up noise.

MJX probes for an optional GPU backend (warp) when Brax is imported and
prints "Failed to import warp..." twice on machines without it. That is not
something a user can act on, so those two lines are dropped; anything else
printed during the import is passed through unchanged.
"""

import contextlib
import io
import sys

_NOISE = ("Failed to import warp", "Failed to import mujoco_warp")


def import_brax_envs():
    """Imports and returns `brax.envs`, dropping the warp probe's messages."""
    if "brax.envs" in sys.modules:
        return sys.modules["brax.envs"]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        import brax.envs
    for line in captured.getvalue().splitlines():
        if not line.startswith(_NOISE):
            print(line)
    return brax.envs
