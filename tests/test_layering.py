"""The floors of DESIGN.md, checked on the import graph read from the source (nothing is imported).

Run as a script (``python tests/test_layering.py``) to print the imports that run upward and the
circles between packages that remain; as tests, the rules that already hold are kept holding.
"""

import ast
import functools
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1] / "lamina"

# Ground floor first. A unit is a package, or the part of one that sits on its own floor.
FLOORS = {
    "backend": 0,
    "utils": 1,
    "saving.registry": 1,
    "distribution": 1,
    "ops": 2,
    "activations": 3,
    "initializers": 3,
    "regularizers": 3,
    "constraints": 3,
    # Not named in DESIGN.md: quantizers are arguments, config and a call into ``ops.quantization``
    # (like the activations and initializers), and the layers' quantized modes use them.
    "quantizers": 3,
    "backend.legacy": 3,  # Keras 2 ``K.*``: under ``backend`` for its name, installed there from above
    "layers": 4,
    "losses": 5,
    "metrics": 5,
    "optimizers": 5,
    "callbacks": 5,
    "trainers": 6,
    "models": 7,
    "saving": 8,  # archive and HDF5 files, which need models
    "lamina": 9,  # the public namespace: lamina/__init__.py and its thin aliases
}
_REGISTRY = {"object_registration", "serialization_lib", "object_lookup", "legacy_serialization"}
_NAMESPACE_ALIASES = {"config", "dtype_policies", "mixed_precision", "engine"}
# Modules inside a package that only mirror a public Keras module (DESIGN.md: the public namespace
# mirrors every public Keras 3 module): ``keras.utils`` re-exports from every floor, and
# ``keras.utils.bounding_boxes`` is the ops' box math under its Keras name. The utils floor is the
# package's other modules.
_NAMESPACE_MODULES = {"lamina.utils", "lamina.utils.bounding_boxes"}


def unit_of(module):
    """The floor unit of a dotted module name (``lamina.ops.nn`` -> ``ops``)."""
    parts = module.split(".")[1:]
    if module in _NAMESPACE_MODULES:
        return "lamina"
    # Top-level modules and packages not listed (``config.py``, new public namespaces such as
    # ``lamina.preprocessing``) sit with the public namespace.
    if not parts or parts[0] in _NAMESPACE_ALIASES or parts[0] not in FLOORS:
        return "lamina"
    if parts[0] == "backend" and len(parts) > 1 and parts[1] == "legacy":
        return "backend.legacy"
    if parts[0] == "saving" and len(parts) > 1 and parts[1] in _REGISTRY:
        return "saving.registry"
    return parts[0]


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path, module):
    """``(imported module, line, deferred)`` for each ``lamina`` import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []

    def visit(node, deferred):
        for child in ast.iter_child_nodes(node):
            inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, deferred) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    # ``from lamina.ops import nn`` imports the submodule when there is one.
                    candidate = f"{base}.{alias.name}"
                    name = candidate if _exists(candidate) else base
                    found.append((name, child.lineno, deferred))
            visit(child, inner)

    visit(tree, False)
    # One entry per imported module and line (``from m import a, b`` names ``m`` once).
    return sorted({(n, line, d) for n, line, d in found if n.split(".")[0] == "lamina"}, key=lambda t: t[1])


def _exists(module):
    path = ROOT.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@functools.lru_cache(maxsize=1)
def import_graph():
    """``{module: [(imported module, line, deferred), ...]}`` for every module of ``lamina``."""
    graph = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        graph[module] = _imports(path, module)
    return graph


def upward_imports(graph, deferred=True):
    """Imports from a lower floor to a higher one: ``(module, line, imported, deferred)``."""
    out = []
    for module, imports in graph.items():
        for imported, line, is_deferred in imports:
            if is_deferred and not deferred:
                continue
            if FLOORS[unit_of(imported)] > FLOORS[unit_of(module)]:
                out.append((module, line, imported, is_deferred))
    return out


def unit_circles(graph, deferred=False):
    """Circles between units (strongly connected components of more than one unit)."""
    edges = {}
    for module, imports in graph.items():
        for imported, _, is_deferred in imports:
            if is_deferred and not deferred:
                continue
            a, b = unit_of(module), unit_of(imported)
            if a != b:
                edges.setdefault(a, set()).add(b)
    # Tarjan's algorithm, iterative enough for a graph of twenty units.
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component, key=lambda u: FLOORS[u]))

    for node in list(edges):
        if node not in index:
            connect(node)
    return components


def _from_package(graph, package):
    return {m: i for m, i in graph.items() if m == package or m.startswith(package + ".")}


# The imports that run upward on purpose, each with a comment at the import saying why.
_ALLOWED_UPWARD = {
    ("lamina.models._archive", "lamina.saving"),  # Model.save / load_weights, keras.models.load_model
    ("lamina.utils.image_dataset_utils", "lamina.ops.image"),  # the dataset builder resizes with ops
}


def test_ops_never_imports_layers():
    graph = _from_package(import_graph(), "lamina.ops")
    found = {
        (module, imported)
        for module, imports in graph.items()
        for imported, _, _ in imports
        if imported.startswith("lamina.layers")
    }
    assert not found, sorted(found)


def test_at_most_two_upward_imports():
    ups = [
        (module, line, imported)
        for module, line, imported, _ in upward_imports(import_graph())
    ]
    assert len(ups) <= 2, ups
    assert {(module, imported) for module, _, imported in ups} <= _ALLOWED_UPWARD, ups


def test_no_circle_between_packages_with_deferred_imports():
    assert unit_circles(import_graph(), deferred=True) == []


def test_nothing_below_layers_imports_layers():
    # KerasTensor and the op recording live in ``lamina.backend.symbolic`` (``layers.symbolic`` only
    # keeps the old import path); K.placeholder / K.function get layers and models installed.
    found = [
        (module, imported)
        for module, imports in import_graph().items()
        if FLOORS[unit_of(module)] < FLOORS["layers"]
        for imported, _, _ in imports
        if unit_of(imported) == "layers"
    ]
    assert not found, found


def test_backend_never_imports_ops():
    graph = import_graph()
    found = [
        (module, line, imported)
        for module, imports in graph.items()
        if unit_of(module) == "backend"
        for imported, line, _ in imports
        if unit_of(imported) == "ops"
    ]
    assert not found


def test_layers_do_not_import_other_families_private_modules():
    # A family's `_private` module is its own; shared math lives in `lamina.ops`.
    graph = _from_package(import_graph(), "lamina.layers")
    found = []
    for module, imports in graph.items():
        family = module.split(".")[:3]
        for imported, line, _ in imports:
            parts = imported.split(".")
            if parts[:2] == ["lamina", "layers"] and len(parts) > 3 and parts[3].startswith("_"):
                if parts[:3] != family:
                    found.append((module, line, imported))
    assert not found


def test_no_import_time_circle_between_packages():
    assert unit_circles(import_graph(), deferred=False) == []


def test_graph_reads_every_module():
    graph = import_graph()
    assert "lamina.ops.nn" in graph and "lamina.backend" in graph
    assert all(unit_of(imported) in FLOORS for imports in graph.values() for imported, _, _ in imports)


def main():
    graph = import_graph()
    print(f"{len(graph)} modules")
    ups = upward_imports(graph)
    print(f"\nupward imports ({len(ups)}; 'deferred' = inside a function):")
    for module, line, imported, deferred in sorted(ups, key=lambda u: (FLOORS[unit_of(u[0])], u)):
        print(f"  {unit_of(module):>15} -> {unit_of(imported):<15} {module}:{line} imports {imported}"
              f"{'  (deferred)' if deferred else ''}")
    for deferred in (False, True):
        circles = unit_circles(graph, deferred=deferred)
        label = "import-time and deferred" if deferred else "import-time"
        print(f"\ncircles between units ({label} imports): {len(circles)}")
        for component in circles:
            print("  " + " <-> ".join(component))


if __name__ == "__main__":
    sys.exit(main())
