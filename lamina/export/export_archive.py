"""``ExportArchive``: several serving endpoints (and variable collections) in one ``.pt2`` file.

Keras writes a TensorFlow SavedModel here; Lamina writes torch's own PT2 archive: one
``torch.export`` program per endpoint. The first endpoint is stored as the archive's default
program, so ``torch.export.load(path)`` returns it (as TF-Serving's ``serving_default`` alias in
Keras); ``load_archive`` gives every endpoint and variable collection back by name.
"""

import io
import json

import torch

from lamina.backend import torch_compat
from lamina.export import export_utils
from lamina.export.torch_export import device_of, tracing
from lamina.utils import io_utils

# The name `torch.export.load` reads from a PT2 archive.
_DEFAULT_PROGRAM = "model"
# The program holding the variable collections, and the archive's table of contents.
_VARIABLES_PROGRAM = "lamina_variables"
_MANIFEST = "lamina_archive.json"
_TF_FORMATS = ("saved_model", "neptune_model")


class ExportArchive:
    """Collect serving endpoints of Lamina layers and models and write them as one artifact.

    ``track()`` the layers or models the endpoints use, ``add_endpoint()`` each function to serve
    with its input signature, then ``write_out()`` a ``.pt2`` file. The file runs without Lamina:
    ``torch.export.load(path).module()`` is the first endpoint, and ``lamina.export.load_archive``
    returns all of them.

    Args:
        format: ``"pt2"`` (the only format). Keras's ``"saved_model"`` needs TensorFlow and is
            refused with an error saying so.

    Example:

    >>> archive = ExportArchive()
    >>> archive.track(model)
    >>> archive.add_endpoint(
    ...     name="serve",
    ...     fn=model.call,
    ...     input_signature=[lamina.InputSpec(shape=(None, 3), dtype="float32")],
    ... )
    >>> archive.write_out("model.pt2")
    >>> lamina.export.load_archive("model.pt2").serve(torch.randn(2, 3))
    """

    def __init__(self, format="pt2"):
        if format in _TF_FORMATS:
            raise ValueError(
                f"ExportArchive(format={format!r}) writes a TensorFlow SavedModel, which needs "
                "TensorFlow; Lamina writes torch.export programs instead. Use "
                "`ExportArchive()` (a .pt2 archive), or `model.export(path, format='onnx')`."
            )
        if format != "pt2":
            raise ValueError(f"Unsupported format: {format!r}. ExportArchive writes format='pt2'.")
        self._tracked = []
        self._endpoints = {}
        self._signatures = {}
        self._collections = {}

    # --- what the archive holds -------------------------------------------------------------
    @property
    def variables(self):
        return _unique(v for layer in self._tracked for v in _layer_variables(layer, "variables"))

    @property
    def trainable_variables(self):
        return _unique(v for layer in self._tracked for v in _layer_variables(layer, "trainable_weights"))

    @property
    def non_trainable_variables(self):
        return _unique(v for layer in self._tracked for v in _layer_variables(layer, "non_trainable_weights"))

    def track(self, resource):
        """Track a layer or model: endpoints then see its variables as the program's weights.

        Args:
            resource: A built Lamina layer or model (or another ``torch.nn.Module``).
        """
        if not isinstance(resource, torch.nn.Module):
            raise ValueError(
                "Invalid resource type. Expected a Lamina `Layer` or `Model` (or a torch.nn.Module). "
                f"Received object {resource} of type '{type(resource)}'."
            )
        if getattr(resource, "built", True) is False:
            raise ValueError(
                f"The layer provided ('{getattr(resource, 'name', resource)}') has not yet been "
                "built. It must be built before export."
            )
        if not any(resource is r for r in self._tracked):
            self._tracked.append(resource)

    def add_endpoint(self, name, fn, input_signature=None, **kwargs):
        """Trace ``fn`` with ``torch.export`` and register it as the endpoint ``name``.

        Args:
            name: The endpoint's name (a Python identifier).
            fn: A callable using tracked layers, e.g. ``model.call`` or
                ``lambda x: model(x, training=False)``.
            input_signature: A list with one entry per positional argument of ``fn``:
                ``lamina.InputSpec`` (with shape and dtype), ``KerasTensor`` or tensor, or a
                list/dict of them. ``None`` dimensions stay dynamic.
            **kwargs: Passed to ``torch.export.export`` (``strict``, ``dynamic_shapes``, ...).

        Returns:
            The endpoint as a callable ``torch.nn.Module`` (the exported program's module).
        """
        self._check_name(name)
        if "jax2tf_kwargs" in kwargs or "is_static" in kwargs:
            raise ValueError(
                "'jax2tf_kwargs' and 'is_static' are only supported with the JAX backend of Keras."
            )
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Received: fn={fn!r}")
        if input_signature is None:
            raise ValueError(
                "`add_endpoint` needs an `input_signature` giving the shape and dtype of the "
                "arguments of `fn`. Example:\n\n"
                "export_archive.add_endpoint(\n"
                "    name='call',\n"
                "    fn=model.call,\n"
                "    input_signature=[lamina.InputSpec(shape=(None, 224, 224, 3), dtype='float32')],\n"
                ")"
            )
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, torch.nn.Module):
            # `model.call` / `model.__call__`: its variables belong to the archive, as in Keras.
            self.track(owner)
        signature = export_utils.standardize_signature(input_signature)
        module = _Endpoint(fn, self._tracked)
        program = self._export(module, signature, {"args": export_utils.dynamic_shapes(signature)}, kwargs)
        self._endpoints[name] = program
        self._signatures[name] = signature
        return program.module()

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """Track ``resource`` (a layer or model) and serve its call as the endpoint ``name``."""
        self.track(resource)
        self._check_name(name)
        signature = export_utils.standardize_signature(input_signature)
        program = self._export(resource, signature, export_utils.dynamic_shapes(signature), kwargs)
        self._endpoints[name] = program
        self._signatures[name] = signature
        return program.module()

    def add_variable_collection(self, name, variables):
        """Store ``variables`` under ``name``; ``load_archive(path).<name>`` gives them back.

        Args:
            name: The collection's name (a Python identifier).
            variables: A list, tuple or set of ``lamina.Variable``s.
        """
        if not isinstance(variables, (list, tuple, set)):
            raise ValueError(
                "Expected `variables` to be a list/tuple/set. Received instead object of type "
                f"'{type(variables)}'."
            )
        if not all(isinstance(v, torch.Tensor) for v in variables):
            raise ValueError(
                "Expected all elements in `variables` to be `lamina.Variable` instances. Found "
                f"instead the following types: {sorted({type(v).__name__ for v in variables})}"
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"A variable collection's name must be a Python identifier. Received: {name!r}")
        self._collections[name] = list(variables)

    def write_out(self, filepath, options=None, verbose=True):
        """Write every endpoint and variable collection to ``filepath`` (a ``.pt2`` file).

        Args:
            filepath: ``str`` or ``pathlib.Path``; ``.pt2`` is the usual extension.
            options: Only ``None``: TensorFlow's ``SaveOptions`` have no meaning here.
            verbose: Print the endpoints and their input signatures.
        """
        from lamina.utils.atomic_files import atomic_write

        if options is not None:
            raise ValueError("`options` (TensorFlow SaveOptions) is not supported by Lamina's ExportArchive.")
        if not self._endpoints:
            raise ValueError("No endpoints have been set yet. Call add_endpoint().")
        names = list(self._endpoints)
        default = _DEFAULT_PROGRAM if _DEFAULT_PROGRAM in names else names[0]
        programs, stored_as = {}, {}
        for name in names:
            stored_as[name] = _DEFAULT_PROGRAM if name == default else name
            programs[stored_as[name]] = self._endpoints[name]
        collections = dict(self._collections)
        if self._tracked:
            collections.setdefault("variables", self.variables)
        manifest = {"endpoints": stored_as, "default": default, "variable_collections": {}}
        if collections:
            programs[_VARIABLES_PROGRAM] = _variables_program(collections)
            manifest["variable_collections"] = {
                name: [_describe(v) for v in values] for name, values in collections.items()
            }
        buffer = io.BytesIO()
        torch_compat.package_pt2(
            buffer, exported_programs=programs, extra_files={_MANIFEST: json.dumps(manifest)}
        )

        def write(path):
            with open(path, "wb") as f:
                f.write(buffer.getvalue())

        atomic_write(filepath, write)
        if verbose:
            lines = [f"Saved artifact at '{filepath}'. The following endpoints are available:"]
            for name in names:
                flat = export_utils.flatten_specs(self._signatures[name])
                specs = ", ".join(f"{s.dtype}{list(s.shape)}" for s in flat)
                lines.append(f"* Endpoint '{name}'{' (default)' if name == default else ''}: inputs {specs}")
            io_utils.print_msg("\n".join(lines))

    # --- helpers --------------------------------------------------------------------------------
    def _check_name(self, name):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"An endpoint name must be a Python identifier. Received: {name!r}")
        if name in self._endpoints:
            raise ValueError(f"Endpoint name '{name}' is already taken.")
        if name == _VARIABLES_PROGRAM:
            raise ValueError(f"Endpoint name '{name}' is reserved by Lamina's archive format.")

    def _export(self, module, signature, dynamic_shapes, kwargs):
        kwargs = dict(kwargs)
        kwargs.setdefault("strict", False)
        if kwargs.get("dynamic_shapes") is None:
            kwargs["dynamic_shapes"] = dynamic_shapes
        args = export_utils.sample_inputs(signature, device=device_of(module))
        with tracing(module):
            return torch.export.export(module, args, **kwargs)


class _Endpoint(torch.nn.Module):
    """``fn`` as a module whose submodules are the tracked layers, so their variables are the
    exported program's parameters rather than constants baked into the graph."""

    def __init__(self, fn, resources):
        super().__init__()
        self._fn = fn
        for i, resource in enumerate(resources):
            self.add_module(f"resource_{i}", resource)

    def forward(self, *args):
        return self._fn(*args)


class _VariableHolder(torch.nn.Module):
    def __init__(self, collections):
        super().__init__()
        self._names = {}
        for name, values in collections.items():
            self._names[name] = [f"{name}_{i}" for i in range(len(values))]
            for key, value in zip(self._names[name], values):
                self.register_buffer(key, value.detach().clone())

    def forward(self):
        return {name: [getattr(self, key) for key in keys] for name, keys in self._names.items()}


def _variables_program(collections):
    # A program without inputs returning the values: torch's archive stores them as raw tensors
    # (no pickle) and `load_archive` reads them back by running it.
    return torch.export.export(_VariableHolder(collections), (), strict=False)


class _RevivedArchive:
    """What ``load_archive`` returns: endpoints as callables, variable collections as lists."""

    def __init__(self, endpoints, collections, default):
        self._endpoint_names = list(endpoints)
        self.default_endpoint = default
        for name, module in endpoints.items():
            setattr(self, name, module)
        for name, values in collections.items():
            setattr(self, name, values)
        tracked = collections.get("variables", [])
        self.variables = tracked
        self.trainable_variables = [v for v in tracked if v.trainable]
        self.non_trainable_variables = [v for v in tracked if not v.trainable]

    @property
    def endpoints(self):
        return {name: getattr(self, name) for name in self._endpoint_names}

    def __repr__(self):
        return f"<RevivedArchive endpoints={self._endpoint_names}>"


def load_archive(filepath):
    """Reload an ``ExportArchive`` file: its endpoints as callables, its variable collections.

    Args:
        filepath: A ``.pt2`` file written by ``ExportArchive.write_out`` (or by
            ``model.export(format="torch")``: its one endpoint is ``serve``).

    Returns:
        An object with one attribute per endpoint (a callable ``torch.nn.Module``) and per
        variable collection (a list of ``lamina.Variable``s), plus ``variables``,
        ``trainable_variables`` and ``non_trainable_variables`` when layers were tracked.

    Like ``torch.export.load``, this unpickles parts of the file: load only files you trust.
    """
    from lamina.backend.variables import Variable

    contents = torch_compat.load_pt2(filepath)
    manifest = contents.extra_files.get(_MANIFEST)
    if manifest is None:
        if _DEFAULT_PROGRAM not in contents.exported_programs:
            raise ValueError(f"'{filepath}' holds no exported program that Lamina can serve.")
        return _RevivedArchive({"serve": contents.exported_programs[_DEFAULT_PROGRAM].module()}, {}, "serve")
    manifest = json.loads(manifest)
    programs = contents.exported_programs
    endpoints = {name: programs[stored].module() for name, stored in manifest["endpoints"].items()}
    collections = {}
    if manifest["variable_collections"]:
        values = contents.exported_programs[_VARIABLES_PROGRAM].module()()
        for name, infos in manifest["variable_collections"].items():
            collections[name] = [
                Variable(value, trainable=info["trainable"], name=info["name"])
                for value, info in zip(values[name], infos)
            ]
    return _RevivedArchive(endpoints, collections, manifest["default"])


def _describe(variable):
    trainable = getattr(variable, "trainable", variable.requires_grad)
    return {"name": getattr(variable, "name", None), "trainable": bool(trainable)}


def _layer_variables(layer, attribute):
    values = getattr(layer, attribute, None)
    if values is None:
        # A plain torch module: parameters and buffers.
        if attribute == "non_trainable_weights":
            return [p for p in layer.parameters() if not p.requires_grad] + list(layer.buffers())
        if attribute == "trainable_weights":
            return [p for p in layer.parameters() if p.requires_grad]
        return list(layer.parameters()) + list(layer.buffers())
    return list(values)


def _unique(values):
    seen, out = set(), []
    for v in values:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out
