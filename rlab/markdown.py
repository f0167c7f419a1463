"""Small Markdown helpers for results written into READMEs: tables and generated blocks."""

from __future__ import annotations

import pathlib
import re

import pandas as pd

from rlab import store


def table(frame: pd.DataFrame, float_format: str = ".3g") -> str:
    """A GitHub Markdown table of `frame` (NaN cells empty), without optional dependencies."""
    def cell(value) -> str:
        if isinstance(value, float):
            return "" if value != value else format(value, float_format)
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def replace_block(path, name: str, block: str) -> None:
    """Replaces what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->` in a file, atomically.

    Raises:
      ValueError: the file has no such markers.
    """
    path = pathlib.Path(path)
    text = path.read_text()
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", flags=re.S)
    if not pattern.search(text):
        raise ValueError(f"{path} has no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    updated = pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)
    store.atomic_write(path, lambda tmp: tmp.write_text(updated))
