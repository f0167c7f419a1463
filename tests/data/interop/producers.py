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

`cleanrl_episodes` is the pure function the writer logs from: the tests
compute what an import must give from it, not from the files.
"""

from __future__ import annotations

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


def main() -> None:
    for name, write in (("cleanrl", write_cleanrl), ("cleanrl_restarted", write_restarted)):
        shutil.rmtree(HERE / name, ignore_errors=True)
        write(HERE / name)


if __name__ == "__main__":
    main()
