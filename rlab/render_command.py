"""`rlab render`: replay the best, median and worst (or chosen) seeds of a sweep and write their pictures."""

from __future__ import annotations

import pathlib
import sys

import jax

from rlab import render
from rlab.store import policies
from rlab.trainers import rollout

EXIT_OK, EXIT_FAILED = 0, 1


def render_seeds(directory, seeds: list[str], out: pathlib.Path, group: str | None = None, hp_index: int | None = None,
                 formats=("gif", "png"), episode: int = 0, steps: int | None = None, strip_frames: int = 6,
                 size: tuple[int, int] = (320, 240)) -> int:
    """Renders each chosen seed's final policy into `out`; returns the exit code.

    Files: `out/<group>[_hp<k>]_seed<S>.gif` and `.png`, written atomically.
    One line per seed is printed: why it was picked, its final evaluation
    return in the sweep, the replay's return and success, and the gap between
    C MuJoCo and the JAX simulation.
    """
    picks = policies.pick(directory, seeds, group=group, hp_index=hp_index)
    unique = {(p.group, p.hp_index, p.seed): p for p in reversed(picks)}  # a seed picked twice renders once
    groups: dict[str, tuple] = {}
    for chosen in sorted(unique.values(), key=picks.index):
        if chosen.group not in groups:
            stored = policies.StoredGroup(directory, chosen.group)
            # A clear error before any work for a task not simulated with MuJoCo.
            groups[chosen.group] = (stored, render.Replayer(stored.env, width=size[0], height=size[1]))
        stored, replayer = groups[chosen.group]
        policy = stored.policy(chosen)
        length = steps or rollout.episode_length_of(policy.env, policy.trainer.static["episode_length"])
        key = jax.random.fold_in(jax.random.PRNGKey(chosen.seed), episode)
        try:
            played = replayer.run(policy.act, key, length)
        except render.RenderingUnavailable as err:
            print(f"rlab render: error: {err}", file=sys.stderr)
            return EXIT_FAILED
        title = f"{chosen.group} seed {chosen.seed}" if chosen.label.startswith("seed") else (
            f"{chosen.label}: {chosen.group} seed {chosen.seed}"
        )
        written = []
        if "gif" in formats:
            written.append(render.write_gif(played, out / f"{chosen.name}.gif", title))
        if "png" in formats:
            written.append(render.write_strip(played, out / f"{chosen.name}.png", title, strip_frames))
        outcome = "success" if played.succeeded else "no success"
        print(
            f"{chosen.label}: {chosen.group} seed {chosen.seed} (final eval return {chosen.final_return:.3f}); "
            f"replay return {played.episode_return:.3f}, {outcome}, {len(played.frames) - 1} steps, "
            f"C MuJoCo vs JAX gap {played.max_gap:.1e} -> {', '.join(map(str, written))}"
        )
    return EXIT_OK
