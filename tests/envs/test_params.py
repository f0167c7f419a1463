"""Bad environment ids and parameters give one clear message naming what is allowed."""

import brax.envs
import pytest

import envs
from envs import EnvParamError


def error_of(env_id, **params):
    with pytest.raises(ValueError) as caught:
        envs.make(env_id, **params)
    assert isinstance(caught.value, EnvParamError)
    return str(caught.value)


def test_unknown_id_suggests_the_nearest_and_lists_all():
    message = error_of("cheese_pointmass")
    assert "'cheese_pointmass'" in message and "did you mean 'cheese_point_mass'" in message
    for env_id in envs.registered():
        assert env_id in message


def test_unknown_parameter_is_named_with_a_suggestion_and_the_allowed_names():
    message = error_of("cheese_point_mass", dims=3)
    assert "unknown parameter 'dims'" in message and "did you mean 'dim'" in message
    assert "distractor_dims" in message and message.startswith("cheese_point_mass:")


@pytest.mark.parametrize(
    "env_id, params, fragments",
    [
        ("cheese_point_mass", {"dim": 0}, ["'dim' = 0", "out of range", "an integer >= 1"]),
        ("cheese_point_mass", {"dim": 2.5}, ["'dim' = 2.5", "type float", "an integer"]),
        ("cheese_point_mass", {"dim": True}, ["'dim' = True", "type bool"]),
        ("cheese_point_mass", {"hole_radius": 0.0}, ["'hole_radius' = 0.0", "a finite number > 0 and < 1"]),
        ("cheese_point_mass", {"hole_radius": 1.0}, ["'hole_radius' = 1.0", "< 1"]),
        ("cheese_point_mass", {"hole_radius": float("nan")}, ["'hole_radius' = nan", "out of range"]),
        ("cheese_point_mass", {"hole_radius": "0.1"}, ["'hole_radius' = '0.1'", "type str", "a finite number"]),
        ("cheese_point_mass", {"start": "centre"}, ["did you mean 'center'", "one of 'uniform', 'center'"]),
        ("cheese_bandit", {"reward": "Sparse"}, ["'reward' = 'Sparse'", "one of 'sparse', 'dense'"]),
        ("deep_sea", {"size": -3}, ["'size' = -3", "an integer >= 1"]),
        ("deep_sea", {"randomize_actions": 1}, ["'randomize_actions' = 1", "True or False"]),
        ("combination_lock", {"num_actions": 1}, ["'num_actions' = 1", "an integer >= 2"]),
        ("combination_lock", {"task_seed": -1}, ["'task_seed' = -1", "an integer >= 0"]),
    ],
)
def test_bad_values_name_the_parameter_the_value_and_what_is_allowed(env_id, params, fragments):
    message = error_of(env_id, **params)
    assert message.startswith(env_id + ":")
    for fragment in fragments:
        assert fragment in message


def test_every_problem_is_reported_at_once():
    message = error_of("cheese_point_mass", dim=0, reward="x", colour="red")
    assert "'dim'" in message and "'reward'" in message and "'colour'" in message
    assert len(message.splitlines()) == 3


def test_holes_that_cannot_fit_are_refused_with_the_parameters_named():
    message = error_of("cheese_bandit", dim=1, num_holes=40, hole_radius=0.2)
    assert "num_holes=40" in message and "hole_radius=0.2" in message and "cheese_bandit" in message


def test_brax_registry_validates_the_same_way():
    with pytest.raises(EnvParamError, match="'size' = 0"):
        brax.envs.get_environment("deep_sea", size=0)
    with pytest.raises(EnvParamError, match="unknown parameter 'sise'"):
        brax.envs.get_environment("deep_sea", sise=4)


def test_numpy_scalars_are_accepted_and_converted():
    import numpy as np

    env = envs.make("cheese_point_mass", dim=np.int64(3), hole_radius=np.float32(0.25))
    assert env.dim == 3 and type(env.dim) is int and type(env.hole_radius) is float


def test_registered_lists_every_env_with_a_description_and_defaults():
    specs = envs.registered()
    assert list(specs)[:4] == ["cheese_bandit", "cheese_point_mass", "deep_sea", "combination_lock"]
    mujoco_tasks = {"reacher_nd", "cartpole_poles"}
    assert all(env_id.startswith(("brax/", "playground/", "gymnax/")) or env_id in mujoco_tasks for env_id in list(specs)[4:])
    assert mujoco_tasks <= set(specs)
    for env_id, spec in list(specs.items())[:4]:
        assert spec.id == env_id and spec.description
        assert envs.make(env_id).params == spec.defaults
    assert specs["cheese_point_mass"].defaults["reward"] == "sparse"
    assert specs["deep_sea"].discrete and specs["combination_lock"].discrete
    assert not specs["cheese_bandit"].discrete and not specs["cheese_point_mass"].discrete


def test_registering_an_id_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        envs.register("deep_sea", envs.DeepSea)
