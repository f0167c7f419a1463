"""Declared, validated constructor parameters (of environments, and of trainers).

Every environment declares its parameters once, as a tuple of `Param`. That
single declaration drives validation (in the constructor, so that
`brax.envs.get_environment(...)` validates too), the listing printed by
`rlab envs`, and the defaults reported by `envs.registered()`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from typing import Any, Mapping, Sequence


class ParamError(ValueError):
    """A bad id or parameter value; the message says what is allowed."""


# The name environments use; trainers raise the same class for hyperparameters.
EnvParamError = ParamError


@dataclasses.dataclass(frozen=True)
class Param:
    """One constructor parameter of an environment.

    Attributes:
      name: keyword the user types.
      kind: one of `int`, `float`, `bool`, `str`.
      default: value used when the parameter is not given.
      doc: one line saying what the parameter means.
      low, high: inclusive numeric bounds (None: unbounded).
      low_open: if True, `low` itself is not allowed (e.g. a radius > 0).
      high_open: if True, `high` itself is not allowed.
      choices: the allowed values of a `str` parameter.
      traced: a float the environment uses only inside its JAX arithmetic
        (never for shapes, Python branches or the model it builds), so that
        a trainer can carry it as data in its state: groups of a sweep that
        differ only in traced values share one compiled program.
    """

    name: str
    kind: type
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    traced: bool = False

    def __post_init__(self):
        if self.traced and self.kind is not float:
            raise ValueError(f"parameter '{self.name}': only a float parameter can be traced")

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        noun = {int: "an integer", float: "a number", bool: "True or False", str: "a string"}[
            self.kind
        ]
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        if self.kind is float:
            noun = "a finite number"
        return noun + (" " + " and ".join(bounds) if bounds else "")

    def check(self, value: Any) -> Any:
        """Returns `value` converted to `kind`, or raises `EnvParamError`."""
        if self.kind is bool:
            ok = isinstance(value, (bool,)) or type(value).__name__ == "bool_"
            converted = bool(value) if ok else None
        elif self.kind is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            converted = int(value) if ok else None
        elif self.kind is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            converted = float(value) if ok else None
        else:
            ok = isinstance(value, str)
            converted = value if ok else None
        if not ok:
            raise EnvParamError(
                f"parameter '{self.name}' = {value!r} has type {type(value).__name__}; "
                f"allowed: {self.allowed()}"
            )
        if self.choices is not None and converted not in self.choices:
            hint = _did_you_mean(converted, self.choices)
            raise EnvParamError(
                f"parameter '{self.name}' = {value!r} is not allowed{hint}; "
                f"allowed: {self.allowed()}"
            )
        too_low = self.low is not None and (
            converted < self.low or (self.low_open and converted == self.low)
        )
        too_high = self.high is not None and (
            converted > self.high or (self.high_open and converted == self.high)
        )
        not_finite = self.kind is float and not math.isfinite(converted)  # NaN and +-inf
        if too_low or too_high or not_finite:
            raise EnvParamError(
                f"parameter '{self.name}' = {value!r} is out of range; allowed: {self.allowed()}"
            )
        return converted


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve(owner: str, params: Sequence[Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """Validates `given` against `params` and fills in defaults.

    Args:
      owner: the environment id, used in error messages.
      params: the declared parameters.
      given: keyword arguments as the user passed them.

    Returns:
      A dict with one converted value per declared parameter.

    Raises:
      EnvParamError: listing every problem found, one per line.
    """
    by_name = {p.name: p for p in params}
    problems = []
    for name in given:
        if name not in by_name:
            hint = _did_you_mean(name, list(by_name))
            allowed = ", ".join(by_name) or "none"
            problems.append(f"unknown parameter '{name}'{hint}; parameters: {allowed}")
    resolved = {}
    for p in params:
        try:
            resolved[p.name] = p.check(given[p.name]) if p.name in given else p.default
        except EnvParamError as err:
            problems.append(str(err))
    if problems:
        raise EnvParamError(f"{owner}: " + "\n  ".join(problems))
    return resolved


def unknown_id_message(kind: str, given: str, known: Sequence[str]) -> str:
    """The message for an unknown id, with the nearest known id as a hint."""
    return f"unknown {kind} {given!r}{_did_you_mean(given, known)}; registered: {', '.join(known)}"
