"""Landscape probes against independent truths: closed forms, scipy, finite differences, brute-force Monte Carlo."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from scipy import stats as scipy_stats

import envs
from rlab import cli, stats
from rlab.probes import budget, gradients, laws, probe_report, run, surface, zero_law
from rlab.store import probes as store
from rlab.trainers.population import FlatPolicy


# ----- closed forms -----------------------------------------------------------------------------


def test_log_hit_probability_grads_match_finite_differences_and_the_one_dimensional_closed_form():
    env = envs.make("cheese_bandit", dim=3, num_holes=2, hole_radius=0.4)
    mean, std, h = np.array([0.1, -0.2, 0.3]), 0.6, 1e-6
    d_mean, d_std = env.log_hit_probability_grads(mean, std)
    log_p = lambda m, s: float(np.log(env.hit_probability(m, s)))  # noqa: E731
    numeric = [(log_p(mean + h * e, std) - log_p(mean - h * e, std)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(d_mean, numeric, rtol=1e-6)
    # Moving every std_j together is moving the isotropic std.
    assert d_std.sum() == pytest.approx((log_p(mean, std + h) - log_p(mean, std - h)) / (2 * h), rel=1e-6)
    # One dimension: P = Phi((c + r - m) / s) - Phi((c - r - m) / s), differentiated by hand.
    one = envs.make("cheese_bandit", dim=1, hole_radius=0.3)
    c, r, m, s = float(one.hole_centres[0, 0]), 0.3, 0.2, 0.5
    upper, lower = (c + r - m) / s, (c - r - m) / s
    p = scipy_stats.norm.cdf(upper) - scipy_stats.norm.cdf(lower)
    exact_mean = -(scipy_stats.norm.pdf(upper) - scipy_stats.norm.pdf(lower)) / s / p
    exact_std = -(scipy_stats.norm.pdf(upper) * upper - scipy_stats.norm.pdf(lower) * lower) / s / p
    got_mean, got_std = one.log_hit_probability_grads(np.array([m]), s)
    assert got_mean[0] == pytest.approx(exact_mean, rel=1e-9)
    assert got_std[0] == pytest.approx(exact_std, rel=1e-9)


def test_log_hit_probability_grads_stay_finite_where_the_probability_underflows():
    env = envs.make("cheese_bandit", dim=2000, hole_radius=0.05)
    mean = np.zeros(2000)
    assert env.hit_probability(mean, 1.0) == 0.0  # underflows
    d_mean, d_std = env.log_hit_probability_grads(mean, 1.0)
    assert np.isfinite(d_mean).all() and np.isfinite(d_std).all()
    # Far from every hole the log-gradient points at the hole: cosine with (c - mean) near 1.
    towards = env.hole_centres[0] - mean
    assert d_mean @ towards / np.linalg.norm(d_mean) / np.linalg.norm(towards) > 0.99


def test_unbiased_power_is_exactly_unbiased():
    total, q = 40, 0.83
    counts = np.arange(total + 1)
    for n in (1, 5, 17, 40):
        expectation = np.sum(scipy_stats.binom.pmf(counts, total, q) * zero_law.unbiased_power(counts, total, n))
        assert expectation == pytest.approx(q**n, rel=1e-10)


def test_ars_law_matches_a_brute_force_simulation_of_top_b_with_ties_in_order():
    rng = np.random.default_rng(0)
    p00, p11, n, b, trials = 0.7, 0.12, 6, 3, 200_000
    kinds = rng.choice(3, size=(trials, n), p=[p00, 1 - p00 - p11, p11])  # 0: neither, 1: exactly one, 2: both
    rewarded = kinds > 0
    # Stable sort on -max(r+, r-): ties keep their order, as lax.top_k does.
    order = np.argsort(-rewarded.astype(int), axis=1, kind="stable")[:, :b]
    top = np.take_along_axis(kinds, order, axis=1)
    zero = ~np.any(top == 1, axis=1)
    simulated = zero.mean()
    assert laws.ars_zero(p00, p11, n, b) == pytest.approx(simulated, abs=4 * np.sqrt(simulated * (1 - simulated) / trials))


# ----- the zero-update law, measured on the trainers ---------------------------------------------

# init_std values that take p, the initial policy's hit probability on this bandit, from ~0.55 to ~0.007.
STDS = (0.6, 1.0, 2.0, 4.0, 10.0, 25.0, 60.0)


@pytest.mark.parametrize("baseline", ["none", "leave_one_out"])
def test_reinforce_zero_gradient_fraction_follows_its_law(baseline):
    env = envs.make("cheese_bandit", dim=1, hole_radius=0.5)
    per_point = 400
    stds = np.repeat(STDS, per_point)
    flags = zero_law.measure("reinforce", env, {"baseline": baseline, "num_envs": 4, "width": 8, "depth": 1},
                             range(stds.size), lane_values={"init_std": stds})
    inside, ps = 0, []
    for std in STDS:
        chosen = stds == std
        zero = flags["zero"][chosen]
        interval = stats.success_rate(int(zero.sum()), zero.size, 0.99)
        predicted = flags["predicted"][chosen].mean()
        ps.append(flags["p"][chosen].mean())
        inside += interval.low <= predicted <= interval.high
        # No point is far off: all within the 99.9% interval.
        wide = stats.success_rate(int(zero.sum()), zero.size, 0.999)
        assert wide.low <= predicted <= wide.high, (std, zero.mean(), predicted)
    assert inside >= 6
    assert max(ps) > 0.5 and min(ps) < 0.01
    # The zero estimates are exactly the batches the law counts: none without reward, LOO also all-rewarded.
    if baseline == "none":
        np.testing.assert_array_equal(flags["zero"], flags["no_reward"])


def _law_holds_per_std(flags, stds, levels=(0.99, 0.999)):
    """How many init_std points have the mean law inside the measured 99% Wilson interval; all inside 99.9%."""
    inside = 0
    for std in np.unique(stds):
        chosen = stds == std
        zero = flags["zero"][chosen]
        predicted = flags["predicted"][chosen].mean()
        interval = stats.success_rate(int(zero.sum()), zero.size, levels[0])
        inside += interval.low <= predicted <= interval.high
        wide = stats.success_rate(int(zero.sum()), zero.size, levels[1])
        assert wide.low <= predicted <= wide.high, (std, zero.mean(), predicted)
    return inside


def test_ppo_bandit_law_holds_at_a_minibatch_size_that_is_not_a_power_of_two():
    # One minibatch of 12 one-step episodes: a constant batch must give exactly zero advantages.
    env = envs.make("cheese_bandit", dim=1, hole_radius=0.5)
    stds = np.repeat((0.6, 1.0, 2.0, 4.0), 300)
    flags = zero_law.measure("ppo", env, {"num_envs": 12, "num_minibatches": 1, "rollout_length": 1, "width": 8,
                                          "depth": 1}, range(stds.size), lane_values={"init_std": stds})
    assert _law_holds_per_std(flags, stds) >= 3
    # Zero updates are exactly the constant batches: every episode missed, or every one hit.
    assert flags["zero"].mean() > 0.05


def test_es_trainer_stands_still_exactly_when_every_antithetic_pair_ties():
    # A wide hole makes both-hit pairs common, where (P00 + P11)^n and P00^n + P11^n part ways.
    env = envs.make("cheese_bandit", dim=1, hole_radius=0.5)
    scales = np.repeat((0.01, 1.0, 3.0), 400)  # the initial policies' output scale: where theta starts
    flags = zero_law.measure("openai_es", env, {"population": 6, "width": 8, "depth": 1, "noise_std": 0.5},
                             range(scales.size), lane_values={"output_scale": scales}, mc_episodes=4096)
    assert _law_holds_per_std(flags, scales) >= 2
    assert flags["zero"].mean() > 0.05


# ----- gradient quality ----------------------------------------------------------------------------


def test_large_batch_reinforce_estimate_aligns_with_the_exact_gradient():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.5)
    policy = gradients.gaussian_policy(env, 8, 1)
    # A wide initial policy around a hole: most of the gradient is "shrink the std".
    params = policy.init(jax.random.PRNGKey(0), 0.01, 1.5)
    exact = gradients.exact_log_gradient(env, policy, params)
    estimates = gradients.reinforce_estimates(env, policy, params, 100_000, "leave_one_out", jax.random.PRNGKey(1), 8)
    assert gradients.direction_quality(estimates, exact)["cosine"] > 0.99
    # The check can fail: the same estimates against a chain rule that forgets the log-std fall short.
    log_std_entries = ravel_pytree({k: (np.ones_like(v) if k == "log_std" else jax.tree.map(np.zeros_like, v))
                                    for k, v in params.items()})[0]
    without_std = np.where(np.asarray(log_std_entries) > 0, 0.0, exact)
    assert gradients.direction_quality(estimates, without_std)["cosine"] < 0.5


def test_small_batches_align_worse_than_large_ones():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.3)
    policy = gradients.gaussian_policy(env, 8, 1)
    params = policy.init(jax.random.PRNGKey(0), 0.01, 0.5)
    exact = gradients.exact_log_gradient(env, policy, params)
    small = gradients.direction_quality(gradients.reinforce_estimates(env, policy, params, 8, "none", jax.random.PRNGKey(2), 64), exact)
    large = gradients.direction_quality(gradients.reinforce_estimates(env, policy, params, 2048, "none", jax.random.PRNGKey(3), 64), exact)
    assert small["cosine_high"] < large["cosine_low"]
    assert small["zero_fraction"] > 0.3 and large["zero_fraction"] == 0.0
    assert small["snr"] < large["snr"]


def test_es_direction_aligns_with_the_exact_smoothed_gradient():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.3)
    linear = FlatPolicy(env, 8, 0)
    theta = linear.sample_initial(jax.random.PRNGKey(0), 0.01)
    exact = gradients.exact_smoothed_log_gradient(env, linear, theta, 0.5)
    estimates = gradients.es_estimates(env, linear, theta, 0.5, 20_000, jax.random.PRNGKey(1), 8)
    assert gradients.direction_quality(estimates, exact)["cosine"] > 0.9
    with pytest.raises(ValueError, match="depth = 0"):
        gradients.exact_smoothed_log_gradient(env, FlatPolicy(env, 8, 1), FlatPolicy(env, 8, 1).sample_initial(jax.random.PRNGKey(0), 0.01), 0.5)


def test_exact_gradient_is_refused_on_a_task_without_a_closed_form():
    env = envs.make("cheese_point_mass", dim=2)
    policy = gradients.gaussian_policy(env, 8, 1)
    with pytest.raises(ValueError, match="only cheese_bandit"):
        gradients.exact_log_gradient(env, policy, policy.init(jax.random.PRNGKey(0), 0.01, 0.5))


# ----- budget: random search and the first rewarded batch ------------------------------------------


def test_random_search_success_and_first_hits_follow_their_laws():
    env = envs.make("cheese_bandit", dim=3, hole_radius=0.3)
    rows = budget.measure("random_search", env, {"population": 8, "reevaluation_episodes": 4, "width": 8, "depth": 1},
                          range(400), budget=16 * 12)
    interval = stats.success_rate(int(rows["success"].sum()), len(rows), 0.99)
    predicted = rows["predicted_success"].iloc[0]
    assert 0.2 < predicted < 0.8  # a point where the law is informative
    assert interval.low <= predicted <= interval.high
    # On the bandit a rewarded screen is a found policy: success and "a batch was rewarded" coincide.
    np.testing.assert_array_equal(rows["success"], rows["first_hit"] > 0)
    table = budget.survival_table(rows, confidence=0.99)
    for k in (1, 4, 8):
        assert table["low"][k] <= table["predicted"][k] <= table["high"][k]


# ----- surfaces ----------------------------------------------------------------------------------


def test_surface_of_a_linear_policy_matches_the_closed_forms():
    env = envs.make("cheese_bandit", dim=2, hole_radius=0.3, num_holes=4)
    frame = surface.measure(env, depth=0, points=21, plane=True, noise_std=0.3)
    assert len(frame) == 21 * 21
    # The deterministic objective is an indicator; the Gaussian and smoothed ones never vanish exactly.
    assert set(np.unique(frame["deterministic"])) <= {0.0, 1.0}
    assert (frame["deterministic"] == (frame["hole"] >= 0)).all()
    assert frame["smoothed"].min() > 0
    summary = surface.summarise(frame)
    assert summary["flat_deterministic"] > summary["flat_smoothed"]


# ----- the runner, the command and the store -----------------------------------------------------


def test_probe_run_stores_every_probe_and_the_report_draws_them(tmp_path):
    config = run.default_config("cheese_bandit")
    config.update(dims=[1], radii=[0.4], batch_sizes=[4], zero_law_variants=["reinforce/none"],
                  budget_methods=["random_search"], gradient_batch_sizes=[8], gradient_repeats=4, seeds=32, budget=64)
    run.run(config, tmp_path / "probe", quiet=True)
    tables = store.load(tmp_path / "probe")
    assert set(tables) == set(run.PROBES)
    path = probe_report.build(tmp_path / "probe")
    html = path.read_text()
    assert html.count("<img") == len(list((tmp_path / "probe" / "figures").glob("*.png"))) >= 9
    for title in ("Zero-update law", "Gradient quality", "first rewarded batch", "Where each method wins", "over a plane"):
        assert title in html


def _rlab(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_probe_command_resumes_and_recomputes_only_a_damaged_part(tmp_path):
    out = tmp_path / "probe"
    args = ("probe", "cheese_bandit", "--probes", "surface", "--dims", "1", "--radii", "0.3", "--out", str(out))
    first = _rlab(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((out / "probe.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["parts"]) == 2
    assert (out / "report" / "index.html").exists()
    part, entry = sorted(manifest["parts"].items())[0]
    (out / entry["file"]).write_bytes(b"not parquet")
    assert store.part_problem(out, entry) is not None
    assert len(store.load(out)["surface"]) < sum(e["rows"] for e in manifest["parts"].values())
    again = _rlab(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count(f"] {part}:") == 1 and again.stderr.count("] surface") == 1
    assert store.part_problem(out, json.loads((out / "probe.json").read_text())["parts"][part]) is None


@pytest.mark.parametrize("args, message", [
    (("probe", "cheese_lock"), "task"),
    (("probe", "cheese_bandit", "--probes", "zero_law,wobble"), "probes"),
    (("probe", "cheese_point_mass", "--probes", "gradients"), "gradients"),
    (("probe", "cheese_bandit", "-p", "dim=3"), "--dims"),
    (("probe", "cheese_bandit", "--radii", "0.2,1.5"), "radii"),
    (("probe", "cheese_bandit", "--batch-sizes", "3"), "even"),
    (("probe", "cheese_bandit", "--dims", "1,x"), "--dims"),
    (("probe", "cheese_bandit", "--seeds", "0"), "seeds"),
    (("probe", "cheese_bandit", "-p", "num_holes=0"), "num_holes"),
])
def test_probe_command_refuses_bad_input_without_creating_anything(tmp_path, capsys, args, message):
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "out").exists()
