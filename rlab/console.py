"""Terminal output shared by the command-line tools."""

from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from rich.console import Console
from rich.table import Table

# Piped output (logs, CI) gets a fixed width instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 120)


def param_table(params: Sequence, values: Mapping[str, Any] | None = None, kinds: bool = False) -> Table:
    """One row per declared parameter: name, (value,) default, allowed values, meaning."""
    table = Table(show_header=True)
    columns = ["parameter"] + (["value"] if values is not None else []) + ["default", "allowed", "meaning"]
    if kinds:
        columns.insert(1, "kind")
    for column in columns:
        table.add_column(column)
    for p in params:
        row = [p.name]
        if kinds:
            row.append("float leaf" if p.kind is float else "static")
        if values is not None:
            row.append(repr(values[p.name]))
        row += [repr(p.default), p.allowed(), p.doc]
        table.add_row(*row)
    return table
