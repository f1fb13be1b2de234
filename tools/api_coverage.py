"""Which public Keras 3 names does Lamina not have yet?

Walks every public module of the installed ``keras`` (``keras``, ``keras.layers``, ``keras.ops.nn``,
``keras.utils.bounding_boxes``, ...; never ``keras.src``), takes the public names of each
(``dir()`` without a leading underscore), and looks each one up in Lamina's module of the same
path (``lamina.layers``, ``lamina.ops.nn``, ...). Names and modules that the project keeps out of
scope (see ``OUT_OF_SCOPE_*``) are left out of the counts.

Run it from the repository root, with the oracle's environment:

    KERAS_BACKEND=jax python tools/api_coverage.py            # a report, grouped by module
    KERAS_BACKEND=jax python tools/api_coverage.py --json     # {module: [missing names]}

This is a report, not a test: it exits 0 whatever is missing.
"""

import argparse
import importlib
import json
import os
import sys
import types

# Parts of Keras that Lamina does not mirror: backend-specific names (other backends' layers and
# checkpointers). Everything else counts, including the ecosystem modules.
OUT_OF_SCOPE_MODULES = set()
OUT_OF_SCOPE_NAMES = {
    "FlaxLayer",
    "JaxLayer",
    "TFSMLayer",
    "OrbaxCheckpoint",
    # keras.src is Keras's implementation, not its API.
    "src",
}


def _public_names(module):
    return sorted(name for name in dir(module) if not name.startswith("_"))


def walk_keras(root="keras"):
    """``{module path: public names}`` for ``root`` and every public submodule below it."""
    found = {}

    def visit(path, module):
        if path in found or path in OUT_OF_SCOPE_MODULES:
            return
        names = [
            n
            for n in _public_names(module)
            if n not in OUT_OF_SCOPE_NAMES and f"{path}.{n}" not in OUT_OF_SCOPE_MODULES
        ]
        found[path] = names
        for name in names:
            child = getattr(module, name, None)
            child_path = f"{path}.{name}"
            if isinstance(child, types.ModuleType) and getattr(child, "__name__", "").startswith("keras"):
                visit(child_path, child)

    visit(root, importlib.import_module(root))
    return found


def _lamina_module(path):
    """Lamina's module for a Keras module path, or None when it does not exist."""
    target = "lamina" + path[len("keras") :]
    try:
        return importlib.import_module(target)
    except ImportError:
        pass
    # Some Keras modules are attributes rather than importable modules (``keras.ops.nn``).
    parent, _, last = target.rpartition(".")
    try:
        module = importlib.import_module(parent)
    except ImportError:
        return None
    return getattr(module, last, None)


def missing_names(keras_modules):
    """``{module path: (names Lamina lacks, number of names)}``; a missing module lacks them all."""
    report = {}
    for path, names in sorted(keras_modules.items()):
        module = _lamina_module(path)
        absent = list(names) if module is None else [n for n in names if not hasattr(module, n)]
        report[path] = (absent, len(names), module is None)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print {module: [missing names]} as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    report = missing_names(walk_keras())
    if args.json:
        print(json.dumps({path: absent for path, (absent, _, _) in report.items() if absent}, indent=1))
        return 0
    total = sum(count for _, count, _ in report.values())
    absent_total = sum(len(absent) for absent, _, _ in report.values())
    print(f"Lamina has {total - absent_total} of {total} public Keras names ({len(report)} modules).")
    for path, (absent, count, module_missing) in report.items():
        if not absent:
            continue
        status = "module missing" if module_missing else f"{count - len(absent)}/{count}"
        print(f"\n{path} ({status}): {len(absent)} missing")
        print("  " + ", ".join(absent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
