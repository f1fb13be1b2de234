"""``KerasFileEditor``: inspect and edit the weights of a ``.keras`` or ``.weights.h5`` file.

The file is read once, with the same safety checks as loading a model (archive members, sizes,
no HDF5 links, external or virtual datasets), into a nested dict: one dict per object (layer,
optimizer, ...) holding its weights by index (``"0"``, ``"1"``, ...) and its child objects by name,
as the Keras 3 layout stores them (``layers/dense/vars/0`` becomes ``["layers"]["dense"]["0"]``).
Edits change that dict; `save` writes it as a ``.weights.h5`` file in the same layout.
"""

import collections
import io
import json
import math
import os
import zipfile

import h5py
import numpy as np

from lamina.saving import saving_lib
from lamina.utils import atomic_files
from lamina.saving.weights_store import has_state_hook, own_variables, walk

_MAX_RANK = 64


class KerasFileEditor:
    """Inspect, edit and resave the weights stored in a Keras file.

    Useful to adapt a saved file to a changed architecture: rename, delete or add objects and
    weights, check the result against a model with `compare`, then write it with `save`.

    Args:
        filepath: Path of a ``.keras`` archive or a ``.weights.h5`` file.

    Example:

    >>> editor = lamina.saving.KerasFileEditor("my_model.weights.h5")
    >>> editor.summary()
    >>> editor.delete_object("layers/dense_2")
    >>> editor.add_object("layers/einsum_dense", weights={"0": kernel, "1": bias})
    >>> editor.compare(new_model)["status"]
    'success'
    >>> editor.save("edited_model.weights.h5")
    """

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        self.metadata = None
        self.config = None
        self.model = None
        if self.filepath.endswith(".keras"):
            with zipfile.ZipFile(self.filepath, "r") as zf:
                names = saving_lib.check_archive(zf, self.filepath)
                self.config = json.loads(
                    saving_lib.read_member(zf, saving_lib.CONFIG_MEMBER, saving_lib.MAX_JSON_BYTES)
                )
                if saving_lib.METADATA_MEMBER in names:
                    self.metadata = json.loads(
                        saving_lib.read_member(zf, saving_lib.METADATA_MEMBER, saving_lib.MAX_JSON_BYTES)
                    )
                if saving_lib.WEIGHTS_MEMBER not in names:
                    raise ValueError(f"{self.filepath!r} has no {saving_lib.WEIGHTS_MEMBER}.")
                source = io.BytesIO(
                    saving_lib.read_member(zf, saving_lib.WEIGHTS_MEMBER, saving_lib.MAX_WEIGHTS_BYTES)
                )
        elif self.filepath.endswith(".weights.h5"):
            source = self.filepath
        else:
            raise ValueError(
                "Invalid filename: expected a `.keras` `.weights.h5` extension. "
                f"Received: filepath={self.filepath}"
            )
        self.object_metadata = {}
        with h5py.File(source, "r") as h5file:
            self.weights_dict = self._read_object(h5file, "")
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(
                f"Saved with Keras {self.metadata.get('keras_version')} - "
                f"date: {self.metadata.get('date_saved')}"
            )

    # --- reading --------------------------------------------------------------------------------
    def _read_object(self, group, path):
        """The dict of one object: its ``vars`` datasets, then its child objects."""
        result = collections.OrderedDict()
        for key in group.keys():
            link = group.get(key, getclass=True, getlink=True)
            if link in (h5py.ExternalLink, h5py.SoftLink):
                raise ValueError(f"Not allowed: H5 file with {link.__name__} at '{path}/{key}'")
        if "vars" in group and isinstance(group["vars"], h5py.Group):
            vars_group = group["vars"]
            if vars_group.attrs:
                self.object_metadata[path] = {k: _plain(v) for k, v in vars_group.attrs.items()}
            for key in vars_group.keys():
                link = vars_group.get(key, getclass=True, getlink=True)
                if link in (h5py.ExternalLink, h5py.SoftLink):
                    raise ValueError(f"Not allowed: H5 file with {link.__name__} at '{path}/vars/{key}'")
                result[key] = _read_dataset(vars_group[key], f"{path}/vars/{key}")
        for key in group.keys():
            if key == "vars":
                continue
            child = group[key]
            if isinstance(child, h5py.Group):
                child_path = f"{path}/{key}" if path else key
                value = self._read_object(child, child_path)
                if value:
                    result[key] = value
        return result

    # --- inspecting -----------------------------------------------------------------------------
    def summary(self):
        """Print the tree of objects and weights (shape and dtype) in the file."""
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    def _print_tree(self, tree, prefix, path):
        items = list(tree.items())
        for i, (key, value) in enumerate(items):
            last = i == len(items) - 1
            connector = "└─ " if last else "├─ "
            child_path = f"{path}/{key}" if path else key
            if isinstance(value, dict):
                name = self.object_metadata.get(child_path, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), child_path)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model):
        """List the differences between the file and the weights `reference_model` would save.

        Args:
            reference_model: A model (built, so that its weights exist).

        Returns:
            Dict with ``"status"`` (``"success"`` or ``"error"``), ``"error_count"`` and
            ``"match_count"`` (the number of weights present in both with the same shape).
        """
        print("Running comparison")
        spec = weight_spec_of(reference_model)
        checked = set()
        errors, matches = _compare(self.weights_dict, spec, "", "saved file", "reference model", checked)
        reverse_errors, _ = _compare(spec, self.weights_dict, "", "reference model", "saved file", checked)
        errors += reverse_errors
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
            status = "success"
        else:
            plural = "" if errors == 1 else "s"
            print(f"Found {errors} error{plural}: saved file is not compatible with the reference model")
            status = "error"
        return {"status": status, "error_count": errors, "match_count": matches}

    # --- editing --------------------------------------------------------------------------------
    def _locate(self, object_name):
        """``(parent dict, key)`` of an object given by path (``"layers/dense"``) or unique name."""
        if "/" in object_name:
            *parents, leaf = object_name.split("/")
            node = self.weights_dict
            for element in parents:
                if not isinstance(node.get(element), dict):
                    raise ValueError(f"Path '{object_name}' not found in model.")
                node = node[element]
            if leaf not in node:
                raise ValueError(f"Path '{object_name}' not found in model.")
            return node, leaf
        found = []

        def search(node):
            for key, value in node.items():
                if isinstance(value, dict):
                    search(value)
            if object_name in node:
                found.append(node)

        search(self.weights_dict)
        if len(found) > 1:
            raise ValueError(f"Name '{object_name}' occurs more than once in the model; try passing a complete path")
        if not found:
            raise ValueError(
                f"Source name '{object_name}' does not appear in the model. Use `editor.summary()` "
                "to list all objects."
            )
        return found[0], object_name

    def rename_object(self, object_name, new_name):
        """Rename an object (e.g. a layer), given by name (``"dense_2"``) or path
        (``"layers/dense_2"``); `new_name` is a leaf name."""
        if "/" in new_name:
            raise ValueError(
                f"Argument `target_name` should be a leaf name, not a full path name. Received: target_name='{new_name}'"
            )
        parent, key = self._locate(object_name)
        if new_name in parent and new_name != key:
            raise ValueError(f"Cannot rename '{object_name}' to '{new_name}': that name is already taken.")
        # Keep the position of the object among its siblings.
        items = [(new_name if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)

    def delete_object(self, object_name):
        """Remove an object (e.g. a layer) given by name or path, with all its weights."""
        parent, key = self._locate(object_name)
        del parent[key]

    def add_object(self, object_path, weights):
        """Add a new object at `object_path` (e.g. ``"layers/dense_2"``).

        Args:
            object_path: Full path of the new object; its parent must exist.
            weights: Dict of weight name (``"0"``, ``"1"``, ...) to array.
        """
        weights = _check_weights(weights)
        *parents, leaf = object_path.split("/")
        node = self.weights_dict
        for element in parents:
            if not isinstance(node.get(element), dict):
                raise ValueError(f"Path '{'/'.join(parents)}' not found in model.")
            node = node[element]
        if leaf in node:
            raise ValueError(f"Object '{object_path}' already exists; delete it first or use `add_weights`.")
        node[leaf] = collections.OrderedDict(weights)

    def delete_weight(self, object_name, weight_name):
        """Remove the weight `weight_name` (e.g. ``"0"``) of an object given by name or path."""
        parent, key = self._locate(object_name)
        target = parent[key]
        if not isinstance(target, dict) or weight_name not in target or isinstance(target[weight_name], dict):
            found = [k for k, v in target.items() if not isinstance(v, dict)] if isinstance(target, dict) else []
            raise ValueError(f"Weight {weight_name} not found in object {object_name}. Weights found: {found}")
        del target[weight_name]

    def add_weights(self, object_name, weights):
        """Add (or replace) weights of an existing object: a dict of name (``"2"``) to array."""
        weights = _check_weights(weights)
        parent, key = self._locate(object_name)
        if not isinstance(parent[key], dict):
            raise ValueError(f"'{object_name}' is a weight, not an object.")
        parent[key].update(weights)

    # --- writing --------------------------------------------------------------------------------
    def save(self, filepath):
        """Write the (edited) weights to a ``.weights.h5`` file in the Keras 3 layout."""
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(
                f"Invalid `filepath` argument: expected a `.weights.h5` extension. Received: filepath={filepath}"
            )

        def write(path):
            with h5py.File(path, "w") as h5file:
                _write_object(h5file, self.weights_dict, "", self.object_metadata)

        atomic_files.atomic_write(filepath, write)

    def resave_weights(self, filepath):
        """Same as `save`."""
        self.save(filepath)


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_dataset(dataset, path):
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"Expected a weight (HDF5 dataset) at '{path}', found a {type(dataset).__name__}.")
    if dataset.external:
        raise ValueError(f"Not allowed: H5 file Dataset with external links: {dataset.external}")
    if dataset.is_virtual:
        raise ValueError(f"Not allowed: H5 file with virtual Dataset at {path}")
    if dataset.dtype.kind not in "biufc":
        raise ValueError(f"Not allowed: weight '{path}' has non-numeric dtype {dataset.dtype}.")
    shape = dataset.shape or ()
    if len(shape) > _MAX_RANK:
        raise ValueError(f"Malformed weight '{path}': rank {len(shape)} exceeds {_MAX_RANK}.")
    size = math.prod(shape) * dataset.dtype.itemsize
    if size > saving_lib.MAX_WEIGHTS_BYTES:
        raise ValueError(f"Weight '{path}' is too large to load safely ({size} bytes).")
    return np.asarray(dataset[()])


def _check_weights(weights):
    if not isinstance(weights, dict):
        raise ValueError(
            "Argument `weights` should be a dict where keys are weight names (usually '0', '1', "
            f"etc.) and values are NumPy arrays. Received: type(weights)={type(weights)}"
        )
    return {str(k): np.asarray(v) for k, v in weights.items()}


def _write_object(group, tree, path, metadata):
    weights = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    if weights:
        vars_group = group.create_group("vars")
        for key, value in metadata.get(path, {}).items():
            vars_group.attrs[key] = value
        for key, value in weights.items():
            vars_group.create_dataset(key, data=value)
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            _write_object(group.create_group(key), value, f"{path}/{key}" if path else key, metadata)


def weight_spec_of(model):
    """The nested dict of weight shapes `model` would save (the structure `KerasFileEditor` reads)."""
    spec = collections.OrderedDict()

    def visit(obj, path):
        if has_state_hook(obj, "save_own_variables"):
            store = {}
            obj.save_own_variables(store)
            shapes = {k: _WeightSpec(np.shape(store[k])) for k in sorted(store)}
        else:
            shapes = {str(i): _WeightSpec(v.shape) for i, v in enumerate(own_variables(obj))}
        if not shapes:
            return
        node = spec
        for element in path.split("/") if path else []:
            node = node.setdefault(element, collections.OrderedDict())
        node.update(shapes)

    walk(model, "", set(), visit)
    return spec


def _compare(target, reference, path, target_name, reference_name, checked):
    """Errors and matches of `reference`'s entries in `target` (each path reported once)."""
    errors = matches = 0
    for key, ref in reference.items():
        inner = f"{path}/{key}"
        if inner in checked:
            continue
        if key not in target:
            errors += 1
            checked.add(inner)
            kind = "Object" if isinstance(ref, dict) else "Weight"
            print(f"...{kind} {inner} present in {reference_name}, missing from {target_name}")
            if isinstance(ref, dict):
                print(f"    In {reference_name}, {inner} contains the following keys: {list(ref.keys())}")
        elif isinstance(ref, dict):
            if not isinstance(target[key], dict):
                errors += 1
                checked.add(inner)
                print(f"...{inner} is an object in {reference_name} but a weight in {target_name}")
                continue
            sub_errors, sub_matches = _compare(target[key], ref, inner, target_name, reference_name, checked)
            errors += sub_errors
            matches += sub_matches
        elif isinstance(target[key], dict):
            errors += 1
            checked.add(inner)
            print(f"...{inner} is a weight in {reference_name} but an object in {target_name}")
        elif tuple(target[key].shape) != tuple(ref.shape):
            errors += 1
            checked.add(inner)
            print(
                f"...Weight shape mismatch for {inner}\n    In {reference_name}: shape={tuple(ref.shape)}\n"
                f"    In {target_name}: shape={tuple(target[key].shape)}"
            )
        else:
            matches += 1
    return errors, matches


class _WeightSpec:
    """A weight of the reference model in `compare`: only its shape matters."""

    def __init__(self, shape):
        self.shape = tuple(shape)
