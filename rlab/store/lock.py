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
import threading
import time

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


# Seconds a claim holder may go without a heartbeat before other processes take its chunk over.
DEFAULT_CLAIM_LEASE_SECONDS = 300.0
LEASE_VARIABLE = "RLAB_CLAIM_LEASE_SECONDS"


def claim_lease_seconds() -> float:
    """The claims' lease: $RLAB_CLAIM_LEASE_SECONDS if set (a positive number), else 300 s."""
    text = os.environ.get(LEASE_VARIABLE)
    if text is None:
        return DEFAULT_CLAIM_LEASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        raise UsageError(f"{LEASE_VARIABLE} = {text!r}; allowed: a positive number of seconds")
    return value


class ChunkClaim:
    """A chunk being computed by one process of a sweep: an OS lock (flock) on DIR/claims/<chunk id>.lock, leased.

    Processes sharing a sweep claim a chunk before computing it, so two never
    compute the same chunk, and a process that finishes its own share takes
    over chunks nobody holds: the kernel drops a dead holder's claim, and a
    holder that stops beating (a stopped process, a hung machine) loses it
    once its lease runs out. A held claim's file is touched every quarter
    lease by a heartbeat thread; a claim older than the lease is broken by
    replacing its file (under the directory's opening lock, so two
    processes never both break it), and its old holder, if it wakes up,
    finds that its claim is no longer the chunk's (`is_current`) and keeps
    its result out of the store.
    """

    _held: "set[ChunkClaim]" = set()
    _beating = threading.Lock()
    _heart: threading.Thread | None = None

    def __init__(self, handle, path: pathlib.Path):
        self.handle, self.path = handle, path

    @classmethod
    def try_take(cls, directory: pathlib.Path, chunk_id: str) -> "ChunkClaim | None":
        """The chunk's claim, or None while another live process holds it within its lease."""
        claims = pathlib.Path(directory) / "claims"
        path = claims / f"{chunk_id}.lock"
        try:
            claims.mkdir(exist_ok=True)
        except OSError as err:
            raise UsageError(f"{claims}: cannot claim chunk {chunk_id}: {err.strerror}") from None
        claim = cls._try_lock(path, chunk_id)
        if claim is None and cls._expired(path):
            with WriterLock.opening(directory):
                if cls._expired(path):  # still stale now that no other process can break it
                    path.unlink(missing_ok=True)
                    claim = cls._try_lock(path, chunk_id)
        if claim is not None:
            cls._start_beating(claim)
        return claim

    @classmethod
    def _try_lock(cls, path: pathlib.Path, chunk_id: str) -> "ChunkClaim | None":
        try:
            handle = open(path, "a+")
        except OSError as err:
            raise UsageError(f"{path.parent}: cannot claim chunk {chunk_id}: {err.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        os.utime(handle.fileno())
        return cls(handle, path)

    @staticmethod
    def _expired(path: pathlib.Path) -> bool:
        try:
            return time.time() - path.stat().st_mtime > claim_lease_seconds()
        except FileNotFoundError:
            return True

    def is_current(self) -> bool:
        """Whether this claim is still the chunk's (its file was not replaced after its lease ran out)."""
        try:
            return not self.handle.closed and os.fstat(self.handle.fileno()).st_ino == self.path.stat().st_ino
        except FileNotFoundError:
            return False

    def beat(self) -> None:
        """Renews the lease (touches the claim's own file, not a newer one at its path)."""
        if not self.handle.closed:
            os.utime(self.handle.fileno())

    @classmethod
    def _start_beating(cls, claim: "ChunkClaim") -> None:
        with cls._beating:
            cls._held.add(claim)
            if cls._heart is None or not cls._heart.is_alive():
                cls._heart = threading.Thread(target=cls._heartbeat, name="rlab-claim-heartbeat", daemon=True)
                cls._heart.start()

    @classmethod
    def _heartbeat(cls) -> None:
        while True:
            time.sleep(claim_lease_seconds() / 4)
            with cls._beating:
                for claim in list(cls._held):
                    try:
                        claim.beat()
                    except OSError:
                        cls._held.discard(claim)

    def release(self) -> None:
        with self._beating:
            self._held.discard(self)
        if not self.handle.closed:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
