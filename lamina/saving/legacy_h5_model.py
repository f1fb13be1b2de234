"""Whole models in Keras's legacy HDF5 file (``model.save("model.h5")``): written and read.

Layout (Keras 2, and Keras 3's ``legacy_h5_format``): root attributes ``keras_version``,
``backend``, ``model_config`` (JSON ``{"class_name", "config"}``) and, for a compiled model saved
with its optimizer, ``training_config`` (JSON: the compile arguments with an ``optimizer_config``);
a ``model_weights`` group in the legacy weights layout (see ``legacy_h5_format``); and an
``optimizer_weights`` group holding the optimizer's variables by path.

Reading a stranger's file is defensive: configs are deserialized in safe mode (a Lambda layer
stored as bytecode is refused, naming the layer, unless the caller passes ``safe_mode=False``),
links and external or virtual storage are refused, attributes are size-checked before reading,
the model is sized on the meta device and its weights matched against the file before anything is
allocated, and no variable may take more memory than the file itself stores.
"""

import json
import os
import warnings

import h5py

from lamina.backend import variables
from lamina.saving import legacy_h5_format, model_sizing, serialization_lib
from lamina.utils import atomic_files

H5_EXTENSIONS = (".h5", ".hdf5")
SAVE_WARNING = (
    "You are saving your model as an HDF5 file via `model.save()` or "
    "`keras.saving.save_model(model)`. This file format is considered legacy. We recommend using "
    "instead the native Keras format, e.g. `model.save('my_model.keras')` or "
    "`keras.saving.save_model(model, 'my_model.keras')`. "
)
# Variables a model may create beyond what the file stores (seed states, small buffers).
_MARGIN_BYTES = 64 * 1024 * 1024
# Layer entries Keras writes in the legacy ``{"class_name", "config"}`` form: its own layers and
# models. Others (operation nodes, registered custom objects) keep their full Keras 3 entry.
_LEGACY_MODULES = ("keras", "keras.layers", "keras.models")
_CODE_KEYS = ("function", "output_shape", "mask")


def is_h5_path(filepath):
    """Whether ``filepath`` names a legacy HDF5 file (``.h5``/``.hdf5``, not ``.weights.h5``)."""
    name = os.fspath(filepath)
    return name.endswith(H5_EXTENSIONS) and not name.endswith(".weights.h5")


# ---------------------------------------------------------------------------------------------
# Saving


def save_model_to_hdf5(model, filepath, include_optimizer=True):
    """Write ``model`` as a legacy whole-model HDF5 file, atomically.

    Args:
        model: A functional or sequential model (or a subclass with a ``get_config``).
        filepath: The ``.h5`` / ``.hdf5`` path.
        include_optimizer: Also store the compile arguments and the optimizer's variables.
    """
    from lamina.saving.saving_lib import KERAS_VERSION, _json_default

    warnings.warn(SAVE_WARNING, stacklevel=4)
    attrs = {
        "keras_version": KERAS_VERSION,
        "backend": "torch",
        "model_config": {"class_name": type(model).__name__, "config": _legacy_model_config(model.get_config())},
    }
    optimizer = getattr(model, "optimizer", None)
    store_optimizer = include_optimizer and optimizer is not None and getattr(model, "compiled", False)
    if store_optimizer:
        attrs["training_config"] = _training_config(model)

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for key, value in attrs.items():
                if isinstance(value, dict):
                    value = json.dumps(value, default=_json_default)
                f.attrs[key] = value.encode("utf8")
            legacy_h5_format.save_weights_to_hdf5_group(f.create_group("model_weights"), model)
            if store_optimizer:
                legacy_h5_format.save_optimizer_weights_to_hdf5_group(f, optimizer)

    directory = os.path.dirname(os.fspath(filepath))
    if directory:
        os.makedirs(directory, exist_ok=True)
    atomic_files.atomic_write(filepath, write)


def _legacy_entry(entry):
    """A Keras 3 layer entry in Keras's legacy form (nested model configs converted too)."""
    if not isinstance(entry, dict) or entry.get("module") not in _LEGACY_MODULES:
        return entry
    config = entry.get("config")
    if isinstance(config, dict):
        config = _legacy_model_config(config)
    legacy = {"class_name": entry.get("registered_name") or entry["class_name"], "config": config}
    for key in ("name", "inbound_nodes"):
        if key in entry:
            legacy[key] = entry[key]
    return legacy


def _legacy_model_config(config):
    if not isinstance(config.get("layers"), list):
        return config
    return {**config, "layers": [_legacy_entry(e) for e in config["layers"]]}


def _legacy_objects(value):
    """Keras 3 object entries (losses, metrics) inside ``value`` in the legacy form Keras writes."""
    if isinstance(value, list):
        return [_legacy_objects(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "function" and isinstance(value.get("config"), str):
        return value["config"]  # a function by its name, as Keras 2 wrote them
    if str(value.get("module", "")).startswith("keras") and "class_name" in value and "config" in value:
        return {"class_name": value.get("registered_name") or value["class_name"], "config": value["config"]}
    return {k: _legacy_objects(v) for k, v in value.items()}


def _training_config(model):
    from lamina.saving import object_registration

    config = {k: _legacy_objects(v) for k, v in model.get_compile_config().items() if k != "optimizer"}
    optimizer = model.optimizer
    config["optimizer_config"] = {
        "class_name": object_registration.get_registered_name(type(optimizer)),
        "config": optimizer.get_config(),
    }
    return config


# ---------------------------------------------------------------------------------------------
# Loading


def load_model_from_hdf5(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model from a legacy whole-model HDF5 file (written by Keras 2, Keras 3 or Lamina).

    Args:
        filepath: Path to the ``.h5`` file.
        custom_objects: Dict of user classes/functions the config refers to.
        compile: Compile the model from the file's ``training_config`` (if any) and restore the
            optimizer's variables.
        safe_mode: Refuse a config that carries code (Lambda bytecode). Only the caller can turn
            it off; nothing in the file can.

    Returns:
        The model.
    """
    filepath = os.fspath(filepath)
    source = repr(filepath)
    if not os.path.isfile(filepath):
        raise ValueError(f"Cannot load {source}: no such file.")
    if not h5py.is_hdf5(filepath):
        raise ValueError(f"Cannot load {source}: it is not an HDF5 file.")
    try:
        with h5py.File(filepath, "r") as f:
            return _load(f, filepath, custom_objects, compile, safe_mode)
    except ValueError:
        raise
    except (OSError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError, RuntimeError) as e:
        raise ValueError(f"Cannot load {source}: the file is malformed ({type(e).__name__}: {e}).") from e


def _json_attr(f, name, source):
    text = legacy_h5_format.read_text_attr(f, name, source)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValueError(f"Cannot load {source}: its `{name}` is not valid JSON ({e}).") from None
    if not isinstance(value, dict):
        raise ValueError(f"Cannot load {source}: its `{name}` is not a JSON object.")
    return value


def _load(f, filepath, custom_objects, compile, safe_mode):
    source = repr(filepath)
    config = _json_attr(f, "model_config", source)
    if config is None:
        raise ValueError(f"No model config found in the file at {source}.")
    if "class_name" not in config or not isinstance(config.get("config"), dict):
        raise ValueError(f"Cannot load {source}: its `model_config` has no `class_name` and `config`.")
    config = upgrade_legacy_config(config)
    if safe_mode:
        refuse_lambda_bytecode(config, source)
    weights = _model_weights_group(f, source)

    def build():
        with serialization_lib.SafeModeScope(safe_mode):
            return serialization_lib.deserialize_keras_object(
                config, custom_objects=custom_objects, safe_mode=safe_mode
            )

    # Sized on the meta device first: a file that cannot fill the model allocates nothing.
    planned = model_sizing.build_on_meta(build)
    if planned is not None:
        legacy_h5_format.load_weights_from_hdf5_group(weights, planned, source=source, check_only=True)
    with variables.allocation_budget(os.path.getsize(filepath) + _MARGIN_BYTES, source):
        model = build()
    legacy_h5_format.load_weights_from_hdf5_group(weights, model, source=source)
    if compile:
        training_config = _json_attr(f, "training_config", source)
        if training_config is None:
            warnings.warn(
                "No training configuration found in the save file, so the model was *not* "
                "compiled. Compile it manually.",
                stacklevel=3,
            )
        else:
            _compile(model, training_config, custom_objects, safe_mode, source)
            if f.id.links.exists(b"optimizer_weights"):
                _restore_optimizer(model, f, source)
    return model


def _model_weights_group(f, source):
    # Asked of the link itself: `name in f` could follow an external link into another file.
    if not legacy_h5_format.has_plain_group(f, "model_weights"):
        raise ValueError(f"Cannot load {source}: it has no plain `model_weights` group.")
    return f["model_weights"]


def _compile(model, training_config, custom_objects, safe_mode, source):
    from lamina import losses, metrics, optimizers

    optimizer_config = training_config.get("optimizer_config")
    if not isinstance(optimizer_config, dict):
        raise ValueError(f"Cannot load {source}: its `training_config` has no `optimizer_config`.")
    optimizer_config = _keras2_optimizer_config(optimizer_config, custom_objects)
    with serialization_lib.SafeModeScope(safe_mode):
        optimizer = optimizers.deserialize(optimizer_config, custom_objects=custom_objects)

        def nested(deserialize, value):
            if value is None or isinstance(value, str):
                return value
            if isinstance(value, dict) and "class_name" in value:
                return deserialize(value, custom_objects=custom_objects)
            if isinstance(value, dict):
                return {k: nested(deserialize, v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [nested(deserialize, v) for v in value]
            raise ValueError(f"Cannot load {source}: unexpected entry {value!r} in its `training_config`.")

        args = {
            "optimizer": optimizer,
            "loss": nested(losses.deserialize, training_config.get("loss")),
            "metrics": nested(metrics.deserialize, training_config.get("metrics")),
            "weighted_metrics": nested(metrics.deserialize, training_config.get("weighted_metrics")),
            "loss_weights": training_config.get("loss_weights"),
        }
    model.compile(**{k: v for k, v in args.items() if v is not None})


# Keys tf.keras 2.x optimizers wrote that Keras 3 optimizers do not take.
_KERAS2_OPTIMIZER_KEYS = ("jit_compile", "is_legacy_optimizer")


def _keras2_optimizer_config(config, custom_objects):
    """A tf.keras 2.x optimizer config in Keras 3's terms.

    TF 2.11+ named built-in optimizers ``"Custom>Adam"`` and stored ``jit_compile`` and
    ``is_legacy_optimizer``; earlier versions stored ``lr`` and ``decay``. A class the caller
    provides under the stored name is left alone.
    """
    from lamina import optimizers

    name = config.get("class_name")
    inner = config.get("config")
    if not isinstance(name, str) or not isinstance(inner, dict) or name in (custom_objects or {}):
        return config
    if name.startswith("Custom>") and hasattr(optimizers, name[len("Custom>"):]):
        name = name[len("Custom>"):]
    inner = {k: v for k, v in inner.items() if k not in _KERAS2_OPTIMIZER_KEYS}
    if "lr" in inner:
        inner.setdefault("learning_rate", inner["lr"])
        del inner["lr"]
    decay = inner.pop("decay", 0.0)
    if decay:
        warnings.warn(
            f"The saved optimizer used Keras 2's `decay={decay}`, which Keras 3 optimizers do not "
            "support; the model is compiled without it (use a learning-rate schedule instead).",
            stacklevel=5,
        )
    return {**config, "class_name": name, "config": inner}


def _restore_optimizer(model, f, source):
    optimizer = model.optimizer
    try:
        # A model saved compiled but untrained stores only the optimizer's unbuilt variables
        # (iterations, learning rate): those are restored, then the slots are built fresh.
        unbuilt = len(optimizer.variables)
        if legacy_h5_format.optimizer_weight_count(f, source) != unbuilt:
            optimizer.build(model.trainable_variables)
        legacy_h5_format.load_optimizer_weights_from_hdf5_group(f, optimizer, source=source)
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
    except ValueError as e:
        if str(e).startswith(("Refusing", "Not allowed", "Malformed or unsafe")):
            raise
        warnings.warn(
            f"Error in loading the saved optimizer state ({e}). As a result, your model is "
            "starting with a freshly initialized optimizer.",
            stacklevel=4,
        )


# ---------------------------------------------------------------------------------------------
# Config checks and Keras 2 compatibility


def refuse_lambda_bytecode(config, source):
    """Raise, naming the layer, if a Lambda layer anywhere in ``config`` stores Python bytecode."""
    for entry in _layer_entries(config):
        if entry.get("class_name") != "Lambda" or not isinstance(entry.get("config"), dict):
            continue
        layer_config = entry["config"]
        for key in _CODE_KEYS:
            value = layer_config.get(key)
            is_code = layer_config.get(f"{key}_type") == "lambda" or (
                isinstance(value, dict) and value.get("class_name") == "__lambda__"
            )
            if is_code:
                raise ValueError(
                    f"Refusing to load {source}: the Lambda layer {layer_config.get('name')!r} "
                    f"stores its `{key}` as Python bytecode, and loading bytecode can run "
                    "arbitrary code. If you trust the file, pass `safe_mode=False` to `load_model`."
                )


def _layer_entries(config):
    """Every ``{"class_name", "config"}`` dict inside ``config``, depth first."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "class_name" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def upgrade_legacy_config(config):
    """Rewrite Keras 2 (tf.keras 2.x) functional node lists into Keras 3's node form.

    Keras 2 wrote a call as ``[[layer_name, node_index, tensor_index, kwargs], ...]``; Keras 3
    writes ``{"args": [...], "kwargs": {...}}`` with ``__keras_tensor__`` references.
    Everything else in a Keras 2 config is read by the ordinary deserializer.
    """
    if isinstance(config, list):
        return [upgrade_legacy_config(c) for c in config]
    if not isinstance(config, dict):
        return config
    upgraded = {k: upgrade_legacy_config(v) for k, v in config.items()}
    nodes = upgraded.get("inbound_nodes")
    if isinstance(nodes, list):
        upgraded["inbound_nodes"] = [_upgrade_node(n) for n in nodes]
    for key in ("input_layers", "output_layers"):
        # Keras 2 listed even a single input or output: Keras 3 writes that one as a bare ref,
        # and the model then takes and returns a tensor, not a one-element list.
        refs = upgraded.get(key)
        if isinstance(refs, list) and len(refs) == 1 and _is_ref(refs[0]):
            upgraded[key] = refs[0]
    return upgraded


def _is_ref(value):
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def _upgrade_node(node):
    if not isinstance(node, list):
        return node
    tensors, kwargs = [], {}
    for ref in node:
        if not isinstance(ref, list) or len(ref) not in (3, 4):
            raise ValueError(f"Cannot read the Keras 2 functional node {node!r}: malformed input reference.")
        tensors.append(
            {"class_name": "__keras_tensor__", "config": {"keras_history": [ref[0], ref[1], ref[2]]}}
        )
        kwargs = ref[3] if len(ref) == 4 else {}
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}
