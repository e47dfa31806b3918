"""The docs name only what exists: every ``jupyter wp5`` command and option, ``%wp5`` line,
``c.Class.trait`` and ``/wp5/api/...`` path in README.md and docs/*.md is checked against the
command-line apps, the magic's parser, the traitlets classes and openapi.yaml; and the generated
configuration reference is up to date."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from traitlets.utils.importstring import import_item

from jupyter_wp5 import docs_config
from jupyter_wp5.cli import Wp5CommandApp
from jupyter_wp5.kernel import magics

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
PAGES = [page for page in PAGES if page.name != "configuration.md"]

# Classes of other projects that the docs configure (JupyterHub, dask-gateway, IPython...).
FOREIGN_CLASSES = {
    "Authenticator",
    "Backend",
    "ClusterConfig",
    "ConfigurableHTTPProxy",
    "DaskGateway",
    "InteractiveShellApp",
    "JupyterHub",
    "KubeSpawner",
    "Proxy",
    "ServerApp",
    "SimpleAuthenticator",
    "Spawner",
}


def code_texts(text: str) -> Iterator[str]:
    """Every inline code span and every line of a fenced block."""
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield line
        else:
            yield from re.findall(r"`([^`]+)`", line)


def all_code() -> Iterator[tuple[str, str]]:
    for page in PAGES:
        for code in code_texts(page.read_text(encoding="utf-8")):
            yield page.name, code


def words(command: str) -> list[str]:
    """A command line without its comment, optional brackets and shell quoting."""
    command = command.split(" #")[0].replace("[", " ").replace("]", " ")
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def app_options(app: type) -> set[str]:
    names = {*app.flags, *app.aliases, "help", "help-all"}
    return {f"--{name}" for name in names if isinstance(name, str) and len(name) > 1}


def resolve(app: type | str) -> type:
    return import_item(app) if isinstance(app, str) else app


def check_cli_line(argv: list[str]) -> list[str]:
    """Problems with one ``jupyter wp5 ...`` command line."""
    app: type = Wp5CommandApp
    problems = []
    for word in argv:
        subcommands = app.subcommands if isinstance(app.subcommands, dict) else {}
        if word.startswith("--"):
            name = word.split("=")[0]
            if not (name in app_options(app) or re.fullmatch(r"--\w+\.\w+", name)):
                problems.append(f"{app.name} has no option {name}")
        elif not word.startswith("-") and subcommands:
            if word not in subcommands:
                problems.append(f"{app.name} has no subcommand {word}")
                break
            app = resolve(subcommands[word][0])
    return problems


def test_jupyter_wp5_commands_and_options_exist():
    problems, checked = [], 0
    for page, code in all_code():
        for match in re.finditer(r"jupyter wp5(?: [^;&|]*)?", code):
            argv = words(match.group(0))[2:]
            problems += [f"{page}: `{code}`: {p}" for p in check_cli_line(argv)]
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked > 10


def test_playground_option_table_names_real_options():
    """The first column of the playground guide's option table (``--gateway``...)."""
    from jupyter_wp5.cli import PlaygroundApp

    options = app_options(PlaygroundApp)
    text = (ROOT / "docs" / "playground.md").read_text(encoding="utf-8")
    named = re.findall(r"^\| `(--[\w-]+)", text, flags=re.MULTILINE)
    assert {"--gateway", "--no-xrootd", "--db"} <= set(named)
    assert sorted(set(named) - options) == []


def check_magic_line(parser, argv: list[str]) -> list[str]:
    """Problems with one ``%wp5`` line (its words after ``%wp5``)."""
    try:
        # Placeholders (``...``, ``NAME``) stand for one argument; --help would only exit.
        parser.parse_args([a for a in argv if a != "--help"])
    except Exception as exc:  # UsageError: the message names the problem
        # Prose may name a subcommand without its arguments (`%wp5 cluster close`).
        bare = all(a.isidentifier() for a in argv) and "arguments are required" in str(exc)
        return [] if bare else [str(exc)]
    return []


def test_checkers_catch_wrong_names():
    """The checks below can fail: a wrong subcommand, option or argument is reported."""
    assert check_cli_line(["playground", "--gateway", "--db", "postgresql"]) == []
    assert check_cli_line(["ledger", "verify", "receipt.json"]) == []
    assert check_cli_line(["playground", "--no-such-option"])
    assert check_cli_line(["no-such-command"])
    parser = magics.build_parser()
    assert check_magic_line(parser, ["cluster", "close"]) == []
    assert check_magic_line(parser, ["replicate", "cms:x", "--to", "SITE-B", "--wait"]) == []
    assert check_magic_line(parser, ["replicate", "cms:x", "--no-such-option"])
    assert check_magic_line(parser, ["cluster", "explode", "mine"])
    assert not any(p.fullmatch("/replicas/abc/nothing") for p in openapi_patterns())
    assert any(p.fullmatch("/clusters/abc/dashboard/") for p in openapi_patterns())


def test_wp5_magic_lines_parse():
    parser = magics.build_parser()
    problems, checked = [], 0
    for page, code in all_code():
        code = code.strip()
        if not code.startswith("%wp5"):
            continue
        argv = words(code)[1:]
        if argv and argv[0] in magics.SUBCOMMANDS:
            problems += [f"{page}: `{code}`: {p}" for p in check_magic_line(parser, argv)]
            checked += 1
        elif argv not in ([], ["--help"]):
            problems.append(f"{page}: `{code}`: no subcommand {argv[0]!r}")
    assert not problems, "\n".join(problems)
    assert checked > 20


def test_config_traits_exist():
    classes = {cls.__name__: cls for cls in docs_config.configurables()}
    problems, checked = [], 0
    for page, code in all_code():
        for name, trait in re.findall(r"\bc\.([A-Z]\w*)\.(\w+)", code):
            if name in FOREIGN_CLASSES:
                continue
            checked += 1
            cls = classes.get(name)
            if cls is None:
                problems.append(f"{page}: c.{name}: no such jupyter_wp5 configurable")
            elif trait not in cls.class_traits(config=True):
                problems.append(f"{page}: c.{name}.{trait}: no such setting")
    assert not problems, "\n".join(problems)
    assert checked > 30


def openapi_patterns() -> list[re.Pattern[str]]:
    spec = yaml.safe_load((ROOT / "jupyter_wp5" / "openapi.yaml").read_text(encoding="utf-8"))
    patterns = []
    for path in spec["paths"]:
        regex = re.sub(r"\{path\}", ".*", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        patterns.append(re.compile(re.sub(r"\{\w+\}", r"[^/]+", regex) + "/?"))
    return patterns


def test_rest_paths_are_in_openapi():
    patterns = openapi_patterns()
    problems, checked = [], 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for path in re.findall(r"/wp5/api(/[\w{}<>/.-]*)", text):
            path = path.rstrip(".")
            if path in ("", "/") or "..." in path:
                continue
            checked += 1
            if not any(p.fullmatch(path) for p in patterns):
                problems.append(f"{page.name}: /wp5/api{path}")
    assert not problems, "\n".join(problems)
    assert checked > 5


@pytest.mark.parametrize("surface", ["fileset", "profiles", "clusters", "access", "events"])
def test_readme_rest_row_is_complete(surface):
    row = next(
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| REST")
    )
    assert f"`{surface}" in row or f"`.../{surface}`" in row


def test_configuration_reference_is_up_to_date():
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == docs_config.render(), (
        "docs/configuration.md is out of date: run `python -m jupyter_wp5.docs_config`"
    )
