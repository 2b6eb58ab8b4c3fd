"""MkDocs hook: the defaults the docs state come from the code, not from a copy of it.

A page writes a marker on a line of its own, and the build replaces it with a table generated
from the classes that hold the defaults:

    <!-- reference: service.config:Settings -->          every field of a pydantic settings
                                                           model: key, default, bounds, meaning
    <!-- reference: check-defaults -->                     the keys every ``[[checks]]`` entry
                                                           takes, with the base classes' defaults
    <!-- reference: cli -->                                the ``--help`` of ``deep-health`` and
                                                           of each of its subcommands

An unknown marker, or a field without a docstring, fails the build: a setting nobody described
is a setting nobody can use. ``tests/docs/test_reference.py`` runs the same functions.

The hook also mounts ``deploy/README.md`` (the deploy reference, kept beside the code it
describes) into the site at ``deploy/``, with the repository files it links to, so its links
are checked by ``mkdocs build --strict`` like every page's.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
import itertools
import os
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- reference: (?P<what>[\w.:-]+) -->$", re.MULTILINE)
# Pages kept beside the code they describe, mounted into the site with the files they link to.
MOUNTED_PAGES = ("deploy/README.md",)
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)\s]*)?\)")


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstring under each annotated attribute of ``cls``'s own class body.

    Args:
        cls: a class whose fields are documented by a string literal right after them.

    Returns:
        field name -> its docstring, dedented and on one line.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def toml_value(value: Any) -> str:
    """``value`` as it is written in the TOML file (``None``: not set)."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _kind(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(f'"{a}"' for a in typing.get_args(annotation))
    if args:  # X | None, Optional[X]
        return " or ".join(_kind(a) for a in args)
    return {float: "number", int: "integer", bool: "true/false", str: "string"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _bounds(metadata: list[Any]) -> str:
    parts: list[str] = []
    symbols = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    for item in metadata:
        for attr, symbol in symbols.items():
            if getattr(item, attr, None) is not None:
                parts.append(f"{symbol} {getattr(item, attr)}")
        if getattr(item, "min_length", None) is not None:
            parts.append(f"≥ {item.min_length} chars")
        if getattr(item, "max_length", None) is not None:
            parts.append(f"≤ {item.max_length} chars")
        if getattr(item, "pattern", None):
            pattern = str(item.pattern).replace("&", "&amp;").replace("<", "&lt;")
            parts.append(f"<code>{pattern.replace('|', '&#124;')}</code>")
    return ", ".join(parts)


def _md(docstring: str) -> str:
    # reST inline literals to Markdown; Python's None is a key left out of the TOML file; a
    # table cell cannot hold a bare pipe.
    text = docstring.replace("``None``", "unset").replace("``", "`")
    return text.replace("|", "&#124;")


def settings_table(model: type[BaseModel]) -> str:
    """A Markdown table of every field of ``model``: key, default, what it accepts, meaning.

    Raises:
        ValueError: a field has no docstring.
    """
    docs = attribute_docs(model)
    rows = ["| key | default | accepts | what it does |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        if name not in docs:
            raise ValueError(f"{model.__qualname__}.{name} has no docstring to document it by")
        accepts = ", ".join(p for p in (_kind(info.annotation), _bounds(info.metadata)) if p)
        rows.append(f"| `{name}` | {toml_value(info.default)} | {accepts} | {_md(docs[name])} |")
    return "\n".join(rows)


def check_defaults() -> dict[str, str]:
    """The default of each key every ``[[checks]]`` entry takes, as the docs state it."""
    from checks.aws import AwsCheck
    from checks.base import Check
    from service.config import FailoverSettings

    failover = FailoverSettings()
    return {
        "name": "the class's `name`",
        "critical": toml_value(Check.critical),
        "scope": toml_value(Check.scope),
        "timeout": f"{toml_value(Check.timeout)} seconds; {toml_value(AwsCheck.timeout)} for an "
        "AWS check, so a client's connect and read timeouts fit the deadline",
        "latency_budget": f"{toml_value(Check.latency_budget)} (off)",
        "samples": f"{toml_value(Check.samples)}; for a critical regional check that sets none "
        f"(in its entry or its class), `[failover] samples` ({toml_value(failover.samples)}) "
        "while `[failover] enabled`",
    }


def check_defaults_table() -> str:
    """A Markdown table of the keys every ``[[checks]]`` entry takes and their defaults."""
    from checks.base import Check

    meaning = _check_attribute_meanings(Check)
    rows = ["| key | default | what it does |", "| --- | --- | --- |"]
    for name, default in check_defaults().items():
        if name not in meaning:
            raise ValueError(f"Check's docstring does not describe the {name!r} attribute")
        rows.append(f"| `{name}` | {default} | {_md(meaning[name])} |")
    return "\n".join(rows)


def _check_attribute_meanings(check: type) -> dict[str, str]:
    # The class docstring's "Class attributes" section (Google style) describes each key.
    doc = inspect.getdoc(check) or ""
    meanings: dict[str, str] = {}
    current = None
    in_attributes = False
    for line in doc.splitlines():
        if line.startswith("Class attributes") and line.endswith(":"):
            in_attributes = True
            continue
        if not in_attributes:
            continue
        if line and not line.startswith(" "):
            break
        found = re.match(r"^    (\w+): (.*)$", line)
        if found:
            current = found.group(1)
            meanings[current] = found.group(2)
        elif current and line.strip():
            meanings[current] += " " + line.strip()
    return meanings


_CLI_ENV = ("PORT", "COLUMNS", "DEEP_HEALTH_CONFIG", "DEEP_HEALTH_DETAILS_TOKEN", "NO_COLOR")


def cli_help(*args: str) -> str:
    """``deep-health ARGS --help`` as a reader sees it: 100 columns, no environment of ours.

    Runs the installed console script's function in this process (the ``deep-health`` entry
    point), so the reference is the command's own help text.
    """
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="deep-health")
    main = script.load()
    saved = {name: os.environ.pop(name, None) for name in _CLI_ENV}
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = main([*args, "--help"])
    finally:
        os.environ.pop("COLUMNS", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})
    if code != 0 or not out.getvalue():
        raise ValueError(f"deep-health {' '.join(args)} --help failed (exit {code})")
    return out.getvalue().rstrip()


def cli_reference() -> str:
    """A section per subcommand of ``deep-health``, each with its ``--help``."""
    top = cli_help()
    found = re.search(r"\{(?P<names>[\w,-]+)\}", top)
    if found is None:
        raise ValueError("deep-health --help lists no subcommands")
    sections = ["```text", top, "```"]
    for name in found["names"].split(","):
        sections += ["", f"## `deep-health {name}`", "", "```text", cli_help(name), "```"]
    return "\n".join(sections)


def render(what: str) -> str:
    """The table a ``<!-- reference: WHAT -->`` marker stands for.

    Raises:
        ValueError: ``what`` names nothing this hook knows.
    """
    if what == "check-defaults":
        return check_defaults_table()
    if what == "cli":
        return cli_reference()
    module_name, _, attribute = what.partition(":")
    model = getattr(importlib.import_module(module_name), attribute, None) if attribute else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ValueError(f"reference marker names no settings model: {what!r}")
    return settings_table(model)


def expand(markdown: str) -> str:
    """``markdown`` with every reference marker replaced by its table."""
    return MARKER.sub(lambda found: render(found.group("what")), markdown)


# MkDocs events (https://www.mkdocs.org/dev-guide/plugins/#events).


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the reference markers before the page is rendered."""
    return expand(markdown)


def linked_files(page: str) -> list[str]:
    """The repository files (not pages) that ``page`` links to, repository-relative.

    A link to a file that does not exist is left out, so the strict build reports it.
    """
    base = (ROOT / page).parent
    found: list[str] = []
    for link in _LINK.finditer((ROOT / page).read_text("utf-8")):
        target = link["target"]
        if "://" in target or target.endswith(".md"):
            continue
        path = (base / target).resolve()
        if path.is_file() and path.is_relative_to(ROOT):
            found.append(path.relative_to(ROOT).as_posix())
    return sorted(set(found))


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """Mount deploy/README.md and the repository files it links to into the site."""
    from mkdocs.structure.files import File

    for page in MOUNTED_PAGES:
        for src_uri in (page, *linked_files(page)):
            if files.get_file_from_path(src_uri) is None:
                files.append(
                    File(
                        src_uri,
                        src_dir=str(ROOT),
                        dest_dir=config["site_dir"],
                        use_directory_urls=config["use_directory_urls"],
                    )
                )
    return files
