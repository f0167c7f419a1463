"""File primitives of a run directory: a write is whole or absent, a recorded file is checked, one writer."""

import hashlib
import os

import pytest

from rlab.errors import UsageError
from rlab.store import files
from rlab.store.lock import WriterLock


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    files.write_text(target, "old")

    def half_then_crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        files.atomic_write(target, half_then_crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_file_is_checked_against_the_sha256_recorded_for_it(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"seed results")
    recorded = hashlib.sha256(b"seed results").hexdigest()
    entry = {"file": "a.bin", "sha256": {"file": recorded}}
    assert files.sha256(tmp_path / "a.bin") == recorded
    assert files.entry_problem(tmp_path, entry, ("file",), "sweep") is None
    (tmp_path / "a.bin").write_bytes(b"seed resultz")
    assert "changed since it was written" in files.entry_problem(tmp_path, entry, ("file",), "sweep")
    (tmp_path / "a.bin").unlink()
    assert files.entry_problem(tmp_path, entry, ("file",), "sweep") == "a.bin is missing"


@pytest.mark.parametrize("path", ["../outside.bin", "/etc/passwd", ".", 3])
def test_a_recorded_path_may_not_leave_its_directory(tmp_path, path):
    problem = files.entry_problem(tmp_path, {"file": path}, ("file",), "probe")
    assert problem == f"its file path {path!r} leaves the probe directory"


def test_a_second_writer_is_refused_until_the_first_releases(tmp_path):
    first = WriterLock.take(tmp_path / "run")
    assert WriterLock.held(tmp_path / "run")
    with pytest.raises(UsageError, match="is being written by pid"):
        WriterLock.take(tmp_path / "run")
    first.release()
    assert not WriterLock.held(tmp_path / "run")
    WriterLock.take(tmp_path / "run").release()


def test_the_umask_is_read_without_setting_it(monkeypatch):
    # Setting the umask, even for an instant, would change the mode of files other threads create then.
    mask = os.umask(0o027)
    os.umask(mask)
    try:
        os.umask(0o027)
        monkeypatch.setattr(os, "umask", lambda *_: pytest.fail("the umask was set to be read"))
        assert files._umask() == 0o027
    finally:
        monkeypatch.undo()
        os.umask(mask)
