"""The report page in a real headless browser (Debian's chromium): every figure renders, no console errors."""

import pathlib
import re
import shutil
import subprocess

import pytest

from rlab import report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def page(finished):
    return report.build(finished)


from tests.rlab.test_report import finished  # noqa: E402,F401  (the sweep fixture)


def browse(page, *flags, tmp_path):
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *flags, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def test_every_figure_renders_without_console_errors(page, tmp_path):
    result = browse(page, "--dump-dom", tmp_path=tmp_path)
    images = len(re.findall(r"<img ", page.read_text()))
    rendered = re.search(r'data-figures-rendered="(\d+)"', result.stdout)
    assert rendered, result.stderr[-2000:]
    assert int(rendered.group(1)) == images > 5
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console


def test_a_screenshot_of_the_report_is_taken(page, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report.png"
    shot.unlink(missing_ok=True)
    result = browse(page, f"--screenshot={shot}", "--window-size=1200,2400", tmp_path=tmp_path)
    assert shot.exists() and shot.stat().st_size > 50_000, result.stderr[-2000:]
    print(f"screenshot: {shot}")
