"""Ceilings for the physics ladders: can a controller that knows the model solve each level from its own starts?

    python experiments/one_more_dim/controls.py          # writes results/controllers.csv (minutes)

Reacher (`one_more_dim_reacher.toml`'s levels, 1-5 links, the success test
of both reacher specs: fingertip within 5 cm of the target at the last of
50 steps): an operational-space PD controller, torque = clip(Kp J^T (target
- tip) - Kd qd, -1, 1), with the planar chain's Jacobian J computed from
the observation (joint angles, velocities, fingertip minus target), for a
few gains, from EPISODES of the task's start states.

Cart-pole. "Nothing learns two poles" means little until something can. For each
level of `one_more_dim_cartpole_512k.toml` (balance, 200 steps, the cart's
motor limited to +-1 x gear 10) this designs a discrete-time LQR on the
task's own MJCF, linearised at upright with MuJoCo's `mjd_transitionFD`
(one env step = 2 physics steps with the control held: A = A1 A1,
B = A1 B1 + B1), for a few state weightings, and runs it as a policy of the
observation (cart position, cos and sin of each pole's world angle, joint
velocities: the hinge angles are the differences of the world angles) in
the environment itself (MJX), from EPISODES of the task's start states,
judged by the task's success test (cart within 0.25 m and every pole within
0.1 rad of upright at the last step). The force is clipped to the motor's
range, as every policy's is; the share of steps where it saturates is
recorded. Uniform random actions, the floor, are in results/reference.csv.
"""

from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pandas as pd
import scipy.linalg

import envs
from rlab import spec as spec_lib, stats
from rlab.store import files

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
SPEC = HERE / "one_more_dim_cartpole_512k.toml"
REACHER_SPEC = HERE / "one_more_dim_reacher.toml"
# (Kp, Kd) of the reacher's PD controller.
REACHER_GAINS = ((50.0, 0.05), (200.0, 0.1), (200.0, 0.3), (800.0, 0.3))
EPISODES = 1024
SEED = 0
# (name, weight on the cart's position, on each hinge angle, on every velocity, on the force)
WEIGHTINGS = (
    ("Q=I, R=1", 1.0, 1.0, 1.0, 1.0),
    ("angles x10", 1.0, 10.0, 1.0, 1.0),
    ("angles x100, R=0.1", 1.0, 100.0, 1.0, 0.1),
    ("cheap force, R=0.01", 1.0, 1.0, 0.1, 0.01),
    ("costly force, R=10", 1.0, 10.0, 1.0, 10.0),
)


def lqr_gain(xml: str, frames: int, weights: tuple[float, float, float, float]) -> np.ndarray:
    """The discrete LQR gain K `[1, 2 nv]` of one env step (`frames` physics steps), linearised at upright."""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    nv = model.nv
    a1 = np.zeros((2 * nv, 2 * nv))
    b1 = np.zeros((2 * nv, model.nu))
    mujoco.mjd_transitionFD(model, data, 1e-6, True, a1, b1, None, None)
    a, b = a1, b1
    for _ in range(frames - 1):  # the same control held over every physics step of the env step
        a, b = a1 @ a, a1 @ b + b1
    cart, angle, velocity, force = weights
    q = np.diag([cart] + [angle] * (nv - 1) + [velocity] * nv)
    r = np.array([[force]])
    p = scipy.linalg.solve_discrete_are(a, b, q, r)
    return np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)


def run_controller(env, gain: np.ndarray, key) -> tuple[np.ndarray, np.ndarray]:
    """(success `[EPISODES]`, share of steps with the force at its limit `[EPISODES]`) in the environment."""
    gain = jnp.asarray(gain, jnp.float32)
    poles = env.num_poles

    def policy(obs):
        cart, cos, sin = obs[0], obs[1:1 + poles], obs[1 + poles:1 + 2 * poles]
        world = jnp.arctan2(sin, cos)
        hinges = jnp.diff(world, prepend=0.0)
        hinges = (hinges + jnp.pi) % (2 * jnp.pi) - jnp.pi
        velocities = obs[1 + 2 * poles:2 + 3 * poles]
        state = jnp.concatenate([cart[None], hinges, velocities])
        return -(gain @ state)

    def episode(episode_key):
        state = env.reset(episode_key)

        def one_step(state, _):
            force = policy(state.obs)
            state = env.step(state, jnp.clip(force, -1.0, 1.0))
            return state, (state.metrics["success"], jnp.abs(force[0]) >= 1.0)

        _, (success, saturated) = jax.lax.scan(one_step, state, None, length=env.horizon)
        return success[-1], jnp.mean(saturated)

    keys = jax.random.split(key, EPISODES)
    success, saturated = jax.jit(jax.vmap(episode))(keys)
    return np.asarray(success), np.asarray(saturated)


def run_reacher_controller(env, kp: float, kd: float, key) -> tuple[np.ndarray, np.ndarray]:
    """(success `[EPISODES]`, share of steps with a torque at its limit) of the PD controller in the environment."""
    links = env.num_links
    length = 0.2 / links

    def policy(obs):
        angles = jnp.arctan2(obs[links:2 * links], obs[:links])
        velocities = obs[2 * links:3 * links]
        error = -obs[3 * links + 2:3 * links + 4]  # target minus fingertip
        world = jnp.cumsum(angles)
        # The planar chain's Jacobian: joint j moves every link from j on.
        per_link = length * jnp.stack([-jnp.sin(world), jnp.cos(world)])  # [2, links]
        jacobian = jnp.cumsum(per_link[:, ::-1], axis=1)[:, ::-1]
        return kp * (jacobian.T @ error) - kd * velocities

    def episode(episode_key):
        state = env.reset(episode_key)

        def one_step(state, _):
            torque = policy(state.obs)
            state = env.step(state, jnp.clip(torque, -1.0, 1.0))
            return state, (state.metrics["success"], jnp.any(jnp.abs(torque) >= 1.0))

        _, (success, saturated) = jax.lax.scan(one_step, state, None, length=env.horizon)
        return success[-1], jnp.mean(saturated)

    success, saturated = jax.jit(jax.vmap(episode))(jax.random.split(key, EPISODES))
    return np.asarray(success), np.asarray(saturated)


def reacher_rows() -> list[dict]:
    spec = spec_lib.load(REACHER_SPEC)
    rows = []
    for level in sorted(spec.env_axes["num_links"]):
        env = envs.make(spec.env, **{**spec.env_params, "num_links": level})
        for kp, kd in REACHER_GAINS:
            success, saturated = run_reacher_controller(env, kp, kd, jax.random.PRNGKey(SEED))
            rows.append(_row("reacher", level, f"PD on J^T (Kp={kp:g}, Kd={kd:g})", success, saturated))
    return rows


def _row(task: str, level: int, controller: str, success: np.ndarray, saturated: np.ndarray) -> dict:
    """One line of controllers.csv (Wilson 95% on the episodes), said as it is measured."""
    hits = int(success.sum())
    rate = stats.success_rate(hits, EPISODES)
    print(f"{task} level {level}, {controller}: {hits}/{EPISODES} episodes succeed, an action saturated on "
          f"{saturated.mean():.0%} of steps", flush=True)
    return {"task": task, "level": int(level), "controller": controller, "episodes": EPISODES, "successes": hits,
            "p": float(rate.point), "p_low": float(rate.low), "p_high": float(rate.high),
            "saturated_steps": float(saturated.mean())}


def controllers_table() -> pd.DataFrame:
    spec = spec_lib.load(SPEC)
    rows = []
    for level in sorted(spec.env_axes["num_poles"]):
        env = envs.make(spec.env, **{**spec.env_params, "num_poles": level})
        for name, *weights in WEIGHTINGS:
            gain = lqr_gain(env.xml, env.n_frames, tuple(weights))
            success, saturated = run_controller(env, gain, jax.random.PRNGKey(SEED))
            rows.append(_row("cartpole", level, f"LQR ({name})", success, saturated))
    return pd.DataFrame(rows + reacher_rows())


def main() -> int:
    table = controllers_table()
    files.atomic_write(RESULTS / "controllers.csv", lambda tmp: table.to_csv(tmp, index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
