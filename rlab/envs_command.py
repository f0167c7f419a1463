"""`rlab envs`: list, describe and check the registered environments."""

from __future__ import annotations

import time
from typing import Any, Sequence

from rich.markup import escape
from rich.table import Table

from rlab.console import console, param_table
from rlab.errors import UsageError


def parse_params(env_id: str, assignments: Sequence[str]) -> dict[str, Any]:
    """Parses `NAME=VALUE` strings into typed parameters of `env_id`.

    Values are converted by the parameter's declared kind; range checks are
    left to the environment's own validation.
    """
    import envs

    spec = _spec(env_id)
    declared = {p.name: p for p in spec.params}
    params: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {assignment!r}: expected NAME=VALUE, e.g. -p dim=3")
        if name in params:
            raise UsageError(f"--param {name} is given twice; give each parameter once")
        if name not in declared:
            # Let the environment's validation name the allowed parameters.
            params[name] = text
            continue
        params[name] = _convert(declared[name], text)
    envs.make(env_id, **params)  # validates now, with the environment's own message
    return params


def _convert(param, text: str) -> Any:
    try:
        if param.kind is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError
            return lowered in ("true", "1")
        return param.kind(text)
    except ValueError:
        raise UsageError(
            f"parameter '{param.name}' = {text!r} is not {param.allowed()}"
        ) from None


def _spec(env_id: str):
    import envs
    from envs.params import ParamError

    try:
        return envs.lookup(env_id)
    except ParamError as err:
        raise UsageError(str(err)) from None


def _actions(env) -> str:
    if env.num_actions is None:
        return f"continuous [{env.action_size}]"
    return f"discrete, {env.num_actions} actions"


def list_all() -> None:
    """Prints one row per registered environment."""
    import envs

    table = Table(title="rlab environments", show_lines=True)
    table.add_column("id", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("actions (defaults)")
    table.add_column("parameters (defaults)")
    for env_id, spec in envs.registered().items():
        # rlab's MuJoCo-based tasks load physics models when built; describe them without building.
        mujoco = spec.origin == "rlab" and not issubclass(spec.env_class, envs.LabEnv)
        actions = "continuous (MuJoCo)" if mujoco else _actions(envs.make(env_id))
        defaults = ", ".join(f"{name}={value!r}" for name, value in spec.defaults.items())
        origin = "" if spec.origin == "rlab" else f" (from {spec.origin})"
        table.add_row(escape(env_id), escape(spec.description + origin), actions, escape(defaults))
    console.print(table)
    console.print("Details: rlab envs ENV_ID     Monte Carlo check: rlab envs --check")


def describe(env_id: str, params: dict[str, Any]) -> None:
    """Prints one environment's parameters, allowed values and sizes."""
    import envs

    spec = _spec(env_id)
    env = envs.make(env_id, **params)
    console.print(f"[bold cyan]{env_id}[/]: {spec.description}")
    console.print(param_table(spec.params, env.params))
    if not isinstance(env, envs.LabEnv):
        limit = (f"horizon {env.horizon}" if hasattr(env, "horizon")
                 else f"time limit {env.episode_length} steps (truncation)")
        console.print(f"observation [{env.observation_size}], actions {_actions(env)}, {limit}")
        return
    console.print(
        f"observation [{env.observation_size}], actions {_actions(env)}, horizon {env.horizon}; "
        f"reference policy ({env.reference_policy_name}) succeeds with probability "
        f"{env.reference_success_probability():.4g}"
    )


def check(env_id: str | None, params: dict[str, Any], episodes: int, seed: int) -> int:
    """Measures each environment's reference-policy success rate against its closed form.

    Returns:
      0 if every measured rate's 99.9% Wilson interval contains the closed-form
      probability, else 1.
    """
    import jax
    from scipy import stats

    import envs
    from envs.rollout import reference_successes

    checkable = [i for i, s in envs.registered().items() if issubclass(s.env_class, envs.LabEnv)]
    if env_id and env_id not in checkable:
        raise UsageError(f"{env_id} has no reference policy with a closed form; checkable: {', '.join(checkable)}")
    ids = [env_id] if env_id else checkable
    table = Table(title=f"reference-policy success over {episodes} episodes")
    for column in ("env", "reference policy", "closed form", "measured", "99.9% Wilson CI", "steps/s", "ok"):
        table.add_column(column)
    all_ok = True
    for eid in ids:
        env = envs.make(eid, **(params if eid == env_id else {}))
        key = jax.random.PRNGKey(seed)
        reference_successes(env, key, episodes).block_until_ready()  # compile
        start = time.perf_counter()
        successes = int(reference_successes(env, key, episodes).sum())
        seconds = time.perf_counter() - start
        expected = env.reference_success_probability()
        interval = stats.binomtest(successes, episodes).proportion_ci(0.999, method="wilson")
        ok = interval.low <= expected <= interval.high
        all_ok &= ok
        table.add_row(
            eid,
            env.reference_policy_name,
            f"{expected:.4g}",
            f"{successes / episodes:.4g}",
            f"[{interval.low:.4g}, {interval.high:.4g}]",
            f"{episodes * env.horizon / seconds:,.0f}",
            "yes" if ok else "[bold red]NO[/]",
        )
    console.print(table)
    return 0 if all_ok else 1
