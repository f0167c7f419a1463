"""`reacher_nd`: an N-link planar arm must bring its fingertip into a target, simulated with MJX.

The arm's MJCF is generated in code (`arm_mjcf`): `num_links` hinge joints
about the vertical axis, links of equal length summing to 0.2 m, torque
motors on every joint. It is simulated through Brax's pipeline (default
backend "mjx"). The target is a point drawn uniformly in the disc of radius
0.18 m from the reset key; the episode lasts exactly `horizon` steps (a
termination, as in the Swiss-cheese family).

Sparse reward: 1 on the final step if the fingertip is within `target_radius`
of the target, else 0. Dense reward: potential-based shaping with
phi = -(distance from the fingertip to the target disc's edge), so the return
is phi(final) - phi(start): the same optimal policies and the same success.
`state.metrics["success"]` is 1.0 on the final step when the fingertip is in
the target.

Observation `[3 * num_links + 5]`: cos and sin of the joint angles, joint
velocities, target position (2), fingertip minus target (2), time fraction.
Action `[num_links]`: joint torques in [-1, 1].
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from brax.envs.base import PipelineEnv, State

from envs.base import REWARD
from envs.brax_tasks import BACKENDS
from envs.params import Param, resolve

REACH = 0.2  # total arm length, m
TARGET_DISC = 0.18  # targets are drawn within this radius, m


def arm_mjcf(num_links: int, reach: float = REACH) -> str:
    """MJCF of a planar arm of `num_links` equal links whose fingertip is the last body."""
    length = reach / num_links
    body = f'<body name="fingertip" pos="{length:.6f} 0 0"><geom contype="0" conaffinity="0" size=".01" type="sphere"/></body>'
    for i in reversed(range(num_links)):
        pos = "0 0 .01" if i == 0 else f"{length:.6f} 0 0"
        limited = 'limited="false"' if i == 0 else 'limited="true" range="-3.0 3.0"'
        body = (
            f'<body name="link{i}" pos="{pos}">'
            f'<joint name="joint{i}" type="hinge" axis="0 0 1" {limited}/>'
            f'<geom fromto="0 0 0 {length:.6f} 0 0" size=".01" type="capsule"/>'
            f"{body}</body>"
        )
    motors = "".join(
        f'<motor joint="joint{i}" ctrllimited="true" ctrlrange="-1 1" gear="{200.0 / num_links:.3f}"/>'
        for i in range(num_links)
    )
    return f"""<mujoco model="reacher_{num_links}">
  <compiler angle="radian" inertiafromgeom="true"/>
  <default>
    <joint armature="1" damping="1"/>
    <geom conaffinity="0" contype="0" friction="1 0.1 0.1" rgba="0.4 0.33 0.26 1"/>
  </default>
  <option gravity="0 0 -9.81" timestep="0.01"/>
  <worldbody>
    <light diffuse=".5 .5 .5" pos="0 0 3" dir="0 0 -1"/>
    <geom name="ground" type="plane" pos="0 0 0" size="1 1 10" rgba="1 1 1 1"/>
    {body}
  </worldbody>
  <actuator>{motors}</actuator>
</mujoco>"""


class ReacherND(PipelineEnv):
    """N-link planar reacher (MJX); reward only for a fingertip in the target at the end."""

    PARAMS = (
        Param("num_links", int, 2, "joints of the arm: the dimension knob", low=1, high=12),
        Param("horizon", int, 50, "steps per episode; success is judged on the last", low=1, high=100_000),
        Param("target_radius", float, 0.02, "radius of the target disc, m", low=0.0, high=0.2, low_open=True),
        REWARD,
        Param("backend", str, "mjx", "Brax physics pipeline", choices=BACKENDS),
    )
    env_id: ClassVar[str] = "reacher_nd"
    num_actions = None
    has_success = True

    def __init__(self, **params: Any):
        from brax.io import mjcf

        self.params = resolve(self.env_id, self.PARAMS, params)
        self.num_links = self.params["num_links"]
        self.horizon = self.params["horizon"]
        self.xml = arm_mjcf(self.num_links)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            system = mjcf.loads(self.xml)
        super().__init__(sys=system, backend=self.params["backend"], n_frames=2)

    # ----- geometry ------------------------------------------------------------------

    def fingertip(self, pipeline_state) -> jax.Array:
        """Fingertip position in the plane `[2]`: the end of the last link.

        Brax folds joint-less bodies (the fingertip) into their parent, so the
        tip is the last link's frame moved one link length along its axis.
        """
        from brax import base

        offset = base.Transform.create(pos=jnp.array([REACH / self.num_links, 0.0, 0.0]))
        return pipeline_state.x.take(self.num_links - 1).do(offset).pos[:2]

    def _potential(self, tip, target):
        return -jnp.maximum(jnp.linalg.norm(tip - target) - self.params["target_radius"], 0.0)

    def _obs(self, pipeline_state, target, t):
        q, qd = pipeline_state.q, pipeline_state.qd
        tip = self.fingertip(pipeline_state)
        return jnp.concatenate(
            [jnp.cos(q), jnp.sin(q), qd, target, tip - target, (t / self.horizon)[None]]
        ).astype(jnp.float32)

    # ----- Brax's Env interface -------------------------------------------------------

    def reset(self, rng: jax.Array) -> State:
        angle_key, target_radius_key, target_angle_key = jax.random.split(rng, 3)
        q = jax.random.uniform(angle_key, (self.num_links,), minval=-0.1, maxval=0.1)
        pipeline_state = self.pipeline_init(q, jnp.zeros(self.num_links))
        radius = TARGET_DISC * jnp.sqrt(jax.random.uniform(target_radius_key))  # uniform in the disc
        angle = 2 * jnp.pi * jax.random.uniform(target_angle_key)
        target = radius * jnp.array([jnp.cos(angle), jnp.sin(angle)])
        t = jnp.zeros((), jnp.int32)
        zero = jnp.zeros((), jnp.float32)
        return State(
            pipeline_state=pipeline_state, obs=self._obs(pipeline_state, target, t), reward=zero, done=zero,
            metrics={"success": zero, "distance": jnp.linalg.norm(self.fingertip(pipeline_state) - target)},
            info={"target": target, "t": t},
        )

    def step(self, state: State, action: jax.Array) -> State:
        target, t = state.info["target"], state.info["t"]
        active = t < self.horizon
        before = self.fingertip(state.pipeline_state)
        stepped = self.pipeline_step(state.pipeline_state, jnp.clip(action, -1.0, 1.0))
        pipeline_state = jax.tree.map(lambda new, old: jnp.where(active, new, old), stepped, state.pipeline_state)
        tip = self.fingertip(pipeline_state)
        distance = jnp.linalg.norm(tip - target)
        t_next = jnp.where(active, t + 1, t)
        success = (active & (t_next == self.horizon) & (distance <= self.params["target_radius"])).astype(jnp.float32)
        if self.params["reward"] == "sparse":
            reward = success
        else:
            reward = jnp.where(active, self._potential(tip, target) - self._potential(before, target), 0.0)
        return state.replace(
            pipeline_state=pipeline_state,
            obs=self._obs(pipeline_state, target, t_next),
            reward=reward.astype(jnp.float32),
            done=(t_next >= self.horizon).astype(jnp.float32),
            metrics={**state.metrics, "success": success, "distance": distance},
            info={**state.info, "t": t_next},
        )

    @property
    def observation_size(self) -> int:
        return 3 * self.num_links + 5

    @property
    def action_size(self) -> int:
        return self.num_links

    def __repr__(self) -> str:
        return f"ReacherND({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"
