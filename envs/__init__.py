"""rlab's environments: sparse-reward "Swiss cheese" tasks behind Brax's `Env` interface.

    import envs
    env = envs.make("cheese_point_mass", dim=3, reward="sparse")
    state = env.reset(jax.random.PRNGKey(0))
    state = env.step(state, action)          # action: float32 [env.action_size]

Every environment implements `brax.envs.base.Env` and is also registered in
Brax's registry (`brax.envs.get_environment("deep_sea", size=8)` works). All
report `state.metrics["success"]`, 1.0 on the step where the task is achieved.

Discrete-action environments (`deep_sea`, `combination_lock`) have an integer
`env.num_actions` and take an integer scalar action; continuous ones have
`env.num_actions = None`. See `envs.base` for the full convention.

`brax/<name>` wraps every standard Brax environment (see `envs.brax_tasks`):
those have a time limit (`env.episode_length`, a truncation) instead of a
horizon, and no success definition. `playground/<Name>` does the same for MuJoCo
Playground's DeepMind Control Suite tasks when that optional package is
installed (see `envs.playground_tasks`), and `gymnax/<id>` for gymnax's tasks
(`envs.gymnax_tasks`) where gymnax is installed.
"""

import os
import sys

# MuJoCo chooses its OpenGL backend once, when first imported (by Brax, below).
# Without a display only EGL (or OSMesa) can render, so default to EGL there.
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

from envs import _quiet  # noqa: E402

_quiet.import_brax_envs()  # before anything else imports brax, to drop its noise

from envs.base import LabEnv  # noqa: E402
from envs.brax_tasks import BRAX_TASKS, BraxTask, task_class  # noqa: E402
from envs.cheese_bandit import CheeseBandit  # noqa: E402
from envs.cheese_point_mass import CheesePointMass  # noqa: E402
from envs.combination_lock import CombinationLock  # noqa: E402
from envs.deep_sea import DeepSea  # noqa: E402
from envs.cartpole_poles import CartpolePoles  # noqa: E402
from envs.reacher_nd import ReacherND  # noqa: E402
from envs.params import EnvParamError, Param  # noqa: E402
from envs import gymnax_tasks, playground_tasks  # noqa: E402
from envs.registry import EnvSpec, lookup, make, register, registered  # noqa: E402

register("cheese_bandit", CheeseBandit)
register("cheese_point_mass", CheesePointMass)
register("deep_sea", DeepSea)
register("combination_lock", CombinationLock)
register("reacher_nd", ReacherND)
register("cartpole_poles", CartpolePoles)
for _name in BRAX_TASKS:
    register(f"brax/{_name}", task_class(_name))
for _name in playground_tasks.suite_names():
    register(playground_tasks.PREFIX + _name, playground_tasks.task_class(_name))
if playground_tasks.installed():
    register(playground_tasks.PREFIX + playground_tasks.SWIMMER, playground_tasks.Swimmer)
if gymnax_tasks.available():  # gymnax's tasks, where the optional package is installed
    for _name in gymnax_tasks.IDS:
        register(gymnax_tasks.PREFIX + _name, gymnax_tasks.task_class(_name), origin="gymnax")

__all__ = [
    "BraxTask",
    "CartpolePoles",
    "CheeseBandit",
    "CheesePointMass",
    "CombinationLock",
    "DeepSea",
    "EnvParamError",
    "EnvSpec",
    "LabEnv",
    "lookup",
    "ReacherND",
    "Param",
    "make",
    "register",
    "registered",
]
