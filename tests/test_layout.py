"""The package's shape: imports only go down the layers, and no module imports itself back in a loop."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vidstyle"
# Lower ranks are lower layers; a module imports its own subpackage or strictly lower ranks.
# ``job`` (vidstyle.Job, every front end's description of a piece of work) has a floor of its own: above what runs
# a job, below everything that builds one (batch, the studio, the CLI).
RANKS = {"assets": 0, "config": 0, "media": 1, "core": 2, "motion": 2, "regions": 3, "paint": 4, "image": 5, "video": 5,
         "job": 6, "batch": 7, "studio": 8, "cli": 9, "__init__": 10, "__main__": 10}


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, lazy (function-level) imports included."""
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    top = root.name
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:  # `from . import x` imports the module x
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if candidate in modules else target)
        graph[name] = {m for m in found if m in modules and m != name and m.startswith(top)}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    layers = {layer(m) for m in import_graph(PACKAGE)}
    assert layers <= set(RANKS), sorted(layers - set(RANKS))


def test_imports_only_go_down():
    wrong = [f"{module} -> {target}" for module, targets in import_graph(PACKAGE).items() for target in targets
             if layer(module) != layer(target) and RANKS[layer(target)] >= RANKS[layer(module)]]
    assert not wrong, "imports that do not go down a layer:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    cycles = find_cycles(import_graph(PACKAGE))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_finds_a_cycle_hidden_in_a_lazy_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("from ..b import helper\n")
    (package / "b.py").write_text("def helper():\n    from .sub import a\n    return a\n")
    graph = import_graph(package)
    assert graph["pkg.sub.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.a"}
    assert find_cycles(graph) == [["pkg.b", "pkg.sub.a", "pkg.b"]]


def test_only_the_studio_imports_gradio():
    """Gradio is an optional extra: nothing outside ``vidstyle/studio`` may import it, even lazily."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("gradio", "gradio_client") for n in names):
                found.append(path.relative_to(PACKAGE).as_posix())
    assert found and all(p.startswith("studio/") for p in found), found
