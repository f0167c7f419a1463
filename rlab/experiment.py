"""The protocol of a committed experiment: a folder whose results, figures and README block regenerate from its tables.

An experiment is a folder (the lab's are under `experiments/`) holding its
spec or probe config, a `README.md` with a `<!-- results:start/end -->`
block, and an `analyse.py` that defines:

    HERE                        the folder
    load_tables() -> dict       its committed result tables, by name
    results_block(tables) -> str    the Markdown its README shows
    headline(tables) -> str     one sentence: its row of a claims table
    main(argv) -> int           regenerate tables, figures and the README block (ends in `publish`)

`Experiment` names one with its claim and figure; `publish` is the shared
end of every `main`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
from typing import Callable

from rlab import markdown
from rlab.store import files


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A committed experiment: its folder, the claim it tests, and the figure shown for it.

    Attributes:
      folder: the experiment's folder (holds `analyse.py` and `README.md`).
      claim: the claim, as a claims table names it.
      figure: the figure shown for it, relative to `folder`.
      headline_of: the name of the `analyse.py` function that writes its
        sentence (an experiment that tests two claims has one per claim).
    """

    folder: pathlib.Path
    claim: str
    figure: str
    headline_of: str = "headline"

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def readme(self) -> pathlib.Path:
        return self.folder / "README.md"

    def module(self):
        """Its `analyse.py`, imported from its path (experiments are folders, not an installed package)."""
        return _load(self.folder / "analyse.py")

    def headline(self) -> str:
        module = self.module()
        return getattr(module, self.headline_of)(module.load_tables())

    def results_block(self) -> str:
        module = self.module()
        return module.results_block(module.load_tables())


_LOADED: dict[pathlib.Path, object] = {}


def _load(path: pathlib.Path):
    path = path.resolve()
    if path not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"experiment_{path.parent.name}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED[path] = module
    return _LOADED[path]


def publish(module, tables: dict | None = None, draw: Callable[[dict], object] | None = None) -> int:
    """The end of every experiment's `main`: store its tables, draw its figures, write its README block.

    Args:
      module: the experiment's `analyse` module (see the protocol above).
      tables: freshly computed tables (name -> DataFrame) to write as
        `results/NAME.csv` (atomically), or None when its results are
        stored elsewhere (probe directories).
      draw: `tables -> ...`, drawing its figures from the tables as stored.

    Returns:
      0, the exit code of `main`. The block is printed too.
    """
    for name, table in (tables or {}).items():
        files.atomic_write(module.HERE / "results" / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
    stored = module.load_tables()  # the README shows exactly what the stored tables hold
    if draw is not None:
        draw(stored)
    block = module.results_block(stored)
    markdown.replace_block(module.HERE / "README.md", "results", block)
    print(block)
    return 0
