"""Files in other tools' formats for the import tests, made by their own writers or to their published schemas.

    python tests/data/interop/make_files.py

- marl_eval.json: marl-eval's raw-data shape (its README's example: env,
  task, algorithm, seed_k, step_k with step_count and per-episode metric
  lists, absolute_metrics), two algorithms x 5 seeds x 4 steps, returns
  and win rates.
- rliable_scores.npz: rliable's score arrays, {algo: [runs, tasks]} for
  three algorithms on four named tasks.
- wandb_export.csv: a W&B-style run export (columns Name, seed, _step,
  eval/episodic_return).
- tensorboard/<algo>_seed<k>/: event files written by TensorBoard's own
  EventFileWriter (what PyTorch's SummaryWriter uses), tags
  charts/episodic_return and charts/success.
- expected.json: every value written above, for the tests to compare with.
"""

import json
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(7)
    expected: dict = {}

    tree: dict = {"smac": {"3m": {}}}
    expected["marl_eval"] = {}
    for algo, skill in (("mappo", 0.8), ("ippo", 0.5)):
        runs = tree["smac"]["3m"][algo] = {}
        for seed in range(5):
            steps = {}
            for k, step_count in enumerate((0, 100_000, 200_000, 300_000)):
                episodes = rng.normal(skill * k * 5, 1.0, size=8).round(4).tolist()
                wins = (rng.random(8) < min(1.0, skill * k / 3)).astype(float).tolist()
                steps[f"step_{k}"] = {"step_count": step_count, "return": episodes, "win_rate": wins}
                expected["marl_eval"][f"{algo}/{seed}/{k}"] = [float(np.mean(episodes)), float(np.mean(wins))]
            steps["absolute_metrics"] = {"return": rng.normal(skill * 15, 1.0, size=8).round(4).tolist()}
            runs[f"seed_{seed}"] = steps
    (HERE / "marl_eval.json").write_text(json.dumps(tree, indent=1) + "\n")

    tasks = np.array(["Pong", "Breakout", "Seaquest", "Qbert"])
    arrays = {algo: rng.gamma(shape, 0.3, size=(10, 4)) for algo, shape in (("DQN", 2.0), ("DER", 2.5), ("SPR", 3.5))}
    np.savez(HERE / "rliable_scores.npz", **arrays, tasks=tasks)
    expected["rliable"] = {algo: a.tolist() for algo, a in arrays.items()}

    lines = ["Name,seed,_step,eval/episodic_return"]
    for name in ("sac", "td3"):
        for seed in (1, 2, 3):
            for step in (5000, 10000, 15000):
                lines.append(f"{name},{seed},{step},{rng.normal(step / 1000, 2.0):.6f}")
    (HERE / "wandb_export.csv").write_text("\n".join(lines) + "\n")

    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    expected["tensorboard"] = {}
    for algo in ("ppo", "dqn"):
        for seed in (0, 1):
            run = HERE / "tensorboard" / f"{algo}_seed{seed}"
            for old in run.glob("*tfevents*"):
                old.unlink()
            writer = EventFileWriter(str(run))
            for k, step in enumerate((2048, 4096, 6144)):
                value, success = float(rng.normal(10 * k, 1.0)), float(rng.random() < 0.3 * k)
                expected["tensorboard"][f"{algo}/{seed}/{k}"] = [step, value, success]
                for tag, v in (("charts/episodic_return", value), ("charts/success", success)):
                    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
                    writer.add_event(event_pb2.Event(wall_time=1.7e9 + k, step=step, summary=summary))
            writer.close()
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
