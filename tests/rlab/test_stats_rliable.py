"""rlab.stats's estimators over runs x tasks against rliable itself: its committed estimates on three score sets
(tests/data/rliable)."""

import json
import pathlib
import warnings

import numpy as np
import pytest

from rlab import stats

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "rliable"
REFERENCE = json.loads((DATA / "reference.json").read_text())
with np.load(DATA / "scores.npz") as npz:
    SCORES = {name: {key.split("/")[1]: npz[key] for key in npz.files if key.startswith(name + "/")}
              for name in REFERENCE["sets"]}
STATISTICS = {"mean": stats.mean_of_task_means, "median": stats.median_of_task_means, "iqm": stats.pooled_iqm,
              "optimality_gap": stats.pooled_optimality_gap}


def tolerance(scores, statistic, q, reps, task_bootstrap=False) -> float:
    """How far two independent bootstraps' q-quantiles may lie apart: 4 sigma of Monte Carlo error.

    The empirical CDF of R replications errs by sqrt(q (1 - q) / R) in
    probability at the quantile; for two bootstraps (rliable's and ours) that
    is sqrt(2) times more. The tolerance is the width of our own bootstrap
    distribution between q -+ 4 such sigmas: narrow where the statistic is
    smooth, one lattice step where it is discrete (success-like scores).
    """
    results = np.concatenate([stats._each_replication(statistic, stats.resample_runs(scores, np.random.default_rng(9),
                                                                                    1000, task_bootstrap))
                              for _ in range(reps // 1000)])[:, 0]
    sigma = np.sqrt(2 * q * (1 - q) / reps)
    low, high = np.percentile(results, [100 * max(q - 4 * sigma, 0), 100 * min(q + 4 * sigma, 1)])
    return float(high - low) + 1e-12


@pytest.mark.parametrize("set_name", ["normal", "ceiling"])
@pytest.mark.parametrize("metric", list(STATISTICS))
def test_aggregate_points_and_intervals_match_rliable(set_name, metric):
    reference, scores = REFERENCE["sets"][set_name][metric], SCORES[set_name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy 2 clean
        points, intervals = stats.interval_estimates(scores, STATISTICS[metric], np.random.default_rng(1),
                                                          reps=REFERENCE["reps"])
    for algo, expected in reference.items():
        assert points[algo][0] == pytest.approx(expected["point"], abs=1e-12)
        low_tol = tolerance(scores[algo], STATISTICS[metric], 0.025, REFERENCE["reps"])
        high_tol = tolerance(scores[algo], STATISTICS[metric], 0.975, REFERENCE["reps"])
        assert abs(intervals[algo][0, 0] - expected["low"]) <= low_tol, (algo, intervals[algo], expected, low_tol)
        assert abs(intervals[algo][1, 0] - expected["high"]) <= high_tol, (algo, intervals[algo], expected, high_tol)


def poi(x, y, rng, reps):
    interval = stats.probability_of_improvement(x, y, rng, n_resamples=reps)
    return float(interval.point), float(interval.low), float(interval.high)


@pytest.mark.parametrize("set_name", ["normal", "ceiling"])
def test_probability_of_improvement_matches_rliable(set_name):
    reference, scores = REFERENCE["sets"][set_name]["probability_of_improvement"], SCORES[set_name]
    point, low, high = poi(scores["A"], scores["B"], np.random.default_rng(2), REFERENCE["reps"])
    assert point == pytest.approx(reference["point"], abs=1e-12)
    # Bootstrap error of the endpoints, from a second run of ours.
    again = [poi(scores["A"], scores["B"], np.random.default_rng(s), REFERENCE["reps"]) for s in (3, 4, 5)]
    spread = max(np.ptp([a[1] for a in again]), np.ptp([a[2] for a in again]), 1e-3)
    assert abs(low - reference["low"]) <= 3 * spread and abs(high - reference["high"]) <= 3 * spread


@pytest.mark.parametrize("set_name", ["normal", "ceiling"])
def test_performance_profiles_match_rliable(set_name):
    reference, scores = REFERENCE["sets"][set_name]["profile"], SCORES[set_name]
    profiles, bands = stats.performance_profiles(scores, reference["taus"], np.random.default_rng(3),
                                                      reps=REFERENCE["profile_reps"])
    for algo in scores:
        np.testing.assert_allclose(profiles[algo], reference[algo]["point"], rtol=0, atol=1e-12)
        # A profile value is a fraction of runs x tasks: its bootstrap quantiles move in steps of 1 / (runs * tasks).
        step = 1.0 / scores[algo].size
        np.testing.assert_allclose(bands[algo][0], reference[algo]["low"], rtol=0, atol=2 * step + 1e-12)
        np.testing.assert_allclose(bands[algo][1], reference[algo]["high"], rtol=0, atol=2 * step + 1e-12)


def test_iqm_of_learning_curves_per_evaluation_matches_rliable():
    reference, scores = REFERENCE["sets"]["curves"]["iqm_per_step"], SCORES["curves"]

    def per_step(x):
        return np.array([stats.pooled_iqm(x[..., t]) for t in range(x.shape[-1])])

    points, intervals = stats.interval_estimates(scores, per_step, np.random.default_rng(4),
                                                      reps=REFERENCE["reps"])
    for algo in scores:
        np.testing.assert_allclose(points[algo], reference[algo]["point"], rtol=0, atol=1e-12)
        # Per evaluation, the endpoints' bootstrap error is that of a 2-D IQM over the same cells.
        for t in range(scores[algo].shape[-1]):
            cell = scores[algo][..., t]
            for row, q, key in ((0, 0.025, "low"), (1, 0.975, "high")):
                tol = tolerance(cell, stats.pooled_iqm, q, REFERENCE["reps"])
                assert abs(intervals[algo][row, t] - reference[algo][key][t]) <= tol, (algo, t, key)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"scores of shape \(5,\)"):
        stats.interval_estimate(np.ones(5), stats.pooled_iqm, np.random.default_rng(0))
    with pytest.raises(ValueError, match="the same tasks"):
        stats.probability_of_improvement(np.ones((3, 2)), np.ones((3, 4)), np.random.default_rng(0))


@pytest.mark.parametrize("set_name", ["normal", "ceiling"])
def test_the_stratified_bootstrap_of_a_median_is_rliables_median(set_name):
    for algo, scores in SCORES[set_name].items():
        interval = stats.bootstrap_ci(scores, "median", np.random.default_rng(5), n_resamples=200, stratified=True)
        assert float(interval.point) == pytest.approx(REFERENCE["sets"][set_name]["median"][algo]["point"], abs=1e-12)


def test_a_task_bootstrap_draws_whole_tasks_whatever_the_shape():
    scores = np.random.default_rng(0).normal(size=(10, 5))  # 10 runs x 5 tasks (once an IndexError)
    drawn = stats.resample_runs(scores, np.random.default_rng(1), 50, task_bootstrap=True)
    for replication in drawn:
        for slot in range(5):
            assert any(np.isin(replication[:, slot], scores[:, task]).all() for task in range(5))
    interval = stats.interval_estimate(scores, stats.pooled_iqm, np.random.default_rng(2), reps=2000,
                                       task_bootstrap=True)
    assert interval.low[0] < interval.point[0] < interval.high[0]
