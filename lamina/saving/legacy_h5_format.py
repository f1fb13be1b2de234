"""Read weights from the legacy (Keras 2) HDF5 layout, the one Keras's pretrained application
files (``*_weights_tf_dim_ordering_tf_kernels.h5``) use.

Layout: the root (or its ``model_weights`` group) has a ``layer_names`` attribute; each named
group has a ``weight_names`` attribute whose entries are dataset paths inside that group, in the
layer's trainable-then-non-trainable weight order. Layers are matched by position among the
layers that own weights, as Keras does. Long attributes are split by Keras into ``name0``,
``name1``, ... because HDF5 caps an attribute at 64 KiB.

Loading is defensive: links (soft or external), external or virtual storage, non-numeric data and
paths that leave the layer's group are refused, and every dataset's shape is checked against the
model's variable before anything is read.
"""

import h5py
import numpy as np

_MAX_ATTR_CHUNKS = 10_000


def is_legacy_weights_file(h5file):
    """Whether an open HDF5 file is in the Keras 2 weights layout."""
    root = h5file["model_weights"] if "model_weights" in h5file else h5file
    return _has_attr(root, "layer_names")


def _has_attr(group, name):
    return name in group.attrs or f"{name}0" in group.attrs


def _read_attr(group, name):
    """A list-of-strings attribute, joined from Keras's ``name0``, ``name1``, ... chunks."""
    if name in group.attrs:
        values = list(group.attrs[name])
    else:
        values = []
        for i in range(_MAX_ATTR_CHUNKS):
            if f"{name}{i}" not in group.attrs:
                break
            values.extend(group.attrs[f"{name}{i}"])
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _safe_dataset(group, path, where):
    """The dataset at ``path`` inside ``group``, refusing anything that reaches outside it."""
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"Not allowed: weight name {path!r} in {where} leaves its layer group.")
    node = group
    for i, part in enumerate(parts):
        if part not in node:
            raise ValueError(f"Malformed weights file: {where} lists weight {path!r}, which is missing.")
        link = node.get(part, getclass=True, getlink=True)
        if link in (h5py.SoftLink, h5py.ExternalLink):
            raise ValueError(f"Not allowed: H5 file with {link.__name__} at {where}/{'/'.join(parts[:i + 1])}")
        node = node[part]
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"Malformed weights file: {where}/{path} is not a dataset.")
    if node.external:
        raise ValueError(f"Not allowed: H5 file Dataset with external storage at {where}/{path}")
    if node.is_virtual:
        raise ValueError(f"Not allowed: H5 file with virtual Dataset at {where}/{path}")
    if node.dtype.kind not in "biuf":
        raise ValueError(f"Not allowed: weight {where}/{path} has non-numeric dtype {node.dtype}.")
    return node


def _legacy_variables(layer):
    # Keras 2 wrote a layer's trainable weights first, then the non-trainable ones.
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def load_weights_from_hdf5_group(h5file, model, skip_mismatch=False, source="the weights file"):
    """Assign ``model``'s layer weights from an open legacy HDF5 weights file.

    Args:
        h5file: An open ``h5py.File`` (or group) in the Keras 2 layout.
        model: A functional or sequential model whose layers own the weights.
        skip_mismatch: Skip layers whose weight count or shapes differ instead of raising.
        source: How error messages name the file.
    """
    root = h5file["model_weights"] if "model_weights" in h5file else h5file
    layers = [layer for layer in model.layers if layer.weights]
    names = []
    for name in _read_attr(root, "layer_names"):
        if name not in root or root.get(name, getclass=True, getlink=True) in (h5py.SoftLink, h5py.ExternalLink):
            raise ValueError(f"Malformed or unsafe weights file {source}: no plain group for layer {name!r}.")
        if not isinstance(root[name], h5py.Group):
            raise ValueError(f"Malformed weights file {source}: {name!r} is not a group.")
        if _read_attr(root[name], "weight_names"):
            names.append(name)
    if len(names) != len(layers):
        raise ValueError(
            f"Weight count mismatch: the model has {len(layers)} layers with weights, but {source} "
            f"holds weights for {len(names)} layers."
        )
    # Check everything first so a bad file leaves the model untouched.
    assignments = []
    for k, (name, layer) in enumerate(zip(names, layers)):
        group = root[name]
        where = f"{source} layer #{k} (named {name!r})"
        datasets = [_safe_dataset(group, w, where) for w in _read_attr(group, "weight_names")]
        variables = _legacy_variables(layer)
        if len(datasets) != len(variables):
            if skip_mismatch:
                continue
            raise ValueError(
                f"Layer #{k} (named {layer.name!r}) expects {len(variables)} weights, but {where} "
                f"holds {len(datasets)}."
            )
        for variable, dataset in zip(variables, datasets):
            if tuple(dataset.shape) != tuple(variable.shape):
                if skip_mismatch:
                    break
                raise ValueError(
                    f"Shape mismatch in layer #{k} (named {layer.name!r}) for weight "
                    f"{variable.path!r}: the file has {tuple(dataset.shape)}, the model expects "
                    f"{tuple(variable.shape)}."
                )
        else:
            assignments.extend(zip(variables, datasets))
    for variable, dataset in assignments:
        variable.assign(np.asarray(dataset[()]))
