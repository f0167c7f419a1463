"""The run plan: everything a sweep decides before any chunk runs, decided once.

    spec, store, options  ->  RunPlan  ->  an executor (`rlab.run.local`, `rlab.run.on_ray`)

A `RunPlan` fixes the chunk size, the target seed count (the spec's, or the
larger one a directory records from an extension that was cut short), the
chunks in program order (chunks of groups sharing a compiled program
together), this process's share of them, and each group's lane width W.
W is recorded in the store before any chunk runs and is a function of the
spec and the kind of device only: a chunk's lanes over the local devices
(`rlab.run.widths.rule_width`), a given width, or one measured on request;
never of how the sweep is launched (one process, `--process` shares, a
scheduler's array, Ray), so all of those store the same bits. Processes
sharing a sweep plan one at a time (the store's `planning` lock): the
first records the widths, the others read them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax

import envs
import rlab.trainers
from rlab import spec as spec_lib
from rlab.errors import UsageError
from rlab.run import widths
from rlab.run.chunks import make_trainer


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a sweep runs, fixed before it runs.

    Attributes:
      spec: the spec, with the sweep's target number of seeds.
      chunk_size: lanes per chunk.
      process: (index, count) of this process among those sharing the sweep.
      chunks: every chunk of the sweep, in program order.
      share: this process's pending chunks (chunk i of the spec's order for
        i mod count == index), in program order.
      widths: group id -> its lane width (`WidthChoice`), for every group with a pending chunk.
      devices: the local devices the lanes are spread over.
      trainers: program key -> a trainer made while planning (memory probe,
        width measurement), for the executor to reuse instead of compiling again.
    """

    spec: spec_lib.Spec
    chunk_size: int
    process: tuple[int, int]
    chunks: tuple[spec_lib.Chunk, ...]
    share: tuple[spec_lib.Chunk, ...]
    widths: Mapping[str, widths.WidthChoice]
    devices: tuple
    trainers: dict = dataclasses.field(default_factory=dict, compare=False)

    def width(self, chunk: spec_lib.Chunk) -> int:
        """The lane width of the chunk's group."""
        return self.widths[chunk.group.id].width

    def key(self, group: spec_lib.Group) -> tuple:
        """The group's program (`program_key`)."""
        return program_key(self.spec, group)


def make(store, spec: spec_lib.Spec, chunk_size: int, process: tuple[int, int], devices, lane_width,
         probes: Mapping[int, Any] | None = None, progress=None) -> RunPlan:
    """The run plan of `spec` into the open `store` (see the module docstring); records groups and widths.

    Args:
      lane_width: None (the rule), an integer, or "measure".
      probes: group index -> trainer made to size the chunks, reused.
    """
    groups = spec.groups()
    # Whether the task defines success: reports of a task that defines none show returns and say so.
    has_success = bool(getattr(envs.lookup(spec.env).env_class, "has_success", True))
    for group in groups:
        store.describe_group(group.id, {**group.describe(), "has_success": has_success})
    in_spec_order = spec.chunks(chunk_size)
    ordered = ordered_by_program(spec, groups, in_spec_order)
    trainers = {program_key(spec, groups[index]): trainer for index, trainer in (probes or {}).items()}
    with store.planning():
        pending = store.pending(ordered)
        mine = {chunk.id for position, chunk in enumerate(in_spec_order) if position % process[1] == process[0]}
        share = tuple(chunk for chunk in pending if chunk.id in mine)
        store.plan(chunk.id for chunk in pending)
        chosen: dict[str, widths.WidthChoice] = {}
        measured: dict[tuple, widths.WidthChoice] = {}
        for group in {chunk.group.id: chunk.group for chunk in pending}.values():
            choice = _group_width(store, spec, group, lane_width, chunk_size, len(devices), trainers, measured)
            chosen[group.id] = choice
            if choice.reason != "stored":
                store.record_lane_width(group.id, choice.describe())
                if progress is not None and not choice.reason.startswith("rule"):
                    progress.note(width_line(group, choice))
    return RunPlan(spec, chunk_size, process, tuple(ordered), share, chosen, tuple(devices), trainers)


def _group_width(store, spec, group, given, chunk_size: int, num_devices: int, trainers: dict,
                 measured: dict) -> widths.WidthChoice:
    """A group's lane width: the one recorded (refusing a different given one), given, the rule's, or measured.

    A measurement's time is capped at a quarter of the group's estimated
    run time (`widths.measure_width`), and a width measured for one group
    serves the other groups of its program.
    """
    stored = store.lane_width(group.id)
    if stored is not None:
        if given not in (None, widths.MEASURE) and given != stored["lane_width"]:
            raise UsageError(
                f"{store.directory}: group {group.id} ran with lane width {stored['lane_width']}; results depend on "
                f"it, so it cannot continue with --lane-width {given} (omit it to reuse {stored['lane_width']})"
            )
        return widths.WidthChoice(stored["lane_width"], {}, "stored")
    group_lanes = spec.num_seeds * len(group.float_combos)
    if given == widths.MEASURE:
        key = program_key(spec, group)
        if key in measured and measured[key].width <= group_lanes:
            return widths.WidthChoice(measured[key].width, {}, "measured for another group of the same program")
        if key not in trainers:
            trainers[key] = make_trainer(spec, group)
        trainer = trainers[key]
        run_env_steps = group_lanes * spec.num_evals * trainer.env_steps_per_eval
        measured[key] = widths.measure_width(trainer, max_width=min(chunk_size, group_lanes),
                                             run_env_steps=run_env_steps)
        return measured[key]
    if given is not None:
        return widths.WidthChoice(given, {}, "given")
    lanes_per_chunk = min(chunk_size, group_lanes)
    return widths.WidthChoice(widths.rule_width(lanes_per_chunk, num_devices, jax.default_backend()), {},
                              f"rule: {lanes_per_chunk} lanes per chunk over {num_devices} device(s)")


def width_line(group: spec_lib.Group, choice: widths.WidthChoice) -> str:
    """One plain line: how many seeds share a compiled program in this group, and why."""
    axes = "".join(f" {k}={v}" for k, v in group.env_axes.items())
    timings = ", ".join(f"{w}: {v:,.0f}" for w, v in choice.steps_per_second.items())
    return (f"{group.id} ({group.algo}{axes}): {choice.width} seed(s) per compiled program ({choice.reason}"
            + (f"; env steps/s by width {timings}" if timings else "") + ")")


def program_key(spec: spec_lib.Spec, group: spec_lib.Group) -> tuple:
    """What decides a group's compiled program: groups with equal keys share one.

    The algorithm, its hyperparameters and the environment parameters that
    are not traced (`envs.params.Param.traced`): traced ones are data in the
    trainer's state, so groups differing only in them run one program.
    """
    traced = {p.name for p in envs.lookup(spec.env).params if p.traced}
    env_params = sorted((k, repr(v)) for k, v in group.env_params.items() if k not in traced)
    return group.algo, repr(sorted(group.hparams.items())), repr(env_params)


def ordered_by_program(spec: spec_lib.Spec, groups, chunks) -> list:
    """`chunks` in plan order, except that chunks of groups sharing a program (`program_key`) come together."""
    keys = {group.index: program_key(spec, group) for group in groups}
    first_of_key: dict[tuple, int] = {}
    for group in groups:
        first_of_key.setdefault(keys[group.index], group.index)
    return sorted(chunks, key=lambda chunk: first_of_key[keys[chunk.group.index]])


def check_builds(spec: spec_lib.Spec) -> None:
    """Builds one trainer per distinct (algorithm, hyperparameters), before any directory is made.

    Some constraints only an algorithm's build knows (OpenAI-ES's even
    population, ARS's top_directions <= num_directions, PPO's minibatch
    division); a sweep that would hit one is refused up front, not after its
    directory exists; so is one whose seeds would train more env steps than
    trainers count (int32).
    """
    seen = set()
    for group in spec.groups():
        key = (group.algo, repr(sorted(group.hparams.items())))
        if key not in seen:
            seen.add(key)
            trainer = make_trainer(spec, group)
            per_seed = trainer.env_steps_per_eval * spec.num_evals
            if per_seed > spec_lib.MAX_ENV_STEPS_PER_SEED:
                raise UsageError(
                    f"{group.algo}: {trainer.env_steps_per_eval:,} env steps per evaluation x {spec.num_evals:,} "
                    f"evaluations = {per_seed:,} per seed; allowed: at most {spec_lib.MAX_ENV_STEPS_PER_SEED:,} "
                    "(trainers count env steps in int32)"
                )


def size_chunks(spec: spec_lib.Spec, lane_width, num_devices: int, memory_budget: int | None,
                progress=None) -> tuple[int, dict[int, Any]]:
    """The chunk size that fits `memory_budget` bytes: (size, group index -> the trainer whose program sized it).

    One trainer per algorithm, on its group with the largest environment,
    compiles one step at the width the run will likely use (so the run
    reuses the program) and XLA's memory plan says how many lanes fit
    (`widths.default_chunk_size`).
    """
    largest = {}
    for group in spec.groups():
        env = envs.make(spec.env, **group.env_params)
        size = env.observation_size + env.action_size
        if group.algo not in largest or size > largest[group.algo][0]:
            largest[group.algo] = (size, group, env)
    probes = {g.index: rlab.trainers.make(g.algo, env, **g.hparams) for _, g, env in largest.values()}
    if isinstance(lane_width, int):
        probe_lanes = lane_width
    else:
        most_lanes = max(spec.num_seeds * len(group.float_combos) for group in spec.groups())
        probe_lanes = widths.rule_width(min(widths.DEFAULT_MAX_CHUNK, most_lanes), num_devices, jax.default_backend())
    if progress is not None:
        progress.note(f"sizing chunks: compiling one {probe_lanes}-lane step of "
                      f"{', '.join(t.algo for t in probes.values())} to read XLA's memory plan "
                      f"(--chunk-size skips this)")
    return widths.default_chunk_size(list(probes.values()), num_devices, memory_budget, probe_lanes), probes
