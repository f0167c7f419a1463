"""Logs as other tools write them, made with those tools' own writers, for the import tests.

    python tests/data/interop/producers.py

- cleanrl/runs/: CleanRL's layout and logging rhythm, written with
  tensorboardX's `SummaryWriter` (the writer CleanRL's scripts call through
  `torch.utils.tensorboard`, same event format): one directory per run named
  `{env_id}__{exp_name}__{seed}__{unix_time}`; `charts/episodic_return` and
  `charts/episodic_length` logged whenever one of 4 vectorised environments
  ends an episode, at that moment's global step (so steps differ per seed,
  and two episodes can end at one step), `losses/value_loss` once per
  update of 512 steps. Two experiments (`ppo`, `dqn`) x 3 seeds, 20,480
  global steps each.
- cleanrl_restarted/runs/: one CleanRL run restarted into its own
  directory (a second event file whose steps start again from 0).
- stoix_metrics.json: what Stoix writes, through marl-eval's own
  `JsonLogger` (run keys `seed_<k>`, each run's `absolute_metrics` first,
  metrics `episode_return`, `episode_length`, `steps_per_second` and the
  logger's `elapsed_time`): two systems x 5 seeds x 4 evaluations on one
  task. Needs marl-eval (`pip install --no-deps id-marl-eval colorama`
  beside rlab: it pins an old pandas); the other files need only tensorboardX.
- marl_eval_readme.json: the shape of marl-eval's README example, run keys
  `run_<k>` and metric `return`, with `absolute_metrics` last.
- wandb_panel.csv: a W&B line chart's "Export CSV" of the CleanRL runs above
  (`Step`, then per run `<run> - charts/episodic_return` with its `__MIN`
  and `__MAX`), the runs' points at their own steps (empty elsewhere).
- wandb_history.csv: W&B run histories of two runs in one table, a row per
  `wandb.log` call: the evaluation return and success logged in separate
  calls, losses in others, so each row leaves the other calls' keys empty;
  one evaluation's return is a logged NaN.
(No W&B writer runs offline: these follow the columns of its exports.)

`cleanrl_episodes` is the pure function the writer logs from: the tests
compute what an import must give from it, not from the files.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ENV_ID, NUM_ENVS, TOTAL_STEPS, UPDATE_STEPS = "CartPole-v1", 4, 20_480, 512
RUNS = {("ppo", 1): 1733400001, ("ppo", 2): 1733400002, ("ppo", 3): 1733400003,
        ("dqn", 1): 1733400011, ("dqn", 2): 1733400012, ("dqn", 3): 1733400013}


def cleanrl_episodes(algo: str, seed: int) -> list[tuple[int, float, int]]:
    """(global step, episodic return, episodic length) in the order CleanRL logs them, for one run.

    Each of NUM_ENVS environments runs episodes back to back; one env step of
    all of them is NUM_ENVS global steps, and an episode is logged at the
    global step after its last env step. Returns grow with the run (a
    learning curve, faster for ppo).
    """
    rng = np.random.default_rng([seed, 0 if algo == "ppo" else 1])
    rate = 9.0 if algo == "ppo" else 5.0
    ends = []
    for env in range(NUM_ENVS):
        t = 0
        while True:
            progress = t * NUM_ENVS / TOTAL_STEPS
            length = int(max(8, min(500, rng.normal(20 + rate * 40 * progress, 6))))
            if (t + length) * NUM_ENVS > TOTAL_STEPS:
                break
            t += length
            ends.append((t * NUM_ENVS, env, float(length) + float(rng.normal(0, 0.5)), length))
    ends.sort(key=lambda e: (e[0], e[1]))  # the order of the training loop: by step, then by env index
    return [(step, round(episodic_return, 4), length) for step, _, episodic_return, length in ends]


def write_cleanrl(folder: pathlib.Path, runs=RUNS) -> None:
    from tensorboardX import SummaryWriter

    for (algo, seed), started in runs.items():
        writer = SummaryWriter(str(folder / "runs" / f"{ENV_ID}__{algo}__{seed}__{started}"))
        losses = np.random.default_rng([seed, 7])
        episodes = cleanrl_episodes(algo, seed)
        next_update = UPDATE_STEPS
        for step, episodic_return, length in episodes:
            while next_update <= step:
                writer.add_scalar("losses/value_loss", float(losses.gamma(2.0)), next_update)
                next_update += UPDATE_STEPS
            writer.add_scalar("charts/episodic_return", episodic_return, step)
            writer.add_scalar("charts/episodic_length", length, step)
        writer.close()


def write_restarted(folder: pathlib.Path) -> None:
    """A run restarted into its directory: a second writer whose steps start from 0 again."""
    from tensorboardX import SummaryWriter

    run = folder / "runs" / f"{ENV_ID}__ppo__1__1733400001"
    for attempt in range(2):
        writer = SummaryWriter(str(run), filename_suffix=f".attempt{attempt}")
        for k, (step, episodic_return, _) in enumerate(cleanrl_episodes("ppo", 1)[:40 if attempt == 0 else 20]):
            writer.add_scalar("charts/episodic_return", episodic_return, step)
        writer.close()


def stoix_returns(system: str, seed: int) -> list[tuple[int, list[float]]]:
    """(env steps, episode returns of one evaluation) per evaluation of one Stoix run, and its absolute returns last."""
    rng = np.random.default_rng([seed, 0 if system == "ff_ppo" else 1])
    skill = 1.0 if system == "ff_ppo" else 0.6
    evaluations = [(k * 50_000, rng.normal(300 * skill * k, 40, size=8).round(3).tolist()) for k in range(4)]
    return evaluations + [(200_000, rng.normal(1000 * skill, 40, size=32).round(3).tolist())]


def write_stoix(path: pathlib.Path) -> None:
    """Stoix's metrics file through marl-eval's JsonLogger, which logs each metric's mean as a one-element list."""
    import importlib.util

    # The logger's module alone: marl_eval.json_tools' __init__ imports neptune for another tool.
    package = pathlib.Path(next(iter(importlib.util.find_spec("marl_eval").submodule_search_locations)))
    spec = importlib.util.spec_from_file_location("json_logger", package / "json_tools" / "json_logger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    JsonLogger = module.JsonLogger

    folder = path.parent / "stoix_logs"
    shutil.rmtree(folder, ignore_errors=True)
    for system in ("ff_ppo", "ff_sac"):
        for seed in range(5):
            logger = JsonLogger(str(folder), system, "ant", "brax", seed)
            *evaluations, (final_steps, absolute) = stoix_returns(system, seed)
            for k, (steps, returns) in enumerate(evaluations):
                logger.write(steps, "episode_return", float(np.mean(returns)), k)
                logger.write(steps, "episode_length", 1000.0, k)
                logger.write(steps, "steps_per_second", 25_000.0 + 100 * k, k)
            logger.write(final_steps, "episode_return", float(np.mean(absolute)), len(evaluations), True)
    data = json.loads((folder / "metrics.json").read_text())
    for runs in data["brax"]["ant"].values():  # wall-clock seconds differ per writing: fixed for the fixture
        for run in runs.values():
            for key, step in run.items():
                if key != "absolute_metrics":
                    step["elapsed_time"] = 10.0 * int(key.split("_")[1])
    path.write_text(json.dumps(data, indent=4) + "\n")
    shutil.rmtree(folder)


def write_readme_style(path: pathlib.Path) -> None:
    """marl-eval's README example's shape: run_<k> keys, a `return` list per step, absolute_metrics last."""
    rng = np.random.default_rng(11)
    tree: dict = {"smac": {"3m": {}}}
    for algo, skill in (("mappo", 1.0), ("qmix", 0.7)):
        runs = tree["smac"]["3m"][algo] = {}
        for run in range(3):
            steps = {f"step_{k}": {"step_count": k * 10_000, "return": rng.normal(10 * skill * k, 1, 4).round(4).tolist(),
                                   "win_rate": rng.random(4).round(4).tolist()} for k in range(3)}
            steps["absolute_metrics"] = {"return": rng.normal(25 * skill, 1, 8).round(4).tolist(),
                                         "win_rate": rng.random(8).round(4).tolist()}
            runs[f"run_{run}"] = steps
    path.write_text(json.dumps(tree, indent=2) + "\n")


def wandb_panel_points() -> dict[str, list[tuple[int, float]]]:
    """Per CleanRL run name, the (step, episodic return) points a W&B chart of the run shows: one per step (the
    last value logged there, as a chart draws it), at steps that are multiples of 16 up to 8,192."""
    return {f"{ENV_ID}__{algo}__{seed}__{started}": sorted({step: value for step, value, _ in cleanrl_episodes(
                algo, seed) if step % 16 == 0 and step <= 8192}.items())
            for (algo, seed), started in RUNS.items()}


def write_wandb_panel(path: pathlib.Path) -> None:
    points = wandb_panel_points()
    steps = sorted({step for series in points.values() for step, _ in series})
    header = ["Step"]
    for run in points:
        header += [f"{run} - charts/episodic_return", f"{run} - charts/episodic_return__MIN",
                   f"{run} - charts/episodic_return__MAX"]
    lines = [",".join(header)]
    for step in steps:
        row = [str(step)]
        for series in points.values():
            value = dict(series).get(step)
            row += [""] * 3 if value is None else [repr(value), repr(value - 1.0), repr(value + 1.0)]
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")


def wandb_history_rows() -> list[dict]:
    """The logging calls of two runs (name, seed), in order: losses, then an evaluation's return, then its success."""
    rows = []
    for name, seed in (("sac", 1), ("sac", 2)):
        rng = np.random.default_rng([seed, 3])
        for k, step in enumerate((1000, 2000, 3000)):
            rows.append({"Name": name, "seed": seed, "_step": len(rows), "global_step": step - 500,
                         "losses/qf_loss": round(float(rng.gamma(2.0)), 6)})
            value = "NaN" if (seed, k) == (2, 1) else repr(round(float(rng.normal(step / 100, 1.0)), 6))
            rows.append({"Name": name, "seed": seed, "_step": len(rows), "global_step": step, "eval/return": value})
            rows.append({"Name": name, "seed": seed, "_step": len(rows), "global_step": step,
                         "eval/success": repr(float(k >= 1))})
    return rows


def write_wandb_history(path: pathlib.Path) -> None:
    columns = ["Name", "seed", "_step", "global_step", "losses/qf_loss", "eval/return", "eval/success"]
    lines = [",".join(columns)] + [",".join(str(row.get(c, "")) for c in columns) for row in wandb_history_rows()]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    write_wandb_panel(HERE / "wandb_panel.csv")
    write_wandb_history(HERE / "wandb_history.csv")
    for name, write in (("cleanrl", write_cleanrl), ("cleanrl_restarted", write_restarted)):
        shutil.rmtree(HERE / name, ignore_errors=True)
        write(HERE / name)
    write_readme_style(HERE / "marl_eval_readme.json")
    try:
        import marl_eval  # noqa: F401
    except ImportError:
        print("marl-eval is not installed: stoix_metrics.json left as it is")
        return
    write_stoix(HERE / "stoix_metrics.json")


if __name__ == "__main__":
    main()
