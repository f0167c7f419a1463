"""`reacher_nd`: an N-link planar arm must bring its fingertip into a target, simulated with MJX.

The arm's MJCF is generated in code (`arm_mjcf`): `num_links` hinge joints
about the vertical axis, links of equal length summing to 0.2 m, torque
motors on every joint. It is simulated through Brax's pipeline (default
backend "mjx"). The target is a point drawn from the reset key uniformly in
the arm's workspace: the disc of radius 0.18 m for two or more links (equal
links reach the whole disc of radius 0.2 m), the circle of radius 0.2 m for one
link (a single link reaches nothing else, so a target inside the disc would make
the one-link task unsolvable rather than easy). The episode lasts exactly
`horizon` steps (a termination, as in the Swiss-cheese family).

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

import jax
import jax.numpy as jnp
from brax import base

from envs.base import REWARD
from envs.mjx_task import BACKEND, MjxTask
from envs.params import Param

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
    <camera name="top" pos="0 0 0.6" xyaxes="1 0 0 0 1 0"/>
    {body}
  </worldbody>
  <actuator>{motors}</actuator>
</mujoco>"""


class ReacherND(MjxTask):
    """N-link planar reacher (MJX); reward only for a fingertip in the target at the end."""

    PARAMS = (
        Param("num_links", int, 2, "joints of the arm: the dimension knob", low=1, high=12),
        Param("horizon", int, 50, "steps per episode; success is judged on the last", low=1, high=100_000),
        Param("target_radius", float, 0.02, "radius of the target disc, m", low=0.0, high=0.2, low_open=True,
              traced=True),
        REWARD,
        BACKEND,
    )

    @property
    def num_links(self) -> int:
        return self.params["num_links"]

    def make_mjcf(self) -> str:
        return arm_mjcf(self.num_links)

    def fingertip(self, pipeline_state) -> jax.Array:
        """Fingertip position in the plane `[2]`: the end of the last link.

        Brax folds joint-less bodies (the fingertip) into their parent, so the
        tip is the last link's frame moved one link length along its axis.
        """
        offset = base.Transform.create(pos=jnp.array([REACH / self.num_links, 0.0, 0.0]))
        return pipeline_state.x.take(self.num_links - 1).do(offset).pos[:2]

    def _potential(self, pipeline_state, target):
        distance = jnp.linalg.norm(self.fingertip(pipeline_state) - target)
        return -jnp.maximum(distance - self.params["target_radius"], 0.0)

    def _start(self, key):
        angle_key, radius_key, direction_key = jax.random.split(key, 3)
        q = jax.random.uniform(angle_key, (self.num_links,), minval=-0.1, maxval=0.1)
        if self.num_links == 1:
            radius = jnp.float32(REACH)  # the one link's whole workspace: its circle
        else:
            radius = TARGET_DISC * jnp.sqrt(jax.random.uniform(radius_key))  # uniform in the disc
        angle = 2 * jnp.pi * jax.random.uniform(direction_key)
        target = radius * jnp.array([jnp.cos(angle), jnp.sin(angle)])
        return q, jnp.zeros(self.num_links), {"target": target}

    def _observe(self, pipeline_state, info, t):
        q, qd, target = pipeline_state.q, pipeline_state.qd, info["target"]
        tip = self.fingertip(pipeline_state)
        return jnp.concatenate(
            [jnp.cos(q), jnp.sin(q), qd, target, tip - target, self.time_fraction(t)]
        ).astype(jnp.float32)

    def _judge(self, before, after, info, is_last):
        target = info["target"]
        distance = jnp.linalg.norm(self.fingertip(after) - target)
        success = (is_last & (distance <= self.params["target_radius"])).astype(jnp.float32)
        if self.params["reward"] == "sparse":
            reward = success
        else:
            reward = self._potential(after, target) - self._potential(before, target)
        return reward, success, {"distance": distance}

    def markers(self, state):
        """The target disc, for rendering: [(position [3], radius, rgba)]."""
        x, y = (float(v) for v in state.info["target"])
        return [((x, y, 0.005), self.params["target_radius"], (0.2, 0.7, 0.3, 0.6))]

    @property
    def observation_size(self) -> int:
        return 3 * self.num_links + 5

    @property
    def action_size(self) -> int:
        return self.num_links
