"""The sweep store says what it holds: seeds once each, complete only when every seed is stored, leased claims."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from rlab import spec as spec_lib
from rlab import store
from rlab.run import sweep
from rlab.errors import UsageError
from rlab.store import lock
from tests.sweep_cases import stored_rows, tiny_reference, tiny_spec


@pytest.fixture(scope="module")
def reference4(tmp_path_factory):
    """The tiny spec at 4 seeds, one process: (spec path, directory)."""
    return tiny_reference(tmp_path_factory.mktemp("reference4"), 4)


def load_spec(tmp_path, seeds):
    path = tmp_path / f"spec{seeds}.toml"
    path.write_text(tiny_spec(seeds))
    return spec_lib.load(path)


def assert_truthful(directory, complete: bool):
    """What status, verify and the rows say agree with each other and with `complete`."""
    rows = store.load(directory)
    assert not rows.duplicated(["group", "seed", "hp_index", "eval"]).any()
    assert store.verify(directory, seeds=True) == {}
    manifest = store.read_manifest(directory)
    covered = manifest["coverage"]
    assert covered["lanes_stored"] == len(rows.drop_duplicates(["group", "seed", "hp_index"]))
    assert (manifest["status"] == "complete") == complete == (not covered["pending"])
    status = store.status(directory)
    assert status["chunks_complete"] <= status["chunks_planned"]


def test_a_chunk_taken_over_and_then_written_by_its_owner_stores_each_seed_once(reference4, tmp_path):
    out = tmp_path / "out"
    spec3, spec4 = load_spec(tmp_path, 3), load_spec(tmp_path, 4)
    for index in (0, 1):  # a finished two-process sweep of 3 seeds; process 1 holds the half-full blocks
        sweep.run(spec3, out, process=(index, 2), take_over=False)
    owner = store.SweepStore.open(out, spec4, 4, {"platform": "cpu"}, (1, 2))  # extending, its plan made
    stale = [chunk for chunk in spec4.chunks(4) if chunk.seeds == (2, 3)]
    assert owner.pending(stale) == stale
    sweep.run(spec4, out, process=(0, 2))  # its share, then the owner's unclaimed chunks
    for chunk in stale:
        assert not owner.claim_chunk(chunk)  # stored meanwhile with all its seeds
        # Written all the same (a claim lost to a race): merged with the newest version, no seed twice.
        frame = pd.read_parquet(reference4[1] / "chunks" / f"{chunk.id}.parquet")
        with np.load(reference4[1] / "params" / f"{chunk.id}.npz") as data:
            params = {k: data[k] for k in data.files}
        owner.write_chunk(chunk.id, frame, params, {"group": chunk.group.id, "lanes": 4})
    owner.finish()
    pd.testing.assert_frame_equal(stored_rows(reference4[1]), stored_rows(out))
    assert_truthful(out, complete=True)


def test_a_killed_extension_is_never_complete_and_a_plain_rerun_finishes_it(reference4, tmp_path, monkeypatch):
    out = tmp_path / "out"
    spec2, spec4 = load_spec(tmp_path, 2), load_spec(tmp_path, 4)
    sweep.run(spec2, out)
    original, calls = store.SweepStore.write_chunk, []

    def dies_after_one(self, *args):
        if calls:
            raise KeyboardInterrupt  # as a kill: nothing after it runs
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(store.SweepStore, "write_chunk", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        sweep.run(spec4, out)
    monkeypatch.undo()
    assert store.read_manifest(out)["status"] != "complete"
    assert "interrupted" in store.status(out)["status"]
    assert_truthful(out, complete=False)
    from rlab import report

    report.build(out)  # says that fewer seeds are stored than asked for, and how to compute the rest
    summary = (out / "report" / "summary.md").read_text()
    assert "of 16 seed lanes stored (4 seeds asked for)" in summary and "computes the rest" in summary
    sweep.run(spec2, out)  # the plain rerun `rlab status` suggests: runs to the 4 seeds recorded
    pd.testing.assert_frame_equal(stored_rows(reference4[1]), stored_rows(out))
    assert_truthful(out, complete=True)


def test_shared_sweeps_report_true_states(reference4, tmp_path):
    spec4 = load_spec(tmp_path, 4)
    shared = tmp_path / "shared"
    for index in (0, 1):
        sweep.run(spec4, shared, process=(index, 2), take_over=False)
    assert_truthful(shared, complete=True)
    # A plain run extends a finished two-process sweep (its own lock of index 0 is no other writer's).
    sweep.run(load_spec(tmp_path, 5), shared)
    assert_truthful(shared, complete=True)
    assert store.status(shared)["chunks_complete"] == store.status(shared)["chunks_planned"] == 6
    # A no-op share of a finished plain sweep leaves it complete.
    plain = tmp_path / "plain"
    sweep.run(spec4, plain)
    sweep.run(spec4, plain, process=(1, 2))
    assert not store.missing_manifests(plain)
    assert_truthful(plain, complete=True)
    pd.testing.assert_frame_equal(stored_rows(reference4[1]), stored_rows(plain))


def test_verify_finds_seeds_stored_twice_that_checksums_cannot(reference4, tmp_path):
    import json
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(reference4[1], out)
    chunk = out / "chunks" / "g000-c00000.parquet"
    frame = pd.read_parquet(chunk)
    pd.concat([frame, frame[frame["seed"] == 0]]).to_parquet(chunk, index=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["chunks"]["g000-c00000"]["sha256"]["file"] = store.files.sha256(chunk)
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert store.verify(out) == {}  # the checksum matches the damaged file
    assert "stored twice for seed(s) [0]" in store.verify(out, seeds=True)["g000-c00000"]


def test_the_launch_mode_does_not_change_the_lane_width_or_the_bits(tmp_path):
    path = tmp_path / "spec.toml"
    # 6 lanes in chunks of 8: a width by the rule (6) that the old shared default (the chunk, 8) was not.
    path.write_text(tiny_spec(3).replace("lane_width = 2\n", "").replace("chunk_size = 4", "chunk_size = 8"))
    spec = spec_lib.load(path)
    one, two = tmp_path / "one", tmp_path / "two"
    sweep.run(spec, one)
    for index in (0, 1):
        sweep.run(spec, two, process=(index, 2), take_over=False)
    assert store.read_manifest(one)["lane_widths"] == store.read_manifest(two)["lane_widths"]
    pd.testing.assert_frame_equal(stored_rows(one), stored_rows(two))


HOLDER = textwrap.dedent("""
    import sys
    from rlab.store.lock import ChunkClaim
    claim = ChunkClaim.try_take(sys.argv[1], "g000-c00000")
    print("held" if claim else "refused", flush=True)
    sys.stdin.readline()
    print("current" if claim.is_current() else "lost", flush=True)
""")


def test_a_stopped_claim_holder_loses_its_claim_when_its_lease_runs_out(tmp_path, monkeypatch):
    monkeypatch.setenv(lock.LEASE_VARIABLE, "1")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, lock.LEASE_VARIABLE: "1"})
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(1.5)
        assert lock.ChunkClaim.try_take(tmp_path, "g000-c00000") is None  # alive and beating: held
        holder.send_signal(signal.SIGSTOP)
        time.sleep(1.5)
        claim = lock.ChunkClaim.try_take(tmp_path, "g000-c00000")
        assert claim is not None and claim.is_current()
        holder.send_signal(signal.SIGCONT)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "lost"
        claim.release()
    finally:
        holder.kill()
        holder.wait()


def test_a_bad_lease_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(lock.LEASE_VARIABLE, "soon")
    with pytest.raises(UsageError, match="RLAB_CLAIM_LEASE_SECONDS = .soon.; allowed: a positive number"):
        lock.claim_lease_seconds()
