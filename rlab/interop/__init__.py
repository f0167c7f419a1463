"""Bring your own runs: other tools' results into rlab sweep directories, and rlab's out to theirs.

    rlab import marl-eval results.json --out runs/mine
    rlab import rliable scores.npz --out runs/atari
    rlab import tidy runs.csv --out runs/wandb --map seed=run_id --map eval_return=eval/return
    rlab import tensorboard logs/ --out runs/tb --return-tag charts/episodic_return
    rlab import tensorboard runs/ --out runs/cleanrl --preset cleanrl --grid 10000   # CleanRL's runs/
    rlab import wandb panel.csv --out runs/wb --preset cleanrl      # a W&B chart's CSV (or run histories)
    rlab export marl-eval runs/mine --out mine.json      # also: rliable (.npz), tidy (.csv or .parquet)

The table every import becomes, and every export starts from, is the data
contract (`rlab.interop.contract`); `formats` reads and writes each format;
`directory` stores an import as a sweep directory, which `rlab report`, `rlab
status --verify`, `rlab.store.load` and `rlab.stats` read as any other.
"""

from __future__ import annotations

import pathlib

import pandas as pd

from rlab import limits, store
from rlab.store import files
from rlab.errors import UsageError
from rlab.interop import contract, directory, formats, tensorboard, wandb

FORMATS = formats.FORMATS


def _read_marl_eval(path, options):
    return formats.read_marl_eval(path, options.get("metric"), options.get("success_metric"))


def _read_rliable(path, options):
    return formats.read_rliable(path, options.get("metric") or "eval_return", options.get("steps"))


def _read_tidy(path, options):
    return formats.read_tidy(path, options.get("mapping"))


def _read_tensorboard(path, options):
    tensorboard.compile_run_pattern(options.get("run_pattern"), options.get("preset"))  # a bad one said first
    return_tag = options.get("return_tag") or tensorboard.PRESET_RETURN_TAGS.get(options.get("preset"))
    if not return_tag:
        raise UsageError("tensorboard needs --return-tag: the scalar tag of the evaluation return")
    return tensorboard.read(path, return_tag, options.get("success_tag"), options.get("run_pattern"),
                            tuple(options.get("other_tags") or ()), options.get("preset"), options.get("grid"))


def _read_wandb(path, options):
    return wandb.read(path, options.get("metric"), options.get("run_pattern"), options.get("preset"),
                      options.get("mapping"), options.get("grid"))


# Format -> its reader, (path, options) -> rows in the format's own vocabulary.
READERS = {"marl-eval": _read_marl_eval, "rliable": _read_rliable, "tidy": _read_tidy,
           "tensorboard": _read_tensorboard, "wandb": _read_wandb}


def read(kind: str, path, **options) -> pd.DataFrame:
    """The contract table of a file (or TensorBoard directory) in format `kind`; UsageError on any problem.

    A file is read only when it is a regular file within `limits.MAX_IMPORT_BYTES`
    (a FIFO or a device would block or never end); a TensorBoard log is a directory.
    """
    path = pathlib.Path(path)
    if kind not in READERS:
        raise UsageError(f"format = {kind!r}; allowed: {', '.join(READERS)}")
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not (kind == "tensorboard" and path.is_dir()):
        files.check_readable(path, limits.MAX_IMPORT_BYTES, f"{kind} file")
    return contract.normalise(READERS[kind](path, options), str(path))


def import_runs(kind: str, path, out_dir, name: str | None = None, **options):
    """Reads `path` (format `kind`) and stores it as a sweep directory `out_dir`; returns the store."""
    frame = read(kind, path, **options)
    recorded = {k: v for k, v in options.items() if v not in (None, (), {}, [])}
    return directory.write(frame, out_dir, kind, path, recorded, name=name)


def _marl_eval_writer(table, out_path, sweep_dir, options):
    env_name = store.read_manifest(sweep_dir).environment.get("env", "rlab")
    return lambda tmp: formats.write_marl_eval(table, tmp, env_name)


def _rliable_writer(table, out_path, sweep_dir, options):
    metric = options.get("metric") or "eval_return"
    if metric not in table.columns:
        raise UsageError(f"--metric = {metric!r}: not a column of {sweep_dir}; allowed: "
                         f"{', '.join(formats.metric_columns(table))}")
    return lambda tmp: formats.write_rliable(table, tmp, metric, bool(options.get("final")))


def _tidy_writer(table, out_path, sweep_dir, options):
    return lambda tmp: formats.write_tidy(table, tmp, parquet=formats.is_parquet(out_path))


# Format -> (contract table, target path, sweep directory, options) -> a function writing a temporary file.
WRITERS = {"marl-eval": _marl_eval_writer, "rliable": _rliable_writer, "tidy": _tidy_writer}


def export(kind: str, sweep_dir, out_path, **options) -> pd.DataFrame:
    """Writes a sweep directory's rows in format `kind` to `out_path`; returns the contract table written.

    A sweep that is not complete is refused unless `partial=True` (the caller then says it is partial).
    """
    if kind not in WRITERS:
        raise UsageError(f"format = {kind!r}; allowed: {', '.join(WRITERS)}")
    frame = store.load(sweep_dir)
    if frame.empty:
        raise UsageError(f"{sweep_dir}: no stored rows to export")
    damaged = frame.attrs.get("damaged") or {}
    if damaged:
        raise UsageError(f"{sweep_dir}: {len(damaged)} damaged chunk(s) ({', '.join(sorted(damaged))}); "
                         "`rlab status DIR --verify` says what is wrong; export refuses to leave runs out")
    manifest = store.read_manifest(sweep_dir)
    if manifest.status != "complete" and not options.get("partial"):
        held = manifest.coverage
        raise UsageError(f"{sweep_dir}: the sweep is {manifest.status} ({_held(held)}); an export of part of it would "
                         "read as the whole; allowed: finish it (rerun `rlab sweep`), or --partial to export what "
                         "is stored")
    table = contract.normalise(frame, str(sweep_dir))
    out_path = pathlib.Path(out_path)
    write = WRITERS[kind](table, out_path, sweep_dir, options)
    files.atomic_write(out_path, write)  # a complete file or none
    return table


def _held(coverage: dict) -> str:
    """What a coverage record says is stored, in words."""
    stored, expected = coverage.get("chunks_stored"), coverage.get("chunks_expected")
    if stored is None or expected is None:
        return "not every chunk is stored"
    return f"{stored} of {expected} chunks stored"
