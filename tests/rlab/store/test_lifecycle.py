"""The store's lifecycle as a model: random sequences of sweeps, extensions, shares, kills and damage.

After every step what the store says (status, manifests, coverage, verify)
must equal what it holds, and every stored value must be the bits a single
uninterrupted run gives that seed. Hypothesis's rule-based state machine
picks the sequences; CI runs a few (`--slow=ci`), and
RLAB_LIFECYCLE_EXAMPLES=N runs N (a long local search).
"""

import os
import pathlib
import shutil
import tempfile

import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import Phase, settings, strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule  # noqa: E402

from rlab import spec as spec_lib  # noqa: E402
from rlab import store  # noqa: E402
from rlab.run import sweep  # noqa: E402
from tests.sweep_cases import tiny_reference, tiny_spec  # noqa: E402

MOST_SEEDS = 4
KEYS = ["group", "seed", "hp_index", "eval"]
_REFERENCE: dict = {}


def reference_rows() -> pd.DataFrame:
    """Every seed's rows from one uninterrupted one-process run (the tiny spec fixes W = 2)."""
    if "rows" not in _REFERENCE:
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="rlab-lifecycle-reference-"))
        _, out = tiny_reference(tmp, MOST_SEEDS)
        _REFERENCE["rows"] = store.load(out).set_index(KEYS).sort_index()
        shutil.rmtree(tmp, ignore_errors=True)
    return _REFERENCE["rows"]


class Killed(BaseException):
    """A process killed between two chunk writes (a BaseException, as SIGKILL stops everything)."""


class StoreLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="rlab-lifecycle-"))
        self.out = self.tmp / "out"
        self.target = 0  # the most seeds any run asked for
        self.damaged: set[str] = set()

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spec(self, seeds: int):
        path = self.tmp / f"spec{seeds}.toml"
        path.write_text(tiny_spec(seeds))
        return spec_lib.load(path)

    @rule(seeds=st.integers(1, MOST_SEEDS), launch=st.sampled_from(["plain", "0/2", "1/2", "0/2 alone", "1/2 alone"]),
          killed_after=st.one_of(st.none(), st.integers(0, 2)))
    def sweep(self, seeds, launch, killed_after):
        process = None if launch == "plain" else (int(launch[0]), 2)
        original, writes = store.SweepStore.write_chunk, []

        def write_then_maybe_die(this, *args):
            if killed_after is not None and len(writes) >= killed_after:
                raise Killed()
            writes.append(1)
            return original(this, *args)

        store.SweepStore.write_chunk = write_then_maybe_die
        try:
            sweep.run(self.spec(seeds), self.out, process=process, take_over="alone" not in launch)
        except Killed:
            pass
        finally:
            store.SweepStore.write_chunk = original
        self.target = max(self.target, seeds)
        self.damaged.clear()  # a run recomputes every damaged chunk it meets... or is killed first
        self.damaged.update(store.verify(self.out))

    @precondition(lambda self: self.out.exists() and any((self.out / "chunks").glob("*.parquet")))
    @rule(which=st.integers(0, 100))
    def damage_a_chunk(self, which):
        chunks = sorted((self.out / "chunks").glob("*.parquet"))
        chunks[which % len(chunks)].unlink()
        self.damaged.update(store.verify(self.out))

    @invariant()
    def what_is_said_is_what_is_stored(self):
        if not self.out.exists() or not any(self.out.glob("manifest*.json")):
            return
        rows = store.load(self.out)
        assert not rows.duplicated(KEYS).any(), "a seed is stored twice"
        if len(rows):
            stored = rows.set_index(KEYS).sort_index()
            expected = reference_rows().loc[stored.index, stored.columns]
            pd.testing.assert_frame_equal(stored, expected)  # bit for bit what one uninterrupted run stores
        assert store.verify(self.out, seeds=True).keys() == store.verify(self.out).keys()
        manifest = store.read_manifest(self.out)
        assert manifest["num_seeds"] == self.target
        lanes = len(rows.drop_duplicates(["group", "seed", "hp_index"]))
        expected_lanes = 2 * 2 * self.target  # groups x float combinations x seeds
        summary = store.status(self.out)
        assert summary["seed_lanes"] == f"{lanes} of {expected_lanes} stored"
        assert summary["chunks_complete"] <= summary["chunks_planned"]
        complete = lanes == expected_lanes and not self.damaged
        assert (summary["status"] == "complete") == complete, (summary["status"], lanes, self.damaged)
        if not self.damaged:
            assert manifest["coverage"]["lanes_stored"] == lanes
            assert (manifest["status"] == "complete") == complete

EXAMPLES = int(os.environ.get("RLAB_LIFECYCLE_EXAMPLES", "4"))


@pytest.mark.slow
@pytest.mark.ci
def test_the_store_says_what_it_holds_after_any_sequence():
    run = StoreLifecycle.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=6, deadline=None, derandomize=EXAMPLES <= 4,
                            phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a failure prints its steps
                            suppress_health_check=list(hypothesis.HealthCheck))
    run().runTest()
