"""`rlab doctor`: every known defect of the installed JAX probed, exit 0 where rlab's programs are safe."""

import subprocess
import sys

from rlab import doctor


def test_doctor_runs_every_check_and_finds_rlabs_programs_safe_here():
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "doctor"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = [check.__name__.removeprefix("check_") for check in doctor.CHECKS]
    assert len(names) >= 4
    for name in names:
        assert any(line.startswith(f"{name}: ") for line in lines), (name, result.stdout)
    assert lines[0].startswith("versions: python ") and "jax " in lines[0]
    assert lines[-1] == "rlab's programs are safe here"


def test_a_failed_check_fails_the_doctor(monkeypatch):
    failing = lambda: doctor.Check("probe", False, "wrong")  # noqa: E731
    monkeypatch.setattr(doctor, "CHECKS", (failing,))
    said = []
    assert doctor.run(said.append) == 1
    assert "probe: wrong" in said and said[-1] == "1 check(s) failed"
