"""One source for every default the docs state: the settings classes.

The configuration reference's tables are generated from the settings classes when the site is
built (``docs/hooks/reference.py``); these tests run that generator, and read every page and
the README for a default stated in prose (`` `key = value` `` next to the word "default") that
the code does not have.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from checks.aws import AwsCheck
from checks.base import Check
from service.config import FailoverSettings, Settings
from service.state.settings import StateSettings

ROOT = Path(__file__).resolve().parents[2]
MODELS: dict[str, type[BaseModel]] = {
    "service": Settings,
    "failover": FailoverSettings,
    "state": StateSettings,
}


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "docs/hooks/reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _hook()


def check_defaults() -> dict[str, list[Any]]:
    """What a ``[[checks]]`` entry gets when it sets nothing: every value a page may state."""
    return {
        "critical": [Check.critical],
        "scope": [Check.scope],
        "timeout": [Check.timeout, AwsCheck.timeout],
        # A critical regional check (the default kind) gets [failover] samples, not Check's 1.
        "samples": [FailoverSettings().samples],
    }


def expected(table: str | None, key: str) -> list[Any] | None:
    """The defaults ``key`` may be stated with: of ``table``'s model, else of the only model
    with that key; ``None`` when the key is nobody's or ambiguous."""
    if table == "checks":
        return check_defaults().get(key)
    if table is not None:
        field = MODELS[table].model_fields.get(key)
        return None if field is None or field.default is None else [field.default]
    owners = [m for m in MODELS.values() if key in m.model_fields]
    if len(owners) != 1 or owners[0].model_fields[key].default is None:
        return None
    return [owners[0].model_fields[key].default]


STATED = re.compile(
    r"(?:`\[(?P<table>\w+)\]`\s*)?`(?:\[(?P<inner>\w+)\]\s+)?(?P<key>\w+) = (?P<value>[^`]+)`"
)
DEFAULT = re.compile(r"\bdefaults?\b", re.IGNORECASE)


def prose(text: str) -> str:
    """``text`` without its fenced code blocks (samples show chosen values, not defaults)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def drift(text: str) -> list[str]:
    """Every default stated in ``text`` that the code does not have, as ``key: stated``.

    A statement is a `` `key = value` `` span in a clause (up to ``.`` or ``;``) that says
    "default"; the table is the one the clause names (`` `[state]` ``, ``[failover] key``), the
    check's keys when it speaks of checks, else the only settings class with that key.
    """
    found: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n\|", prose(text)):
        for clause in re.split(r"(?<=[.;])\s+", " ".join(paragraph.split())):
            if not DEFAULT.search(clause):
                continue
            checks_context = "[[checks]]" in clause or re.search(r"\bchecks?\b", clause)
            for stated in STATED.finditer(clause):
                table = stated["table"] or stated["inner"] or ("checks" if checks_context else None)
                allowed = expected(table, stated["key"])
                if allowed is None:
                    continue
                try:
                    value = tomllib.loads(f"v = {stated['value']}")["v"]
                except tomllib.TOMLDecodeError:
                    continue
                if value not in allowed:
                    found.append(f"{stated['key']}: {stated['value']} (code: {allowed})")
    return found


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy/README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_states_a_default_the_code_does_not_have(page: Path) -> None:
    assert drift(page.read_text("utf-8")) == []


def test_the_old_readme_line_that_drifted_is_caught() -> None:
    # The README before the docs site, word for word: it said samples = 1, the code gives 3.
    old = (
        "**Defaults every check shares** (set any of them in its `[[checks]]` table): "
        '`critical = true`,\n`scope = "regional"`, `timeout = 1.0` seconds (**0.8** for AWS '
        "checks, so a client's connect\nand read timeouts fit the 1.5 s deadline), "
        "`latency_budget` off, `samples = 1`, `name` = the\nclass's `name`."
    )
    assert drift(old) == ["samples: 1 (code: [3])"]
    assert drift(old.replace("`samples = 1`", "`samples = 3`")) == []


def test_a_stated_table_default_is_read_against_its_table() -> None:
    assert drift("The `[state]` `timeout = 0.3` default.") == []
    assert drift("Its default is `[state] timeout = 1.0`.") == ["timeout: 1.0 (code: [0.3])"]
    assert drift("By default `min_hold = 60.0`.") == ["min_hold: 60.0 (code: [180.0])"]


@pytest.mark.parametrize("model", list(MODELS.values()), ids=lambda m: m.__name__)
def test_the_reference_lists_every_field_with_the_codes_default(model: type[BaseModel]) -> None:
    table = reference.settings_table(model)
    rows = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines()[2:]}
    assert list(rows) == list(model.model_fields)
    for name, field in model.model_fields.items():
        assert f"| {reference.toml_value(field.default)} |" in rows[name]


def test_the_configuration_page_renders_every_table() -> None:
    page = (ROOT / "docs/configuration.md").read_text("utf-8")
    rendered = reference.expand(page)
    assert "<!-- reference:" not in rendered
    for model in MODELS.values():
        assert reference.settings_table(model) in rendered
    assert reference.check_defaults_table() in rendered


def test_a_setting_without_a_docstring_fails_the_build() -> None:
    class Undocumented(BaseModel):
        documented: int = 1
        """Has one."""
        bare: int = 2

    with pytest.raises(ValueError, match=r"Undocumented\.bare has no docstring"):
        reference.settings_table(Undocumented)


def test_an_unknown_marker_fails_the_build() -> None:
    with pytest.raises(ValueError, match="names no settings model"):
        reference.expand("<!-- reference: service.config:Nothing -->")


def test_the_cli_reference_has_every_subcommands_help(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reader's defaults, not the build machine's: PORT would change --port's default.
    monkeypatch.setenv("PORT", "9999")
    page = reference.cli_reference()
    top = reference.cli_help()
    names = re.search(r"\{([\w,-]+)\}", top)
    assert names is not None
    for name in names[1].split(","):
        assert f"## `deep-health {name}`" in page
        assert f"usage: deep-health {name}" in page
    assert "9999" not in page
    assert os.environ["PORT"] == "9999"  # put back


def test_the_check_defaults_come_from_the_base_classes() -> None:
    table = reference.check_defaults_table()
    samples = next(line for line in table.splitlines() if line.startswith("| `samples`"))
    assert f"`{Check.samples}`" in samples
    assert f"`{FailoverSettings().samples}`" in samples
    timeout = next(line for line in table.splitlines() if line.startswith("| `timeout`"))
    assert f"`{Check.timeout}`" in timeout
    assert f"`{AwsCheck.timeout}`" in timeout


WORDS = {"two": 2, "three": 3, "four": 4, "five": 5}


def _said(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    assert found is not None, f"the README no longer says {pattern!r}: update this test"
    return found


def test_the_readmes_defaults_in_words_are_the_codes() -> None:
    # The README states a few defaults in words, where a table would not read: each must be
    # the code's.
    text = " ".join((ROOT / "README.md").read_text("utf-8").split())
    settings, failover = Settings(), FailoverSettings()
    deadline = _said(r"a hard deadline\*\* \((\S+) s by default", text)
    assert float(deadline[1]) == settings.deadline
    ratio = _said(r"fails the region at an? (\d+) % failure ratio", text)
    assert int(ratio[1]) == round(failover.threshold * 100)
    latch = _said(r"(\w+) bad evaluations in a row \((\S+) s apart\)", text)
    assert (WORDS[latch[1]], float(latch[2])) == (failover.fail_after, settings.interval)
    _said(r"about three minutes with the defaults", text)
    # The recovery hold: the longest of min_hold, quiet and recover_after clean evaluations.
    hold = max(failover.min_hold, failover.quiet, failover.recover_after * settings.interval)
    assert 150 <= hold <= 210
