"""Replaying a policy in C MuJoCo and drawing what it does: GIF animations and PNG strips.

    replay = render.replay(env, act, key, num_steps=50)        # act: obs -> action
    render.write_gif(replay, "seed3.gif"); render.write_strip(replay, "seed3.png")

The physics of a replay is C MuJoCo's (`mujoco.mj_step` on the task's own
model), not the JAX simulation the policy was trained in. The task's
observations, rewards and success still come from the task's own JAX code: at
every step the JAX environment is re-synchronised to C MuJoCo's state
(positions and velocities) and steps from there, so the policy acts in a
closed loop on C MuJoCo's trajectory. `Replay.max_gap` is the largest
difference between C MuJoCo's next state and the JAX environment's prediction
of it over the episode, the error this coupling carries (about 1e-5 for
rlab's MuJoCo tasks).

Rendering needs an OpenGL backend. Without a display, MuJoCo renders through
EGL (Debian/Ubuntu: `apt install libegl1 libgl1-mesa-dri`) or OSMesa
(`apt install libosmesa6`), chosen by the `MUJOCO_GL` environment variable
before MuJoCo is imported; `import envs` sets `MUJOCO_GL=egl` on Linux when
there is no display and the variable is unset.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from rlab.errors import UsageError
from rlab.store import atomic_write

MUJOCO_FAMILIES = "reacher_nd, cartpole_poles, brax/<name>, playground/<Name>"


class RenderingUnavailable(RuntimeError):
    """No OpenGL backend could start; the message says what to install or set."""


@dataclasses.dataclass(frozen=True)
class MujocoView:
    """How to run a JAX environment's physics in C MuJoCo.

    Attributes:
      model: the C MuJoCo model the JAX simulation was built from.
      substeps: physics steps per environment step (the same control each).
      positions: `state -> (qpos [nq], qvel [nv])` of a JAX environment state.
      synced: `(state, qpos, qvel) -> state` with its physics set to those.
    """

    model: Any
    substeps: int
    positions: Callable
    synced: Callable


def mujoco_view(env) -> MujocoView:
    """The C MuJoCo view of a MuJoCo-based environment.

    Raises:
      UsageError: for an environment that is not simulated with MuJoCo.
    """
    from brax.envs.base import PipelineEnv

    inner = getattr(env, "inner", env)  # the physics of `brax/<name>` and `playground/<Name>`
    if isinstance(inner, PipelineEnv):
        if getattr(env, "backend", "mjx") != "mjx":
            raise UsageError(
                f"{env!r} simulates with Brax's {env.backend!r} pipeline; C MuJoCo replays need backend='mjx'"
            )
        return MujocoView(
            model=inner.sys.mj_model,
            substeps=int(inner._n_frames),
            positions=lambda state: (state.pipeline_state.q, state.pipeline_state.qd),
            synced=lambda state, q, qd: state.replace(pipeline_state=inner.pipeline_init(q, qd)),
        )
    if hasattr(inner, "mjx_model") and hasattr(inner, "mj_model"):
        from mujoco import mjx

        def synced(state, q, qd):
            return state.replace(data=mjx.forward(inner.mjx_model, state.data.replace(qpos=q, qvel=qd)))

        return MujocoView(
            model=inner.mj_model,
            substeps=int(inner.n_substeps),
            positions=lambda state: (state.data.qpos, state.data.qvel),
            synced=synced,
        )
    raise UsageError(f"{getattr(env, 'env_id', env)!r} is not simulated with MuJoCo; rendering needs one of: "
                     f"{MUJOCO_FAMILIES}")


@dataclasses.dataclass(frozen=True)
class Replay:
    """One episode replayed in C MuJoCo.

    Attributes:
      frames: uint8 `[T + 1, height, width, 3]`, the start state and every step.
      rewards: float `[T]`; success: float `[T]` (the task's `metrics["success"]`).
      max_gap: largest |C MuJoCo state - JAX prediction| over the episode.
      dt: seconds of simulated time per environment step.
    """

    frames: np.ndarray
    rewards: np.ndarray
    success: np.ndarray
    max_gap: float
    dt: float

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum())

    @property
    def succeeded(self) -> bool:
        return bool(self.success.max(initial=0.0) > 0)


class Replayer:
    """Replays policies in one environment with C MuJoCo physics; compiles the JAX side once.

    Raises:
      UsageError: for an environment that is not simulated with MuJoCo.
    """

    def __init__(self, env, width: int = 320, height: int = 240, camera: str | int | None = None):
        self.env = env
        self.view = mujoco_view(env)
        self.size = (width, height)
        self.camera = camera
        self._reset, self._step = jax.jit(env.reset), jax.jit(env.step)
        self._positions, self._synced = jax.jit(self.view.positions), jax.jit(self.view.synced)
        self._markers = getattr(env, "markers", lambda state: [])

    def run(self, act: Callable, key: jax.Array, num_steps: int) -> Replay:
        """One episode of `act` (obs -> action) from `env.reset(key)`, rendering every state.

        The episode ends when the environment says it is done or after `num_steps` steps.
        """
        import mujoco

        model, substeps = self.view.model, self.view.substeps
        data = mujoco.MjData(model)
        state = self._reset(key)
        with Painter(model, *self.size, camera=self.camera) as painter:
            _load(data, *self._positions(state))
            mujoco.mj_forward(model, data)
            frames, rewards, success, gap = [painter.draw(data, self._markers(state))], [], [], 0.0
            for _ in range(num_steps):
                action = np.asarray(act(state.obs))
                data.ctrl[:] = action.reshape(data.ctrl.shape)
                mujoco.mj_step(model, data, nstep=substeps)
                predicted = self._step(state, jnp.asarray(action))
                q, qd = np.array(data.qpos), np.array(data.qvel)
                predicted_q, predicted_qd = self._positions(predicted)
                gap = max(gap, float(np.abs(predicted_q - q).max()), float(np.abs(predicted_qd - qd).max()))
                state = self._synced(predicted, jnp.asarray(q, jnp.float32), jnp.asarray(qd, jnp.float32))
                frames.append(painter.draw(data, self._markers(state)))
                rewards.append(float(state.reward))
                success.append(float(state.metrics.get("success", 0.0)))
                if float(state.done) > 0:
                    break
        return Replay(np.stack(frames), np.array(rewards), np.array(success), gap, model.opt.timestep * substeps)


def replay(env, act: Callable, key: jax.Array, num_steps: int, width: int = 320, height: int = 240,
           camera: str | int | None = None) -> Replay:
    """One episode of `act` in `env` with C MuJoCo physics, rendered; see `Replayer`."""
    return Replayer(env, width, height, camera).run(act, key, num_steps)


def _load(data, qpos, qvel) -> None:
    data.qpos[:] = np.asarray(qpos)
    data.qvel[:] = np.asarray(qvel)


class Painter:
    """A MuJoCo offscreen renderer with a camera that frames the model.

    `camera`: a camera name or index of the model; default: the model's first
    camera if it has one, else a free camera looking at the model's centre
    (following the root body when it is free-floating).
    """

    def __init__(self, model, width: int, height: int, camera: str | int | None = None):
        import mujoco

        self.model = model
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        try:
            self.renderer = mujoco.Renderer(model, height, width)
        except Exception as err:  # MuJoCo raises several types when no GL context can be made
            raise RenderingUnavailable(_gl_advice(err)) from None
        self.camera = camera if camera is not None else (0 if model.ncam else self._free_camera())

    def _free_camera(self):
        import mujoco

        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, camera)
        root_free = self.model.njnt and self.model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
        if root_free:
            camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            camera.trackbodyid = int(self.model.jnt_bodyid[0])
        camera.distance = 1.6 * self.model.stat.extent
        camera.elevation = -30.0
        camera.azimuth = 90.0
        return camera

    def draw(self, data, markers=()) -> np.ndarray:
        """The current scene, plus `markers` spheres (position, radius, rgba), as uint8 `[height, width, 3]`."""
        import mujoco

        self.renderer.update_scene(data, camera=self.camera)
        scene = self.renderer.scene
        for position, radius, rgba in markers:
            if scene.ngeom >= scene.maxgeom:
                break
            mujoco.mjv_initGeom(
                scene.geoms[scene.ngeom], mujoco.mjtGeom.mjGEOM_SPHERE, np.array([radius, radius, radius]),
                np.asarray(position, np.float64), np.eye(3).reshape(-1), np.asarray(rgba, np.float32),
            )
            scene.ngeom += 1
        return self.renderer.render().copy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.renderer.close()


def _gl_advice(err: Exception) -> str:
    backend = os.environ.get("MUJOCO_GL", "(unset: GLFW, which needs a display)")
    return (
        f"MuJoCo could not start OpenGL rendering with MUJOCO_GL={backend} ({type(err).__name__}: {err}). "
        "Headless machines need EGL (Debian/Ubuntu: apt install libegl1 libgl1-mesa-dri; then MUJOCO_GL=egl) "
        "or OSMesa (apt install libosmesa6; then MUJOCO_GL=osmesa), set before Python starts."
    )


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """`frame` with `text` written in its top-left corner (white on a dark band)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((4, 2), text)
    draw.rectangle((0, 0, box[2] + 4, box[3] + 3), fill=(20, 20, 20))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def _captioned(replay_: Replay, title: str, index: int) -> np.ndarray:
    paid = replay_.rewards[:index].sum() if index else 0.0
    done = " success" if index and replay_.success[:index].max() > 0 else ""
    return caption(replay_.frames[index], f"{title}  t={index}  return={paid:.2f}{done}")


def write_gif(replay_: Replay, path, title: str = "", max_frames: int = 200) -> pathlib.Path:
    """Writes the episode as an animated GIF (every k-th frame, at most `max_frames`) in real time."""
    from PIL import Image

    every = max(1, int(np.ceil(len(replay_.frames) / max_frames)))
    indices = list(range(0, len(replay_.frames), every))
    if indices[-1] != len(replay_.frames) - 1:
        indices.append(len(replay_.frames) - 1)
    images = [Image.fromarray(_captioned(replay_, title, i)) for i in indices]
    milliseconds = max(20, int(round(1000 * replay_.dt * every)))
    path = pathlib.Path(path)
    atomic_write(path, lambda tmp: images[0].save(
        tmp, format="GIF", save_all=True, append_images=images[1:], duration=milliseconds, loop=0,
    ))
    return path


def write_strip(replay_: Replay, path, title: str = "", num_frames: int = 6) -> pathlib.Path:
    """Writes `num_frames` evenly spaced frames (first and last included) side by side as one PNG."""
    from PIL import Image

    indices = np.unique(np.linspace(0, len(replay_.frames) - 1, num_frames).round().astype(int))
    strip = np.concatenate([_captioned(replay_, title, int(i)) for i in indices], axis=1)
    path = pathlib.Path(path)
    atomic_write(path, lambda tmp: Image.fromarray(strip).save(tmp, format="PNG"))
    return path
