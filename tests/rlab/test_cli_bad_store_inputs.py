"""A second corpus of bad inputs through the CLI: size bounds, probe options and damaged or odd sweep directories.

Every case runs the real command line (`rlab.cli.main`, in-process as in
`test_cli_bad_inputs`) and expects its exit code (2 for a refused input, 1
for a damaged store), a message fragment, one line, no traceback, and no file
created or changed for a refused command.
"""

import json
import os
import pathlib
import shutil
import stat

import pytest

from rlab import cli
from rlab import spec as spec_lib
from rlab.run import sweep
from tests.rlab.test_cli_bad_inputs import run_main, write_spec
from tests.sweep_cases import tiny_spec

# ----- sizes that pass a type check but would exhaust memory or overflow: refused before any directory ----------

BAD_SIZES = [
    # (spec edit or None, extra CLI args, text the one-line error must contain)
    (None, ["--seeds", "1000000000", "--chunk-size", "1000000000"], "--chunk-size = 1000000000"),
    (None, ["--chunk-size", "100000"], "--chunk-size = 100000; allowed: an integer from 1 to 65,536"),
    (None, ["--seeds", "4000000"], "would train 16,000,000 lanes"),
    (None, ["--seeds", "3000000", "--chunk-size", "65536"], "allowed: at most 10,000,000"),
    (None, ["--compile-ahead", "-1"], "--compile-ahead = -1"),
    (None, ["--compile-ahead", "1000"], "--compile-ahead = 1000"),
    (("num_evals = 2", "num_evals = 1000000000"), [], "num_evals: 1000000000; allowed: an integer from 1 to 10,000"),
    (("num_evals = 2", "num_evals = 10001"), [], "num_evals: 10001"),
    (("chunk_size = 4", "chunk_size = 100000"), [], "chunk_size: 100000; allowed: an integer from 1 to 65,536"),
    (("chunk_size = 4", "chunk_size = -1"), [], "chunk_size: -1"),
    (("iterations_per_eval = 1", "iterations_per_eval = 100000000"), [],
     "per seed; allowed: at most 2,147,483,647"),
    (("iterations_per_eval = 1", "iterations_per_eval = 2147483648"), [], "per seed; allowed: at most 2,147,483,647"),
]
BUDGET = tiny_spec(6, budget=16)
BAD_BUDGETS = [
    (("num_evals = 2", "num_evals = 5000\n") , ("env_steps_per_eval = 16", "env_steps_per_eval = 1600000"),
     "8,000,000,000 env steps per seed"),
    (("num_evals = 2", "total_env_steps = 40000000000000"), None, "total_env_steps: 40000000000000"),
    (("num_evals = 2", "total_env_steps = 160016"), None, "at most 10,000 times it"),
    (("num_evals = 2", "total_env_steps = 17"), None, "a positive multiple of env_steps_per_eval = 16"),
    (("env_steps_per_eval = 16", "env_steps_per_eval = 0"), None, "env_steps_per_eval: 0"),
    (("env_steps_per_eval = 16", "env_steps_per_eval = 3000000000"), None, "6,000,000,000 env steps per seed"),
]


@pytest.mark.parametrize("edit, extra, message", [c for c in BAD_SIZES if c[2]], ids=lambda v: str(v)[:40])
def test_a_size_too_large_to_run_is_refused_before_any_directory(tmp_path, capsys, edit, extra, message):
    args, before = write_spec(tmp_path, edit, extra)
    code, stderr = run_main(capsys, *args)
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 2 and set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("first, second, message", BAD_BUDGETS, ids=lambda v: str(v)[:40])
def test_a_budget_too_large_to_count_is_refused(tmp_path, capsys, first, second, message):
    text = BUDGET.replace(*first, 1)
    if second:
        text = text.replace(*second, 1)
    (tmp_path / "spec.toml").write_text(text)
    code, stderr = run_main(capsys, "sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "out"))
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "out").exists()


# ----- probe options ----------------------------------------------------------------------------------------

BAD_PROBES = [
    (["--seeds", "1000000000"], "seeds = 1,000,000,000; allowed: at most 65,536"),
    (["--seeds", "0"], "seeds = 0; allowed: an integer >= 1"),
    (["--budget", "10000000000000"], "budget = 10,000,000,000,000; allowed: at most 100,000,000"),
    (["--budget", "0"], "budget = 0"),
    (["--batch-sizes", "2000000000"], "episodes in one measurement; allowed: at most 16,777,216"),
    (["--batch-sizes", "3"], "batch sizes must be even"),
    (["--batch-sizes", "0"], "batch_sizes = [0]"),
    (["--batch-sizes", "4,4"], "without repeats"),
    (["--batch-sizes", "four"], "--batch-sizes = 'four'"),
    (["--seeds", "60000", "--batch-sizes", "4096"], "fewer seeds or smaller batches"),
    (["--dims", "0"], "dims = [0]"),
    (["--dims", "1,x"], "--dims = '1,x'"),
    (["--dims", ""], "--dims = ''"),
    (["--dims", "5000"], "'dim' = 5000 is out of range"),
    (["--radii", "1.5"], "radii = [1.5]; allowed: numbers in (0, 1)"),
    (["--radii", "0"], "radii = [0.0]"),
    (["--radii", "nan"], "radii = [nan]"),
    (["--probes", "everything"], "probes ['everything'] unknown"),
    (["-p", "dim=3"], "-p dim: the probe's grid sets it; use --dims"),
    (["-p", "hole_radius=0.2"], "use --radii"),
    (["-p", "colour=red"], "unknown parameter 'colour'"),
    (["-p", "num_holes"], "--param 'num_holes': expected NAME=VALUE"),
    (["--dims", ",".join(map(str, range(1, 101))), "--radii", ",".join(f"0.{i:02d}" for i in range(1, 21))],
     "measurements; allowed: at most 10,000"),
]


@pytest.mark.parametrize("extra, message", BAD_PROBES, ids=lambda v: str(v)[:40])
def test_a_bad_probe_option_is_one_line_and_creates_nothing(tmp_path, capsys, extra, message):
    code, stderr = run_main(capsys, "probe", "cheese_bandit", "--out", str(tmp_path / "probe"), "--quiet", *extra)
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "probe").exists()


# ----- damaged or odd sweep directories -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny sweep (2 groups x 2 noise values x 3 seeds, chunks of 4 lanes)."""
    root = tmp_path_factory.mktemp("finished")
    (root / "spec.toml").write_text(tiny_spec(3))
    sweep.run(spec_lib.load(root / "spec.toml"), root / "out")
    return root / "out"


def _manifest(directory: pathlib.Path, change) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _first_chunk(directory: pathlib.Path) -> str:
    return sorted(json.loads((directory / "manifest.json").read_text())["chunks"])[0]


def _entry(directory: pathlib.Path, field: str, value) -> None:
    _manifest(directory, lambda m: m["chunks"][_first_chunk(directory)].__setitem__(field, value))


def _replace_with_directory(directory: pathlib.Path, relative: str) -> None:
    path = directory / relative
    path.unlink()
    path.mkdir()


def _fifo_params(directory: pathlib.Path) -> None:
    entry = json.loads((directory / "manifest.json").read_text())["chunks"][_first_chunk(directory)]
    (directory / entry["params"]).unlink()
    os.mkfifo(directory / entry["params"])


def _chunk_file_as_directory(directory: pathlib.Path) -> None:
    entry = json.loads((directory / "manifest.json").read_text())["chunks"][_first_chunk(directory)]
    _replace_with_directory(directory, entry["file"])


STORE_CASES = [
    # (damage, command with {dir}, exit code, message fragment)
    (lambda d: (d / "manifest.json").write_text("{not json"), ["sweep", "{dir}/spec.toml", "--out", "{dir}"], 2,
     "rlab status {dir} --rebuild"),
    (lambda d: (d / "manifest.json").write_text("{not json"), ["status", "{dir}"], 2, "--rebuild"),
    (lambda d: (d / "manifest.json").write_text("[]"), ["report", "{dir}"], 2, "not an rlab manifest"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("chunks", [])), ["status", "{dir}"], 2, "chunks"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("process", "zero")), ["status", "{dir}"], 2, "process"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("process", "zero")), ["report", "{dir}"], 2, "process"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("status", 3)), ["status", "{dir}"], 2, "status"),
    (lambda d: _manifest(d, lambda m: m.pop("started_at")), ["status", "{dir}"], 2, "started_at"),
    (lambda d: _manifest(d, lambda m: m.pop("backend")), ["report", "{dir}"], 2, "backend missing"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("finished_at", 5)), ["status", "{dir}"], 2, "finished_at = 5"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("num_seeds", "many")), ["status", "{dir}"], 2, "num_seeds"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("num_seeds", "many")), ["report", "{dir}"], 2, "num_seeds"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("chunk_size", "4")), ["sweep", "{dir}/spec.toml", "--out", "{dir}"],
     2, "chunk_size"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("lane_widths", [])), ["sweep", "{dir}/spec.toml", "--out", "{dir}"],
     2, "lane_widths"),
    (lambda d: _manifest(d, lambda m: m["chunks"].__setitem__(_first_chunk(d), [1, 2])), ["status", "{dir}"], 2,
     "chunks"),
    (lambda d: _manifest(d, lambda m: m["chunks"].__setitem__(_first_chunk(d), [1, 2])), ["report", "{dir}"], 2,
     "chunks"),
    (lambda d: _entry(d, "file", 7), ["status", "{dir}", "--verify"], 2, ".file = 7 (expected a path)"),
    (lambda d: _entry(d, "file", "../../etc/passwd"), ["status", "{dir}", "--verify"], 1, "leaves the sweep directory"),
    (lambda d: _entry(d, "sha256", "abc"), ["status", "{dir}"], 2, "sha256"),
    (lambda d: _entry(d, "seeds", "0,1"), ["sweep", "{dir}/spec.toml", "--out", "{dir}"], 2, "seeds"),
    (lambda d: _manifest(d, lambda m: m["groups"].__setitem__("g000", "ppo")), ["report", "{dir}"], 2, "groups"),
    (_chunk_file_as_directory, ["status", "{dir}", "--verify"], 1, "is not a file"),
    (_fifo_params, ["status", "{dir}", "--verify"], 1, "is not a file"),
    (lambda d: (d / "report").write_text("a file"), ["report", "{dir}"], 2, "report"),
    (lambda d: (d / ".lock.p0").mkdir() if not (d / ".lock.p0").exists() else _replace_with_directory(d, ".lock.p0"),
     ["sweep", "{dir}/spec.toml", "--out", "{dir}"], 2, ".lock.p0"),
    (lambda d: None, ["plot", "nonsense", "{dir}"], 2, "nonsense"),
    (lambda d: None, ["plot", "fan", "{dir}", "--out", "/proc/rlab-test/fan"], 2, "/proc/rlab-test"),
    (lambda d: None, ["plot", "fan", "{dir}", "--out", "{dir}/" + "x" * 300 + "/fan"], 2, "File name too long"),
    (lambda d: None, ["sweep", "{dir}/spec.toml", "--out", "{dir}/" + "y" * 300], 2, "File name too long"),
    (lambda d: None, ["status", "{dir}/nowhere"], 2, "not a sweep directory"),
    (lambda d: None, ["report", "{dir}/spec.toml"], 2, "not a sweep directory"),
    (lambda d: (d / "spec.toml").write_text("name = 'edited'"), ["report", "{dir}"], 2, "changed after the sweep ran"),
    (lambda d: (d / "spec.toml").unlink(), ["report", "{dir}"], 2, "spec.toml"),
    # What is read back from disk keeps the spec's own bounds: a stored width sizes the next run's programs.
    (lambda d: _manifest(d, lambda m: m["lane_widths"]["g000"].__setitem__("lane_width", 10**9)),
     ["sweep", "{dir}/spec.toml", "--out", "{dir}", "--seeds", "5"], 2, "W from 1 to 1024"),
    (lambda d: _manifest(d, lambda m: m["lane_widths"]["g000"].__setitem__("lane_width", 0)),
     ["sweep", "{dir}/spec.toml", "--out", "{dir}", "--seeds", "5"], 2, "W from 1 to 1024"),
    (lambda d: _manifest(d, lambda m: m["lane_widths"]["g000"].__setitem__("lane_width", -3)),
     ["status", "{dir}"], 2, "lane_widths"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("chunk_size", 10**9)), ["status", "{dir}"], 2,
     "chunk_size = 1000000000 (expected an integer from 1 to 65,536)"),
    (lambda d: _manifest(d, lambda m: m.__setitem__("process", {"index": 3, "count": 2})), ["status", "{dir}"], 2,
     "process"),
    (lambda d: ((d / "manifest.json").unlink(), os.mkfifo(d / "manifest.json")), ["status", "{dir}"], 2,
     "a FIFO; allowed: a regular manifest"),
]


@pytest.mark.parametrize("damage, command, code, message", STORE_CASES,
                         ids=[f"{i}-{c[1][0]}-{c[3][:20]}" for i, c in enumerate(STORE_CASES)])
def test_a_damaged_or_odd_sweep_directory_is_one_line_not_a_traceback(finished, tmp_path, capsys, damage, command,
                                                                      code, message):
    directory = tmp_path / "sweep"
    shutil.copytree(finished, directory, ignore=shutil.ignore_patterns(".lock*", "report"))
    damage(directory)
    args = [arg.replace("{dir}", str(directory)) for arg in command]
    before = {p: p.stat().st_mtime_ns for p in directory.rglob("*") if not stat.S_ISFIFO(p.lstat().st_mode)}
    try:
        got = cli.main(args)
    except SystemExit as exit_:  # argparse's own refusals
        got = exit_.code
    out, stderr = capsys.readouterr()
    assert got == code, stderr + out
    assert message.replace("{dir}", str(directory)) in stderr + out and "Traceback" not in stderr, stderr + out
    assert len(stderr.strip().splitlines()) <= 1, stderr
    if code == 2:  # a refused command changes nothing
        after = {p: p.stat().st_mtime_ns for p in directory.rglob("*") if not stat.S_ISFIFO(p.lstat().st_mode)}
        assert {p for p in after if not p.name.startswith(".lock")} == {p for p in before if not p.name.startswith(".lock")}


def test_a_read_only_sweep_is_reported_not_written(finished, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes through read-only permissions")
    directory = tmp_path / "sweep"
    shutil.copytree(finished, directory, ignore=shutil.ignore_patterns(".lock*", "report"))
    directory.chmod(0o555)
    try:
        code, stderr = run_main(capsys, "report", str(directory))
    finally:
        directory.chmod(0o755)
    assert code == 2 and "Permission denied" in stderr and "Traceback" not in stderr, stderr
