"""Your environment and your algorithm by name: a module outside rlab, in a temporary folder, runs everywhere."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

import envs
from envs.params import ParamError
from tests.sweep_cases import LAUNCH_DEVICES, stored_rows

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    """A folder outside the repository holding the user's module and spec, as a user would have them."""
    folder = tmp_path_factory.mktemp("user")
    for name in ("my_tasks.py", "corridor.toml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


@pytest.fixture
def on_path(user_folder, monkeypatch):
    monkeypatch.syspath_prepend(str(user_folder))
    return user_folder


def rlab_cli(folder, *args, timeout=600):
    """The `rlab` command with the user's folder on PYTHONPATH, run from that folder."""
    env = {**os.environ, "PYTHONPATH": str(folder), "RAY_USAGE_STATS_ENABLED": "0", **LAUNCH_DEVICES}
    return subprocess.run([sys.executable, "-m", "rlab.cli", *args], capture_output=True, text=True, cwd=folder,
                          env=env, timeout=timeout)


def test_a_users_environment_is_made_by_name_with_its_own_parameters(on_path):
    corridor = envs.make("my_tasks:Corridor", length=6)
    assert corridor.params == {"length": 6, "step_size": 0.5, "episode_length": 1000}
    assert corridor.has_success  # its own success metric is kept
    spec = envs.lookup("my_tasks:Corridor")
    assert {p.name: p.kind for p in spec.params} == {"length": int, "step_size": float, "episode_length": int}
    plain = envs.make("my_tasks:make_noisy_corridor", noise=0.3)  # a function returning an Env
    assert not plain.has_success and plain.params["noise"] == 0.3
    with pytest.raises(ParamError, match="parameter 'length' = 2.5 has type float"):
        envs.make("my_tasks:Corridor", length=2.5)


@pytest.mark.parametrize("env_id, message", [
    ("not_a_module_of_anyone:Task", "module 'not_a_module_of_anyone' does not import (ModuleNotFoundError"),
    ("my_tasks:Nope", "module 'my_tasks' has no 'Nope'; it has Corridor"),
    ("my_tasks:WIDE_ES", "a Algorithm object, neither a brax.envs.Env subclass nor a function returning one"),
    ("my_tasks:Corridor:x", "not an id; allowed: a registered id, or package.module:Name"),
])
def test_a_bad_id_is_one_line_and_creates_nothing(user_folder, tmp_path, env_id, message):
    spec = (user_folder / "corridor.toml").read_text().replace('env = "my_tasks:Corridor"', f'env = "{env_id}"')
    (tmp_path / "bad.toml").write_text(spec)
    result = rlab_cli(user_folder, "sweep", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_a_users_algorithm_keeps_the_contract_and_a_miscounted_one_is_named(user_folder, on_path):
    from rlab.trainers import contract

    assert contract.check("my_tasks:WIDE_ES") == []
    result = rlab_cli(user_folder, "algos", "my_tasks:MISCOUNTED_ES", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines() if ":" in line}
    assert "broken" in lines["budget"] and "reports env_steps" in lines["budget"]
    assert all("ok" in lines[p] for p in ("shapes", "determinism", "vmap", "floats"))


def test_a_sweep_of_a_users_task_and_algorithm_is_bitwise_the_same_alone_shared_and_on_ray(user_folder, tmp_path):
    spec = str(user_folder / "corridor.toml")
    alone = rlab_cli(user_folder, "sweep", spec, "--out", str(tmp_path / "alone"), "--cache-dir", "none")
    assert alone.returncode == 0, alone.stderr
    env = {**os.environ, "PYTHONPATH": str(user_folder), **LAUNCH_DEVICES}
    shares = [subprocess.Popen([sys.executable, "-m", "rlab.cli", "sweep", spec, "--out", str(tmp_path / "shared"),
                                "--process", f"{i}/2", "--cache-dir", "none", "--quiet"], cwd=user_folder, env=env,
                               stderr=subprocess.PIPE, text=True) for i in (0, 1)]
    for share in shares:
        _, errors = share.communicate(timeout=600)
        assert share.returncode == 0, errors
    reference = stored_rows(tmp_path / "alone")
    assert set(reference["env.step_size"]) == {0.25, 0.5} and reference["algo"].eq("my_tasks:WIDE_ES").all()
    pd.testing.assert_frame_equal(reference, stored_rows(tmp_path / "shared"))
    pytest.importorskip("ray")
    on_ray = rlab_cli(user_folder, "sweep", spec, "--out", str(tmp_path / "ray"), "--ray", "--cache-dir", "none")
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    pd.testing.assert_frame_equal(reference, stored_rows(tmp_path / "ray"))


@pytest.fixture
def separate_ray_cluster(tmp_path):
    """A Ray cluster started apart from the driver, as on a cluster's head node: without the user's PYTHONPATH,
    in another folder. Yields its HOST:PORT; stopped (only this one) afterwards."""
    pytest.importorskip("ray")
    from ray._private.services import get_node_ip_address

    with socket.socket() as probe:
        probe.bind(("", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    (tmp_path / "head").mkdir()
    head = subprocess.Popen(["ray", "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
                             "--include-dashboard", "false"], cwd=tmp_path / "head", env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    host = get_node_ip_address()
    try:
        for _ in range(60):  # the head takes a few seconds to listen
            with socket.socket() as probe:
                if probe.connect_ex((host, port)) == 0:
                    break
            time.sleep(1)
        yield f"{host}:{port}"
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops its own processes, not other clusters'
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)


def test_a_joined_ray_clusters_workers_get_the_users_module_or_one_line_saying_what_they_lack(
        user_folder, separate_ray_cluster, tmp_path):
    elsewhere = tmp_path / "elsewhere"  # the driver runs away from the module: nothing on the workers' path
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(user_folder), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           **LAUNCH_DEVICES}

    def sweep(spec, out):
        command = [sys.executable, "-m", "rlab.cli", "sweep", str(spec), "--out", str(out), "--ray",
                   separate_ray_cluster, "--cache-dir", "none", "--quiet"]
        return subprocess.run(command, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)

    shipped = sweep(user_folder / "corridor.toml", tmp_path / "shipped")
    assert shipped.returncode == 0, shipped.stderr
    alone = rlab_cli(user_folder, "sweep", str(user_folder / "corridor.toml"), "--out", str(tmp_path / "alone"),
                     "--cache-dir", "none", "--quiet")
    assert alone.returncode == 0, alone.stderr
    pd.testing.assert_frame_equal(stored_rows(tmp_path / "alone"), stored_rows(tmp_path / "shipped"))

    # A module that imports a helper the workers do not have (it is on the driver's path only).
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "corridor_helpers.py").write_text("SCALE = 1.0\n")
    (user_folder / "needs_helper.py").write_text("import corridor_helpers\nfrom my_tasks import Corridor, WIDE_ES\n")
    spec = tmp_path / "helper.toml"
    spec.write_text((user_folder / "corridor.toml").read_text().replace("my_tasks:", "needs_helper:"))
    env["PYTHONPATH"] = f"{user_folder}{os.pathsep}{helpers}"
    refused = sweep(spec, tmp_path / "refused")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "the cluster's workers cannot import needs_helper (ModuleNotFoundError: No module " \
        "named 'corridor_helpers')" in lines[0], refused.stderr
    assert not (tmp_path / "refused").exists()


def test_a_written_slurm_script_and_kubernetes_job_put_the_users_module_on_every_tasks_path(user_folder, tmp_path):
    spec, out, script = user_folder / "corridor.toml", tmp_path / "slurm", tmp_path / "sweep.sbatch"
    written = rlab_cli(user_folder, "launch", "slurm", str(spec), "--processes", "1", "--out", str(out),
                       "--write", str(script))
    assert written.returncode == 0, written.stderr
    assert f"export PYTHONPATH={user_folder}${{PYTHONPATH:+:$PYTHONPATH}}" in script.read_text()
    # The script as an array task runs it: elsewhere, without the user's PYTHONPATH (bash stands in for sbatch).
    task_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    task_env.update(SLURM_ARRAY_TASK_ID="0", SLURM_ARRAY_TASK_COUNT="1", **LAUNCH_DEVICES,
                    PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "node").mkdir()
    task = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=tmp_path / "node", env=task_env,
                          timeout=600)
    assert task.returncode == 0, task.stderr
    alone = rlab_cli(user_folder, "sweep", str(spec), "--out", str(tmp_path / "alone"), "--cache-dir", "none")
    assert alone.returncode == 0, alone.stderr
    pd.testing.assert_frame_equal(stored_rows(tmp_path / "alone"), stored_rows(out))

    job = rlab_cli(user_folder, "launch", "k8s", str(spec), "--processes", "2", "--image", "rlab:latest",
                   "--claim", "sweeps", "--out", str(tmp_path / "k8s"))
    assert job.returncode == 0, job.stderr
    import yaml

    container = yaml.safe_load(job.stdout)["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "PYTHONPATH", "value": str(user_folder)} in container["env"]


def test_an_installed_packages_entry_points_register_ids_listed_with_their_origin(user_folder, tmp_path):
    # An installed distribution as pip leaves one: its dist-info on the path, with entry_points.txt.
    shutil.copy(user_folder / "my_tasks.py", tmp_path / "my_tasks.py")
    info = tmp_path / "my_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rlab.envs]\ncorridor = my_tasks:Corridor\n\n"
                                           "[rlab.algorithms]\nwide_es = my_tasks:WIDE_ES\n")
    listed = rlab_cli(tmp_path, "envs")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split("│")[1].strip() == "corridor" for line in listed.stdout.splitlines() if "│" in line)
    assert "(from entry" in listed.stdout and "my-plugin)" in listed.stdout  # the description cell may wrap
    algos = rlab_cli(tmp_path, "algos")
    assert algos.returncode == 0 and "wide_es" in algos.stdout and "my-plugin" in algos.stdout, algos.stdout
    described = rlab_cli(tmp_path, "algos", "wide_es")
    assert described.returncode == 0 and "noise_std" in described.stdout


def test_a_task_without_success_gets_a_report_of_returns_that_says_so(on_path, tmp_path):
    from rlab import compare, report
    from rlab import spec as spec_lib
    from rlab.errors import UsageError
    from rlab.run import sweep

    text = (on_path / "corridor.toml").read_text().replace("my_tasks:Corridor", "my_tasks:make_noisy_corridor")
    text = text.replace("step_size = [0.25, 0.5]          # a parameter of Corridor's own, swept like any other",
                        "noise = [0.1, 0.2]")
    (tmp_path / "plain.toml").write_text(text)
    sweep.run(spec_lib.load(tmp_path / "plain.toml"), tmp_path / "out")
    report.build(tmp_path / "out")
    summary = (tmp_path / "out" / "report" / "summary.md").read_text()
    page = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "my_tasks:make_noisy_corridor defines no success: the report shows returns" in summary
    assert 'alt="success (' not in page and 'alt="fan (' in page
    with pytest.raises(UsageError, match="its task defines no success; allowed here: --metric return"):
        compare.side(tmp_path / "out", None, {"noise": "0.1"}, "success")
