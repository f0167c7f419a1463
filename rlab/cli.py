"""The `rlab` command line.

Exit codes: 0 success, 1 a command ran but failed (e.g. a check did not
pass), 2 bad usage or bad input (unknown id, bad parameter value).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import rlab
from rlab.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlab",
        description="Measure how reinforcement learning behaves across random seeds and on sparse rewards.",
    )
    parser.add_argument("--version", action="version", version=f"rlab {rlab.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

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

    algos_cmd = commands.add_parser(
        "algos",
        help="list the trainers, or describe one's hyperparameters",
        description="Without ALGORITHM: list every trainer. With ALGORITHM: every hyperparameter, "
        "its default, allowed values, and whether it is a float leaf (swept in one program) or static.",
    )
    algos_cmd.add_argument("algo", nargs="?", metavar="ALGORITHM", help="one algorithm name")
    algos_cmd.set_defaults(handler=_run_algos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rlab` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as err:
        # Our own validation errors carry their explanation; anything else is a bug.
        if not _is_user_error(err):
            raise
        print(f"rlab {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _is_user_error(err: ValueError) -> bool:
    if isinstance(err, UsageError):
        return True
    envs = sys.modules.get("envs")
    return envs is not None and isinstance(err, envs.EnvParamError)


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


def _run_algos(args: argparse.Namespace) -> int:
    from rlab import algos_command

    if args.algo:
        algos_command.describe(args.algo)
    else:
        algos_command.list_all()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
