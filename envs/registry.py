"""The registry of environment ids: `make`, `registered`, and Brax registration."""

from __future__ import annotations

import dataclasses
from typing import Any

from envs import _quiet
from envs.params import EnvParamError, Param, unknown_id_message


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """What `envs.registered()` reports about one environment id.

    Attributes:
      id: the name passed to `envs.make`.
      description: one line.
      params: the declared parameters, with defaults and allowed values.
      discrete: True if the environment takes integer actions.
      env_class: the class `envs.make` instantiates.
      origin: where the id comes from: "rlab", "package.module:Name" (named in
        a spec), or "entry point of DIST" (an installed package's plugin).
    """

    id: str
    description: str
    params: tuple[Param, ...]
    discrete: bool
    env_class: type
    origin: str = "rlab"

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


_REGISTRY: dict[str, EnvSpec] = {}


def register(env_id: str, env_class: type, description: str | None = None, origin: str = "rlab") -> None:
    """Registers `env_class` as `env_id` here and in Brax's own registry.

    Raises:
      ValueError: if `env_id` is already registered.
    """
    if env_id in _REGISTRY:
        raise ValueError(f"environment id {env_id!r} is already registered")
    _REGISTRY[env_id] = _spec_of(env_id, env_class, description, origin)
    _quiet.import_brax_envs().register_environment(env_id, env_class)


def _spec_of(env_id: str, env_class: type, description: str | None, origin: str) -> EnvSpec:
    env_class.env_id = env_id
    doc = description or (env_class.__doc__ or "").strip().splitlines()[0]
    discrete = "num_actions" in {p.name for p in env_class.PARAMS} or isinstance(
        getattr(env_class, "num_actions", None), int
    )
    return EnvSpec(env_id, doc, env_class.PARAMS, discrete, env_class, origin)


# `package.module:Name` ids looked up so far (kept apart from the registry: a name a spec used is not
# thereby an id rlab lists).
_NAMED: dict[str, EnvSpec] = {}


def registered() -> dict[str, EnvSpec]:
    """Every registered id, in registration order, with its description and parameters.

    Installed packages' ids (entry point group `rlab.envs`) are included;
    `package.module:Name` ids are not (they are looked up by name, `lookup`).
    """
    _load_entry_points()
    return dict(_REGISTRY)


# Installed packages register environment ids here: `[project.entry-points."rlab.envs"] my_id = "pkg.mod:Name"`.
ENTRY_POINT_GROUP = "rlab.envs"
_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    """Registers every installed package's `rlab.envs` entry point once (a broken one is skipped with a warning)."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from envs import external

    external.load_entry_points(ENTRY_POINT_GROUP, "environment", _REGISTRY, lambda name, value, origin: register(
        name, external.task_class(value), origin=origin))


def lookup(env_id: str) -> EnvSpec:
    """The EnvSpec of `env_id`: a registered id, or `package.module:Name` (imported and registered on first use).

    Raises:
      EnvParamError (a ValueError): an unknown id (naming the nearest one), a
        module that does not import, a missing name, or an object that is no
        environment: one line saying which.
    """
    if env_id in _REGISTRY:
        return _REGISTRY[env_id]
    _load_entry_points()
    if env_id in _REGISTRY or env_id in _NAMED:
        return _REGISTRY.get(env_id) or _NAMED[env_id]
    from envs import external

    if not external.is_external(env_id):
        raise EnvParamError(unknown_id_message("environment", env_id, list(_REGISTRY))
                            + "; or package.module:Name for an environment of your own")
    _NAMED[env_id] = _spec_of(env_id, external.task_class(env_id), None, env_id)
    return _NAMED[env_id]


def make(env_id: str, **params: Any):
    """Builds environment `env_id` (see `lookup`) with validated `params`.

    Raises:
      EnvParamError (a ValueError): for an unknown id (naming the nearest one)
        or a bad parameter (naming it, the value given and what is allowed).
    """
    return lookup(env_id).env_class(**params)
