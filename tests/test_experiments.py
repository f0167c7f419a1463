"""Every experiment spec shipped in experiments/ validates."""

import pathlib

import pytest

from rlab import spec as spec_lib

SPECS = sorted((pathlib.Path(__file__).resolve().parents[1] / "experiments").glob("**/*.toml"))


def test_there_are_experiment_specs():
    assert SPECS


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_validates_and_plans_groups(path):
    spec = spec_lib.load(path)
    assert spec.name == path.stem
    assert spec.groups()


def _load_path(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"experiment_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLAIMS = _load_path(pathlib.Path(__file__).resolve().parents[1] / "experiments" / "claims.py")


@pytest.mark.parametrize("item", CLAIMS.EXPERIMENTS, ids=[e.name for e in CLAIMS.EXPERIMENTS])
def test_readme_numbers_come_from_the_committed_results(item):
    assert item.results_block() in item.readme.read_text()
    assert (item.folder / item.figure).is_file()


def test_one_more_dim_cliff_table_agrees_with_its_curves():
    module = next(e for e in CLAIMS.EXPERIMENTS if e.name == "one_more_dim").module()
    tables = module.load_tables()
    # The cliff table agrees with the success table it summarises, recomputed from the curves.
    curves = module.pd.read_parquet(module.curves_path("point_mass"))
    final = curves[curves["eval"] == curves["eval"].max()]
    ppo = final[(final["algo"] == "ppo") & (final["reward"] == "sparse") & (final["level"] == 3)]
    row = tables["success"].query("task == 'point_mass' and reward == 'sparse' and method == 'ppo' and level == 3")
    assert len(ppo) == 256 and float(row["success"].iloc[0]) == (ppo["eval_success"] >= 0.5).mean()


def test_swiss_cheese_block_holds_both_probed_tasks():
    item = next(e for e in CLAIMS.EXPERIMENTS if e.name == "swiss_cheese")
    block = item.results_block()
    assert "### bandit" in block and "### point_mass" in block


def test_top_level_claims_table_comes_from_the_experiments():
    assert CLAIMS.table() in CLAIMS.README.read_text()


def test_every_experiment_folder_with_an_analysis_is_listed():
    listed = {e.name for e in CLAIMS.EXPERIMENTS}
    folders = {p.parent.name for p in (CLAIMS.HERE).glob("*/analyse.py")}
    assert folders == listed


def test_es_family_tables_agree_with_its_curves_and_with_scipy():
    import numpy as np
    from scipy import stats as sps

    module = next(e for e in CLAIMS.EXPERIMENTS if e.name == "es_family").module()
    tables = module.load_tables()
    curves = module.pd.read_parquet(module.CURVES)
    assert sorted(curves["seed"].unique()) == list(range(3000, 3064))  # fresh seeds: one_more_dim used 0-255
    final = curves[curves["eval"] == curves["eval"].max()]
    wins = {algo: int((final[(final["algo"] == algo) & (final["dim"] == 3)]["eval_success"] >= 0.5).sum())
            for algo in ("openai_es", "random_search")}
    row = tables["random_search_vs"].query("dim == 3 and method == 'openai_es'").iloc[0]
    assert (row["method_successes"], row["random_search_successes"]) == (wins["openai_es"], wins["random_search"])
    expected = sps.fisher_exact([[wins["openai_es"], 64 - wins["openai_es"]],
                                 [wins["random_search"], 64 - wins["random_search"]]]).pvalue
    assert np.isclose(row["fisher_p"], expected, rtol=1e-12)
    assert (tables["controls"]["ceiling_successes"] == tables["controls"]["ceiling_episodes"]).all()


def test_every_committed_one_more_dim_cell_recomputes_from_its_curves():
    """Each success cell (every task, reward, method, level): seeds and successes from the committed curves,
    the Wilson interval from scipy's binomtest, not rlab's."""
    import numpy as np
    import scipy.stats

    module = next(e for e in CLAIMS.EXPERIMENTS if e.name == "one_more_dim").module()
    success = module.load_tables()["success"]
    checked = 0
    for task in success["task"].unique():
        curves = module.pd.read_parquet(module.curves_path(task))
        final = curves[curves["eval"] == curves["eval"].max()]
        for row in success[success["task"] == task].itertuples():
            cell = final[(final["reward"] == row.reward) & (final["algo"] == row.method) & (final["level"] == row.level)]
            wins = int((cell["eval_success"] >= 0.5).sum())
            interval = scipy.stats.binomtest(wins, len(cell)).proportion_ci(0.95, method="wilson")
            assert (len(cell), wins / len(cell)) == (row.seeds, row.success), (task, row)
            assert np.isclose(interval.low, row.low, atol=1e-9) and np.isclose(interval.high, row.high, atol=1e-9)
            assert int(cell["env_steps"].iloc[0]) == row.env_steps
            checked += 1
    assert checked == len(success) and checked >= 100
