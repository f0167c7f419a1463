"""Every experiment spec shipped in experiments/ validates."""

import pathlib

import pytest

from rlab import spec as spec_lib, sweep

SPECS = sorted((pathlib.Path(__file__).resolve().parents[1] / "experiments").glob("*.toml"))


def test_there_are_experiment_specs():
    assert SPECS


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_validates_and_plans_groups(path):
    spec = spec_lib.load(path)
    assert spec.name == path.stem
    assert sweep.groups(spec)
