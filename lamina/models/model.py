"""``Model``: a layer that groups layers, with summary and (later) training and saving.

``Model(inputs, outputs)`` returns a functional model; subclassing ``Model`` gives a model whose
forward pass is the subclass's ``call``. The functional class registers itself here when imported,
so imports point one way (functional -> model).
"""

import warnings

from lamina.layers.layer import Layer
from lamina.models import summary_utils
from lamina.models._quantization import ModelQuantization
from lamina.saving.object_registration import register_builtin
from lamina.trainers.trainer import Trainer

_FUNCTIONAL = []


def _register_functional(cls):
    _FUNCTIONAL.append(cls)
    return cls


def keras2_model_arguments(kwargs):
    """Rename Keras 1's ``Model(input=..., output=...)``, which Keras 2 still accepted (warning)."""
    for old, new in (("input", "inputs"), ("output", "outputs")):
        if old in kwargs and new not in kwargs:
            warnings.warn(
                f"Update your `Model` call: the `{old}` argument has been renamed `{new}`.",
                stacklevel=3,
            )
            kwargs[new] = kwargs.pop(old)
    return kwargs


def _functional_init_arguments(args, kwargs):
    # Keras's rule: (inputs, outputs) positionally or by keyword; other subclasses (Sequential,
    # user models) may take positional arguments of their own.
    return (
        len(args) == 2
        or (len(args) == 1 and "outputs" in kwargs)
        or ("inputs" in kwargs and "outputs" in kwargs)
    )


def _make_functional(cls):
    """Put the functional class under ``cls`` in place of ``Model``, in ``cls`` and its bases.

    The subclass's own methods (``train_step``, ``call``, ...) still come first in its MRO.
    """
    functional = _FUNCTIONAL[0]
    bases = []
    for base in cls.__bases__:
        if base is Model:
            base = functional
        elif issubclass(base, Model) and not issubclass(base, functional):
            _make_functional(base)
        bases.append(base)
    cls.__bases__ = tuple(bases)


@register_builtin("keras")
@register_builtin("keras.models")
class Model(ModelQuantization, Trainer, Layer):
    """A group of layers with training and inference features.

    Two ways to make one:

    1. Functional: ``Model(inputs, outputs, name=None)`` from ``Input`` tensors.
    2. Subclassing: define layers in ``__init__`` and the forward pass in ``call``.

    Example:

    >>> inputs = lamina.Input(shape=(37,))
    >>> x = lamina.layers.Dense(32, activation="relu")(inputs)
    >>> outputs = lamina.layers.Dense(5, activation="softmax")(x)
    >>> model = lamina.Model(inputs=inputs, outputs=outputs)
    """

    # String data passes through a model to its layers, which accept or refuse it themselves.
    _accepts_string_inputs = True
    # Model-ness as lower floors (saving, summaries) ask it, without importing this class.
    _is_model = True

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or {"inputs", "outputs", "input", "output"} & kwargs.keys()):
            return _FUNCTIONAL[0].__new__(_FUNCTIONAL[0], *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        kwargs = keras2_model_arguments(kwargs)
        if _functional_init_arguments(args, kwargs):
            # `class CustomModel(Model)` built as `CustomModel(inputs, outputs)` (Keras's recipe
            # for a custom train_step): as in Keras, decided by what reaches `Model.__init__`, the
            # class becomes a functional model class and the graph is set up here.
            _make_functional(type(self))
            _FUNCTIONAL[0].__init__(self, *args, **kwargs)
            return
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__ was given positional arguments or "
                f"`inputs`/`outputs`: {args}, {sorted(kwargs)}. A subclassed model takes keyword "
                "arguments such as `name`; build functional models with `Model(inputs, outputs)`."
            )
        super().__init__(**kwargs)

    def build(self, input_shape):
        """Create the weights of a subclassed model by running it once on zeros of ``input_shape``.

        ``None`` dimensions (the batch) are taken as 1. Functional and Sequential models override
        this; a subclass defining its own ``build`` replaces it.
        """
        import torch

        from lamina.backend.config import get_device

        def zeros(shape):
            return torch.zeros(tuple(1 if d is None else d for d in shape), device=get_device())

        structure = input_shape
        if isinstance(structure, dict):
            inputs = {k: zeros(v) for k, v in structure.items()}
        elif isinstance(structure, (list, tuple)) and structure and isinstance(structure[0], (list, tuple)):
            inputs = [zeros(s) for s in structure]
        else:
            inputs = zeros(structure)
        self._build_shapes = input_shape
        self.built = True
        with torch.no_grad():
            self(inputs)

    def _maybe_build(self, inputs):
        if type(self).build is Model.build and not self.built:
            # The call about to run creates the sub-layers' weights; no separate pass needed.
            from lamina.layers._shape_specs import shape_structure

            self._build_shapes = shape_structure(inputs)
            self.built = True
            return
        super()._maybe_build(inputs)

    @property
    def layers(self):
        """Direct sub-layers, in the order they were added (graph operations such as ``x + 1`` are
        not layers: `summary` shows them, ``layers`` does not, as in Keras)."""
        return [layer for layer in self._direct_layers() if not getattr(layer, "_is_op_node", False)]

    @property
    def _operations(self):
        # Layers and graph operations alike: what configs and `summary` list.
        return list(self._direct_layers())

    def get_layer(self, name=None, index=None):
        """Return a layer by ``name`` or by ``index`` (position in ``model.layers``)."""
        if index is not None and name is not None:
            raise ValueError(
                "Provide only a layer name or a layer index. Received: "
                f"index={index}, name={name}."
            )
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ):
        """Print a table of the model's layers, output shapes and parameter counts.

        Args:
            line_length: Total width of the table.
            positions: Relative or absolute right edges of the columns.
            print_fn: Function receiving each line (default ``print``).
            expand_nested: Also list the layers of nested models.
            show_trainable: Add a column telling whether each layer is trainable.
            layer_range: ``[first_name, last_name]`` to print only part of the model.
        """
        summary_utils.print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            expand_nested=expand_nested,
            show_trainable=show_trainable,
            layer_range=layer_range,
        )

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the whole model (config, weights, optimizer state) as a ``.keras`` archive.

        Args:
            filepath: A ``.keras`` path, or a folder path with ``zipped=False``. A ``.h5`` /
                ``.hdf5`` path writes Keras's legacy whole-model HDF5 file (with a warning).
            overwrite: Whether to replace an existing file; ``False`` raises if it exists.
            zipped: ``True`` (the default) writes a zip file; ``False`` writes the same members
                into a folder, Keras 3's unzipped form (``load_model`` reads both).
            **kwargs: Keras's ``include_optimizer`` (the optimizer is always saved in a
                ``.keras`` archive; for a ``.h5`` file, whether to store the training config and
                optimizer state) and the deprecated ``save_format`` (``"keras"`` with a ``.keras``
                path, ``"h5"`` with a ``.h5`` path). Anything else raises a ``TypeError``.
        """
        import os

        from lamina.models import _archive

        _check_save_kwargs(filepath, kwargs)
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath!r} exists and `overwrite=False`.")
        _archive.write_model(
            self, filepath, zipped=True if zipped is None else bool(zipped),
            include_optimizer=kwargs.get("include_optimizer", True),
        )

    def export(self, filepath, format="torch", verbose=None, input_signature=None, **kwargs):
        """Export the model's forward pass as an artifact for inference.

        Args:
            filepath: Path of the artifact.
            format: ``"torch"`` (a ``torch.export`` program saved with ``torch.export.save``;
                ``filepath`` must end with ``.pt2``; ``"torch_export"`` is an alias) or ``"onnx"``
                (needs ``pip install onnx onnxscript``). Keras's TensorFlow formats (``"tf_saved_model"``, ``"litert"``,
                ``"openvino"``) raise an error naming these alternatives.
            verbose: Print where the artifact was written (default ``True``).
            input_signature: The model's inputs, one entry per positional argument of its call:
                ``lamina.InputSpec`` (with shape and dtype), ``KerasTensor`` or tensor, or a
                list/dict of them. Defaults to the model's own inputs. ``None`` dimensions (the
                batch) stay dynamic in the artifact.
            **kwargs: ``format="torch"``: arguments of ``torch.export.export`` (``strict``,
                default ``False``; ``dynamic_shapes``, ...). ``format="onnx"``:
                ``opset_version`` and arguments of ``torch.onnx.export``.

        Example:

        >>> model.export("model.pt2")
        >>> torch.export.load("model.pt2").module()(x)
        >>> model.export("model.onnx", format="onnx")
        """
        from lamina.models import _archive

        return _archive.export_model(
            self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs
        )

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the model's variables to a ``.weights.h5`` file (Keras 3 layout).

        Another ``.h5`` / ``.hdf5`` name writes the legacy (Keras 2) weights layout, as Keras 2 did.

        ``max_shard_size`` (Keras's sharded ``.weights.json`` form) is not supported: any value
        other than ``None`` raises a ``ValueError``.
        """
        import os

        from lamina.models import _archive

        if max_shard_size is not None:
            raise ValueError(
                "Sharded weights (`max_shard_size`) are not supported by Lamina; save a single "
                f"`.weights.h5` file. Received: max_shard_size={max_shard_size!r}"
            )
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{filepath!r} exists and `overwrite=False`.")
        _archive.write_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load variables from a ``.weights.h5`` file, a ``.keras`` archive or a legacy ``.h5`` file.

        ``by_name=True`` (legacy ``.h5`` files only) matches layers by name, as Keras 2 did.
        ``objects_to_skip`` is accepted only as ``None`` (not supported); anything else raises.
        """
        from lamina.models import _archive

        unknown = sorted(set(kwargs) - {"by_name", "objects_to_skip"})
        if unknown:
            raise TypeError(
                f"Model.load_weights() got unexpected keyword arguments {unknown}. Expected "
                "`filepath` and `skip_mismatch`."
            )
        used = {k: v for k, v in kwargs.items() if v not in (None, False) and k != "by_name"}
        if used:
            raise ValueError(
                f"Lamina does not support these `load_weights` arguments: {used}. They apply to "
                "Keras's sharded weights files."
            )
        _archive.read_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=bool(kwargs.get("by_name")))

    def to_json(self, **kwargs):
        """The model's serialized config as a JSON string."""
        import json

        from lamina.saving import serialization_lib

        return json.dumps(serialization_lib.serialize_keras_object(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "input_layers" in config and "output_layers" in config:
            from lamina.models.functional_config import functional_from_config

            target = _FUNCTIONAL[0] if cls is Model else cls
            return functional_from_config(target, config, custom_objects)
        return super().from_config(config)

    def get_config(self):
        config = super().get_config()
        config.pop("batch_input_shape", None)
        return config


def _check_save_kwargs(filepath, kwargs):
    kwargs = dict(kwargs)
    kwargs.pop("include_optimizer", None)
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(
            f"Model.save() got unexpected keyword arguments {sorted(kwargs)}. Expected `filepath`, "
            "`overwrite`, `zipped` (and Keras's `include_optimizer`, `save_format`)."
        )
    if save_format and str(filepath).endswith((".h5", ".hdf5")) and save_format in ("h5", "hdf5"):
        import warnings

        warnings.warn(
            "The `save_format` argument is deprecated in Keras 3. We recommend removing this "
            f"argument as it can be inferred from the file path. Received: save_format={save_format}",
            stacklevel=3,
        )
    elif save_format and not (save_format in ("keras", "keras_v3") and str(filepath).endswith(".keras")):
        raise ValueError(
            "The `save_format` argument is deprecated in Keras 3 and Lamina saves only the `.keras` "
            f"format: remove it and use a `.keras` path. Received: save_format={save_format!r}"
        )
