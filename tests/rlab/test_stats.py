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
    # Two perfectly anti-correlated tasks: resampling whole rows keeps every
    # row's mean (0), so its interval has width 0; resampling seeds within each
    # task does not. The stratified bootstrap SD of the grand mean is known:
    # sqrt(sum_t var_t / S) / T with the plug-in variances.
    x = rng(3).normal(size=40)
    scores = np.stack([x, -x], axis=1)  # [S=40, T=2]
    rows = stats.bootstrap_ci(scores, "mean", rng(), n_resamples=4000)
    assert rows.point.shape == (2,)  # rows resampled, statistic per task column
    stratified = stats.bootstrap_ci(scores, "mean", rng(), n_resamples=4000, stratified=True)
    expected_sd = np.sqrt(2 * np.var(x) / 40) / 2
    width = stratified.high - stratified.low
    assert width == pytest.approx(2 * 1.96 * expected_sd, rel=0.08)
    grand_mean_of_rows = stats.bootstrap_ci(scores.mean(axis=1), "mean", rng())
    assert grand_mean_of_rows.high - grand_mean_of_rows.low < 1e-12


def test_stratified_bootstrap_keeps_trailing_axes_and_refuses_a_vector():
    scores = rng().normal(size=(30, 3, 5))  # seeds x tasks x evaluations
    assert stats.bootstrap_ci(scores, "iqm", rng(), 200, stratified=True).point.shape == (5,)
    with pytest.raises(ValueError, match="stratified"):
        stats.bootstrap_ci(np.ones(5), "mean", rng(), stratified=True)


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


def test_welch_power_approximation_reproduces_the_published_seed_analysis():
    # Two groups with SDs 1341 and 990 and mean difference 1382, one-sided alpha 0.05.
    published = {5: 0.510, 10: 0.196, 15: 0.072}
    for n, beta in published.items():
        assert 1 - stats.welch_power(1382, 1341, 990, n, method="shifted_t") == pytest.approx(beta, abs=0.001)


def _monte_carlo_welch_power(difference, sd_x, sd_y, n, alternative, n_y=None, reps=400_000):
    """Rejection rate of scipy's own Welch test on simulated normal samples."""
    generator = rng(11)
    x = generator.normal(difference, sd_x, (reps, n))
    y = generator.normal(0.0, sd_y, (reps, n_y or n))
    scipy_alternative = "greater" if alternative == "one-sided" else "two-sided"
    return np.mean(sps.ttest_ind(x, y, axis=1, equal_var=False, alternative=scipy_alternative).pvalue < 0.05)


@pytest.mark.parametrize("difference, sd_x, sd_y, n, n_y, alternative", [
    (1382, 1341, 990, 5, None, "one-sided"),   # the Colas et al. example: MC beta ~ 0.4985
    (1382, 1341, 990, 10, None, "one-sided"),
    (1.0, 1.0, 1.0, 5, None, "two-sided"),     # the shifted-t/noncentral-t forms are ~0.02 off here
    (1.0, 1.0, 1.0, 2, None, "two-sided"),
    (0.8, 1.0, 3.0, 8, 20, "two-sided"),       # unequal SDs and group sizes
])
def test_exact_welch_power_matches_a_monte_carlo_of_scipys_test(difference, sd_x, sd_y, n, n_y, alternative):
    simulated = _monte_carlo_welch_power(difference, sd_x, sd_y, n, alternative, n_y)
    # 400k replications: Monte Carlo SD <= 0.0008, so 0.005 is > 6 SD and catches the old 0.013-0.02 errors.
    assert stats.welch_power(difference, sd_x, sd_y, n, alternative=alternative, n_y=n_y) == pytest.approx(
        simulated, abs=0.005
    )


def test_welch_power_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        stats.welch_power(1, 1, 1, 1)
    with pytest.raises(ValueError, match="method"):
        stats.welch_power(1, 1, 1, 5, method="noncentral")


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
    rate = stats.false_positive_rate(same, 5, rng(8), n_experiments=2000, pool_resamples=40)
    assert rate.low <= 0.05 <= rate.high


@pytest.mark.slow
@pytest.mark.ci
def test_false_positive_rate_interval_covers_the_spread_across_pools():
    # Pools of 100 seeds from a heavy-tailed, bimodal seed distribution: the
    # Welch false-positive rate depends on which seeds the pool holds. The
    # claimed standard error must match the SD of the estimate across
    # independent pools (the truth), not only the Monte Carlo part.
    def pool(generator):
        modes = generator.random(100) < 0.15
        return np.where(modes, generator.lognormal(2.0, 1.0, 100), generator.normal(0.0, 0.3, 100))

    estimates, claimed = [], []
    for i in range(30):
        interval = stats.false_positive_rate(pool(rng(100 + i)), 5, rng(i), n_experiments=4000, pool_resamples=60)
        estimates.append(float(interval.point))
        claimed.append(float(interval.high - interval.low) / (2 * 1.96))
    true_sd = np.std(estimates, ddof=1)
    monte_carlo_only = np.sqrt(np.mean(estimates) * (1 - np.mean(estimates)) / 4000)
    assert true_sd > 1.5 * monte_carlo_only  # the pool matters here...
    assert np.mean(claimed) == pytest.approx(true_sd, rel=0.35)  # ...and the interval says so


def test_bootstrap_test_decides_as_scipys_percentile_interval_of_the_difference():
    generator = rng(11)
    xs, ys = generator.normal(size=(40, 5)), generator.normal(size=(40, 5)) + 0.8
    pvalues = stats.bootstrap_test_pvalues(xs, ys, rng(12), resamples=4000)
    agree, clear = 0, 0
    for x, y, p in zip(xs, ys, pvalues):
        result = sps.bootstrap((x, y), lambda a, b, axis: a.mean(axis) - b.mean(axis), method="percentile",
                               n_resamples=4000, random_state=13, vectorized=True)
        low, high = result.confidence_interval
        if min(abs(low), abs(high)) < 0.05 * (high - low):
            continue  # 0 sits on an interval end: resampling noise decides, in either implementation
        clear += 1
        agree += (not low <= 0 <= high) == (p < 0.05)
    assert clear >= 30 and agree == clear


def test_pooled_welch_and_bootstrap_false_positive_rates():
    generator = rng(14)
    # Curves whose points within a seed are correlated (a seed effect plus noise): pooling the points
    # as independent samples rejects far too often; the bootstrap test at 5 seeds is liberal too.
    curves = generator.normal(size=(400, 1)) + 0.3 * generator.normal(size=(400, 10))
    pooled = stats.false_positive_rate(curves, 5, rng(15), n_experiments=2000, test="pooled_welch", pool_resamples=20)
    assert pooled.low > 0.3
    boot = stats.false_positive_rate(curves[:, -1], 5, rng(16), n_experiments=1000, test="bootstrap", pool_resamples=10)
    assert boot.low > 0.07  # Colas et al. 2018: about 10% at a nominal 5% below 10 seeds
    with pytest.raises(ValueError, match="shape"):
        stats.false_positive_rate(curves, 5, rng(), test="welch")


def test_bootstrap_coverage_matches_a_monte_carlo_with_scipys_bootstrap():
    pool = rng(17).normal(size=4000)
    ours = stats.bootstrap_coverage(pool, 5, "mean", rng(18), n_experiments=600, n_resamples=2000)
    generator = rng(19)
    truth, covered = pool.mean(), 0
    for _ in range(300):
        sample = pool[generator.choice(pool.size, 5, replace=False)]
        ci = sps.bootstrap((sample,), np.mean, method="percentile", n_resamples=2000, random_state=generator).confidence_interval
        covered += ci.low <= truth <= ci.high
    theirs = stats.success_rate(covered, 300)
    assert ours.low <= float(theirs.high) and float(theirs.low) <= ours.high  # the two estimates overlap
    assert ours.high < 0.93  # and 5 runs under-cover, as Agarwal et al. 2021 report for few runs


def test_tolerance_interval_covers_the_asked_share_with_the_asked_confidence():
    generator = rng(20)
    hits = 0
    for _ in range(400):
        sample = generator.normal(size=200)
        low, high = stats.tolerance_interval(sample, coverage=0.9, confidence=0.95)
        # n = 200: r = 6 is the largest with confidence >= 0.95 (r = 7 gives 0.943)
        assert (low, high) == (np.sort(sample)[5], np.sort(sample)[-6])
        hits += (sps.norm.cdf(high) - sps.norm.cdf(low)) >= 0.9  # the true share inside
    rate = stats.success_rate(hits, 400, 0.99)
    exact = sps.beta.sf(0.9, 200 + 1 - 12, 12)  # 0.983: order statistics are discrete, so above 0.95
    assert rate.low <= exact <= rate.high
    with pytest.raises(ValueError, match="too few"):
        stats.tolerance_interval(np.arange(10.0), 0.95, 0.99)


def test_degradation_fits_a_monotone_curve_and_interpolates_the_cliff():
    outcomes = [np.r_[np.ones(n), np.zeros(100 - n)] for n in (90, 70, 30, 5)]
    result = stats.degradation([1, 2, 3, 4], outcomes, rng(), n_resamples=1000)
    np.testing.assert_allclose(result["fit"], [0.9, 0.7, 0.3, 0.05])
    at_08, at_01 = result["crossings"][0.8], result["crossings"][0.1]
    assert at_08.point == pytest.approx(1.5)  # 0.9 -> 0.7: 0.8 is half way
    assert at_01.point == pytest.approx(3 + 0.2 / 0.25)
    assert at_08.low < 1.5 < at_08.high and at_01.low < 3.8 < at_01.high
    assert result["rates"][0].point == pytest.approx(0.9)


def test_degradation_pools_violations_of_monotonicity():
    # Raw rates 0.9, 0.5, 0.7, 0.1 with equal seeds: the isotonic fit pools 0.5 and 0.7 to 0.6.
    outcomes = [np.r_[np.ones(n), np.zeros(100 - n)] for n in (90, 50, 70, 10)]
    result = stats.degradation([1, 2, 3, 4], outcomes, rng(), n_resamples=50)
    np.testing.assert_allclose(result["fit"], [0.9, 0.6, 0.6, 0.1])


def test_degradation_censored_cliffs_are_open_ended_not_dropped():
    # Never below 0.1 within the sweep: right-censored, "> 3"; a bootstrap interval
    # with draws that never cross stays open-ended instead of dropping them.
    high = [np.r_[np.ones(n), np.zeros(64 - n)] for n in (64, 60, 20)]
    result = stats.degradation([1, 2, 3], high, rng(), n_resamples=500)
    assert result["crossings"][0.1].point == np.inf
    assert result["crossings"][0.1].describe().startswith("> 3")
    # A sweep that starts below 0.8 is left-censored: "< 1".
    low = [np.r_[np.ones(n), np.zeros(64 - n)] for n in (20, 5, 0)]
    result = stats.degradation([1, 2, 3], low, rng(), n_resamples=500)
    assert result["crossings"][0.8].point == -np.inf and result["crossings"][0.8].describe() == "< 1"
    # Borderline: the last level's rate is near 0.1, so some draws cross and some do not.
    border = [np.r_[np.ones(n), np.zeros(40 - n)] for n in (40, 30, 5)]
    crossing = stats.degradation([1, 2, 3], border, rng(), n_resamples=1000)["crossings"][0.1]
    assert np.isfinite(crossing.low) and crossing.high == np.inf
    assert "> 3]" in crossing.describe()


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


def test_survival_when_no_seed_succeeds_has_the_exact_binomial_band():
    # 0 events in 64 seeds: survival at the budget may still be as low as 0.025^(1/64) = 0.944.
    t, survival, low, high = stats.survival_curve(np.full(64, 100.0), np.zeros(64, bool))
    np.testing.assert_allclose(survival, 1.0)
    np.testing.assert_allclose(low, 0.025 ** (1 / 64), rtol=1e-6)
    assert t[-1] == 100.0 and np.all(high == 1.0)


def test_survival_band_is_exact_where_every_seed_has_succeeded():
    import scipy.stats

    times = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0])
    t, survival, low, high = stats.survival_curve(times, np.ones(times.size, bool))
    assert survival[-1] == 0.0 and low[-1] == 0.0
    exact = scipy.stats.binomtest(0, times.size).proportion_ci(confidence_level=0.95, method="exact").high
    assert high[-1] == pytest.approx(exact, abs=1e-12) and high[-1] < 1.0


def test_survival_band_is_the_exact_binomial_interval_before_any_seed_is_censored():
    import scipy.stats

    # 64 seeds: 62 succeed at steps 1..62, 2 never do (censored at the budget, 100).
    times = np.concatenate([np.arange(1.0, 63.0), [100.0, 100.0]])
    observed = np.concatenate([np.ones(62, bool), [False, False]])
    t, survival, low, high = stats.survival_curve(times, observed)
    for index in (0, 30, 61):  # 63, 33 and 2 of 64 seeds left
        left = int(round(survival[index] * 64))
        exact = scipy.stats.binomtest(left, 64).proportion_ci(confidence_level=0.95, method="exact")
        assert (low[index], high[index]) == pytest.approx((exact.low, exact.high), abs=1e-12)
    # 2 of 64 left: Clopper-Pearson's [0.004, 0.108], where Greenwood's linear band gave [0, 0.074].
    assert survival[61] == pytest.approx(2 / 64) and low[61] == pytest.approx(0.0038, abs=1e-4)
    assert high[61] == pytest.approx(0.1084, abs=1e-4)
