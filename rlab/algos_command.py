"""`rlab algos`: list the trainers and describe one's hyperparameters."""

from __future__ import annotations

from rich.table import Table

from rlab.console import console, param_table
from rlab.errors import UsageError


def list_all() -> None:
    import rlab.trainers

    table = Table(title="rlab trainers", show_lines=True)
    table.add_column("algorithm", style="bold cyan", no_wrap=True)
    table.add_column("description")
    table.add_column("float hyperparameters (swept in one program)")
    for name, spec in rlab.trainers.registered().items():
        floats = ", ".join(f"{p.name}={p.default!r}" for p in spec.params if p.kind is float)
        table.add_row(name, spec.description, floats)
    console.print(table)
    console.print("Every hyperparameter: rlab algos ALGORITHM")


def describe(algo: str) -> None:
    import rlab.trainers
    from envs.params import unknown_id_message

    specs = rlab.trainers.registered()
    if algo not in specs:
        raise UsageError(unknown_id_message("algorithm", algo, list(specs)))
    spec = specs[algo]
    console.print(f"[bold cyan]{algo}[/]: {spec.description}")
    console.print(param_table(spec.params, kinds=True))
    console.print(
        "float leaf: carried in the training state, so a grid of values runs in one compiled "
        "program; static: fixes shapes or code paths (a new value compiles a new program)."
    )
