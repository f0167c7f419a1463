"""Stored policies: parameters saved by a sweep act exactly like the trained state they came from."""

import jax
import numpy as np
import pytest

import envs
from rlab.store import policies, policy_codec
from rlab.run import sweep
from rlab.errors import UsageError
from tests.sweep_cases import tiny_spec
from tests.trainer_cases import all_algos, tiny


@pytest.mark.parametrize("algo", all_algos())
def test_restored_parameters_give_bitwise_the_same_actions(algo):
    env = envs.make("cheese_point_mass", dim=2, reward="dense", horizon=4)
    trainer = tiny(algo, env)
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    state, _ = jax.jit(jax.vmap(trainer.step))(jax.jit(jax.vmap(trainer.init))(keys))
    arrays = policy_codec.policy_arrays(trainer, jax.device_get(state), ((0, 0), (1, 0), (2, 0)))
    template = policy_codec.policy_template(trainer)
    observations = jax.random.normal(jax.random.PRNGKey(9), (16, env.observation_size))
    for lane in range(3):
        original = jax.tree.map(lambda x: x[lane], state)
        restored = policy_codec.restore_policy_params(template, arrays, lane)
        expected = jax.vmap(trainer.policy(original))(observations)
        actual = jax.vmap(lambda obs: trainer.act(restored, obs))(observations)
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))
    # Different seeds learned different policies, so the check above can tell lanes apart.
    first = jax.vmap(trainer.policy(jax.tree.map(lambda x: x[0], state)))(observations)
    second = jax.vmap(trainer.policy(jax.tree.map(lambda x: x[1], state)))(observations)
    assert not np.array_equal(np.asarray(first), np.asarray(second))


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    import tomllib

    from rlab import spec as spec_lib

    text = tiny_spec(seeds=5, noise="[0.05]")
    directory = tmp_path_factory.mktemp("sweep") / "run"
    sweep.run(spec_lib.parse(tomllib.loads(text), text, "tiny"), directory)
    return directory


def test_ranks_pick_the_best_median_and_worst_final_return(finished_sweep):
    table = policies.final_results(finished_sweep)
    rows = table[table["group"] == "g000"]
    # Independently: order by final return (ties by seed) with plain numpy.
    order = np.lexsort((rows["seed"].to_numpy(), -rows["eval_return"].to_numpy()))
    seeds = rows["seed"].to_numpy()[order]
    picks = policies.pick(finished_sweep, ["best", "median", "worst"], group="g000")
    assert [p.seed for p in picks] == [seeds[0], seeds[(len(seeds) - 1) // 2], seeds[-1]]
    assert [p.label for p in picks] == ["best", "median", "worst"]
    assert picks[0].final_return >= picks[1].final_return >= picks[2].final_return


def test_a_stored_policy_acts_like_a_fresh_training_of_its_seed(finished_sweep):
    from rlab.trainers import rollout
    from rlab.run.training import seed_keys

    chosen = policies.pick(finished_sweep, ["2"], group="g001")[0]
    policy = policies.load(finished_sweep, chosen)
    trainer = policy.trainer
    # Retrain the seed's chunk (seeds 0-3, one noise level) the way the sweep did.
    hparams = {"noise_std": np.full(4, 0.05, np.float32)}
    state = jax.jit(jax.vmap(trainer.init))(seed_keys(range(4)), hparams)
    for _ in range(2):
        state, _ = jax.jit(jax.vmap(trainer.step))(state)
    retrained = trainer.policy(jax.tree.map(lambda x: x[2], state))
    observations = jax.random.normal(jax.random.PRNGKey(1), (32, policy.env.observation_size))
    np.testing.assert_allclose(
        np.asarray(jax.vmap(policy.act)(observations)), np.asarray(jax.vmap(retrained)(observations)), atol=1e-5
    )
    stats = rollout.run_episodes(policy.env, lambda obs, _: (policy.act(obs), 0.0), jax.random.PRNGKey(0), 64, 4)
    assert np.all(np.isfinite(np.asarray(stats.episode_return)))


@pytest.mark.parametrize(
    "choice, group, message",
    [
        (["best"], None, "2 groups; choose one with --group: g000 \\(openai_es dim=1\\); g001"),
        (["99"], "g000", "seed 99 is not stored for group g000; stored seeds: 0..4 \\(5\\)"),
        (["top"], "g000", "--seed 'top': allowed: a seed number or one of best, median, worst"),
        (["best"], "g007", "group 'g007' has no stored seeds; allowed: g000, g001"),
    ],
)
def test_bad_choices_name_what_is_stored(finished_sweep, choice, group, message):
    with pytest.raises(UsageError, match=message):
        policies.pick(finished_sweep, choice, group=group)
