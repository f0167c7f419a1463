"""`rlab tune SPEC`: tune on some seeds, report on others, and measure how optimistic the choice was.

A spec with a `[protocol]` table names two disjoint seed ranges and a
selection rule:

    [protocol]
    tuning_seeds = { start = 0, count = 10 }
    report_seeds = { start = 100, count = 32 }
    select = "iqm"            # or "lower_bound"

The run has two phases, each an ordinary sweep directory:

1. DIR/tuning: the spec's whole hyperparameter grid on the tuning seeds (one
   compiled program per shape, as sweeps run). Its spec is marked
   `phase = "tuning"`, and the report draws no conclusion from it.
2. DIR/report: each algorithm's chosen configuration (its axes fixed at the
   chosen values), on the report seeds, at the same budget and evaluation.

A configuration's score is the IQM over seeds of the final evaluation
return; `select = "iqm"` takes the best score, `"lower_bound"` the best lower
end of its 95% bootstrap interval (it prefers configurations that are good
on most seeds). The optimism of selection is the chosen configuration's
score on the tuning seeds minus its score on the report seeds, with a
bootstrap interval (seeds resampled within each phase): selecting the best
of several noisy configurations picks up their noise, and this number says
how much. DIR/tune.json records the choices, the scores and the optimism.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import tomli_w

from rlab import frames, limits, stats, store
from rlab import spec as spec_lib
from rlab.errors import RunIncomplete, UsageError
from rlab.store import files

RESAMPLES = 2000


def check_tunable(spec: spec_lib.Spec) -> None:
    """Refuses a spec `rlab tune` cannot run (no protocol, no grid, environment axes)."""
    if not spec.protocol or {"tuning_seeds", "report_seeds"} - set(spec.protocol):
        raise UsageError("rlab tune needs a [protocol] table with tuning_seeds and report_seeds "
                         "(disjoint {start = S, count = N} ranges) and optionally select = \"iqm\" or \"lower_bound\"")
    if spec.env_axes:
        raise UsageError(f"rlab tune chooses one configuration per algorithm on one task; this spec sweeps "
                         f"{', '.join(spec.env_axes)}: give those as env_params (one tune per task)")
    if not any(a.axes for a in spec.algorithms):
        raise UsageError("rlab tune needs a grid to choose from: give at least one algorithm [algorithms.X.axes]")


def phase_spec(spec: spec_lib.Spec, phase: str, chosen: dict[str, dict] | None = None) -> spec_lib.Spec:
    """The spec of one phase: the tuning seeds and the whole grid, or the report seeds and the chosen values."""
    import tomllib

    raw = tomllib.loads(spec.text)
    start, count = spec.protocol[f"{phase}_seeds"]
    raw["name"] = f"{spec.name}_{phase}"
    raw["seeds"] = {"start": start, "count": count}
    raw["protocol"] = {**raw.get("protocol", {}), "phase": phase}
    if chosen is not None:
        raw["algorithms"] = {algo: table for algo, table in raw["algorithms"].items() if algo in chosen}
        for algo, values in chosen.items():
            table = raw["algorithms"][algo]
            table.pop("axes", None)
            table.update(values)
    text = f"# Written by `rlab tune` from {spec.name}: the {phase} phase.\n" + tomli_w.dumps(raw)
    return spec_lib.parse(tomllib.loads(text), text, f"<{phase} phase of {spec.name}>")


def final_scores(frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(algo, configuration name) -> final evaluation return per seed (diverged seeds left out)."""
    scores = {}
    frame = frame.assign(config=frames.configurations(frame))
    for (algo, config), rows in frame.groupby(["algo", "config"], sort=True):
        values, _ = stats.drop_diverged(frames.curves(rows, "eval_return")[1][:, -1])
        scores[algo, config] = values
    return scores


def score(values: np.ndarray, rule: str, rng: np.random.Generator) -> float:
    """A configuration's selection score: the IQM of its seeds, or the lower end of its 95% bootstrap interval."""
    if values.size == 0:
        return -np.inf
    if rule == "iqm":
        return float(stats.iqm(values))
    return float(stats.bootstrap_ci(values, "iqm", rng, n_resamples=RESAMPLES).low)


def choose(scores: dict, rule: str, rng: np.random.Generator) -> dict[str, str]:
    """algo -> the configuration with the best score by `rule` (the first in name order on ties).

    An algorithm none of whose configurations has a seed left (every seed
    diverged) gets no choice: there is nothing to choose between.
    """
    best: dict[str, tuple[float, str]] = {}
    for (algo, config), values in sorted(scores.items()):
        value = score(values, rule, rng)
        if np.isfinite(value) and (algo not in best or value > best[algo][0]):
            best[algo] = (value, config)
    return {algo: config for algo, (_, config) in best.items()}


def optimism(tuning: np.ndarray, reported: np.ndarray, rng: np.random.Generator) -> stats.Interval:
    """IQM on the tuning seeds minus IQM on the report seeds, with a bootstrap interval (seeds within each)."""
    return stats.difference_ci(tuning, reported, "iqm", rng, n_resamples=RESAMPLES)


def chosen_values(frame: pd.DataFrame, config: str) -> dict:
    """The hyperparameter-axis values of a configuration (by its report name), from its stored rows."""
    rows = frame[frames.configurations(frame) == config]
    values = {}
    for column in rows.columns:
        if column.startswith("hp.") and rows[column].notna().any():
            value = rows[column].iloc[0]
            values[column[3:]] = value.item() if isinstance(value, np.generic) else value
    return values


def run(spec: spec_lib.Spec, out_dir, progress=None, seed: int = 0, **sweep_options) -> dict:
    """Both phases into `out_dir` (resumable, as sweeps are); returns what DIR/tune.json records."""
    from rlab.run import sweep

    check_tunable(spec)
    out_dir = pathlib.Path(out_dir)
    rule = spec.protocol.get("select", "iqm")
    rng = np.random.default_rng(seed)
    tuning_spec = phase_spec(spec, "tuning")
    if progress:
        progress.note(f"tuning phase: {len(tuning_spec.groups())} group(s), the whole grid on seeds "
                      f"{tuning_spec.seeds.start}..{tuning_spec.seeds.stop - 1}")
    sweep.run(tuning_spec, out_dir / "tuning", progress=progress, **sweep_options)
    tuning_frame = store.load(out_dir / "tuning")
    tuning_scores = final_scores(tuning_frame)
    picks = choose(tuning_scores, rule, rng)
    result = {"rule": rule, "tuning_seeds": list(spec.protocol["tuning_seeds"]),
              "report_seeds": list(spec.protocol["report_seeds"]), "tuning_spec_hash": tuning_spec.identity_hash(),
              "report_spec_hash": None, "algorithms": {}}
    for algo in sorted({a for a, _ in tuning_scores} - set(picks)):
        result["algorithms"][algo] = {"chosen": None, "configurations": sum(1 for a, _ in tuning_scores if a == algo),
                                      "why": "every configuration diverged on every tuning seed"}
    if not picks:
        files.write_text(out_dir / "tune.json", json.dumps(result, indent=1, default=str) + "\n")
        raise RunIncomplete(f"every configuration of every algorithm diverged on every tuning seed: nothing chosen, "
                            f"no report phase run ({out_dir / 'tune.json'} records it)")
    chosen = {algo: chosen_values(tuning_frame, config) for algo, config in picks.items()}
    report_spec = phase_spec(spec, "report", chosen)
    result["report_spec_hash"] = report_spec.identity_hash()
    if progress:
        progress.note("chose " + "; ".join(f"{a}: {v}" for a, v in chosen.items()) + f" (rule: {rule}); report "
                      f"phase on seeds {report_spec.seeds.start}..{report_spec.seeds.stop - 1}")
    sweep.run(report_spec, out_dir / "report", progress=progress, **sweep_options)
    report_scores = {algo: values for (algo, _), values in final_scores(store.load(out_dir / "report")).items()}
    for algo, config in picks.items():
        tuned, reported = tuning_scores[algo, config], report_scores[algo]
        gap = optimism(tuned, reported, rng)
        result["algorithms"][algo] = {
            "chosen": chosen[algo], "configurations": sum(1 for a, _ in tuning_scores if a == algo),
            "tuning_iqm": float(stats.iqm(tuned)), "report_iqm": float(stats.iqm(reported)),
            "optimism": {"point": float(gap.point), "low": float(gap.low), "high": float(gap.high),
                         "what": "IQM of final return on tuning seeds minus on report seeds, 95% bootstrap CI"},
        }
    files.write_text(out_dir / "tune.json", json.dumps(result, indent=1, default=str) + "\n")
    return result


RECORD = "tune.json"


def read_record(report_dir) -> dict:
    """The DIR/tune.json of a report phase DIR/report, checked and tied to that report phase.

    Raises:
      UsageError: the record is unreadable, not a table, lacks a field or
        has one of the wrong type, or belongs to another report phase (its
        report spec hash differs from the directory's: a copy beside another tune).
    """
    report_dir = pathlib.Path(report_dir)
    path = report_dir.parent / RECORD
    try:
        record = json.loads(files.read_bounded_text(path, limits.MAX_RECORD_BYTES, "tune record"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: unreadable ({err}); rerun `rlab tune` to write it again") from None
    problem = _record_problem(record)
    if problem:
        raise UsageError(f"{path}: not a tune record ({problem}); rerun `rlab tune` to write it again")
    ours = store.read_manifest(report_dir).spec_hash
    if record["report_spec_hash"] != ours:
        raise UsageError(f"{path} records the report phase of spec hash {record['report_spec_hash']}, not this one "
                         f"({ours}): it belongs to another tune")
    return record


def _record_problem(record) -> str | None:
    """What is wrong with a parsed tune.json (None when every field the report reads is there and typed)."""
    if not isinstance(record, dict):
        return f"a {type(record).__name__}, not a table"
    for key, kind in (("rule", str), ("report_spec_hash", str), ("algorithms", dict)):
        if not isinstance(record.get(key), kind):
            return f"{key} = {record.get(key)!r:.40} (expected a {kind.__name__})"
    for algo, entry in record["algorithms"].items():
        if not isinstance(entry, dict):
            return f"algorithms.{algo} is not a table"
        if entry.get("chosen") is None:
            continue
        numbers = [entry.get("tuning_iqm"), entry.get("report_iqm"), entry.get("configurations")]
        gap = entry.get("optimism")
        if not (isinstance(entry["chosen"], dict) and isinstance(gap, dict)):
            return f"algorithms.{algo}: chosen and optimism must be tables"
        numbers += [gap.get(k) for k in ("point", "low", "high")]
        if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
            return f"algorithms.{algo}: its scores, configurations and optimism must be numbers"
    return None


def render(result: dict) -> str:
    lines = [f"selection rule: {result['rule']}; tuning seeds {result['tuning_seeds'][0]}.."
             f"{sum(result['tuning_seeds']) - 1}, report seeds {result['report_seeds'][0]}.."
             f"{sum(result['report_seeds']) - 1}"]
    for algo, entry in result["algorithms"].items():
        if entry["chosen"] is None:
            lines.append(f"{algo}: nothing chosen ({entry['why']}); left out of the report phase")
            continue
        gap = entry["optimism"]
        lines.append(f"{algo}: chose {entry['chosen']} of {entry['configurations']} configurations; IQM final return "
                     f"{entry['tuning_iqm']:.4g} on tuning seeds, {entry['report_iqm']:.4g} on report seeds; optimism "
                     f"of selection {gap['point']:.4g} [{gap['low']:.4g}, {gap['high']:.4g}] (95% bootstrap CI)")
    return "\n".join(lines)


def is_tuning_phase(spec_text: str) -> bool:
    """Whether a stored spec is the tuning phase of `rlab tune` (no conclusion may be drawn from its seeds)."""
    import tomllib

    try:
        raw = tomllib.loads(spec_text)
    except tomllib.TOMLDecodeError:
        return False
    protocol = raw.get("protocol")
    return isinstance(protocol, dict) and protocol.get("phase") == "tuning"
