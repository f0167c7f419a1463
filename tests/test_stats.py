"""Statistics against independently computed values: scipy, the reference numbers, simulation."""

import numpy as np
import pytest
from scipy import stats as sps

from rlab import stats


def rng(seed=0):
    return np.random.default_rng(seed)


def test_iqm_of_success_outcomes_has_a_closed_form():
    for q in (0.1, 0.25, 0.5, 0.6, 0.9):
        outcomes = np.r_[np.ones(int(q * 400)), np.zeros(400 - int(q * 400))]
        assert stats.iqm(outcomes) == pytest.approx(np.clip((q - 0.25) / 0.5, 0, 1))


def test_quantile_bands_and_aggregates_per_evaluation():
    curves = rng().normal(size=(101, 7))
    bands = stats.quantile_bands(curves)
    np.testing.assert_allclose(bands[50], np.median(curves, axis=0))
    np.testing.assert_allclose(stats.iqm(curves), sps.trim_mean(curves, 0.25, axis=0))
    assert stats.optimality_gap(np.array([0.5, 1.2, 1.0])) == pytest.approx(0.5 / 3)


def test_drop_diverged_counts_what_it_drops():
    curves = np.ones((5, 3))
    curves[1, 2] = np.nan
    curves[4, 0] = np.inf
    clean, dropped = stats.drop_diverged(curves)
    assert clean.shape == (3, 3) and dropped == 2
    with pytest.raises(ValueError, match="drop_diverged"):
        stats.bootstrap_ci(curves, "mean", rng())


def test_bootstrap_is_reproducible_and_needs_a_generator():
    x = rng().normal(size=(30, 4))
    a, b = stats.bootstrap_ci(x, "iqm", rng(1)), stats.bootstrap_ci(x, "iqm", rng(1))
    np.testing.assert_array_equal(a.low, b.low)
    with pytest.raises(ValueError, match="Generator"):
        stats.bootstrap_ci(x, "iqm", None)


def test_bootstrap_interval_of_the_mean_covers_the_truth_95_percent_of_the_time():
    # 1000 simulated experiments of 50 seeds each, vectorised as 1000 "evaluations".
    experiments = rng(3).normal(loc=2.0, scale=1.5, size=(50, 1000))
    interval = stats.bootstrap_ci(experiments, "mean", rng(4), n_resamples=2000)
    coverage = np.mean((interval.low <= 2.0) & (2.0 <= interval.high))
    assert 0.93 <= coverage <= 0.97, coverage


def test_wilson_interval_covers_the_truth_95_percent_of_the_time():
    generator = rng(5)
    covered = 0
    for _ in range(1000):
        hits = generator.binomial(40, 0.3)
        interval = stats.success_rate(hits, 40)
        covered += interval.low <= 0.3 <= interval.high
    assert 0.93 <= covered / 1000 <= 0.97


def test_success_rate_intervals_match_scipy_and_stay_honest_at_zero():
    wilson = stats.success_rate(0, 5)
    exact = stats.success_rate(0, 5, method="clopper-pearson")
    assert wilson.point == 0 and 0.43 <= wilson.high <= 0.44
    assert exact.high == pytest.approx(sps.binomtest(0, 5).proportion_ci(method="exact").high)
    assert 0.52 <= exact.high <= 0.53


def test_stratified_bootstrap_resamples_within_tasks():
    # Task 0 is always 0, task 1 always 1: any stratified resample has mean exactly 0.5.
    scores = np.stack([np.zeros(20), np.ones(20)], axis=1)[:, :, None]
    interval = stats.bootstrap_ci(scores, "mean", rng())
    assert interval.low[0] == interval.high[0] == 0.5


def test_spread_measures():
    x = np.arange(100.0)
    spread = stats.spread(x, rng(), n_resamples=200)
    assert spread["iqr"].point == pytest.approx(np.percentile(x, 75) - np.percentile(x, 25))
    assert spread["cvar_5"].point == pytest.approx(np.mean(np.arange(5.0)))
    assert spread["cvar_10"].point == pytest.approx(np.mean(np.arange(10.0)))


def test_probability_of_improvement_is_mann_whitney_u_over_pairs():
    x, y = rng(1).normal(0.5, 1, 40), rng(2).normal(0, 1, 50)
    pairs = (x[:, None] > y[None]).mean() + 0.5 * (x[:, None] == y[None]).mean()
    result = stats.probability_of_improvement(x, y, rng())
    assert result.point == pytest.approx(pairs)
    assert result.low < result.point < result.high
    ties = stats.probability_of_improvement(np.ones(5), np.ones(5), rng())
    assert ties.point == 0.5


def test_tests_and_holm_against_hand_values():
    x, y = rng(1).normal(1, 1, 20), rng(2).normal(0, 2, 25)
    assert stats.welch_test(x, y).pvalue == pytest.approx(sps.ttest_ind(x, y, equal_var=False).pvalue)
    assert stats.mann_whitney(x, y).pvalue == pytest.approx(sps.mannwhitneyu(x, y).pvalue)
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_difference_ci_of_iqm():
    x, y = rng(1).normal(1, 0.2, 200), rng(2).normal(0, 0.2, 200)
    diff = stats.difference_ci(x, y, "iqm", rng())
    assert diff.low < 1.0 < diff.high and diff.low > 0.9


def test_welch_power_reproduces_the_published_seed_analysis():
    # Two groups with SDs 1341 and 990 and mean difference 1382, one-sided alpha 0.05.
    published = {5: 0.510, 10: 0.196, 15: 0.072}
    for n, beta in published.items():
        assert 1 - stats.welch_power(1382, 1341, 990, n, method="shifted_t") == pytest.approx(beta, abs=0.001)
        # The exact noncentral-t power differs from the approximation by a few points at most.
        assert 1 - stats.welch_power(1382, 1341, 990, n) == pytest.approx(beta, abs=0.03)


@pytest.mark.parametrize("effect, seeds", [(0.5, 64), (0.8, 26), (1.0, 17), (2.0, 6)])
def test_seeds_needed_for_80_percent_power(effect, seeds):
    assert stats.seeds_for_power(effect) == seeds


def test_bootstrap_power_grows_with_seeds_and_matches_welch_on_normal_pilots():
    x_pilot, y_pilot = rng(1).normal(1.0, 1, 5000), rng(2).normal(0.0, 1, 5000)
    power_17 = stats.bootstrap_power(x_pilot, y_pilot, 17, rng(3), n_experiments=2000, test="welch")
    assert power_17 == pytest.approx(stats.welch_power(1.0, 1, 1, 17, alternative="two-sided"), abs=0.04)
    assert stats.bootstrap_power(x_pilot, y_pilot, 5, rng(3), 500) < power_17
    x_rates, y_rates = np.r_[np.ones(80), np.zeros(20)], np.r_[np.ones(20), np.zeros(80)]
    small = stats.bootstrap_power(x_rates, y_rates, 10, rng(), 300, test="fisher")
    large = stats.bootstrap_power(x_rates, y_rates, 25, rng(), 300, test="fisher")
    assert 0.4 < small < large and large > 0.85


def test_false_positive_rate_of_same_configuration_comparisons_is_near_alpha():
    same = rng(7).normal(size=2000)
    rate = stats.false_positive_rate(same, 5, rng(8), n_experiments=2000)
    assert rate.low <= 0.05 <= rate.high


def test_breaking_point_and_degradation():
    assert stats.breaking_point([1, 2, 3, 4], [0.9, 0.7, 0.3, 0.1]) == pytest.approx(2.5)
    assert np.isnan(stats.breaking_point([1, 2], [0.9, 0.8]))
    outcomes = [np.r_[np.ones(90), np.zeros(10)], np.r_[np.ones(70), np.zeros(30)],
                np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(10), np.zeros(90)]]
    result = stats.degradation([1, 2, 3, 4], outcomes, rng(), n_resamples=500)
    assert result["breaking_point"].point == pytest.approx(2.5)
    assert result["breaking_point"].low < 2.5 < result["breaking_point"].high
    assert result["rates"][0].point == pytest.approx(0.9)


def test_time_to_first_success_and_survival_match_a_hand_kaplan_meier():
    curves = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0], [1, 1, 1]], float)
    steps = np.array([10, 20, 30])
    times, observed = stats.time_to_first_success(curves, steps)
    np.testing.assert_array_equal(times, [20, 30, 30, 10])
    np.testing.assert_array_equal(observed, [True, True, False, True])
    t, survival, low, high = stats.survival_curve(times, observed)
    # Kaplan-Meier by hand: S(10) = 3/4, S(20) = 3/4 * 2/3, S(30) = 1/2 * 1/2 (one event, one censored, at 30).
    np.testing.assert_allclose(t, [10, 20, 30])
    np.testing.assert_allclose(survival, [0.75, 0.5, 0.25])
