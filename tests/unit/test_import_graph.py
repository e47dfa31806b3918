"""The package's imports run one way: handlers -> services -> engines, the kernel beside the
server, and the public API on top. Read from the source with ``ast`` (nothing is imported), plus one
real import in a fresh interpreter to see what the server actually loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "jupyter_wp5"
ROOT = "jupyter_wp5"
PUBLIC_API = {ROOT, f"{ROOT}.api", f"{ROOT}.analysis"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "labextension" not in p.parts and p.name != "_version.py"
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ours that ``name`` imports anywhere in its file (top level, inside a
    function or under TYPE_CHECKING alike)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports pkg.mod; ``from mod import name`` imports mod.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules) | {f"{ROOT}._version"}
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_graph_reads_the_package(graph):
    # Guards the parser: a graph without these edges would make every rule below pass vacuously.
    assert f"{ROOT}.models" in graph[f"{ROOT}.data.catalog"]
    assert f"{ROOT}.kernel.client" in graph[f"{ROOT}.kernel.magics"]
    assert f"{ROOT}.compute.backends.base" in graph[f"{ROOT}.compute.manager"]


def test_no_import_cycle(graph):
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def _imports_into(graph, importers: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    """``a -> b`` for each import from a module under ``importers`` of one under ``targets``."""
    return sorted(
        f"{m} -> {t}"
        for m, imported in graph.items()
        if _under(m, *importers)
        for t in imported
        if t in targets or _under(t, *(p for p in targets if p != ROOT))
    )


def test_kernel_and_server_never_import_the_public_api(graph):
    public = tuple(PUBLIC_API)
    assert _imports_into(graph, (f"{ROOT}.kernel", f"{ROOT}.server"), public) == []


def test_the_server_never_imports_the_kernel(graph):
    assert _imports_into(graph, (f"{ROOT}.server",), (f"{ROOT}.kernel",)) == []


def test_services_and_engines_never_import_the_layers_above(graph):
    above = (f"{ROOT}.server", f"{ROOT}.kernel", *PUBLIC_API)
    assert _imports_into(graph, (f"{ROOT}.data", f"{ROOT}.compute"), above) == []


@pytest.mark.parametrize("leaf", ["models", "version"])
def test_shared_modules_are_leaves(graph, leaf):
    allowed = {f"{ROOT}._version"}
    assert graph[f"{ROOT}.{leaf}"] - allowed == set()


def test_the_server_loads_neither_the_python_api_nor_the_kernel():
    code = (
        "import sys, jupyter_wp5.server.app, jupyter_wp5.server.handlers\n"
        "print(sorted(m for m in sys.modules if m.startswith(('jupyter_wp5.api', "
        "'jupyter_wp5.analysis', 'jupyter_wp5.kernel'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
