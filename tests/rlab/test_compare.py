"""rlab compare on pairs with a known answer: no difference called beyond its level, power as predicted."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from rlab import compare, stats
from rlab.errors import UsageError
from rlab.interop import directory

EXPERIMENTS = 2000


def binomial_band(rate: float, n: int) -> tuple[float, float]:
    """A 99.9% band for a rejection rate measured over n experiments (exact binomial quantiles)."""
    return scipy.stats.binom.ppf(0.0005, n, rate) / n, scipy.stats.binom.ppf(0.9995, n, rate) / n


def rejection_rate(draw, metric, rng) -> float:
    calls = 0
    for _ in range(EXPERIMENTS):
        x, y = draw(rng)
        calls += compare.compare_samples(x, y, metric, rng, n_resamples=0).called
    return calls / EXPERIMENTS


def test_one_configuration_split_in_two_is_called_different_at_most_at_the_stated_rate():
    rng = np.random.default_rng(0)
    # Returns: normal seeds, one configuration, 10 a side; Welch's level is exact there.
    rate = rejection_rate(lambda r: tuple(r.normal(3.0, 1.5, (2, 10))), "return", rng)
    low, high = binomial_band(0.05, EXPERIMENTS)
    assert low <= rate <= high, rate
    # Success: Fisher's exact test is conservative, never above its level.
    rate = rejection_rate(lambda r: tuple((r.random((2, 20)) < 0.4).astype(float)), "success", rng)
    assert rate <= binomial_band(0.05, EXPERIMENTS)[1], rate


def test_a_known_shift_is_found_with_the_power_welch_predicts():
    rng = np.random.default_rng(1)
    n, shift = 10, 1.0
    predicted = stats.welch_power(shift, 1.0, 1.0, n, alternative="two-sided")
    rate = rejection_rate(lambda r: (r.normal(shift, 1.0, n), r.normal(0.0, 1.0, n)), "return", rng)
    low, high = binomial_band(predicted, EXPERIMENTS)
    assert low <= rate <= high, (rate, predicted)
    # The seeds it asks for reach 80% power at the effect it saw.
    result = compare.compare_samples(rng.normal(shift, 1.0, 400), rng.normal(0.0, 1.0, 400), "return", rng)
    needed = result.seeds_for_power
    assert stats.welch_power(result.standardised, 1, 1, needed, alternative="two-sided") >= 0.8
    assert stats.welch_power(result.standardised, 1, 1, needed - 1, alternative="two-sided") < 0.8
    assert 15 <= needed <= 20  # d near 1: 17 seeds per side


def test_the_interval_and_test_match_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(1.0, 1.0, 12), rng.normal(0.0, 2.0, 9)
    result = compare.compare_samples(x, y, "return", rng)
    welch = scipy.stats.ttest_ind(x, y, equal_var=False)
    assert result.pvalue == welch.pvalue
    interval = welch.confidence_interval(0.95)
    assert (float(result.difference.low), float(result.difference.high)) == (interval.low, interval.high)
    wins = compare.compare_samples(np.array([1.0] * 9 + [0.0]), np.array([1.0] * 3 + [0.0] * 7), "success", rng)
    assert wins.pvalue == scipy.stats.fisher_exact([[9, 1], [3, 7]]).pvalue


def write_sweep(tmp_path, name, seeds, steps, shift=0.0, dim=2, rng=None):
    rng = rng or np.random.default_rng(len(name))
    rows = [{"algo": "ppo", "env.dim": dim, "seed": s, "eval": e, "env_steps": step,
             "eval_return": float(rng.normal(shift + e, 1.0)), "eval_success": float(rng.random() < 0.5)}
            for s in seeds for e, step in enumerate(steps)]
    frame = pd.DataFrame(rows)
    source = tmp_path / f"{name}.csv"
    frame.to_csv(source, index=False)
    from rlab.interop import contract

    directory.write(contract.normalise(frame, name), tmp_path / name, "tidy", source, {})
    return tmp_path / name


def cli(*args):
    return subprocess.run([sys.executable, "-m", "rlab.cli", "compare", *args], capture_output=True, text=True,
                          timeout=120)


def test_compare_command_on_two_directories(tmp_path):
    a = write_sweep(tmp_path, "a", range(0, 8), (100, 200))
    b = write_sweep(tmp_path, "b", range(8, 16), (100, 200))
    result = cli(str(a), str(b))
    assert result.returncode == 0, result.stderr
    for text in ("test: Welch's t-test on the mean final return (two-sided)", "p = ", "(95% CI, Welch)",
                 "effect size (Cohen's d)", "P(A > B)", "seeds per side for 80% power", "Mann-Whitney p"):
        assert text in result.stdout
    success = cli(str(a), str(b), "--metric", "success")
    assert success.returncode == 0 and "Fisher's exact test" in success.stdout


@pytest.mark.parametrize("make_b, message", [
    (lambda p: write_sweep(p, "b", range(8), (100, 300)), "not compared: different env-step budgets"),
    (lambda p: write_sweep(p, "b", range(8), (100, 200), dim=3), "not compared: different tasks"),
])
def test_compare_refuses_different_budgets_and_tasks(tmp_path, make_b, message):
    a = write_sweep(tmp_path, "a", range(8), (100, 200))
    result = cli(str(a), str(make_b(tmp_path)))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    with pytest.raises(UsageError, match=message):
        compare.compare(compare.side(a, None, {}, "return"), compare.side(tmp_path / "b", None, {}, "return"),
                        "return", np.random.default_rng(0))


def test_compare_bad_input_is_one_line(tmp_path):
    a = write_sweep(tmp_path, "a", range(8), (100, 200))
    for args, message in [
        ([str(a), str(a), "--metric", "wins"], "--metric = 'wins'; allowed: return, success"),
        ([str(a), str(a), "--alpha", "2"], "--alpha = 2.0; allowed"),
        ([str(a)], "one directory: name both configurations with --a and --b"),
        ([str(a), str(a), "--where", "dim"], "--where 'dim'; allowed: NAME=VALUE"),
        ([str(a), str(a), "--where", "size=2"], "has no environment value 'size'"),
        ([str(a), str(a), "--a", "sac"], "configuration 'sac' is not in"),
        ([str(tmp_path / "none"), str(a)], "not a sweep directory"),
    ]:
        result = cli(*args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_seeds_for_power_on_success_rates_match_a_monte_carlo_of_fishers_test():
    # 52/64 against 41/64: the seeds per side that the comparison says give 80% power, checked by running
    # Fisher's exact test (scipy's) on fresh draws at those rates, and at half as many seeds.
    x, y = np.repeat([1.0, 0.0], [52, 12]), np.repeat([1.0, 0.0], [41, 23])
    needed = compare.compare_samples(x, y, "success", np.random.default_rng(0), n_resamples=200).seeds_for_power
    h = 2 * np.arcsin(np.sqrt(52 / 64)) - 2 * np.arcsin(np.sqrt(41 / 64))
    assert needed == int(np.ceil(2 * ((scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)) / h) ** 2)) == 104
    rng = np.random.default_rng(1)

    def power(n: int, draws: int = 1000) -> float:
        wins_x, wins_y = rng.binomial(n, 52 / 64, draws), rng.binomial(n, 41 / 64, draws)
        return float(np.mean([scipy.stats.fisher_exact([[a, n - a], [b, n - b]]).pvalue < 0.05
                              for a, b in zip(wins_x, wins_y)]))

    # Fisher's test is conservative, so a little under the normal approximation's 80%.
    assert 0.70 <= power(needed) <= 0.86
    assert power(needed // 2) <= 0.55


def test_the_interval_of_a_rate_difference_has_the_level_it_is_labelled():
    x, y = np.repeat([1.0, 0.0], [30, 10]), np.repeat([1.0, 0.0], [20, 20])
    at_95 = compare.compare_samples(x, y, "success", np.random.default_rng(0), alpha=0.05, n_resamples=0)
    at_99 = compare.compare_samples(x, y, "success", np.random.default_rng(0), alpha=0.01, n_resamples=0)
    assert float(at_99.difference.high - at_99.difference.low) > float(at_95.difference.high - at_95.difference.low)
    # Newcombe's hybrid score interval from the two Wilson intervals at 99%, recomputed with scipy's.
    rx, ry = (scipy.stats.binomtest(k, 40).proportion_ci(0.99, method="wilson") for k in (30, 20))
    low = 0.25 - np.sqrt((0.75 - rx.low) ** 2 + (ry.high - 0.5) ** 2)
    high = 0.25 + np.sqrt((rx.high - 0.75) ** 2 + (0.5 - ry.low) ** 2)
    assert float(at_99.difference.low) == pytest.approx(low) and float(at_99.difference.high) == pytest.approx(high)


def test_returns_that_overflow_are_said_to_overflow():
    with pytest.raises(UsageError, match="too large to compare"):
        compare.compare_samples(np.array([1e308, -1e308, 1e308]), np.array([0.0, 1.0, 2.0]), "return",
                                np.random.default_rng(0), n_resamples=0)


def test_sweeps_of_different_environments_or_fixed_parameters_are_not_compared(tmp_path):
    from rlab import spec as spec_lib
    from rlab.run import sweep
    from tests.sweep_cases import tiny_spec

    base = tiny_spec(2).replace("dim = [1, 2]", "dim = [2]")
    texts = {"a": base, "other_fixed": base.replace("horizon = 4", "horizon = 4\nhole_radius = 0.3")}
    for name, text in texts.items():
        (tmp_path / f"{name}.toml").write_text(text)
        sweep.run(spec_lib.load(tmp_path / f"{name}.toml"), tmp_path / name)
    config = "openai_es noise_std=0.02"
    a, b = (compare.side(tmp_path / n, config, {}, "return") for n in texts)
    assert a.env == {"env": "cheese_point_mass", "reward": "dense", "horizon": 4, "dim": 2}
    assert b.env["hole_radius"] == 0.3 and a.steps == b.steps
    with pytest.raises(UsageError, match="different tasks"):
        compare.compare(a, b, "return", np.random.default_rng(0))
