"""Variables of a model <-> groups of an HDF5 file, in the Keras 3 layout.

Each object with variables gets a group whose ``vars`` subgroup holds datasets ``0, 1, ...`` in the
object's own variable order (trainable first). Children are found the way Keras finds them: the
object's attributes in sorted order; a model's ``layers`` list is a container whose members are named
after their class in snake case (``dense``, ``dense_1``, ...); an object reached twice is stored once.
"""

import warnings

import numpy as np
import torch

from lamina.backend.naming import to_snake_case
from lamina.saving.safe_h5 import SafeH5Group


def own_variables(obj):
    """``obj``'s own variables in the order Keras saves them (trainable first)."""
    own = getattr(obj, "_own_variables", None)
    if own is not None:
        return [v for v in own if v.trainable] + [v for v in own if not v.trainable]
    variables = getattr(obj, "variables", None)
    return list(variables) if variables is not None else []


def _children(obj):
    """(name, child) pairs in Keras's walking order: attribute names sorted."""
    from lamina.layers.layer import Layer

    found = {}
    if isinstance(obj, Layer):
        collections = obj.__dict__.get("_layer_collections", {})
        in_collection = {id(l) for items in collections.values() for l in items}
        graph_keys = obj.__dict__.get("_graph_layer_keys", ())
        for name, module in obj._modules.items():
            if (
                isinstance(module, Layer)
                and id(module) not in in_collection
                and name not in graph_keys
            ):
                found[name] = module
        for name, items in collections.items():
            found[name] = list(items)
        if getattr(type(obj), "_is_model", False):
            found["layers"] = obj.layers
            optimizer = getattr(obj, "optimizer", None)
            if optimizer is not None:
                found["optimizer"] = optimizer
    # A MultiOptimizer's inner optimizers are its children too: Keras writes them under "optimizers".
    inner_optimizers = getattr(obj, "_inner_optimizers", None)
    if isinstance(inner_optimizers, list) and inner_optimizers:
        found["optimizers"] = list(inner_optimizers)
    # Keras visits private attributes (``_gate_dense``) after public ones.
    return sorted(found.items(), key=lambda item: ("~" + item[0]) if item[0].startswith("_") else item[0])


def has_state_hook(obj, name):
    """Whether a layer keeps non-variable state through Keras's ``save/load_own_variables`` hooks.

    Layers only: optimizers define the hooks too, but their variables are stored the default way.
    """
    from lamina.layers.layer import Layer

    # Layer's own hooks write the variables the default way: only an override keeps other state;
    # a quantized or LoRA layer installs its hooks on the instance (see ``layers/_quantization``).
    return isinstance(obj, Layer) and (
        getattr(type(obj), name, None) is not getattr(Layer, name) or callable(obj.__dict__.get(name))
    )


def walk(obj, path, visited, visit):
    """Call ``visit(child, path)`` on ``obj`` and everything it tracks, once each, in Keras's
    order (the weight-file paths); ``visited`` holds the ids already seen."""
    if id(obj) in visited:
        return
    visited.add(id(obj))
    visit(obj, path)
    for name, child in _children(obj):
        child_path = f"{path}/{name}" if path else name
        if isinstance(child, list):
            used = {}
            for item in child:
                base = to_snake_case(type(item).__name__)
                if base in used:
                    used[base] += 1
                    item_name = f"{base}_{used[base]}"
                else:
                    used[base] = 0
                    item_name = base
                walk(item, f"{child_path}/{item_name}", visited, visit)
        else:
            walk(child, child_path, visited, visit)


def write_dataset(group, key, tensor):
    """Store ``tensor`` at ``group[key]``; bfloat16 as Keras stores it (2-byte opaque values
    tagged ``attrs["dtype"] = "bfloat16"``), since HDF5 has no bfloat16 type."""
    if tensor.dtype == torch.bfloat16:
        dataset = group.create_dataset(key, data=tensor.view(torch.int16).numpy().view("V2"))
        dataset.attrs["dtype"] = "bfloat16"
        return dataset
    return group.create_dataset(key, data=np.asarray(tensor.numpy()))


def read_dataset(dataset):
    """The value of a variable's dataset: a numpy array, or a bfloat16 tensor where Keras tagged it."""
    value = np.asarray(dataset[()])
    if dataset.attrs.get("dtype") == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(value).view(np.int16)).view(torch.bfloat16)
    return value


def save_weights_to_h5(model, h5file):
    """Write every variable of ``model`` (and its optimizer) into an open ``h5py.File``."""

    def visit(obj, path):
        group = h5file.require_group(path) if path else h5file
        vars_group = group.create_group("vars")
        vars_group.attrs["name"] = getattr(obj, "name", "")
        if has_state_hook(obj, "save_own_variables"):
            obj.save_own_variables(vars_group)
            return
        for i, v in enumerate(own_variables(obj)):
            write_dataset(vars_group, str(i), v.detach().cpu())

    walk(model, "", set(), visit)


def load_weights_from_h5(model, h5file, skip_mismatch=False, source="the weights file", check_only=False):
    """Assign variables of ``model`` from an open ``h5py.File`` written in the Keras layout.

    Every entry is checked first (no links, external storage or virtual datasets; each variable a
    dataset whose shape equals the variable's) and only then is any data read, so a hostile file
    cannot read other files or make the loader allocate more than the model itself holds. With
    ``check_only=True`` nothing is read or assigned: ``model`` may then live on the meta device.
    """
    store = SafeH5Group(h5file, source)
    problems = []
    assignments = []
    hooks = []

    def visit(obj, path):
        variables = own_variables(obj)
        key = f"{path}/vars" if path else "vars"
        entry = store.get(key)
        if has_state_hook(obj, "load_own_variables"):
            entry = {} if entry is None else entry
            if isinstance(entry, SafeH5Group):
                entry.check_all()
            elif not isinstance(entry, dict):
                raise ValueError(f"Cannot load {source}: HDF5 entry '{key}' must be a group.")
            hooks.append((obj, entry))
            return
        if entry is None:
            if variables:
                problems.append(f"missing group '{key}' for '{getattr(obj, 'name', obj)}'")
            return
        group = entry
        if not isinstance(group, SafeH5Group):
            raise ValueError(f"Cannot load {source}: HDF5 entry '{key}' must be a group of variables.")
        names = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
        if any(not k.isdigit() for k in names) or len(names) != len(variables):
            message = (
                f"Layer '{getattr(obj, 'name', obj)}' expected {len(variables)} variables, but "
                f"received {len(names)} variables during loading ({source}, group '{key}')."
            )
            if skip_mismatch:
                return
            if obj is getattr(model, "optimizer", None):
                # As Keras: an optimizer saved before its first step holds no slots yet.
                warnings.warn(f"Skipping the optimizer state: {message}", stacklevel=3)
                return
            raise ValueError(message)
        for i, v in enumerate(variables):
            dataset = group.dataset(str(i))
            if tuple(dataset.shape) != tuple(v.shape):
                if skip_mismatch:
                    continue
                raise ValueError(
                    f"Shape mismatch in {source} for variable '{v.path}': the file has "
                    f"{tuple(dataset.shape)}, the model expects {tuple(v.shape)}."
                )
            assignments.append((v, dataset))

    if getattr(model, "optimizer", None) is not None and "optimizer" in store:
        prepare_optimizer(model)
    walk(model, "", set(), visit)
    if problems and not skip_mismatch:
        raise ValueError(f"Could not load {source}: " + "; ".join(problems))
    if check_only:
        return
    for variable, dataset in assignments:
        variable.assign(read_dataset(dataset))
    for obj, entry in hooks:
        obj.load_own_variables(entry)


def prepare_optimizer(model):
    """Create optimizer slots so the file's optimizer state has somewhere to go."""
    optimizer = model.optimizer
    if not getattr(optimizer, "built", False) and hasattr(optimizer, "build"):
        optimizer.build(model.trainable_weights)
