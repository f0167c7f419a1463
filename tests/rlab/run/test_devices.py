"""One CPU device per core (`rlab.run.devices`): the default of the command line, and what overrides it."""

import os
import subprocess
import sys

from rlab.run import devices

SHOW_DEVICES = "from rlab.run import devices; print(devices.use_cpu_cores()); import jax; print(len(jax.devices()))"


def devices_with(env: dict) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("RLAB_CPU_DEVICES", "XLA_FLAGS")}
    result = subprocess.run([sys.executable, "-c", SHOW_DEVICES], capture_output=True, text=True,
                            env={**clean, **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_one_cpu_device_per_usable_core_unless_the_user_chose():
    cores = devices.usable_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert devices_with({}) == [str(cores), str(cores)]
    assert devices_with({"RLAB_CPU_DEVICES": "3"}) == ["3", "3"]
    # The user's own XLA flag wins, and is left alone.
    assert devices_with({"XLA_FLAGS": "--xla_force_host_platform_device_count=5"}) == ["None", "5"]


def test_a_bad_device_count_is_a_usage_error():
    clean = {k: v for k, v in os.environ.items() if k != "RLAB_CPU_DEVICES"}
    result = subprocess.run([sys.executable, "-m", "rlab.cli", "envs"], capture_output=True, text=True,
                            env={**clean, "RLAB_CPU_DEVICES": "0"}, timeout=120)
    assert result.returncode == 2
    assert "RLAB_CPU_DEVICES = '0'; allowed: an integer >= 1" in result.stderr and "Traceback" not in result.stderr


def test_too_late_to_choose_changes_nothing():
    import jax

    jax.devices()  # the backends have started in this process
    assert devices.use_cpu_cores(4) is None
