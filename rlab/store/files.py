"""File primitives of every run directory: atomic writes, checksums, paths that stay inside, provenance.

Every result file is written to a temporary name beside its target and
renamed into place in one step, so a reader (or a killed writer) never sees
half a file.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pathlib
import platform
import stat
import subprocess
import tempfile
from typing import Callable

import numpy as np


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    """Calls `write(temporary_path)`, then renames the result onto `path` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = pathlib.Path(temporary)
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; results are as shareable as any file
        os.replace(temporary, path)
    except OSError as err:
        if err.filename in (str(temporary), temporary):  # name the file the user asked for, not our temporary
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise
    finally:
        temporary.unlink(missing_ok=True)


def check_readable(path, max_bytes: int, what: str = "file") -> int:
    """Refuses what cannot be read in bounded time and memory: not a regular file (a FIFO, a device, a
    directory), or larger than `max_bytes`. Returns its size.

    Raises:
      UsageError: naming the path, what it is, and the bound.
    """
    from rlab.errors import UsageError

    path = pathlib.Path(path)
    try:
        info = path.stat()
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else \
            "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file"
        raise UsageError(f"{path}: {kind}; allowed: a regular {what}")
    if info.st_size > max_bytes:
        raise UsageError(f"{path}: {info.st_size:,} bytes; allowed: a {what} of at most {max_bytes:,} bytes")
    return info.st_size


def read_bounded_text(path, max_bytes: int, what: str = "file") -> str:
    """The text of a regular file of at most `max_bytes` (`check_readable`)."""
    check_readable(path, max_bytes, what)
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew since it was checked
        from rlab.errors import UsageError

        raise UsageError(f"{path}: more than {max_bytes:,} bytes; allowed: a {what} of at most {max_bytes:,} bytes")
    return data.decode()


def npz_values(path) -> int:
    """How many numbers an .npz file's arrays hold once loaded, from their headers (nothing is decompressed)."""
    import zipfile

    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, _ = read_header(handle)
            total += int(np.prod(shape, dtype=object)) if shape else 1
    return total


def write_text(path: pathlib.Path, text: str) -> None:
    """`path.write_text(text)`, atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def save_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed arrays to `path` (not atomic by itself: call through `atomic_write`)."""
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def is_in_flight(path: pathlib.Path) -> bool:
    """A writer's lock or a temporary not yet renamed: what another process of a starting run may leave."""
    return path.name.startswith(".lock") or (path.name.startswith(".") and path.name.endswith(".tmp"))


def sha256(path: pathlib.Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(directory: pathlib.Path, relative) -> pathlib.Path | None:
    """`directory / relative` if `relative` names something below `directory`, else None.

    A manifest's path is data, not trusted: absolute paths and `..` are
    refused. The check is on the path as written, not where symlinks lead:
    a `chunks/` that the user made a link to a bigger disk is the sweep's own.
    """
    if not isinstance(relative, str) or "\x00" in relative:
        return None
    written = pathlib.PurePosixPath(relative)
    parts = [part for part in written.parts if part != "."]
    if written.is_absolute() or not parts or ".." in parts:
        return None
    return pathlib.Path(directory).joinpath(*parts)


def entry_problem(directory, entry: dict, fields: tuple[str, ...], what: str) -> str | None:
    """Why a manifest entry's files cannot be trusted (a path leaving `directory`, missing, changed), or None.

    Args:
      entry: holds a relative path per field of `fields`, and `sha256`:
        field -> checksum (a field without one is only checked to exist).
      what: the directory's kind, for the message ("sweep", "probe").
    """
    directory = pathlib.Path(directory)
    for field in fields:
        path = inside(directory, entry.get(field))
        if path is None:
            return f"its {field} path {entry.get(field)!r} leaves the {what} directory"
        if not path.exists():
            return f"{entry[field]} is missing"
        if not path.is_file():  # a directory, or a FIFO whose reading would block for good
            return f"{entry[field]} is not a file"
        recorded = (entry.get("sha256") or {}).get(field)
        if recorded is not None and sha256(path) != recorded:
            return f"{entry[field]} changed since it was written (checksum)"
    return None


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def git_revision() -> str | None:
    """The commit the installed rlab was run from, when it runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=pathlib.Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for package in ("rlab", "jax", "jaxlib", "flax", "optax", "brax", "mujoco", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows.

    `os.umask` can only be read by setting it: for that instant every file
    another thread creates would take the temporary mask. Linux states it in
    /proc/self/status; elsewhere it is read once, when this module is
    imported (before rlab starts threads), and kept.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK_AT_IMPORT


def _read_umask_by_setting_it() -> int:
    mask = os.umask(0o077)  # the strictest mask for the instant it is set, never a permissive one
    os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _read_umask_by_setting_it()
