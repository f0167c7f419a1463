"""One writer per run directory and process index: an OS lock (flock) on DIR/.lock.p<index>.

Processes that share a sweep (`--process I/N`) each hold their index's lock;
`opening` serialises their opening of the directory, so a process always
sees the manifests of those that opened before it (and the sweep store
refuses one whose process count disagrees with a live writer's).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import socket

from rlab.errors import UsageError


class WriterLock:
    """A held writer lock of a run directory.

    The kernel drops the lock when its holder exits, so a killed run leaves
    no stale lock; the file keeps the holder's pid and host for the message a
    second writer gets.
    """

    def __init__(self, handle, path: pathlib.Path):
        self.handle, self.path = handle, path

    @classmethod
    def take(cls, directory: pathlib.Path, process_index: int = 0) -> "WriterLock":
        """Creates `directory` if needed and locks it for this process index.

        Raises:
          UsageError: the directory cannot be made, or another process holds the lock.
        """
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"{directory}: cannot create the directory: {err.strerror}") from None
        path = directory / f".lock.p{process_index}"
        try:
            handle = open(path, "a+")
        except OSError as err:
            raise UsageError(f"{path}: cannot open the writer lock: {err.strerror} (remove it if no rlab command "
                             "is writing the directory)") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(
                f"{directory} is being written by {holder} (lock {path.name}); wait for it to finish, "
                "or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        return cls(handle, path)

    @staticmethod
    def held(directory: pathlib.Path, process_index: int | None = None) -> bool:
        """Whether any process (or the one of `process_index`) now holds a writer lock of the directory."""
        directory = pathlib.Path(directory)
        paths = directory.glob(".lock.p*") if process_index is None else [directory / f".lock.p{process_index}"]
        for path in paths:
            try:
                handle = open(path)
            except OSError:  # no such lock (never taken), or one that cannot be read: not held by a writer
                continue
            with handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False

    @staticmethod
    @contextlib.contextmanager
    def opening(directory: pathlib.Path):
        """Held while a writer reads and writes the manifests as it opens the directory (blocks briefly)."""
        try:
            handle = open(pathlib.Path(directory) / ".lock.open", "a+")
        except OSError as err:
            raise UsageError(f"{directory}: cannot lock the directory: {err.strerror}") from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def release(self) -> None:
        """Lets another writer open the directory (also done by the OS when this process ends)."""
        if not self.handle.closed:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()


class ChunkClaim:
    """A chunk being computed by one process of a sweep: an OS lock (flock) on DIR/claims/<chunk id>.lock.

    Processes sharing a sweep claim a chunk before computing it, so two never
    compute the same chunk, and a process that finishes its own share takes
    over chunks nobody holds (those of a process that died: the kernel drops
    a dead holder's claim).
    """

    def __init__(self, handle):
        self.handle = handle

    @classmethod
    def try_take(cls, directory: pathlib.Path, chunk_id: str) -> "ChunkClaim | None":
        """The chunk's claim, or None while another live process holds it."""
        claims = pathlib.Path(directory) / "claims"
        try:
            claims.mkdir(exist_ok=True)
            handle = open(claims / f"{chunk_id}.lock", "a+")
        except OSError as err:
            raise UsageError(f"{claims}: cannot claim chunk {chunk_id}: {err.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        if not self.handle.closed:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
