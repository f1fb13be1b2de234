"""Read the ``run_layer_test`` expectations out of the oracle's own layer tests.

Keras 3's layer tests state, call by call, what a layer must do (class, constructor arguments,
input shape or data, expected output shape/values, weight and seed-generator counts, masking).
This module finds those calls in the installed oracle's ``keras/src/layers/**/*_test.py`` with
``ast`` and evaluates their arguments twice: once in the test module's namespace (the expected
facts, and the Keras layer for comparison) and once with every Keras module and class the test
names replaced by Lamina's namesake (the Lamina layer's constructor arguments). Parameterized
tests are expanded from their ``parameterized.parameters`` / ``named_parameters`` / ``product``
decorators; local names are resolved from the simple assignments before the call.

Nothing here runs Keras's test code: only argument expressions are evaluated.
"""

import ast
import importlib
import itertools
import os
import types

import lamina

_SPARSE_OR_RAGGED = ("input_sparse", "input_ragged", "expected_output_sparse", "expected_output_ragged")


class Case:
    """One ``run_layer_test`` call, with its arguments evaluated for Keras and for Lamina."""

    def __init__(self, case_id, keras_cls, lamina_cls, keras_args, lamina_args, problem=None):
        self.id = case_id
        self.keras_cls = keras_cls
        self.lamina_cls = lamina_cls
        self.keras_args = keras_args
        self.lamina_args = lamina_args
        self.problem = problem

    def __repr__(self):
        return f"<Case {self.id}>"


def _keras_root():
    import keras

    return os.path.join(os.path.dirname(keras.__file__), "src", "layers")


def _lamina_counterpart(obj):
    """The Lamina object standing for a Keras module, class or function, or ``obj`` itself."""
    if isinstance(obj, types.ModuleType) and obj.__name__.startswith("keras"):
        parts = obj.__name__.split(".")
        parts = parts[2:] if parts[:2] == ["keras", "src"] else parts[1:]
        for start in range(len(parts) + 1):
            name = ".".join(["lamina"] + parts[start:]) if parts[start:] else "lamina"
            try:
                return importlib.import_module(name)
            except ImportError:
                continue
        return lamina
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("keras") and hasattr(obj, "__name__"):
        name = obj.__name__
        for space in (lamina.layers, lamina, lamina.initializers, lamina.regularizers, lamina.constraints,
                      lamina.activations, lamina.ops, lamina.losses, lamina.metrics, lamina.models):
            if hasattr(space, name):
                return getattr(space, name)
    return obj


def _lamina_namespace(module_globals):
    out = {}
    for key, value in module_globals.items():
        out[key] = _lamina_counterpart(value)
    return out


def _decorator_cases(func, keras_ns):
    """``[(suffix, {arg: value})]`` for the parameterized decorators of ``func`` (one if none)."""
    params = [a.arg for a in func.args.args[1:]]
    defaults = {}
    for arg, node in zip(reversed(func.args.args), reversed(func.args.defaults)):
        defaults[arg.arg] = eval(compile(ast.Expression(node), "<case>", "eval"), keras_ns)
    cases = [("", {})]
    for dec in func.decorator_list:
        if not isinstance(dec, ast.Call) or not isinstance(dec.func, ast.Attribute):
            continue
        kind = dec.func.attr
        if kind not in ("parameters", "named_parameters", "product"):
            continue
        if kind == "product":
            # Positional arguments are sequences of dicts (merged); keywords list one argument's values.
            groups = [list(eval(compile(ast.Expression(a), "<case>", "eval"), keras_ns)) for a in dec.args]
            for k in dec.keywords:
                values = eval(compile(ast.Expression(k.value), "<case>", "eval"), keras_ns)
                groups.append([{k.arg: v} for v in values])
            combos = []
            for i, combo in enumerate(itertools.product(*groups)):
                merged = {}
                for part in combo:
                    merged.update(part)
                combos.append((f"[{i}]", merged))
            cases = combos
            continue
        raw = [eval(compile(ast.Expression(a), "<case>", "eval"), keras_ns) for a in dec.args]
        if len(raw) == 1 and isinstance(raw[0], (list, tuple)) and raw[0] and isinstance(raw[0][0], (dict, tuple)):
            raw = list(raw[0])
        combos = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict):
                entry = dict(entry)
                name = entry.pop("testcase_name", str(i))
                combos.append((f"[{name}]", entry))
            else:
                entry = tuple(entry) if isinstance(entry, (list, tuple)) else (entry,)
                if kind == "named_parameters":
                    name, entry = entry[0], entry[1:]
                else:
                    name = str(i)
                combos.append((f"[{name}]", dict(zip(params, entry))))
        cases = combos
    return [(suffix, {**defaults, **bound}) for suffix, bound in cases]


class _Unresolved(Exception):
    pass


def _evaluate(node, namespace):
    try:
        return eval(compile(ast.Expression(node), "<case>", "eval"), namespace)
    except Exception as e:  # the expression needs what the test computed at run time
        raise _Unresolved(f"{ast.unparse(node)[:80]}: {type(e).__name__}: {e}") from None


class _SelfStub:
    """Stands for the test case's ``self`` while local values are computed: its methods do nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_RAISES = ("assertRaises", "assertRaisesRegex", "raises")


def _contains(stmt, node):
    return any(n is node for n in ast.walk(stmt))


def _values_only(stmts):
    """The statements that compute values (assignments, local functions, branches of them)."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, (ast.Assign, ast.FunctionDef)):
            out.append(stmt)
        elif isinstance(stmt, ast.If):
            out.append(ast.If(test=stmt.test, body=_values_only(stmt.body) or [ast.Pass()],
                              orelse=_values_only(stmt.orelse)))
    return out


def _run_up_to(stmts, call, namespace, state):
    """Run ``stmts`` (value statements only) up to the one holding ``call``, following the
    branches the bound parameters take. Returns ``False`` if ``call`` is on a branch not taken."""
    for stmt in stmts:
        if not _contains(stmt, call):
            _bind(_values_only([stmt]), namespace)
            continue
        if isinstance(stmt, ast.If):
            try:
                taken = bool(eval(compile(ast.Expression(stmt.test), "<case>", "eval"), namespace))
            except Exception:
                return False
            branch = stmt.body if taken else stmt.orelse
            if not any(_contains(s, call) for s in branch):
                return False
            return _run_up_to(branch, call, namespace, state)
        if isinstance(stmt, ast.With):
            for item in stmt.items:
                fn = item.context_expr.func if isinstance(item.context_expr, ast.Call) else None
                if isinstance(fn, ast.Attribute) and fn.attr in _RAISES:
                    state["expect_error"] = True
            return _run_up_to(stmt.body, call, namespace, state)
        if isinstance(stmt, (ast.For, ast.While, ast.Try)):
            return _run_up_to(stmt.body, call, namespace, state)
        return True
    return True


def _bind(stmts, namespace):
    for stmt in stmts:
        try:
            module = ast.fix_missing_locations(ast.Module(body=[stmt], type_ignores=[]))
            code = compile(module, "<case>", "exec")
            exec(code, namespace)
        except Exception:
            continue


def _relative(path, root):
    return os.path.relpath(path, root).replace(os.sep, "/")


def collect_cases():
    """Every ``run_layer_test`` call of the oracle's layer tests, as ``Case``s."""
    root = _keras_root()
    cases = []
    for dirpath, _, files in sorted(os.walk(root)):
        for filename in sorted(files):
            if not filename.endswith("_test.py"):
                continue
            path = os.path.join(dirpath, filename)
            with open(path, encoding="utf-8") as f:
                source = f.read()
            if "run_layer_test" not in source:
                continue
            rel = _relative(path, root)
            tree = ast.parse(source)
            module = _module_namespace(tree, rel)
            for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
                for func in [n for n in cls.body if isinstance(n, ast.FunctionDef)]:
                    calls = [
                        n
                        for n in ast.walk(func)
                        if isinstance(n, ast.Call)
                        and isinstance(n.func, ast.Attribute)
                        and n.func.attr == "run_layer_test"
                    ]
                    if not calls:
                        continue
                    try:
                        variants = _decorator_cases(func, dict(module))
                    except Exception as e:
                        cases.append(Case(f"{rel}::{cls.name}::{func.name}", None, None, {}, {},
                                          problem=f"parameters: {e}"))
                        continue
                    for n_call, call in enumerate(calls):
                        for suffix, bound in variants:
                            tag = f"#{n_call}" if len(calls) > 1 else ""
                            case_id = f"{rel}::{cls.name}::{func.name}{tag}{suffix}"
                            cases.append(_make_case(case_id, module, func, call, bound))
    return cases


def _module_namespace(tree, rel):
    """The test module's imports and top-level constants, one statement at a time: a statement
    that needs what this environment lacks (TensorFlow, grain, the test suite's conftest) is
    left out, and the cases that use its names report them unresolved."""
    namespace = {"__name__": "keras_expectations." + rel[:-3].replace("/", ".")}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef)):
            _bind([stmt], namespace)
    return namespace


def _make_case(case_id, module, func, call, bound):
    keras_ns = dict(module)
    keras_ns.update(bound)
    keras_ns["self"] = _SelfStub()
    state = {}
    if not _run_up_to(func.body, call, keras_ns, state):
        return Case(case_id, None, None, {}, {}, problem="branch not taken")
    lamina_ns = _lamina_namespace(dict(module))
    lamina_ns.update({k: _lamina_counterpart(v) for k, v in bound.items()})
    lamina_ns["self"] = _SelfStub()
    _run_up_to(func.body, call, lamina_ns, {})
    try:
        args = list(call.args)
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        if any(k.arg is None for k in call.keywords):
            raise _Unresolved("**kwargs in the call")
        cls_node = args[0] if args else keywords.pop("layer_cls")
        names = ["init_kwargs", "input_shape"]
        for name, node in zip(names, args[1:]):
            keywords[name] = node
        keras_cls = _evaluate(cls_node, keras_ns)
        lamina_cls = _evaluate(cls_node, lamina_ns)
        keras_args = {k: _evaluate(v, keras_ns) for k, v in keywords.items()}
        lamina_args = {k: _evaluate(keywords[k], lamina_ns) for k in ("init_kwargs", "custom_objects") if k in keywords}
    except _Unresolved as e:
        return Case(case_id, None, None, {}, {}, problem=f"unresolved: {e}")
    keras_args["_expect_error"] = state.get("expect_error", False)
    if any(keras_args.get(k) for k in _SPARSE_OR_RAGGED):
        return Case(case_id, keras_cls, lamina_cls, keras_args, lamina_args, problem="sparse or ragged tensors")
    if _holds_keras_object(lamina_args.get("init_kwargs")):
        return Case(case_id, keras_cls, lamina_cls, keras_args, lamina_args,
                    problem="arguments hold a class defined in Keras's test file")
    return Case(case_id, keras_cls, lamina_cls, keras_args, lamina_args)


def _holds_keras_object(value):
    if isinstance(value, dict):
        return any(_holds_keras_object(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_keras_object(v) for v in value)
    module = getattr(type(value), "__module__", "") or ""
    return module.startswith("keras")
