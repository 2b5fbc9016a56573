"""The shape of the code a newcomer reads: no import circles, small modules, short functions, and
tests that take what they share from helper modules, never from another test module.

Imports are read from the source (top-level and inside functions alike), so a
circle cannot hide in a function body.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("signaling", "sfu", "mixer")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_names(module: str, path: Path) -> set[str]:
    """What ``module``'s import statements name, wherever they sit: modules, and ``module.name``
    for each name taken from one."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, path.name == "__init__.py", node)
            found |= {target} | {f"{target}.{alias.name}" for alias in node.names}
    return found


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports, wherever the import statement sits."""
    return {name for name in imported_names(module, path) if name in known and name != module}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_in_a_circle() -> None:
    modules = sources()
    graph = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    # a package's __init__ importing its own children is how packages re-export, not a circle
    for name in graph:
        graph[name] = {t for t in graph[name] if not (modules[name].name == "__init__.py"
                                                       and t.startswith(name + "."))}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_an_import_inside_a_function_is_counted(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from sfu import clock\n")
    assert imports_of("x.m", src, {"sfu.clock", "sfu"}) == {"sfu", "sfu.clock"}


@pytest.mark.parametrize("name", sorted(sources()))
def test_module_is_small(name: str) -> None:
    lines = len(sources()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines"


def long_functions(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text())
    return {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    }


@pytest.mark.parametrize("name", sorted(sources()))
def test_functions_are_short(name: str) -> None:
    assert long_functions(sources()[name]) == {}


# --- tests/: helpers live in helper modules, never in another test module --------------------------

TESTS = ROOT / "tests"
IMPORT_IN_TEXT = re.compile(r"\b(?:from|import)\s+(tests(?:\.\w+)*)")


def owning_test_module(name: str) -> str | None:
    """``tests.test_x`` for ``tests.test_x`` or ``tests.test_x.helper``; None if ``name`` is not in a
    ``test_*`` module of tests/."""
    parts = name.split(".")
    if parts[0] != "tests":
        return None
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return ".".join(parts[: i + 1])
    return None


def imported_test_modules(path: Path, root: Path = ROOT) -> set[str]:
    """The ``test_*`` modules ``path`` imports: in import statements (relative ones resolved), and in
    source text it hands to another interpreter (``python -c "from tests.test_x import main"``)."""
    found = imported_names(module_name(path, root), path)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(IMPORT_IN_TEXT.findall(node.value))
    return {test for name in found if (test := owning_test_module(name)) is not None}


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported)
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__) and (imported := imported_test_modules(path))  # not its own examples
    }
    assert offenders == {}, "move what they share to tests/helpers.py, clients.py, audio_helpers.py ..."


def test_an_imported_test_module_is_found_however_it_is_imported(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "browser"
    package.mkdir(parents=True)
    cases = {
        "from tests.test_live_show import wait_for\n": {"tests.test_live_show"},
        "import tests.test_pipe\n": {"tests.test_pipe"},
        "from .test_web_show import ANALYSE_AUDIO\n": {"tests.browser.test_web_show"},
        "from . import test_web_show\n": {"tests.browser.test_web_show"},
        "def f():\n    from tests import test_rooms\n": {"tests.test_rooms"},
        'SCRIPT = "import sys; from tests.test_flood_udp import main; main(sys.argv[1:])"\n':
            {"tests.test_flood_udp"},
        "from tests.helpers import wait_for\nfrom tests import clients\nfrom .helpers import join\n": set(),
    }
    for source, expected in cases.items():
        path = package / "m.py"
        path.write_text(source)
        assert imported_test_modules(path, root=tmp_path) == expected, source
