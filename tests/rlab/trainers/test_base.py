"""Bad algorithm names and hyperparameters give one clear message naming what is allowed."""

import numpy as np
import pytest

import envs
import rlab.trainers
from envs.params import ParamError

ENV = envs.make("cheese_point_mass")


def error_of(algo, **hparams):
    with pytest.raises(ParamError) as caught:
        rlab.trainers.make(algo, ENV, **hparams)
    return str(caught.value)


def test_unknown_algorithm_suggests_the_nearest():
    message = error_of("openai-es")
    assert "unknown algorithm 'openai-es'" in message and "did you mean 'openai_es'" in message
    assert "random_search" in message


@pytest.mark.parametrize(
    "algo, hparams, fragments",
    [
        ("ppo", {"learning_rte": 0.1}, ["unknown parameter 'learning_rte'", "did you mean 'learning_rate'"]),
        ("ppo", {"learning_rate": 0.0}, ["'learning_rate' = 0.0", "a finite number > 0"]),
        ("ppo", {"num_envs": 2.5}, ["'num_envs' = 2.5", "an integer"]),
        ("ppo", {"gamma": 1.5}, ["'gamma' = 1.5", "<= 1"]),
        ("ppo", {"std": "learned"}, ["'std' = 'learned'", "'state_independent', 'state_dependent'"]),
        ("reinforce", {"baseline": "mean"}, ["'baseline' = 'mean'", "'leave_one_out', 'none', 'batch_mean', 'learned'"]),
        ("openai_es", {"tie_break": "random"}, ["'tie_break' = 'random'", "'average', 'order'"]),
        ("ars", {"version": "v3"}, ["'version' = 'v3'", "'v1', 'v2'"]),
        ("random_search", {"population": 0}, ["'population' = 0", "an integer >= 1"]),
    ],
)
def test_bad_hyperparameters_name_the_field_and_what_is_allowed(algo, hparams, fragments):
    message = error_of(algo, **hparams)
    assert message.startswith(algo)
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    "algo, hparams, fragment",
    [
        ("ppo", {"num_envs": 3, "rollout_length": 5, "num_minibatches": 4}, "divisible by num_minibatches = 4"),
        ("openai_es", {"population": 7}, "population = 7 must be even"),
        ("ars", {"num_directions": 4, "top_directions": 8}, "top_directions = 8 must be <= num_directions = 4"),
    ],
)
def test_inconsistent_hyperparameters_are_refused(algo, hparams, fragment):
    assert fragment in error_of(algo, **hparams)


def test_float_overrides_at_init_are_checked_by_name_and_range():
    trainer = rlab.trainers.make("ppo", ENV)
    with pytest.raises(ParamError, match="'num_envs'.*not float hyperparameters"):
        trainer.hparams({"num_envs": 3.0})
    with pytest.raises(ParamError, match="'learning_rate' = -0.1 is out of range"):
        trainer.hparams({"learning_rate": np.array([0.1, -0.1])})
    assert float(trainer.hparams({"learning_rate": 0.5})["learning_rate"]) == 0.5


def test_registered_lists_every_hyperparameter_with_its_default():
    specs = rlab.trainers.registered()
    assert specs["ppo"].defaults["learning_rate"] == 3e-4
    for spec in specs.values():
        names = [p.name for p in spec.params]
        assert len(names) == len(set(names)) and "width" in names and "eval_episodes" in names
        trainer = rlab.trainers.make(spec.name, ENV)
        assert {**trainer.static, **trainer.defaults} == spec.defaults


def test_brax_environments_train_once_given_an_episode_length():
    import rlab
    from envs import _quiet

    brax_env = _quiet.import_brax_envs().get_environment("fast")
    with pytest.raises(ParamError, match="episode_length = 0 .* Fast has none"):
        rlab.trainers.make("ppo", brax_env)
    for algo in ("ppo", "openai_es"):
        trainer = rlab.trainers.make(algo, brax_env, episode_length=5, width=4, depth=1, iterations_per_eval=1)
        curves = rlab.train(trainer, [0, 1], 1, progress=False)
        assert np.all(np.isfinite(curves.metrics["eval_return"]))


def test_per_seed_values_must_match_the_number_of_seeds():
    import rlab

    trainer = rlab.trainers.make("openai_es", ENV, population=4, width=4, depth=1)
    with pytest.raises(ValueError, match=r"hparams\['noise_std'\] has shape \(3,\)"):
        rlab.train(trainer, [0, 1], 1, hparams={"noise_std": [0.1, 0.2, 0.3]}, progress=False)
