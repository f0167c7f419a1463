"""The README's commands and example stay true as the project grows."""

import pathlib
import re
import subprocess

import envs

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def command_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.+)\n```", README)
    assert match, f"README.md lacks a ```bash block after <!-- {marker} -->"
    return match.group(1)


def test_ci_runs_exactly_the_readme_test_command():
    extracted = subprocess.run(
        ["awk", "/<!-- test-command -->/ {getline; getline; print; exit}", "README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == command_after("test-command")
    assert "pytest" in extracted and "install" in extracted
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_main_command_installs_and_runs_rlab():
    command = command_after("main-command")
    assert "pip install -e ." in command and "&& rlab " in command


def test_python_examples_run():
    examples = re.findall(r"```python\n(.+?)```", README, re.S)
    # Examples that read a finished sweep's directory are exercised by the sweep tests.
    examples = [e for e in examples if "runs/" not in e]
    assert len(examples) >= 2
    for number, example in enumerate(examples):
        namespace: dict = {}
        exec(compile(example, f"README example {number}", "exec"), namespace)
        if "state" in namespace:
            assert namespace["state"].obs.shape == (namespace["env"].observation_size,)
        if "curves" in namespace:
            assert namespace["curves"].metrics["eval_success"].shape == (64, 6)
            assert len(namespace["frame"]) == 64 * 6


def test_every_registered_environment_is_documented():
    page = (ROOT / "docs" / "environments.md").read_text()
    for env_id in envs.registered():
        family = env_id.split("/")[0]
        documented_family = {"brax": "`brax/<name>`", "playground": "`playground/<Name>`"}.get(family)
        assert f"`{env_id}`" in page or (documented_family is not None and documented_family in page)


def test_readme_is_a_front_page_and_links_every_docs_page():
    assert len(README.splitlines()) <= 250
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "index.md":
            assert f"(docs/{page.name})" in README, f"README.md does not link docs/{page.name}"
