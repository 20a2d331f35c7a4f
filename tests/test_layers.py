"""The package's shape: layers that do not cross, no import circle, small modules, a light ``import genre``."""
from __future__ import annotations

import ast
import subprocess
import sys

from tests.support import ROOT

PACKAGE = ROOT / "genre"
MAX_LINES = 300


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path) -> list[tuple[str, bool]]:
    """Every ``genre`` module that ``path`` imports, and whether the import is at the top level."""
    tree = ast.parse(path.read_text())
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for t in targets:
            if t == "genre" or t.startswith("genre."):
                found.append((t, id(node) in top))
    return found


def modules() -> dict[str, object]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(target: str, known) -> str | None:
    """The module an import names (``genre.fusion.load_model`` -> ``genre.fusion``)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def graph(top_level_only: bool) -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for name, path in known.items():
        edges[name] = {m for t, top in imports(path) if (top or not top_level_only)
                       for m in [resolve(t, known)] if m and m != name}
    return edges


def test_no_import_circle():
    edges = graph(top_level_only=False)
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(edges[node]):
            if nxt == "genre":  # the package's own lazy re-exports: resolved through their owners
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def test_serving_never_imports_training():
    known = modules()
    serving = [n for n in known if not n.startswith("genre.training") and n != "genre.cli"]
    for name in serving:
        for target, _ in imports(known[name]):
            assert not target.startswith("genre.training"), f"{name} imports {target}"
    # the command line reaches training only through its commands module, imported when one of them runs
    for target, top in imports(known["genre.cli"]):
        if target.startswith("genre.training"):
            assert target in ("genre.training", "genre.training.commands") and not top, f"genre.cli imports {target}"


def test_no_module_is_over_300_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long


def test_import_genre_loads_no_heavy_library():
    code = ("import genre, sys; genre.GENRES; genre.GenreError; "
            "print(sorted(m for m in ('tensorflow', 'PIL', 'librosa', 'keras', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_public_names_resolve_to_their_owners():
    import genre

    assert genre.predict.__module__ == "genre.prediction"
    assert genre.load_model.__module__ == "genre.fusion"
    assert {"predict", "load_model", "Prediction", "Clip", "GENRES", "GenreError"} <= set(genre.__all__)
    assert len(genre.GENRES) == 10
