"""The layout's rules, read from the source with `ast` (imports inside functions included): no import cycle in
shop/, no private name used across modules, no module in shop/ or stripe_emulator/ over MAX_LINES, and the
emulator importing nothing of the shop. Each failure names its offenders."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

MAX_LINES = 600
PACKAGES = ("shop", "ui", "pages", "stripe_emulator")


@dataclass(frozen=True)
class Source:
    """One module of the project: its dotted name, its file and its parsed tree."""

    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(package: str) -> list[Source]:
    return [
        Source(_module_name(path), path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


SOURCES = {source.name: source for package in PACKAGES for source in _sources(package)}


def _absolute(source: Source, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, with a relative one (`from . import x`) made absolute."""
    if not node.level:
        return node.module or ""
    base = source.name.split(".")
    base = base if source.is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


@dataclass(frozen=True)
class Imported:
    """One name an import statement brings in: the module it resolves to, and the name taken from it (None when
    the statement binds the module itself)."""

    line: int
    module: str
    name: str | None
    bound_as: str | None  # the local name it is bound to, when that name is a project module


def _type_checking(node: ast.AST) -> bool:
    """An `if TYPE_CHECKING:` block: its imports are read by type checkers only and never run."""
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _run_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` that can run, at any depth, leaving out the bodies of `if TYPE_CHECKING:` blocks."""
    for child in ast.iter_child_nodes(tree):
        yield child
        if _type_checking(child):
            yield from (node for orelse in child.orelse for node in [orelse, *_run_nodes(orelse)])
        else:
            yield from _run_nodes(child)


def _imports(source: Source) -> Iterator[Imported]:
    """Every import of a project module that runs in `source`, at any depth (inside functions too)."""
    for node in _run_nodes(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in SOURCES:
                    bound = alias.asname or (alias.name if "." not in alias.name else None)
                    yield Imported(node.lineno, alias.name, None, bound)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(source, node)
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if submodule in SOURCES:  # `from shop import payments`: the module itself
                    yield Imported(node.lineno, submodule, None, alias.asname or alias.name)
                elif module in SOURCES:
                    yield Imported(node.lineno, module, alias.name, None)


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself): Tarjan's."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_shop_modules():
    graph: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for source in SOURCES.values():
        if source.name.split(".")[0] != "shop":
            continue
        for imported in _imports(source):
            if imported.module.split(".")[0] == "shop" and imported.module != source.name:
                graph.setdefault(source.name, set()).add(imported.module)
                lines.setdefault((source.name, imported.module), imported.line)
    cycles = _cycles(graph)

    def described(component: list[str]) -> str:
        members = set(component)
        edges = [
            f"{a} (line {lines[a, b]}) -> {b}" for a in component for b in sorted(graph.get(a, ())) if b in members
        ]
        return "; ".join(edges)

    assert not cycles, "Import cycles in shop/ (function-level imports count):\n" + "\n".join(map(described, cycles))


def test_no_private_name_is_used_across_modules():
    offenders = []
    for source in SOURCES.values():
        if source.name.split(".")[0] not in ("shop", "ui", "pages"):
            continue
        modules = {}  # local name -> the project module it is bound to
        for imported in _imports(source):
            if imported.name is not None and _private(imported.name) and imported.module != source.name:
                offenders.append(
                    f"{source.path.relative_to(ROOT)}:{imported.line} imports {imported.name} from {imported.module}"
                )
            if imported.bound_as:
                modules[imported.bound_as] = imported.module
        for node in ast.walk(source.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _private(node.attr)
                and modules[node.value.id] != source.name
            ):
                offenders.append(
                    f"{source.path.relative_to(ROOT)}:{node.lineno} uses {modules[node.value.id]}.{node.attr}"
                )
    assert not offenders, "Private names used from another module:\n" + "\n".join(sorted(set(offenders)))


def test_no_module_of_shop_or_the_emulator_is_over_the_line_limit():
    too_long = {
        str(source.path.relative_to(ROOT)): lines
        for source in SOURCES.values()
        if source.name.split(".")[0] in ("shop", "stripe_emulator")
        and (lines := len(source.path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"Modules over {MAX_LINES} lines: " + ", ".join(
        f"{path} ({lines})" for path, lines in sorted(too_long.items())
    )


def test_the_emulator_imports_nothing_of_the_shop():
    offenders = []
    for source in SOURCES.values():
        if source.name.split(".")[0] != "stripe_emulator":
            continue
        for node in ast.walk(source.tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [
                f"{source.path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if name == "shop" or name.startswith("shop.")
            ]
    assert not offenders, "The emulator imports the shop:\n" + "\n".join(offenders)
