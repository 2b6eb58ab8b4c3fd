"""The README is the front door: short, and every link in it leads somewhere.

The docs site's links are checked by ``mkdocs build --strict`` (in ``make test``); the README is
read on the repository's page, outside the site, so its relative links are checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def test_every_relative_link_of_the_readme_resolves() -> None:
    text = README.read_text("utf-8")
    targets = [m["target"] for m in LINK.finditer(text) if "://" not in m["target"]]
    assert targets, "the README links into the docs"
    broken = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert broken == []


def test_the_readme_stays_a_front_door() -> None:
    # Reference, figures and internals live in docs/; a few hundred lines is the README's size.
    assert len(README.read_text("utf-8").splitlines()) <= 400
