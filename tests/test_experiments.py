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


def _experiment_module(name):
    return _load_path(pathlib.Path(__file__).resolve().parents[1] / "experiments" / name / "analyse.py")


def _load_path(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"experiment_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeds_disagree_readme_numbers_come_from_its_committed_results():
    module = _experiment_module("seeds_disagree")
    readme = (module.HERE / "README.md").read_text()
    assert module.results_block(module.load_tables()) in readme


def test_es_noise_readme_numbers_come_from_its_committed_results():
    module = _experiment_module("es_noise")
    readme = (module.HERE / "README.md").read_text()
    assert module.results_block(module.load_tables()) in readme


def test_one_more_dim_readme_numbers_come_from_its_committed_results():
    module = _experiment_module("one_more_dim")
    readme = (module.HERE / "README.md").read_text()
    tables = module.load_tables()
    assert module.results_block(tables) in readme
    # The cliff table agrees with the success table it summarises, recomputed from the curves.
    curves = module.pd.read_parquet(module.curves_path("point_mass"))
    final = curves[curves["eval"] == curves["eval"].max()]
    ppo = final[(final["algo"] == "ppo") & (final["reward"] == "sparse") & (final["level"] == 3)]
    row = tables["success"].query("task == 'point_mass' and reward == 'sparse' and method == 'ppo' and level == 3")
    assert len(ppo) == 256 and float(row["success"].iloc[0]) == (ppo["eval_success"] >= 0.5).mean()


def test_swiss_cheese_readme_numbers_come_from_its_committed_probes():
    module = _experiment_module("swiss_cheese")
    readme = (module.HERE / "README.md").read_text()
    block = module.results_block()
    assert "### bandit" in block and "### point_mass" in block
    assert block in readme


def test_top_level_claims_table_comes_from_the_experiments():
    claims = _load_path(pathlib.Path(__file__).resolve().parents[1] / "experiments" / "claims.py")
    readme = claims.README.read_text()
    assert claims.table() in readme
