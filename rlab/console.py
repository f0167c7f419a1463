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
        traced = " (traced: groups differing only in it share one compiled program)" if getattr(p, "traced", False) else ""
        row += [repr(p.default), p.allowed(), p.doc + traced]
        table.add_row(*row)
    return table


class Progress:
    """Progress of one long task, the one every long task uses (training, sweeps, probes).

    On a terminal: a live bar over `total` units (evaluations, parts) with
    lines printed above it; otherwise plain lines, flushed as they come (logs,
    CI); with `quiet`, nothing.

        progress = Progress()
        progress.start(total=40, label="ppo x 64 seeds")
        progress.advance()                # one unit done
        progress.note("chunk 1/4 ...")    # a line of what happened
        progress.stop()
    """

    def __init__(self, quiet: bool = False, stream=None, live: bool | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.live = (not quiet and self.stream.isatty()) if live is None else (live and not quiet)
        self.bar = None

    def start(self, total: int, label: str) -> "Progress":
        """Starts the bar (on a terminal, when there is something to do)."""
        if self.live and total > 0:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = RichProgress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
                console=Console(file=self.stream),
            )
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)
        return self

    def advance(self, units: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, units)

    def note(self, line: str) -> None:
        """One line of what the task is doing (above the bar on a terminal)."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self.stream, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False
