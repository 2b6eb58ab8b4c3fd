"""The built-in checks page lists every built-in check with exactly the options it takes.

A row's options are the check's keyword arguments (``__init__``'s), plus ``region`` and
``endpoint_url``, which every AWS check takes whether its ``__init__`` declares them or not
(the page says so above the table, so an AWS row need not repeat them).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from checks.aws import AwsCheck
from checks.registry import BUILTIN_CHECKS, resolve

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<type>\w+)` \| [^|]+ \| (?P<options>[^|]+) \| [^|]+ \|$", re.MULTILINE)
AWS_OPTIONS = {"region", "endpoint_url"}


def documented() -> dict[str, set[str]]:
    text = (ROOT / "docs/checks.md").read_text("utf-8")
    rows: dict[str, set[str]] = {}
    for row in ROW.finditer(text):
        # A parenthesis explains an option (its default, what it is for): not an option.
        options = re.sub(r"\([^)]*\)", "", row["options"])
        rows[row["type"]] = set(re.findall(r"`(\w+)`", options))
    return rows


def test_every_built_in_check_has_a_row() -> None:
    assert sorted(documented()) == sorted(BUILTIN_CHECKS)


@pytest.mark.parametrize("name", sorted(BUILTIN_CHECKS))
def test_a_rows_options_are_the_checks_keyword_arguments(name: str) -> None:
    cls = resolve(name)
    takes = {
        n
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    shown = documented()[name]
    if issubclass(cls, AwsCheck):
        takes |= AWS_OPTIONS
        shown |= AWS_OPTIONS
    assert shown == takes
