"""`package.module:Name`: a user's environment by name, with no change to rlab.

    envs.make("my_tasks:Corridor", length=12)     # imports my_tasks, uses Corridor

`Name` is a `brax.envs.Env` subclass or a function returning one. Its
keyword arguments become the id's parameters: declared ones when the class
has rlab's `PARAMS`, else those of its signature that have an int, float,
bool or str default (their type is the default's), so `[env_params]` and
`[env_axes]` of a spec reach it like any registered environment's, and a
numeric one can be swept. The environment is wrapped like `brax/<name>`
(`envs.wrapped.WrappedTask`): it gets a time limit `episode_length` (default
1000) unless it has its own horizon, and `metrics["success"]` is kept when it
reports one; without one the id says so (`has_success` False) and reports
show returns. An `envs.task.Task` subclass (rlab's own conventions) is used
as it is.

The module must be importable where the sweep runs (on `PYTHONPATH`, or
installed), which every process of a sweep then inherits.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pathlib
import re
from typing import Any, Callable

import jax
from brax.envs.base import Env

from envs.params import EnvParamError, Param
from envs.task import Task
from envs.wrapped import WrappedTask

# `package.module:Name` (dotted module, attribute).
EXTERNAL_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
TIME_LIMIT = Param("episode_length", int, 1000, "steps before an episode is truncated (time limit)", low=1)
_KINDS = (bool, int, float, str)  # bool first: a bool is an int too


def is_external(env_id: str) -> bool:
    return isinstance(env_id, str) and ":" in env_id


def import_object(object_id: str, kind: str) -> Any:
    """The object `package.module:Name` names; an EnvParamError (a ValueError) saying what failed.

    Args:
      kind: what it is for, in messages ("environment", "algorithm").
    """
    if not EXTERNAL_ID.fullmatch(object_id):
        raise EnvParamError(f"{kind} {object_id!r}: not an id; allowed: a registered id, or package.module:Name "
                            "(a module on the Python path and a name in it)")
    module_name, _, name = object_id.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # the user's module: any error it raises while importing is reported, not raised
        raise EnvParamError(f"{kind} {object_id!r}: module {module_name!r} does not import "
                            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); is it on "
                            "PYTHONPATH or installed?") from None
    if not hasattr(module, name):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise EnvParamError(f"{kind} {object_id!r}: module {module_name!r} has no {name!r}; it has "
                            f"{', '.join(public) or 'nothing public'}")
    return getattr(module, name)


def module_sources(object_ids) -> dict[str, pathlib.Path]:
    """Where the user's own modules named by `package.module:Name` ids live: {top-level module: file or folder}.

    Modules inside an installed distribution (site-packages) are left out: a
    cluster gets those by installing the package, not by copying files.
    Modules that do not import are left out too (their ids are refused elsewhere).
    """
    sources: dict[str, pathlib.Path] = {}
    for object_id in object_ids:
        if not is_external(object_id):
            continue
        top = object_id.partition(":")[0].split(".")[0]
        try:
            found = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if found is None:
            continue
        if found.submodule_search_locations:  # a package: its folder
            where = pathlib.Path(next(iter(found.submodule_search_locations)))
        elif found.origin and found.origin.endswith(".py"):
            where = pathlib.Path(found.origin)
        else:  # built in, or an extension module: nothing to copy
            continue
        if not {"site-packages", "dist-packages"} & set(where.resolve().parts):
            sources[top] = where.resolve()
    return sources


def load_entry_points(group: str, kind: str, known, register_one: Callable[[str, str, str], Any]) -> None:
    """Calls `register_one(name, "package.module:Name", origin)` for each installed entry point of `group`.

    Names already in `known` are left alone; one that fails to load is
    skipped with a warning naming it (`kind`: "environment", "algorithm"),
    so a broken plugin never stops rlab.
    """
    import importlib.metadata
    import warnings

    for entry in importlib.metadata.entry_points(group=group):
        if entry.name in known:
            continue
        try:
            register_one(entry.name, entry.value, f"entry point of {entry.dist.name if entry.dist else 'a package'}")
        except ValueError as err:  # EnvParamError and ParamError included
            warnings.warn(f"{kind} entry point {entry.name!r} = {entry.value!r} skipped: {err}", stacklevel=3)


def task_class(env_id: str) -> type:
    """The class `envs.make` instantiates for a `package.module:Name` id (see the module docstring)."""
    target = import_object(env_id, "environment")
    if inspect.isclass(target) and issubclass(target, Task) and issubclass(target, Env):
        return type(target.__name__, (target,), {"__doc__": target.__doc__ or f"{env_id} (a user's rlab task)"})
    if not callable(target):
        raise EnvParamError(f"environment {env_id!r}: a {type(target).__name__} object, neither a brax.envs.Env subclass "
                            "nor a function returning one")
    if inspect.isclass(target) and not issubclass(target, Env):
        raise EnvParamError(f"environment {env_id!r}: class {target.__name__} is not a brax.envs.Env subclass; "
                            "allowed: a brax.envs.Env subclass or a function returning one")
    params = _declared_params(env_id, target)
    own_limit = any(p.name == TIME_LIMIT.name for p in params)
    doc = (inspect.getdoc(target) or f"{env_id} (a user's environment)").splitlines()[0]
    cls = type(f"External_{target.__name__}", (ExternalTask,), {
        "PARAMS": params if own_limit else (*params, TIME_LIMIT), "target": staticmethod(target),
        "passes_time_limit": own_limit, "__doc__": doc,
    })
    cls.has_success = cls().reports_success  # what its default instance reports, for readers of the class
    return cls


def _declared_params(env_id: str, target: Callable) -> tuple[Param, ...]:
    """The target's PARAMS if it declares rlab's, else its keyword arguments with int, float, bool or str defaults."""
    declared = getattr(target, "PARAMS", None)
    if declared and all(isinstance(p, Param) for p in declared):
        return tuple(declared)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return ()
    params = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.name == "self":
            continue
        if parameter.default is parameter.empty:
            raise EnvParamError(f"environment {env_id!r}: its argument {parameter.name!r} has no default; allowed: "
                                "keyword arguments with int, float, bool or str defaults (they become parameters)")
        kind = next((k for k in _KINDS if isinstance(parameter.default, k)), None)
        if kind is None:
            continue  # not a value a spec can hold: left at its default
        params.append(Param(parameter.name, kind, parameter.default, f"{parameter.name} of {target.__name__}"))
    return tuple(params)


class ExternalTask(WrappedTask):
    """A user's Brax environment under rlab's conventions (see the module docstring)."""

    target: Callable = staticmethod(lambda **params: None)
    passes_time_limit: bool = False

    def __init__(self, **params: Any):
        super().__init__(**params)
        # A success metric of the user's own is kept; without one, reports show returns and say so.
        self.reports_success = "success" in jax.eval_shape(self.inner.reset, jax.random.PRNGKey(0)).metrics
        self.has_success = self.reports_success

    def build_inner(self):
        arguments = {k: v for k, v in self.params.items() if k != TIME_LIMIT.name or self.passes_time_limit}
        inner = self.target(**arguments)
        if not isinstance(inner, Env):
            raise EnvParamError(f"environment {self.env_id!r}: {self.target.__name__}(...) returned a "
                                f"{type(inner).__name__}, not a brax.envs.Env")
        return inner

    @property
    def backend(self) -> str:
        return getattr(self.inner, "backend", "user")

    def reset(self, rng):
        state = self.inner.reset(rng)
        return state if self.reports_success else self._with_success(state)

    def step(self, state, action):
        state = self.inner.step(state, action)
        return state if self.reports_success else self._with_success(state)
