"""`rlab algos`: list the trainers and describe one's hyperparameters."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from rlab.console import console, param_table
from rlab.errors import UsageError


def list_all() -> None:
    import rlab.trainers

    table = Table(title="rlab trainers", show_lines=True)
    table.add_column("algorithm", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("float hyperparameters (swept in one program)")
    table.add_column("origin")
    for name, spec in rlab.trainers.registered().items():
        floats = ", ".join(f"{p.name}={p.default!r}" for p in spec.params if p.kind is float)
        table.add_row(escape(name), escape(spec.description), escape(floats),
                      escape(rlab.trainers.ORIGINS.get(name, "rlab")))
    console.print(table)
    console.print("Every hyperparameter: rlab algos ALGORITHM")


def describe(algo: str) -> None:
    import rlab.trainers
    from envs.params import ParamError

    try:
        spec = rlab.trainers.lookup(algo)
    except ParamError as err:
        raise UsageError(str(err)) from None
    console.print(f"[bold cyan]{algo}[/]: {spec.description}")
    console.print(param_table(spec.params, kinds=True))
    console.print(
        "float leaf: carried in the training state, so a grid of values runs in one compiled "
        "program; static: fixes shapes or code paths (a new value compiles a new program)."
    )


def check(algo: str, env_id: str | None = None) -> bool:
    """Prints whether `algo` keeps each promise of the contract (`rlab.trainers.contract`); True if it keeps all."""
    from envs.params import ParamError
    from rlab.trainers import contract

    try:
        broken = contract.check(algo, env_id)
    except ParamError as err:
        raise UsageError(str(err)) from None
    failed = {line.split(":", 1)[0]: line for line in broken}
    for promise in contract.PROMISES:
        console.print(f"{promise:>12}: " + (f"[red]broken[/] ({failed[promise].split(': ', 1)[1]})"
                                             if promise in failed else "[green]ok[/]"), highlight=False)
    return not broken
