"""`cartpole_poles`: cart-pole with a chain of `num_poles` poles, swing-up or balance, simulated with MJX.

The MJCF is generated in code (`cartpole_mjcf`): a cart on a rail (slide
joint, force-actuated) carrying `num_poles` hinged poles in a chain. With
`task="swing_up"` (the default) episodes start with every pole hanging down;
with `task="balance"` they start near upright, as the DeepMind Control
Suite's balance task does (cart uniform in +-0.1 m, every hinge uniform in
+-0.034 rad): the classic one-more-pole ladder, where one pole is easy and
two (the double inverted pendulum) hard. Episodes last exactly `horizon`
steps. Upright means cos(world angle) > 0.995 for every pole; centred means
|cart position| < 0.25 m, as in the DeepMind Control Suite's sparse cart-pole.

Sparse reward (DMC semantics): 1 on every step where the cart is centred and
every pole upright, else 0. Dense reward: DMC's smooth shaping without its
control term, mean((1 + cos) / 2) over poles times (1 + exp(-x^2)) / 2 for
the cart. Success: 1.0 on the final step if the cart is centred and every
pole upright then.

Observation `[3 * num_poles + 3]`: cart position, cos and sin of each pole's
world angle, velocities of all joints, time fraction. Action `[1]`: the cart force.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from envs.base import REWARD
from envs.mjx_task import BACKEND, MjxTask
from envs.params import Param

POLE_LENGTH = 1.0
UPRIGHT_COS = 0.995
CENTRED = 0.25
TASKS = ("swing_up", "balance")
# The balance task's start, as in the DeepMind Control Suite: cart and hinges uniform in these ranges.
BALANCE_CART, BALANCE_HINGE = 0.1, 0.034


def cartpole_mjcf(num_poles: int) -> str:
    """MJCF of a cart with a chain of `num_poles` poles, each `POLE_LENGTH` / num_poles long."""
    length = POLE_LENGTH / num_poles
    pole = ""
    for i in reversed(range(num_poles)):
        pos = "0 0 0" if i == 0 else f"0 0 {length:.6f}"
        pole = (
            f'<body name="pole{i}" pos="{pos}">'
            f'<joint name="hinge{i}" type="hinge" axis="0 1 0" damping="0.05"/>'
            f'<geom type="capsule" fromto="0 0 0 0 0 {length:.6f}" size="0.045" mass="{0.1 / num_poles:.4f}"/>'
            f"{pole}</body>"
        )
    return f"""<mujoco model="cartpole_{num_poles}">
  <compiler angle="radian"/>
  <option timestep="0.01"/>
  <default><geom contype="0" conaffinity="0" rgba="0.7 0.5 0.3 1"/></default>
  <worldbody>
    <light pos="0 0 6"/>
    <geom name="floor" type="plane" pos="0 0 -0.05" size="4 4 0.2" rgba="1 1 1 1"/>
    <camera name="side" pos="0 -4 1" xyaxes="1 0 0 0 0 1"/>
    <body name="cart" pos="0 0 1">
      <joint name="slider" type="slide" axis="1 0 0" damping="5e-4" limited="true" range="-1.8 1.8"/>
      <geom type="box" size="0.2 0.15 0.1" mass="1"/>
      {pole}
    </body>
  </worldbody>
  <actuator><motor joint="slider" gear="10" ctrllimited="true" ctrlrange="-1 1"/></actuator>
</mujoco>"""


class CartpolePoles(MjxTask):
    """Cart-pole swing-up or balance with a chain of poles (MJX); reward only when centred and upright."""

    PARAMS = (
        Param("num_poles", int, 1, "poles in the chain: the dimension knob", low=1, high=8),
        Param("horizon", int, 200, "steps per episode; success is judged on the last", low=1, high=100_000),
        Param("task", str, "swing_up", "'swing_up': poles start hanging down; 'balance': near upright",
              choices=TASKS),
        REWARD,
        BACKEND,
    )

    @property
    def num_poles(self) -> int:
        return self.params["num_poles"]

    def make_mjcf(self) -> str:
        return cartpole_mjcf(self.num_poles)

    def pole_angles(self, pipeline_state) -> jax.Array:
        """World angle of each pole from upright `[num_poles]` (the chain's cumulative hinge angles)."""
        return jnp.cumsum(pipeline_state.q[1:])

    def _start(self, key):
        position_key, angle_key = jax.random.split(key)
        if self.params["task"] == "balance":
            cart = jax.random.uniform(position_key, (), minval=-BALANCE_CART, maxval=BALANCE_CART)
            hinges = jax.random.uniform(angle_key, (self.num_poles,), minval=-BALANCE_HINGE, maxval=BALANCE_HINGE)
        else:
            cart = 0.01 * jax.random.normal(position_key)
            hinges = 0.01 * jax.random.normal(angle_key, (self.num_poles,))
            hinges = hinges.at[0].add(jnp.pi)  # hanging down: swing-up
        return jnp.concatenate([cart[None], hinges]), jnp.zeros(self.num_poles + 1), {}

    def _observe(self, pipeline_state, info, t):
        angles = self.pole_angles(pipeline_state)
        return jnp.concatenate(
            [pipeline_state.q[:1], jnp.cos(angles), jnp.sin(angles), pipeline_state.qd, self.time_fraction(t)]
        ).astype(jnp.float32)

    def _judge(self, before, after, info, is_last):
        cart = after.q[0]
        cosines = jnp.cos(self.pole_angles(after))
        balanced = (jnp.abs(cart) < CENTRED) & jnp.all(cosines > UPRIGHT_COS)
        success = (is_last & balanced).astype(jnp.float32)
        if self.params["reward"] == "sparse":
            reward = balanced.astype(jnp.float32)
        else:
            upright = jnp.mean((1.0 + cosines) / 2.0)
            centred = (1.0 + jnp.exp(-(cart**2))) / 2.0
            reward = upright * centred
        return reward, success, {"upright": jnp.mean(cosines)}

    @property
    def observation_size(self) -> int:
        return 3 * self.num_poles + 3

    @property
    def action_size(self) -> int:
        return 1
