"""The `rlab` command line.

Exit codes: 0 success, 1 a command ran but failed (e.g. a check did not
pass), 2 bad usage or bad input (unknown id, bad parameter value).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Sequence

import rlab
from rlab import process_setup
from rlab.errors import RunIncomplete, UsageError, is_decimal

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlab",
        description="Measure how reinforcement learning behaves across random seeds and on sparse rewards.",
    )
    parser.add_argument("--version", action="version", version=f"rlab {rlab.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for add in (_add_envs, _add_algos, _add_sweep, _add_launch, _add_import, _add_export, _add_tune, _add_compare,
                _add_report, _add_plot, _add_demo, _add_render, _add_probe, _add_status, _add_doctor):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rlab` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        from rlab.run import devices

        devices.use_cpu_cores()  # before anything starts JAX's backends
        return args.handler(args)
    except ValueError as err:
        # Our own validation errors carry their explanation; anything else is a bug.
        if not _is_user_error(err):
            raise
        print(f"rlab {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RunIncomplete as err:
        print(f"rlab {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that closed early, e.g. `| head`
        sys.stderr.close()
        return EXIT_OK
    except OSError as err:
        # The file system said no (permissions, a file where a directory belongs, a name too long, a
        # full disk): one line naming the path; every write is atomic, so nothing half-written is left.
        where = f"{err.filename}: " if err.filename else ""
        print(f"rlab {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE


def _is_user_error(err: ValueError) -> bool:
    if isinstance(err, UsageError):
        return True
    envs = sys.modules.get("envs")
    return envs is not None and isinstance(err, envs.EnvParamError)


def _add_envs(commands) -> None:
    """The `rlab envs` subcommand's arguments."""
    envs_cmd = commands.add_parser(
        "envs",
        help="list the environments, or describe and check one",
        description=(
            "Without ENV_ID: list every registered environment with its parameters. "
            "With ENV_ID: its parameters, allowed values and sizes. With --check: run "
            "many episodes of each environment's reference policy and compare the "
            "measured success rate with its closed-form probability."
        ),
    )
    envs_cmd.add_argument("env_id", nargs="?", metavar="ENV_ID", help="one environment id")
    envs_cmd.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment parameter (repeatable), e.g. -p dim=3",
    )
    envs_cmd.add_argument(
        "--check", action="store_true", help="Monte Carlo check of success rates against closed forms"
    )
    envs_cmd.add_argument(
        "--episodes", type=int, default=100_000, help="episodes per check (default: %(default)s)"
    )
    envs_cmd.add_argument("--seed", type=int, default=0, help="seed of the check's episodes")
    envs_cmd.set_defaults(handler=_run_envs)


def _run_envs(args: argparse.Namespace) -> int:
    from rlab import envs_command

    if args.episodes < 1:
        raise UsageError(f"--episodes = {args.episodes}; allowed: an integer >= 1")
    if args.param and not args.env_id:
        raise UsageError("--param needs an ENV_ID")
    params = envs_command.parse_params(args.env_id, args.param) if args.env_id else {}
    if args.check:
        return envs_command.check(args.env_id, params, args.episodes, args.seed)
    if args.env_id:
        envs_command.describe(args.env_id, params)
    else:
        envs_command.list_all()
    return EXIT_OK


def _add_algos(commands) -> None:
    """The `rlab algos` subcommand's arguments."""
    algos_cmd = commands.add_parser(
        "algos",
        help="list the trainers, or describe one's hyperparameters",
        description="Without ALGORITHM: list every trainer. With ALGORITHM: every hyperparameter, "
        "its default, allowed values, and whether it is a float leaf (swept in one program) or static.",
    )
    algos_cmd.add_argument("algo", nargs="?", metavar="ALGORITHM",
                           help="one algorithm name, or package.module:NAME for an Algorithm record of your own")
    algos_cmd.add_argument("--check", action="store_true",
                           help="run ALGORITHM's contract checks (shapes, budget, determinism, vmap, float lanes) "
                                "on a tiny configuration; exit 1 if it breaks a promise")
    algos_cmd.add_argument("--env", metavar="ENV_ID", default=None,
                           help="where --check runs (default: a dense cheese_point_mass of 2 dims)")
    algos_cmd.set_defaults(handler=_run_algos)


def _run_algos(args: argparse.Namespace) -> int:
    from rlab import algos_command

    if args.check:
        if not args.algo:
            raise UsageError("--check needs ALGORITHM: rlab algos ALGORITHM --check")
        return EXIT_OK if algos_command.check(args.algo, args.env) else EXIT_FAILED
    if args.env:
        raise UsageError("--env is for --check")
    if args.algo:
        algos_command.describe(args.algo)
    else:
        algos_command.list_all()
    return EXIT_OK


def _lane_width(text: str | None) -> int | str | None:
    """`--lane-width`: None, an integer from 1 to the largest width, or "measure"; else a usage error."""
    from rlab.spec import ALLOWED_LANE_WIDTHS, is_lane_width

    value = int(text) if text is not None and is_decimal(text) else text
    if not is_lane_width(value):
        raise UsageError(f"--lane-width = {text}; allowed: {ALLOWED_LANE_WIDTHS}")
    return value


def _add_sweep(commands) -> None:
    """The `rlab sweep` subcommand's arguments."""
    sweep_cmd = commands.add_parser(
        "sweep",
        help="run (resume, or extend) the seed sweep an experiment spec declares",
        description="Runs every cell x seed of SPEC in fixed-size chunks, writing each completed chunk to "
        "DIR. Rerunning resumes: completed chunks are skipped. A larger --seeds runs only the new seeds.",
    )
    sweep_cmd.add_argument("spec", metavar="SPEC", help="experiment spec (TOML)")
    sweep_cmd.add_argument("--out", metavar="DIR", help="sweep directory (default: runs/NAME)")
    sweep_cmd.add_argument("--seeds", type=int, metavar="N", help="number of seeds (overrides the spec)")
    sweep_cmd.add_argument("--chunk-size", type=int, metavar="N", help="lanes per stored chunk")
    sweep_cmd.add_argument(
        "--lane-width", metavar="W",
        help="lanes per compiled program, for every group, or 'measure' to time candidate widths on this device "
             "(default: the spec's, else a chunk's lanes split over the devices)",
    )
    sweep_cmd.add_argument(
        "--memory-budget", type=float, metavar="MIB",
        help="memory one chunk may plan to use, when the chunk size is not set (default: half the available)",
    )
    sweep_cmd.add_argument(
        "--compile-ahead", type=int, metavar="N", default=1,
        help="programs compiled in background threads while the current one runs (default: 1; 0: none)",
    )
    sweep_cmd.add_argument("--quiet", action="store_true", help="no progress output")
    sweep_cmd.add_argument(
        "--process", metavar="I/N",
        help="run as process I of N sharing the sweep, or 'auto' to read I and N from a SLURM array or a "
             "Kubernetes Indexed Job (default: from jax.distributed, else 0/1)",
    )
    sweep_cmd.add_argument(
        "--ray", metavar="ADDRESS", nargs="?", const=LOCAL_RAY,
        help="run every chunk as a Ray task: no ADDRESS starts a local cluster, 'auto' joins this machine's, "
             "HOST:PORT a running one (needs rlab[ray])",
    )
    sweep_cmd.add_argument(
        "--ray-task-cpus", type=int, metavar="N", default=1,
        help="CPUs each Ray task declares (default: %(default)s); a task gets one GPU where the cluster has GPUs",
    )
    sweep_cmd.add_argument(
        "--cache-dir", metavar="DIR", default=None,
        help="JAX persistent compilation cache (default: $RLAB_CACHE_DIR or ~/.cache/rlab/jax; 'none' disables)",
    )
    sweep_cmd.set_defaults(handler=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    import pathlib

    from rlab import spec as spec_lib

    args.lane_width = _lane_width(args.lane_width)
    for flag, value in (("--seeds", args.seeds), ("--chunk-size", args.chunk_size)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} = {value}; allowed: an integer >= 1")
    if args.chunk_size is not None and args.chunk_size > spec_lib.MAX_CHUNK_SIZE:
        raise UsageError(f"--chunk-size = {args.chunk_size}; allowed: an integer from 1 to {spec_lib.MAX_CHUNK_SIZE:,}")
    if not 0 <= args.compile_ahead <= MAX_COMPILE_AHEAD:
        raise UsageError(f"--compile-ahead = {args.compile_ahead}; allowed: an integer from 0 to {MAX_COMPILE_AHEAD}")
    if args.memory_budget is not None and not (math.isfinite(args.memory_budget) and args.memory_budget >= 1):
        raise UsageError(f"--memory-budget = {args.memory_budget}; allowed: a finite number of MiB >= 1")
    spec = spec_lib.load(args.spec)
    if args.seeds is not None:
        if spec.seed_start + args.seeds > spec_lib.MAX_SEED + 1:
            raise UsageError(f"--seeds = {args.seeds}; allowed: at most {spec_lib.MAX_SEED + 1 - spec.seed_start:,} "
                             f"seeds from seed {spec.seed_start} (32-bit keys)")
        spec = spec.with_seeds(args.seeds)
    process_setup.enable_compilation_cache(args.cache_dir)
    from rlab.console import Progress
    from rlab.run import sweep

    out = args.out or str(pathlib.Path("runs") / spec.name)
    budget = None if args.memory_budget is None else int(args.memory_budget * 2**20)
    executor = _ray_executor(args, spec) if args.ray else None
    process = None if args.ray else _parse_process(args.process) if args.process else None
    sweep.run(
        spec, out, args.chunk_size, progress=Progress(quiet=args.quiet), memory_budget=budget, process=process,
        lane_width=args.lane_width, compile_ahead=args.compile_ahead, executor=executor,
    )
    return EXIT_OK


# `--ray` given without an address: a local cluster started for the sweep.
LOCAL_RAY = "local"


def _ray_executor(args: argparse.Namespace, spec):
    """The Ray executor of `--ray`, connected to its cluster (checked before any directory is made)."""
    from envs import external
    from rlab.run import on_ray

    if args.process:
        raise UsageError("--process and --ray exclude each other: on Ray the driver is the sweep's one writer")
    if args.lane_width == "measure":
        raise UsageError("--lane-width measure and --ray exclude each other: every group's width is fixed before "
                         "dispatch; allowed: a lane width from 1 to 1024, or none (the rule)")
    if not 1 <= args.ray_task_cpus <= 1024:
        raise UsageError(f"--ray-task-cpus = {args.ray_task_cpus}; allowed: an integer from 1 to 1024")
    modules = external.module_sources([spec.env, *(algo.name for algo in spec.algorithms)])
    on_ray.connect(None if args.ray == LOCAL_RAY else args.ray, modules=modules)
    return on_ray.RayExecutor(task_cpus=args.ray_task_cpus, cache_dir=process_setup.compilation_cache_dir(args.cache_dir))


# Each program compiled ahead is held in memory until its groups run: a few at most.
MAX_COMPILE_AHEAD = 8


def _add_import(commands) -> None:
    """The `rlab import` subcommand's arguments."""
    import_cmd = commands.add_parser(
        "import",
        help="store another tool's per-seed results as a sweep directory (marl-eval JSON, rliable arrays, a tidy "
             "CSV/Parquet table, TensorBoard logs)",
        description="Reads FORMAT's file, checks it against the data contract (docs/interop.md), and stores it "
        "as a sweep directory that `rlab report`, `rlab status` and rlab.stats read like any sweep. Every problem "
        "is one line, exit code 2, and nothing is written.",
    )
    import_cmd.add_argument("format", metavar="FORMAT", help="marl-eval, rliable, tidy, tensorboard or wandb")
    import_cmd.add_argument("path", metavar="PATH", help="the file (or, for tensorboard, the log directory)")
    import_cmd.add_argument("--out", metavar="DIR", required=True, help="the sweep directory to write")
    import_cmd.add_argument("--name", metavar="NAME", help="the sweep's name (default: the file's)")
    import_cmd.add_argument("--metric", metavar="NAME",
                            help="marl-eval: the metric that becomes eval_return (default: return, else "
                                 "episode_return); rliable: eval_return (default) or eval_success; wandb panel: "
                                 "the metric (default: the only one)")
    import_cmd.add_argument("--success-metric", metavar="NAME", help="marl-eval: a metric in [0, 1] that becomes "
                            "eval_success, e.g. win_rate")
    import_cmd.add_argument("--steps", metavar="ARRAY", help="rliable curves: the array of env steps per evaluation")
    import_cmd.add_argument("--map", metavar="OURS=THEIRS", action="append", default=[],
                            help="tidy: a contract column and the file's column it comes from (repeatable)")
    import_cmd.add_argument("--return-tag", metavar="TAG", help="tensorboard: the scalar tag of the evaluation return")
    import_cmd.add_argument("--success-tag", metavar="TAG", help="tensorboard: the scalar tag of the success share")
    import_cmd.add_argument("--tag", metavar="TAG", action="append", default=[],
                            help="tensorboard: a further scalar tag kept as a metric (repeatable)")
    import_cmd.add_argument("--run-pattern", metavar="REGEX",
                            help="tensorboard: how a run directory names its algo and seed (default: "
                                 "'(?P<algo>.+)_seed(?P<seed>\\d+)')")
    import_cmd.add_argument("--preset", metavar="NAME",
                            help="tensorboard: a known run layout instead of --run-pattern: cleanrl "
                                 "(runs/ENV__EXPERIMENT__SEED__TIME; with --return-tag charts/episodic_return)")
    import_cmd.add_argument("--grid", type=int, metavar="N",
                            help="tensorboard: per-episode logs (CleanRL's): the mean of the values logged in each "
                                 "N env steps, at steps N, 2N, ...; the count kept as the metric 'episodes'")
    import_cmd.set_defaults(handler=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    from rlab import interop

    mapping = {}
    for item in args.map:
        ours, sep, theirs = item.partition("=")
        if not (sep and ours and theirs):
            raise UsageError(f"--map {item!r}; allowed: OURS=THEIRS, e.g. --map eval_return=charts/episodic_return")
        mapping[ours] = theirs
    if mapping and args.format not in ("tidy", "wandb"):
        raise UsageError(f"--map is for the tidy and wandb formats, not {args.format}")
    options = {"metric": args.metric, "success_metric": args.success_metric, "steps": args.steps,
               "mapping": mapping, "return_tag": args.return_tag, "success_tag": args.success_tag,
               "other_tags": args.tag, "run_pattern": args.run_pattern, "preset": args.preset, "grid": args.grid}
    if args.format not in ("tensorboard", "wandb") and args.preset:
        raise UsageError(f"--preset is for the tensorboard and wandb formats, not {args.format}")
    if args.format not in ("tensorboard", "wandb") and args.grid is not None:
        raise UsageError(f"--grid is for the tensorboard and wandb formats, not {args.format}")
    saved = interop.import_runs(args.format, args.path, args.out, name=args.name, **options)
    print(f"imported {saved.manifest.rows:,} rows ({len(saved.manifest.groups)} configuration(s), "
          f"{saved.manifest.num_seeds} seed(s) at most) into {args.out}; `rlab report {args.out}` next")
    return EXIT_OK


def _add_export(commands) -> None:
    """The `rlab export` subcommand's arguments."""
    export_cmd = commands.add_parser(
        "export", help="write a sweep directory's rows as marl-eval JSON, rliable arrays (.npz) or a tidy table",
    )
    export_cmd.add_argument("format", metavar="FORMAT", help="marl-eval, rliable or tidy (.csv or .parquet by --out)")
    export_cmd.add_argument("directory", metavar="DIR")
    export_cmd.add_argument("--out", metavar="FILE", required=True, help="the file to write")
    export_cmd.add_argument("--metric", metavar="NAME", help="rliable: the column exported (default: eval_return)")
    export_cmd.add_argument("--final", action="store_true",
                            help="rliable: final scores [runs, tasks] instead of curves [runs, tasks, evals]")
    export_cmd.add_argument("--partial", action="store_true",
                            help="export a sweep that is not complete (what is stored; said on standard error)")
    export_cmd.set_defaults(handler=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from rlab import interop, store

    table = interop.export(args.format, args.directory, args.out, metric=args.metric, final=args.final,
                           partial=args.partial)
    status = store.read_manifest(args.directory).status
    if status != "complete":
        print(f"note: {args.directory} is {status}: {args.out} holds only what is stored", file=sys.stderr)
    print(f"wrote {args.out} ({len(table):,} rows of {args.directory})")
    return EXIT_OK


def _add_tune(commands) -> None:
    """The `rlab tune` subcommand's arguments."""
    tune_cmd = commands.add_parser(
        "tune",
        help="tune on some seeds, report on others: the spec's grid on its tuning seeds, each algorithm's chosen "
             "configuration on its report seeds, and the optimism of the choice",
        description="SPEC needs a [protocol] table: tuning_seeds and report_seeds (disjoint {start, count}) and "
        "select = 'iqm' (default) or 'lower_bound'. Writes DIR/tuning, DIR/report (sweep directories) and "
        "DIR/tune.json; resumable like a sweep.",
    )
    tune_cmd.add_argument("spec", metavar="SPEC", help="experiment spec (TOML) with a [protocol] table")
    tune_cmd.add_argument("--out", metavar="DIR", help="where both phases go (default: runs/NAME)")
    tune_cmd.add_argument("--quiet", action="store_true", help="no progress output")
    tune_cmd.add_argument("--cache-dir", metavar="DIR", default=None,
                          help="JAX persistent compilation cache (default: as for rlab sweep)")
    tune_cmd.set_defaults(handler=_run_tune)


def _run_tune(args: argparse.Namespace) -> int:
    import pathlib

    from rlab import spec as spec_lib
    from rlab import tuning
    from rlab.console import Progress

    spec = spec_lib.load(args.spec)
    tuning.check_tunable(spec)  # before any directory is made
    process_setup.enable_compilation_cache(args.cache_dir)
    out = args.out or str(pathlib.Path("runs") / spec.name)
    result = tuning.run(spec, out, progress=Progress(quiet=args.quiet))
    print(tuning.render(result))
    print(f"tuning phase: {out}/tuning (no conclusions from it); report phase: {out}/report; `rlab report "
          f"{out}/report` next")
    return EXIT_OK


def _add_compare(commands) -> None:
    """The `rlab compare` subcommand's arguments."""
    compare_cmd = commands.add_parser(
        "compare",
        help="is A better than B? the test that fits the metric, p, effect size with CI, P(A > B), and the "
             "seeds needed for 80%% power",
        description="Compares two configurations' final evaluations: of two sweep (or imported) directories, or "
        "two configurations of one (--a, --b, by the names the report uses). Refuses sides trained at different "
        "budgets, on different tasks or with different evaluations.",
    )
    compare_cmd.add_argument("a", metavar="A", help="sweep directory of side A")
    compare_cmd.add_argument("b", metavar="B", nargs="?", help="sweep directory of side B (default: A)")
    compare_cmd.add_argument("--a", dest="config_a", metavar="CONFIG", help="A's configuration, e.g. 'ppo'")
    compare_cmd.add_argument("--b", dest="config_b", metavar="CONFIG", help="B's configuration")
    compare_cmd.add_argument("--where", metavar="NAME=VALUE", action="append", default=[],
                             help="the environment values to compare at, e.g. dim=2 (repeatable)")
    compare_cmd.add_argument("--metric", default="return", metavar="NAME",
                             help="return (final evaluation return) or success (final evaluation succeeded)")
    compare_cmd.add_argument("--alpha", type=float, default=0.05, help="test level (default: %(default)s)")
    compare_cmd.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: %(default)s)")
    compare_cmd.set_defaults(handler=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    import numpy as np

    from rlab import compare

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha = {args.alpha}; allowed: a level between 0 and 1, e.g. 0.05")
    where = {}
    for item in args.where:
        key, sep, value = item.partition("=")
        if not (sep and key and value):
            raise UsageError(f"--where {item!r}; allowed: NAME=VALUE, e.g. --where dim=2")
        where[key] = value
    b_dir = args.b or args.a
    if args.b is None and (args.config_a is None or args.config_b is None):
        raise UsageError("one directory: name both configurations with --a and --b")
    a = compare.side(args.a, args.config_a, where, args.metric)
    b = compare.side(b_dir, args.config_b, where, args.metric)
    result = compare.compare(a, b, args.metric, np.random.default_rng(args.seed), alpha=args.alpha)
    print(compare.render(result))
    return EXIT_OK


SCHEDULERS = ("slurm", "k8s")


def _add_launch(commands) -> None:
    """The `rlab launch` subcommand's arguments."""
    launch_cmd = commands.add_parser(
        "launch",
        help="write (or submit) a batch job that runs a sweep as N processes: a SLURM array or a Kubernetes "
             "Indexed Job",
        description="Every task runs `rlab sweep SPEC --out DIR --process auto` on a file system all tasks "
        "share; a task that dies leaves its chunks to the others or to a rerun. Writes the job file (--write, "
        "else standard output); with --submit (slurm), submits through submitit instead.",
    )
    launch_cmd.add_argument("scheduler", metavar="SCHEDULER", help="slurm or k8s")
    launch_cmd.add_argument("spec", metavar="SPEC", help="experiment spec (TOML), as the tasks see its path")
    launch_cmd.add_argument("--processes", type=int, metavar="N", required=True, help="tasks sharing the sweep")
    launch_cmd.add_argument("--out", metavar="DIR", help="sweep directory, as the tasks see it (default: runs/NAME)")
    launch_cmd.add_argument("--write", metavar="FILE", help="where to write the job file (default: standard output)")
    launch_cmd.add_argument("--cpus", type=int, default=2, metavar="N", help="CPUs per task (default: %(default)s)")
    launch_cmd.add_argument("--gpus", type=int, default=0, metavar="N", help="GPUs per task (default: %(default)s)")
    launch_cmd.add_argument("--memory", metavar="SIZE", help="memory per task, e.g. 16G (slurm) or 16Gi (k8s)")
    launch_cmd.add_argument("--time", default="24:00:00", metavar="HH:MM:SS",
                            help="slurm: time limit per task (default: %(default)s)")
    launch_cmd.add_argument("--partition", metavar="NAME", help="slurm: partition")
    launch_cmd.add_argument("--setup", default="", metavar="SHELL",
                            help="slurm: a shell line each task runs first, e.g. 'source .venv/bin/activate'")
    launch_cmd.add_argument("--submit", action="store_true",
                            help="slurm: submit through submitit (needs rlab[slurm]) instead of writing a script")
    launch_cmd.add_argument("--image", metavar="IMAGE", help="k8s: container image with rlab installed (required)")
    launch_cmd.add_argument("--claim", metavar="PVC", help="k8s: PersistentVolumeClaim holding the spec and DIR")
    launch_cmd.add_argument("--mount", default="/work", metavar="PATH",
                            help="k8s: where the claim is mounted in each pod (default: %(default)s)")
    launch_cmd.set_defaults(handler=_run_launch)


def _run_launch(args: argparse.Namespace) -> int:
    import pathlib

    from envs import external
    from rlab import spec as spec_lib
    from rlab.run import schedulers
    from rlab.store import files

    if args.scheduler not in SCHEDULERS:
        raise UsageError(f"scheduler = {args.scheduler!r}; allowed: {', '.join(SCHEDULERS)}")
    if not 1 <= args.processes <= schedulers.MAX_PROCESSES:
        raise UsageError(f"--processes = {args.processes}; allowed: an integer from 1 to {schedulers.MAX_PROCESSES}")
    for flag, value, low in (("--cpus", args.cpus, 1), ("--gpus", args.gpus, 0)):
        if not low <= value <= 1024:
            raise UsageError(f"{flag} = {value}; allowed: an integer from {low} to 1024")
    spec = spec_lib.load(args.spec)  # refused here, not in N tasks, if it is bad
    out = args.out or str(pathlib.Path("runs") / spec.name)
    # The folders of the spec's own modules, for every task's PYTHONPATH (a package: the folder above it).
    sources = external.module_sources([spec.env, *(algo.name for algo in spec.algorithms)])
    python_path = tuple(dict.fromkeys(str(path.parent) for path in sources.values()))
    if args.scheduler == "slurm":
        hours, minutes, seconds = _parse_time(args.time)
        if args.submit:
            cluster, job_ids = schedulers.submit(args.spec, out, args.processes, time_minutes=hours * 60 + minutes
                                                 + (seconds > 0), cpus_per_task=args.cpus, gpus_per_task=args.gpus,
                                                 partition=args.partition, python_path=python_path)
            print(f"submitted {args.processes} task(s) through submitit ({cluster}): {', '.join(job_ids)}; "
                  f"logs in {out}/logs; `rlab status {out}` follows the sweep")
            return EXIT_OK
        text = schedulers.slurm_script(args.spec, out, args.processes, time=args.time, cpus_per_task=args.cpus,
                                       gpus_per_task=args.gpus, partition=args.partition, memory=args.memory,
                                       setup=args.setup, python_path=python_path)
        schedulers.make_log_folder(out)  # SLURM opens #SBATCH --output before a task runs, and makes no folder
        run_it = f"sbatch {args.write}"
    else:
        if args.submit:
            raise UsageError("--submit is for slurm; allowed for k8s: write the manifest and `kubectl apply -f` it")
        if not args.image:
            raise UsageError("k8s needs --image: a container image with rlab installed")
        job = schedulers.indexed_job(args.spec, out, args.processes, image=args.image, claim=args.claim,
                                     mount=args.mount, cpus=str(args.cpus), memory=args.memory, gpus=args.gpus,
                                     python_path=python_path)
        text = _yaml(job)
        run_it = f"kubectl apply -f {args.write}"
    if args.write:
        files.write_text(pathlib.Path(args.write), text)
        print(f"wrote {args.write}; run it with `{run_it}`; `rlab status {out}` follows the sweep")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _parse_time(text: str) -> tuple[int, int, int]:
    parts = text.split(":")
    if len(parts) != 3 or not all(is_decimal(p) for p in parts) or int(parts[1]) > 59 or int(parts[2]) > 59:
        raise UsageError(f"--time = {text!r}; allowed: HH:MM:SS, e.g. 24:00:00")
    return int(parts[0]), int(parts[1]), int(parts[2])


def _yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False)


def _add_report(commands) -> None:
    """The `rlab report` subcommand's arguments."""
    report_cmd = commands.add_parser(
        "report", help="write DIR/report/index.html and summary.md for a sweep (also one still running)"
    )
    report_cmd.add_argument("directory", metavar="DIR")
    report_cmd.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from rlab import report, store
    from rlab.probes import probe_report
    from rlab.store import probes as probe_store

    if probe_store.is_probe(args.directory):
        path = probe_report.build(args.directory)
        print(f"report: {path}")
        return EXIT_OK
    store.read_manifest(args.directory)  # a clear error if DIR is no sweep
    path = report.build(args.directory)
    print(f"report: {path}")
    return EXIT_OK


def _add_plot(commands) -> None:
    """The `rlab plot` subcommand's arguments."""
    plot_cmd = commands.add_parser("plot", help="write one figure of a sweep as PNG and SVG")
    plot_cmd.add_argument("kind", metavar="KIND", help="one of: fan, success, final, degradation, profile, "
                          "improvement, survival, power")
    plot_cmd.add_argument("directory", metavar="DIR")
    plot_cmd.add_argument("--out", metavar="FILE", help="output path without extension (default: DIR/plots/KIND)")
    plot_cmd.set_defaults(handler=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    import pathlib

    import numpy as np

    from rlab import plots, report, store

    if args.kind not in report.FIGURES:
        from envs.params import unknown_id_message

        raise UsageError(unknown_id_message("figure kind", args.kind, list(report.FIGURES)))
    store.read_manifest(args.directory)
    frame = store.load(args.directory)
    if frame.empty and args.kind != "power":
        raise UsageError(f"{args.directory} has no completed chunk yet")
    if not frame.empty:
        frame = frame.assign(config=report.configurations(frame))
    notes: list[str] = []
    figures = report.figure(args.kind, frame, np.random.default_rng(0), notes)
    for note in notes:
        print(f"not drawn: {note}", file=sys.stderr)
    if not figures:
        raise UsageError(
            f"figure {args.kind!r} does not apply to this sweep"
            + (" (configurations ran at different env-step budgets)" if notes else " (e.g. no numeric environment axis)")
        )
    base = pathlib.Path(args.out) if args.out else pathlib.Path(args.directory) / "plots" / args.kind
    for index, (_, fig) in enumerate(figures):
        target = base if len(figures) == 1 else base.with_name(f"{base.name}-{index}")
        for path in plots.save(fig, target):
            print(path)
    return EXIT_OK


def _add_demo(commands) -> None:
    """The `rlab demo` subcommand's arguments."""
    demo_cmd = commands.add_parser(
        "demo", help="run a small built-in sweep (a few minutes on 2 CPU cores) and write its report"
    )
    demo_cmd.add_argument("--out", metavar="DIR", default="runs/demo", help="sweep directory (default: %(default)s)")
    demo_cmd.add_argument("--seeds", type=int, default=64, help="seeds per cell (default: %(default)s)")
    demo_cmd.add_argument("--lane-width", metavar="W",
                          help="lanes per compiled program, or 'measure' (default: a chunk's lanes split over the devices)")
    demo_cmd.add_argument("--quiet", action="store_true", help="no progress output")
    demo_cmd.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import pathlib
    import tomllib

    from rlab import demo, report, spec as spec_lib
    from rlab.console import Progress
    from rlab.run import sweep

    args.lane_width = _lane_width(args.lane_width)
    for flag, value in (("--seeds", args.seeds),):
        if value is not None and value < 1:
            raise UsageError(f"{flag} = {value}; allowed: an integer >= 1")
    process_setup.enable_compilation_cache(None)
    text = demo.spec_text(args.seeds)
    spec = spec_lib.parse(tomllib.loads(text), text, "demo")
    sweep.run(spec, args.out, progress=Progress(quiet=args.quiet), lane_width=args.lane_width)
    path = report.build(args.out)
    print(f"demo done: results in {args.out}, report at {pathlib.Path(path).resolve()}")
    return EXIT_OK


def _add_probe(commands) -> None:
    """The `rlab probe` subcommand's arguments."""
    probe_cmd = commands.add_parser(
        "probe",
        help="measure a Swiss-cheese task's landscape: zero-gradient law, gradient quality, first hit, surfaces",
        description="Measures, over a grid of hole radius x dimension, how often each algorithm's first update "
        "is exactly zero (against its law), how well estimates align with the exact gradient (cheese_bandit), "
        "when the first rewarded batch arrives and which method succeeds at one env-step budget (against the "
        "geometric law and 1 - (1 - p)^S), and the objective along lines and planes. Writes a resumable probe "
        "directory and its figures; `rlab report DIR` draws the landscape report.",
    )
    probe_cmd.add_argument("task", metavar="TASK", help="cheese_bandit or cheese_point_mass")
    probe_cmd.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                           help="fixed environment parameter (repeatable), e.g. -p num_holes=4")
    probe_cmd.add_argument("--out", metavar="DIR", help="probe directory (default: runs/probe-TASK)")
    probe_cmd.add_argument("--probes", metavar="LIST", help="comma-separated subset of: zero_law, gradients, budget, surface")
    probe_cmd.add_argument("--dims", metavar="LIST", help="dimensions, e.g. 1,2,4")
    probe_cmd.add_argument("--radii", metavar="LIST", help="hole radii, e.g. 0.4,0.15")
    probe_cmd.add_argument("--batch-sizes", metavar="LIST", help="episodes per batch N of the zero law (even), e.g. 4,32")
    probe_cmd.add_argument("--seeds", type=int, metavar="N", help="seeds per measurement")
    probe_cmd.add_argument("--budget", type=int, metavar="STEPS", help="training env steps per seed of the budget probe")
    probe_cmd.add_argument("--quiet", action="store_true", help="no progress output")
    probe_cmd.set_defaults(handler=_run_probe)


def _run_probe(args: argparse.Namespace) -> int:
    import pathlib

    from rlab import envs_command
    from rlab.probes import run

    config = run.default_config(args.task)
    overrides = envs_command.parse_params(args.task, args.param)
    for key in ("dim", "hole_radius"):
        if key in overrides:
            raise UsageError(f"-p {key}: the probe's grid sets it; use --{'dims' if key == 'dim' else 'radii'}")
    config["env_params"] = {**config["env_params"], **overrides}
    lists = {"probes": (args.probes, str), "dims": (args.dims, int), "radii": (args.radii, float),
             "batch_sizes": (args.batch_sizes, int)}
    for key, (text, kind) in lists.items():
        if text is not None:
            config[key] = _parse_list(f"--{key.replace('_', '-')}", text, kind)
    for key in ("seeds", "budget"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    run.check_config(config)
    process_setup.enable_compilation_cache(None)
    out = pathlib.Path(args.out or pathlib.Path("runs") / f"probe-{args.task}")
    run.run(config, out, quiet=args.quiet)
    from rlab.probes import probe_report

    path = probe_report.build(out)
    print(f"probe: {out}\nreport: {path}")
    return EXIT_OK


def _parse_list(flag: str, text: str, kind):
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        values = [kind(item) for item in items]
    except ValueError:
        raise UsageError(f"{flag} = {text!r}; allowed: a comma-separated list of {kind.__name__} values") from None
    if not values or len(set(values)) != len(values):
        raise UsageError(f"{flag} = {text!r}; allowed: a non-empty comma-separated list without repeats")
    return values


def _parse_process(text: str) -> tuple[int, int]:
    if text == "auto":
        from rlab.run import schedulers

        return schedulers.process_from_environment()
    index, sep, count = text.partition("/")
    if not (sep and is_decimal(index) and is_decimal(count) and int(index) < int(count)):
        raise UsageError(f"--process = {text!r}; allowed: I/N with 0 <= I < N, e.g. 0/2, or auto")
    return int(index), int(count)


def _add_render(commands) -> None:
    """The `rlab render` subcommand's arguments."""
    render_cmd = commands.add_parser(
        "render",
        help="replay stored policies of a MuJoCo task in C MuJoCo and write GIFs and PNG strips",
        description="Rebuilds the final policy of chosen seeds of a sweep on a MuJoCo-based task "
        "(reacher_nd, cartpole_poles, brax/<name>, playground/<Name>), replays one episode with C MuJoCo "
        "physics and writes an animated GIF and a PNG strip per seed. Needs an OpenGL backend: "
        "without a display, EGL (apt install libegl1 libgl1-mesa-dri) or OSMesa (MUJOCO_GL=osmesa).",
    )
    render_cmd.add_argument("directory", metavar="DIR", help="sweep directory")
    render_cmd.add_argument(
        "--seed", action="append", metavar="S",
        help="a seed number, or best / median / worst by final evaluation return (repeatable; "
        "default: best, median and worst)",
    )
    render_cmd.add_argument("--group", metavar="ID", help="group id such as g001 (needed when the sweep has several)")
    render_cmd.add_argument("--hp-index", type=int, metavar="K", help="float-hyperparameter combination (default: 0)")
    render_cmd.add_argument("--out", metavar="DIR", help="where to write (default: DIR/renders)")
    render_cmd.add_argument("--format", default="gif,png", metavar="LIST",
                            help="gif, png or both, comma-separated (default: %(default)s)")
    render_cmd.add_argument("--episode", type=int, default=0, metavar="N", help="which start state (default: 0)")
    render_cmd.add_argument("--steps", type=int, metavar="N", help="steps to replay (default: the episode length)")
    render_cmd.add_argument("--frames", type=int, default=6, metavar="N", help="frames in the PNG strip (default: 6)")
    render_cmd.add_argument("--size", default="320x240", metavar="WxH", help="frame size (default: %(default)s)")
    render_cmd.set_defaults(handler=_run_render)


def _run_render(args: argparse.Namespace) -> int:
    import pathlib

    from rlab import render_command, store

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or set(formats) - {"gif", "png"}:
        raise UsageError(f"--format = {args.format!r}; allowed: gif, png, or gif,png")
    width, sep, height = args.size.partition("x")
    if not (sep and is_decimal(width) and is_decimal(height) and 16 <= int(width) <= 4096 and 16 <= int(height) <= 4096):
        raise UsageError(f"--size = {args.size!r}; allowed: WIDTHxHEIGHT with each in 16..4096, e.g. 320x240")
    for flag, value, low in (("--steps", args.steps, 1), ("--frames", args.frames, 1), ("--episode", args.episode, 0),
                             ("--hp-index", args.hp_index, 0)):
        if value is not None and value < low:
            raise UsageError(f"{flag} = {value}; allowed: an integer >= {low}")
    store.read_manifest(args.directory)
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.directory) / "renders"
    return render_command.render_seeds(
        args.directory, args.seed or ["best", "median", "worst"], out, group=args.group, hp_index=args.hp_index,
        formats=formats, episode=args.episode, steps=args.steps, strip_frames=args.frames,
        size=(int(width), int(height)),
    )


def _add_status(commands) -> None:
    """The `rlab status` subcommand's arguments."""
    status_cmd = commands.add_parser("status", help="summarise a sweep directory")
    status_cmd.add_argument("directory", metavar="DIR")
    status_cmd.add_argument("--verify", action="store_true",
                            help="list damaged chunks (missing, changed, or pointing outside DIR); exit 1 if any")
    status_cmd.add_argument("--rebuild", action="store_true",
                            help="write a lost or damaged manifest.json again from the intact chunks' sidecar files")
    status_cmd.set_defaults(handler=_run_status)


def _add_doctor(commands) -> None:
    """The `rlab doctor` subcommand's arguments."""
    doctor_cmd = commands.add_parser(
        "doctor", help="versions, devices, rlab's compiler options, and whether the known defects of the installed "
                       "JAX reach rlab's programs (one probe each; exit 1 if one does)")
    doctor_cmd.set_defaults(handler=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    from rlab import doctor
    from rlab.run import devices

    devices.use_cpu_cores()  # as every rlab command: one CPU device per core
    return doctor.run()


def _run_status(args: argparse.Namespace) -> int:
    from rlab import store

    if args.rebuild:
        rebuilt = store.rebuild_manifest(args.directory)
        print(f"manifest rebuilt: {rebuilt['chunks']} intact chunk(s) listed")
        for chunk_id, why in sorted(rebuilt["skipped"].items()):
            print(f"left out {chunk_id}: {why} (the next `rlab sweep` recomputes it)")
    summary = store.status(args.directory)
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    if args.verify:
        damaged = store.verify(args.directory, seeds=True)
        for chunk_id, problem in sorted(damaged.items()):
            print(f"damaged {chunk_id}: {problem}")
        lost = store.missing_manifests(args.directory)
        for name in lost:
            print(f"missing {name}: the chunks that process stored are listed nowhere")
        if damaged:
            print(f"{len(damaged)} damaged chunk(s): `rlab sweep DIR/spec.toml --out DIR` recomputes exactly those")
        if damaged or lost:
            return 1
        print("every chunk is intact")
    return EXIT_OK


def console_main() -> int:
    """The `rlab` process: `main` without importing MuJoCo Warp.

    MJX imports the optional `warp` package, when installed (MuJoCo Playground
    installs it), as soon as Brax is imported: seconds of every command's
    start (it doubled `import envs` where measured). rlab simulates
    with MJX's JAX implementation only, so its own process marks `warp` as
    absent, which MJX handles as on a machine without it. Python code that
    imports rlab is left alone, as is a process where warp is already loaded
    or one of MJX's warp switches is set.
    """
    process_setup.mark_warp_absent()
    return main()


if __name__ == "__main__":
    sys.exit(console_main())
