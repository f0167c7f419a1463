"""The manual in docs/ builds into a site without a warning, and its Python examples run."""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "index.html").exists()
    for page in PAGES:
        built = tmp_path / "site" / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert built.exists(), f"{page.name} is not in the site"


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        assert f": {page.name}" in nav, f"{page.name} is missing from mkdocs.yml's nav"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_no_page_links_outside_the_manual(page):
    # Files of the repository are named as code paths; a relative link to one would break in the site.
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        assert target.startswith(("http", "#")) or re.fullmatch(r"[\w-]+\.md(#[\w-]+)?", target), target
