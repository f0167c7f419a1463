"""The same random-action rollout in MJX (through the env's Brax pipeline) and in C MuJoCo."""

import jax
import jax.numpy as jnp
import mujoco
import numpy as np


def rollout_both(env, q0, steps: int = 25, seed: int = 0):
    """Steps both simulators from joint positions `q0` with the same random controls.

    Returns:
      (the MJX pipeline state, the C MuJoCo MjData) after `steps` env steps,
      i.e. `steps * env.n_frames` physics steps.
    """
    model = mujoco.MjModel.from_xml_string(env.xml)
    data = mujoco.MjData(model)
    data.qpos[:] = q0
    state = jax.jit(env.pipeline_init)(jnp.asarray(q0, jnp.float32), jnp.zeros(model.nv))  # op by op: ~30 s
    step = jax.jit(env.pipeline_step)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        action = rng.uniform(-1, 1, model.nu)
        data.ctrl[:] = action
        for _ in range(env.n_frames):
            mujoco.mj_step(model, data)
        state = step(state, jnp.asarray(action, jnp.float32))
    return state, data
