"""Parameter sets that the environment tests run every registered environment with."""

import envs

# Besides each environment's defaults, a variant that exercises other code paths.
VARIANTS = {
    "cheese_bandit": [{"dim": 5, "num_holes": 3, "reward": "dense"}],
    "cheese_point_mass": [
        {"dim": 3, "distractor_dims": 2, "num_holes": 2, "reward": "dense", "horizon": 4},
        {"dim": 1, "start": "center", "horizon": 1},
    ],
    "deep_sea": [{"size": 4, "randomize_actions": False, "reward": "dense"}],
    "combination_lock": [{"length": 3, "num_actions": 7, "reward": "dense"}],
}


def all_cases():
    """(env_id, params) for every rlab task (not the Brax wrappers): defaults plus variants."""
    cases = []
    for env_id, spec in envs.registered().items():
        if not issubclass(spec.env_class, envs.LabEnv):
            continue
        cases.append((env_id, {}))
        cases.extend((env_id, params) for params in VARIANTS.get(env_id, []))
    return cases


def case_id(case):
    env_id, params = case
    return env_id + "".join(f"-{k}={v}" for k, v in params.items())
