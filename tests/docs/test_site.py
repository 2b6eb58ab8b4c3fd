"""The site's build fails on a broken link, as `make test` runs it.

``make test`` builds the site with ``mkdocs build --strict`` and the ``validation`` settings of
``mkdocs.yml``; these tests build a two-page site with those same settings and show that a
missing page, a missing anchor or a page left out of the nav fails it, and that the Makefile
runs the build in the one way that fails (``--quiet`` makes mkdocs 1.6 drop the warnings, and
``--strict`` then passes).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def build(tmp_path: Path, index: str, *, nav: bool = True) -> subprocess.CompletedProcess[str]:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "index.md").write_text(index, "utf-8")
    (docs / "other.md").write_text("# Other\n\n## A section\n", "utf-8")
    ours = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    config = {
        "site_name": "t",
        "docs_dir": str(docs),
        "site_dir": str(tmp_path / "site"),
        "validation": ours["validation"],
        "markdown_extensions": ["toc"],
    }
    config["nav"] = [{"Home": "index.md"}, *([{"Other": "other.md"}] if nav else [])]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), "utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_sound_site_builds(tmp_path: Path) -> None:
    built = build(tmp_path, "# Home\n\n[other](other.md#a-section)\n")
    assert built.returncode == 0, built.stderr


@pytest.mark.parametrize(
    ("index", "nav", "said"),
    [
        ("[gone](gone.md)", True, "'gone.md'"),
        ("[anchor](other.md#no-such-section)", True, "#no-such-section"),
        ("[other](other.md)", False, 'not included in the "nav"'),
    ],
    ids=["missing page", "missing anchor", "page not in nav"],
)
def test_a_broken_site_fails(tmp_path: Path, index: str, nav: bool, said: str) -> None:
    built = build(tmp_path, f"# Home\n\n{index}\n", nav=nav)
    assert built.returncode != 0
    assert said in built.stderr


def test_make_test_builds_the_site_strictly_and_not_quietly() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    target = re.search(r"^test:.*?(?=^\S|\Z)", makefile, re.MULTILINE | re.DOTALL)
    assert target is not None
    builds = [line for line in target[0].splitlines() if "mkdocs build" in line]
    assert builds, "make test builds the site"
    for line in builds:
        assert "--strict" in line
        assert not re.search(r"\s(-q|--quiet)\b", line)
