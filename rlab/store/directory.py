"""What every run directory is: refused when it is someone else's, locked while written, a JSON manifest saved atomically.

A sweep (`rlab.store.sweeps.SweepStore`) and a probe
(`rlab.store.probes.ProbeStore`) are both run directories: they differ in
what their manifest records and which files it lists, not in how they are
opened, locked, saved and finished.
"""

from __future__ import annotations

import json
import pathlib

from rlab.errors import UsageError
from rlab.store import files
from rlab.store.lock import WriterLock


# A run directory's subdirectory for the logs of batch-scheduler tasks (`rlab launch`), which
# schedulers create before the first task runs.
LOGS = "logs"


class RunDirectory:
    """An open run directory: its path, its manifest (a dict) under the file name `name`, and its writer lock.

    Subclasses set KIND (the word in messages) and MANIFEST (the manifest's
    file name), and may widen `has_manifest` (a sweep of several processes
    has one manifest per process).
    """

    KIND = "run"
    MANIFEST = "manifest.json"

    def __init__(self, directory: pathlib.Path, manifest: dict, name: str | None = None,
                 lock: WriterLock | None = None):
        self.directory = pathlib.Path(directory)
        self.manifest = manifest
        self.name = name or self.MANIFEST
        self.lock = lock

    @classmethod
    def has_manifest(cls, directory: pathlib.Path) -> bool:
        return (directory / cls.MANIFEST).exists()

    @classmethod
    def claim(cls, directory, process_index: int = 0) -> tuple[pathlib.Path, WriterLock]:
        """Refuses a directory that is not this kind's, then takes its writer lock.

        Raises:
          UsageError: the path is a file, or an existing non-empty directory
            without this kind's manifest, or another writer holds it.
        """
        directory = pathlib.Path(directory)
        if directory.exists() and not directory.is_dir():
            raise UsageError(f"{directory} is a file, not a {cls.KIND} directory; choose another --out")
        if directory.exists() and not cls.has_manifest(directory) and any(
            not files.is_in_flight(p) and p.name != LOGS for p in directory.iterdir()
        ):
            raise UsageError(f"{directory} exists, is not empty, and holds no {cls.MANIFEST}; choose another --out")
        return directory, WriterLock.take(directory, process_index)

    def save(self) -> None:
        """Writes the manifest (atomically)."""
        text = json.dumps(self.manifest, indent=1, sort_keys=True, default=str)
        files.write_text(self.directory / self.name, text)

    def finish(self) -> None:
        """Marks the run complete, saves, and lets the next writer in."""
        self.manifest["status"] = "complete"
        self.manifest["finished_at"] = files.now()
        self.save()
        self.release()

    def release(self) -> None:
        """Lets another writer open the directory (also done by the OS when this process ends)."""
        if self.lock is not None:
            self.lock.release()


def run_state(directory, recorded: str) -> str:
    """What a run directory's recorded status means now: "running" only while a writer holds its lock.

    A run killed mid-way leaves "running" in its manifest; without a lock
    holder it is "interrupted" (rerunning the command resumes it).
    """
    if recorded == "running" and not WriterLock.held(pathlib.Path(directory)):
        return "interrupted"
    return recorded
