"""Weights in the legacy (Keras 2) HDF5 layout: read and written.

This is the layout of Keras's pretrained application files, of ``save_weights("w.h5")`` in
Keras 2 and of the ``model_weights`` group of a whole-model ``.h5`` file.

Layout: the group has a ``layer_names`` attribute; each named sub-group has a ``weight_names``
attribute whose entries are dataset paths inside that sub-group, in the layer's
trainable-then-non-trainable weight order. Layers are matched by position among the layers that
own weights (or by name with ``by_name=True``). Long attributes are split into ``name0``,
``name1``, ... because HDF5 caps an object header at 64 KiB.

Loading is defensive: links (soft or external), external or virtual storage, non-numeric data and
paths that leave the layer's group are refused, attributes are size-checked before they are read,
and every dataset's shape is checked against the variable it fills before any data is read.
"""

import warnings

import h5py
import numpy as np

from lamina.saving import safe_h5

_MAX_ATTR_CHUNKS = 10_000
# Keras splits list attributes so no chunk exceeds an HDF5 object header.
HDF5_OBJECT_HEADER_LIMIT = 64512
# Names lists and JSON configs are small; anything larger is refused before it is read.
MAX_ATTR_BYTES = 64 * 1024 * 1024
TOP_LEVEL_GROUP = "top_level_model_weights"


def is_legacy_weights_file(h5file):
    """Whether an open HDF5 file is in the Keras 2 weights layout (alone or in a whole-model file)."""
    if h5file.id.links.exists(b"model_weights"):
        return True
    return _has_attr(h5file, "layer_names")


def has_plain_group(group, name):
    """Whether ``group`` holds a group ``name`` through a hard link (checked without following it)."""
    raw = name.encode()
    return (
        group.id.links.exists(raw)
        and group.id.links.get_info(raw).type == h5py.h5l.TYPE_HARD
        and isinstance(group[name], h5py.Group)
    )


def _has_attr(group, name):
    return name in group.attrs or f"{name}0" in group.attrs


def check_attr_size(group, name, source="the file", limit=None):
    """Refuse an attribute whose declared size exceeds ``limit`` bytes (default
    ``MAX_ATTR_BYTES``), before reading it."""
    limit = MAX_ATTR_BYTES if limit is None else limit
    attr = group.attrs.get_id(name)
    count = int(np.prod(attr.shape)) if attr.shape else 1
    # Variable-length strings live in the file's heap, so their bytes are bounded by the file;
    # their count (and every fixed-size item) is checked here.
    itemsize = attr.dtype.itemsize
    if count * itemsize > limit:
        raise ValueError(
            f"Refusing to load {source}: HDF5 attribute {name!r} of '{group.name}' declares "
            f"{count} entries of {itemsize} bytes (limit {limit} bytes)."
        )


def read_attr(group, name, source="the file"):
    """A list-of-strings attribute, joined from Keras's ``name0``, ``name1``, ... chunks.

    Every chunk is size-checked before it is read, and the total is bounded too.
    """
    chunks = [name] if name in group.attrs else []
    if not chunks:
        for i in range(_MAX_ATTR_CHUNKS):
            if f"{name}{i}" not in group.attrs:
                break
            chunks.append(f"{name}{i}")
    values = []
    total = 0
    for chunk in chunks:
        check_attr_size(group, chunk, source)
        data = group.attrs[chunk]
        items = list(np.atleast_1d(data)) if not isinstance(data, (str, bytes)) else [data]
        for v in items:
            v = v.decode("utf-8") if isinstance(v, bytes) else v
            if not isinstance(v, str):
                raise ValueError(f"Malformed file {source}: attribute {name!r} of '{group.name}' must hold strings.")
            total += len(v)
            values.append(v)
        if total > MAX_ATTR_BYTES:
            raise ValueError(f"Refusing to load {source}: attribute {name!r} of '{group.name}' is too large.")
    return values


def read_text_attr(group, name, source="the file"):
    """A single string attribute (e.g. a JSON config), size-checked first; ``None`` if absent."""
    if name not in group.attrs:
        return None
    check_attr_size(group, name, source)
    value = group.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise ValueError(f"Malformed file {source}: attribute {name!r} must be a string.")
    # A variable-length string declares no size up front; what it holds is stored in the file.
    if len(value) > MAX_ATTR_BYTES:
        raise ValueError(
            f"Refusing to load {source}: HDF5 attribute {name!r} of '{group.name}' holds "
            f"{len(value)} bytes (limit {MAX_ATTR_BYTES} bytes)."
        )
    return value


def write_attr(group, name, data):
    """Write a list of byte strings as attribute ``name``, split into chunks as Keras does."""
    too_long = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise RuntimeError(
            f"These names cannot be saved to an HDF5 file: they are longer than "
            f"{HDF5_OBJECT_HEADER_LIMIT} bytes: {too_long}"
        )
    array = np.asarray(data)
    chunks = 1
    parts = np.array_split(array, chunks)
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(array, chunks)
    if chunks > 1:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part
    else:
        # The list itself, as Keras writes it (h5py stores it as variable-length strings).
        group.attrs[name] = list(data)


def _safe_dataset(group, path, where):
    """The dataset at ``path`` inside ``group``, refusing anything that reaches outside it."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"Not allowed: weight name {path!r} in {where} leaves its layer group.")
    node = group
    for i, part in enumerate(parts):
        raw = part.encode()
        if not isinstance(node, h5py.Group) or not node.id.links.exists(raw):
            raise ValueError(f"Malformed weights file: {where} lists weight {path!r}, which is missing.")
        # Asked of the link itself: following it could already open another file.
        if node.id.links.get_info(raw).type != h5py.h5l.TYPE_HARD:
            kind = type(node.get(part, getlink=True)).__name__
            raise ValueError(f"Not allowed: H5 file with {kind} at {where}/{'/'.join(parts[:i + 1])}")
        node = node[part]
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"Malformed weights file: {where}/{path} is not a dataset.")
    try:
        safe_h5.check_dataset(node, where)
    except ValueError as e:
        raise ValueError(f"Not allowed: {e}") from None
    if node.dtype.kind not in "biuf":
        raise ValueError(f"Not allowed: weight {where}/{path} has non-numeric dtype {node.dtype}.")
    return node


def _plain_group(root, name, source):
    raw = name.encode()
    if not root.id.links.exists(raw) or root.id.links.get_info(raw).type != h5py.h5l.TYPE_HARD:
        raise ValueError(f"Malformed or unsafe weights file {source}: no plain group for layer {name!r}.")
    if not isinstance(root[name], h5py.Group):
        raise ValueError(f"Malformed weights file {source}: {name!r} is not a group.")
    return root[name]


def legacy_variables(layer):
    """A layer's variables in Keras 2's order: trainable first, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _top_level_variables(model):
    # Variables the model owns directly (not through a layer), in Keras's legacy order.
    inner = {id(v) for layer in model.layers for v in layer.weights}
    return [v for v in legacy_variables(model) if id(v) not in inner]


def _weights_root(h5file, source):
    if not h5file.id.links.exists(b"model_weights"):
        return h5file
    if not has_plain_group(h5file, "model_weights"):
        raise ValueError(f"Refusing to load {source}: it has no plain `model_weights` group.")
    return h5file["model_weights"]


def save_weights_to_hdf5_group(group, model):
    """Write ``model``'s layer weights into ``group`` in the Keras 2 layout.

    Args:
        group: An ``h5py.Group`` (or file) open for writing.
        model: A functional or sequential model.
    """
    from lamina.saving.saving_lib import KERAS_VERSION

    write_attr(group, "layer_names", [layer.name.encode("utf8") for layer in model.layers])
    group.attrs["backend"] = b"torch"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    # Sorted so group names grow strictly, as Keras writes them.
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        write_variables(group.create_group(layer.name), legacy_variables(layer))
    write_variables(group.create_group(TOP_LEVEL_GROUP), _top_level_variables(model))


def write_variables(group, variables):
    """Write ``variables`` as datasets named by their paths, listed in ``weight_names``."""
    names = [str(v.path).encode("utf8") for v in variables]
    write_attr(group, "weight_names", names)
    for name, variable in zip(names, variables):
        value = np.asarray(variable.numpy())
        group.create_dataset(name.decode("utf8"), data=value)


def read_variable_datasets(group, where, source):
    """The checked datasets a group's ``weight_names`` lists (nothing read yet)."""
    return [_safe_dataset(group, w, where) for w in read_attr(group, "weight_names", source)]


def _check_shapes(variables, datasets, what, skip_mismatch, source):
    """Pairs to assign, after checking every shape; ``[]`` when skipped for a mismatch."""
    for variable, dataset in zip(variables, datasets):
        if tuple(dataset.shape) != tuple(variable.shape):
            message = (
                f"Shape mismatch in {what} for weight {variable.path!r}: {source} has "
                f"{tuple(dataset.shape)}, the model expects {tuple(variable.shape)}."
            )
            if skip_mismatch:
                warnings.warn(f"Skipping loading weights for {what}. {message}", stacklevel=3)
                return []
            raise ValueError(message)
    return list(zip(variables, datasets))


def _assign(assignments, source, check_only=False):
    # Declared sizes are checked for every dataset before the first one is read.
    for _, dataset in assignments:
        safe_h5.check_stored_size(dataset, source)
    if check_only:
        return
    for variable, dataset in assignments:
        variable.assign(np.asarray(dataset[()]))


def load_weights_from_hdf5_group(h5file, model, skip_mismatch=False, source="the weights file", check_only=False):
    """Assign ``model``'s layer weights from an open legacy HDF5 file, layer by position.

    Args:
        h5file: An open ``h5py.File`` (or group) in the Keras 2 layout (a whole-model file's
            ``model_weights`` group is found by itself).
        model: A functional or sequential model whose layers own the weights.
        skip_mismatch: Skip layers whose weight count or shapes differ instead of raising.
        source: How error messages name the file.
        check_only: Check the file against the model (counts, shapes, sizes) without reading
            or assigning any weight (e.g. against a model built on the meta device).
    """
    root = _weights_root(h5file, source)
    layers = [layer for layer in model.layers if legacy_variables(layer)]
    names = []
    for name in read_attr(root, "layer_names", source):
        if read_attr(_plain_group(root, name, source), "weight_names", source):
            names.append(name)
    if len(names) != len(layers):
        raise ValueError(
            f"Weight count mismatch: the model has {len(layers)} layers with weights, but {source} "
            f"holds weights for {len(names)} layers."
        )
    # Check everything first so a bad file leaves the model untouched.
    assignments = []
    for k, (name, layer) in enumerate(zip(names, layers)):
        where = f"{source} layer #{k} (named {name!r})"
        datasets = read_variable_datasets(root[name], where, source)
        variables = legacy_variables(layer)
        if len(datasets) != len(variables):
            if skip_mismatch:
                continue
            raise ValueError(
                f"Layer #{k} (named {layer.name!r}) expects {len(variables)} weights, but {where} "
                f"holds {len(datasets)}."
            )
        what = f"layer #{k} (named {layer.name!r})"
        assignments.extend(_check_shapes(variables, datasets, what, skip_mismatch, source))
    assignments.extend(_top_level_assignments(root, model, skip_mismatch, source))
    _assign(assignments, source, check_only)


def _top_level_assignments(root, model, skip_mismatch, source):
    if not has_plain_group(root, TOP_LEVEL_GROUP):
        return []
    datasets = read_variable_datasets(root[TOP_LEVEL_GROUP], f"{source} top-level weights", source)
    variables = _top_level_variables(model)
    if len(datasets) != len(variables):
        if skip_mismatch:
            return []
        raise ValueError(
            f"The model has {len(variables)} top-level weights, but {source} holds {len(datasets)}."
        )
    return _check_shapes(variables, datasets, "the top-level model", skip_mismatch, source)


def load_weights_from_hdf5_group_by_name(h5file, model, skip_mismatch=False, source="the weights file"):
    """Assign weights to the layers whose names match a layer group of the file (Keras 2's
    ``load_weights(..., by_name=True)``); layers with no match keep their values.
    """
    root = _weights_root(h5file, source)
    index = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    assignments = []
    for k, name in enumerate(read_attr(root, "layer_names", source)):
        group = _plain_group(root, name, source)
        datasets = read_variable_datasets(group, f"{source} layer #{k} (named {name!r})", source)
        for layer in index.get(name, []):
            variables = legacy_variables(layer)
            if len(datasets) != len(variables):
                message = (
                    f"Weight count mismatch for layer #{k} (named {layer.name!r}): the layer expects "
                    f"{len(variables)} weights, {source} holds {len(datasets)}."
                )
                if skip_mismatch:
                    warnings.warn(f"Skipping loading weights. {message}", stacklevel=2)
                    continue
                raise ValueError(message)
            assignments.extend(
                _check_shapes(variables, datasets, f"layer #{k} (named {layer.name!r})", skip_mismatch, source)
            )
    assignments.extend(_top_level_assignments(root, model, skip_mismatch, source))
    _assign(assignments, source)


def save_optimizer_weights_to_hdf5_group(h5file, optimizer):
    """Write an optimizer's variables into an ``optimizer_weights`` group, as Keras does."""
    variables = list(optimizer.variables)
    if variables:
        write_variables(h5file.create_group("optimizer_weights"), variables)


def optimizer_weight_count(h5file, source="the file"):
    """How many variables the file's ``optimizer_weights`` group lists."""
    return len(read_attr(_plain_group(h5file, "optimizer_weights", source), "weight_names", source))


def load_optimizer_weights_from_hdf5_group(h5file, optimizer, source="the file"):
    """Set an optimizer's (already built) variables from the file's ``optimizer_weights``.

    Every dataset's shape is checked against the optimizer's variable before anything is read.
    """
    group = _plain_group(h5file, "optimizer_weights", source)
    datasets = read_variable_datasets(group, f"{source} optimizer_weights", source)
    variables = list(optimizer.variables)
    if len(datasets) != len(variables):
        raise ValueError(
            f"The optimizer has {len(variables)} variables, but {source} holds {len(datasets)}."
        )
    _assign(_check_shapes(variables, datasets, "the optimizer", False, source), source)
