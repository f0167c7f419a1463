"""rlab tune: tuning seeds apart from report seeds, the optimism of selection measured, and no conclusion on tuning seeds."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rlab import spec as spec_lib
from rlab import stats, tuning

SPEC = """
name = "tune_demo"
env = "cheese_point_mass"
num_evals = 2
chunk_size = 8

[env_params]
reward = "dense"
horizon = 4
dim = 2

[protocol]
tuning_seeds = {{ start = 0, count = 4 }}
report_seeds = {{ start = 100, count = 8 }}
{select}

[algorithms.openai_es]
population = 4
width = 4
depth = 1
iterations_per_eval = 1
eval_episodes = 4
[algorithms.openai_es.axes]
noise_std = [0.02, 0.05, 0.1, 0.2]
learning_rate = [0.01, 0.03]
"""


def cli(*args):
    return subprocess.run([sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, timeout=600)


def test_tune_runs_a_grid_of_eight_on_tuning_seeds_and_the_choice_on_report_seeds(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(select='select = "lower_bound"'))
    result = cli("tune", str(path), "--out", str(tmp_path / "out"), "--cache-dir", "none", "--quiet")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out" / "tune.json").read_text())
    entry = record["algorithms"]["openai_es"]
    assert record["rule"] == "lower_bound" and entry["configurations"] == 8
    assert set(entry["chosen"]) == {"noise_std", "learning_rate"}
    assert entry["optimism"]["low"] <= entry["optimism"]["point"] <= entry["optimism"]["high"]
    assert "optimism of selection" in result.stdout
    from rlab import store

    tuned, reported = store.load(tmp_path / "out" / "tuning"), store.load(tmp_path / "out" / "report")
    assert sorted(tuned["seed"].unique()) == [0, 1, 2, 3] and tuned["hp_index"].nunique() == 8
    assert sorted(reported["seed"].unique()) == list(range(100, 108)) and reported["hp_index"].nunique() == 1
    assert tuned["env_steps"].max() == reported["env_steps"].max()  # one pinned budget
    # The report refuses a conclusion on tuning seeds, and draws them on report seeds.
    assert cli("report", str(tmp_path / "out" / "tuning")).returncode == 0
    summary = (tmp_path / "out" / "tuning" / "report" / "summary.md").read_text()
    assert "Tuning seeds: these runs chose the configurations" in summary and "Welch p" not in summary
    page = (tmp_path / "out" / "tuning" / "report" / "index.html").read_text()
    assert "no comparison or test is drawn" in page and "probability of improvement" not in page
    # The report phase's report shows both seed sets and the optimism.
    assert cli("report", str(tmp_path / "out" / "report")).returncode == 0
    reported_page = (tmp_path / "out" / "report" / "report" / "index.html").read_text()
    assert "Tuning and selection" in reported_page and "optimism of selection [bootstrap 95% CI]" in reported_page
    assert f"{entry['report_iqm']:.3f}" in reported_page and f"{entry['tuning_iqm']:.3f}" in reported_page
    # Resumable: a second run computes nothing new and chooses the same.
    again = cli("tune", str(path), "--out", str(tmp_path / "out"), "--cache-dir", "none", "--quiet")
    assert again.returncode == 0 and json.loads((tmp_path / "out" / "tune.json").read_text())["algorithms"][
        "openai_es"]["chosen"] == entry["chosen"]
    # A tune.json that cannot be trusted is named in the report, never a traceback or another tune's choice.
    from rlab import report

    record_path = tmp_path / "out" / "tune.json"
    text = record_path.read_text()
    for damaged, why in ((text[: len(text) // 2], "unreadable"), ("[1, 2]", "a list, not a table"),
                         (text.replace('"report_iqm"', '"report_iq"'), "must be numbers"),
                         (text.replace(record["report_spec_hash"], "0" * 16), "belongs to another tune")):
        record_path.write_text(damaged)
        report.build(tmp_path / "out" / "report")
        summary = (tmp_path / "out" / "report" / "report" / "summary.md").read_text()
        assert "no selection shown" in summary and why in summary and "optimism of selection" not in summary


def test_a_tune_whose_every_configuration_diverged_chooses_nothing(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(select="").replace("noise_std = [0.02, 0.05, 0.1, 0.2]", "noise_std = [3e38, 3.3e38]"))
    result = cli("tune", str(path), "--out", str(tmp_path / "out"), "--cache-dir", "none", "--quiet")
    assert result.returncode == 1 and "nothing chosen, no report phase run" in result.stderr, result.stderr
    record = json.loads((tmp_path / "out" / "tune.json").read_text())
    assert record["algorithms"]["openai_es"]["chosen"] is None and not (tmp_path / "out" / "report").exists()


def simulated_optimism(means: np.ndarray, rng, repetitions: int = 300, seeds: int = 8) -> np.ndarray:
    """Optimism of choosing by IQM among configurations of the given true means (unit-variance normal seeds)."""
    gaps = []
    for _ in range(repetitions):
        scores = {("algo", f"c{i:02d}"): rng.normal(m, 1.0, seeds) for i, m in enumerate(means)}
        (config,) = tuning.choose(scores, "iqm", rng).values()
        fresh = rng.normal(means[int(config[1:])], 1.0, seeds)
        gaps.append(float(stats.iqm(scores["algo", config]) - stats.iqm(fresh)))
    return np.array(gaps)


def test_optimism_is_positive_among_equals_and_near_zero_for_a_clear_winner():
    rng = np.random.default_rng(0)
    equal = simulated_optimism(np.zeros(16), rng)
    standard_error = equal.std(ddof=1) / np.sqrt(equal.size)
    assert equal.mean() - 4 * standard_error > 0.3, equal.mean()  # the best of 16 equals looks better than it is
    winner = simulated_optimism(np.array([5.0] + [0.0] * 15), rng)
    standard_error = winner.std(ddof=1) / np.sqrt(winner.size)
    assert abs(winner.mean()) < 4 * standard_error, winner.mean()  # a clear winner is chosen for its skill
    assert abs(winner.mean()) < 0.15


@pytest.mark.parametrize("protocol, message", [
    ("tuning_seeds = { start = 0, count = 8 }\nreport_seeds = { start = 4, count = 8 }", "overlap"),
    ("tuning_seeds = { start = 0, count = 1 }\nreport_seeds = { start = 4, count = 8 }",
     "protocol.tuning_seeds: {'start': 0, 'count': 1}; allowed"),
    ("tuning_seeds = { start = 0, count = 4 }\nreport_seeds = { start = 4, count = 8 }\nselect = \"best\"",
     "protocol.select: 'best'; allowed: iqm, lower_bound"),
    ("tuning_seeds = { start = 0, count = 4 }\nreport_seeds = { start = 4, count = 8 }\nseeds_used = 3",
     "protocol.seeds_used: unknown key"),
])
def test_bad_protocols_are_refused(tmp_path, protocol, message):
    text = SPEC.format(select="").replace(
        "tuning_seeds = { start = 0, count = 4 }\nreport_seeds = { start = 100, count = 8 }\n", protocol + "\n")
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(spec_lib.SpecError, match=message.replace("{", r"\{").replace("}", r"\}")):
        spec_lib.load(path)


def test_tune_refuses_a_spec_it_cannot_run(tmp_path):
    plain = tmp_path / "plain.toml"
    text = SPEC.format(select="").replace("tuning_seeds = { start = 0, count = 4 }\n", "")
    plain.write_text(text.replace("report_seeds = { start = 100, count = 8 }\n", "").replace("[protocol]\n", "")
                     .replace('name = "tune_demo"', 'name = "tune_demo"\nseeds = 4'))
    result = cli("tune", str(plain), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "rlab tune needs a [protocol] table" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_every_configuration_of_a_seed_is_evaluated_on_the_same_episodes():
    """The fixed evaluation: the eval stream depends on the seed and the evaluation count, not on the configuration."""
    import jax

    import envs
    import rlab.trainers

    env = envs.make("cheese_point_mass", dim=2, reward="dense", horizon=4)
    trainer = rlab.trainers.make("openai_es", env, population=4, width=4, depth=1, iterations_per_eval=1,
                                 eval_episodes=4)
    keys = []
    for learning_rate in (0.01, 0.03):
        state = trainer.init(jax.random.PRNGKey(5), {"learning_rate": learning_rate})
        for _ in range(2):
            state, _ = jax.jit(trainer.step)(state)
        keys.append(np.asarray(jax.random.key_data(state.keys["eval"])))
    np.testing.assert_array_equal(keys[0], keys[1])
