"""Read-only views of a weights HDF5 file that refuse every way of reaching data outside it.

HDF5 can make a dataset read bytes from elsewhere: *external storage* (raw bytes of any local
file), *virtual datasets* (slices of other HDF5 files), *external links* and *soft links*. A
weights file from a stranger could use any of them to copy a local file into a model's weights,
so every entry is reached one hard link at a time and checked before anything is read: Keras
and Lamina never write such entries, and refusing them costs nothing for ordinary files.

Datasets read by ``load_own_variables`` hooks have no variable whose shape bounds them; they are
read only when their declared size is physically stored in the file (no compression, no
unwritten fill), so their allocation is bounded by the size of the file itself.
"""

import h5py
import numpy as np
from h5py import h5l

# Small hook entries (counters, short vectors) may be stored any way h5py likes.
_SMALL_HOOK_BYTES = 1024 * 1024
_NUMERIC_KINDS = "biufc"


class SafeH5Group:
    """A group of a weights file whose entries are reached through hard links only.

    Args:
        group: The ``h5py.Group`` (or ``h5py.File``) to view.
        source: How errors name the file (e.g. ``"'model.keras'"``).
    """

    def __init__(self, group, source):
        self._group = group
        self._source = source

    @property
    def name(self):
        return self._group.name

    def keys(self):
        return list(self._group.keys())

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._group)

    def __contains__(self, key):
        return self._resolve(key, missing_ok=True) is not None

    def __getitem__(self, key):
        entry = self.entry(key)
        if isinstance(entry, h5py.Dataset):
            return _HookDataset(entry, self._source)
        return entry

    def entry(self, key):
        """The checked group (as a ``SafeH5Group``) or ``h5py.Dataset`` at ``key``."""
        return self._resolve(key)

    def get(self, key):
        """Like ``entry``, but ``None`` when nothing is stored at ``key``."""
        return self._resolve(key, missing_ok=True)

    def _resolve(self, key, missing_ok=False):
        obj = self._group
        for part in _parts(key):
            if not isinstance(obj, h5py.Group):
                raise ValueError(
                    f"Cannot load {self._source}: HDF5 entry '{obj.name}' is a dataset, but a "
                    f"group was expected to hold '{part}'."
                )
            # Asked of the link itself: following it could already open another file.
            name = part.encode()
            if not obj.id.links.exists(name):
                if missing_ok:
                    return None
                raise KeyError(f"{obj.name.rstrip('/')}/{part}")
            if obj.id.links.get_info(name).type != h5l.TYPE_HARD:
                self._refuse_link(obj, part)
            obj = obj[part]
        if isinstance(obj, h5py.Dataset):
            check_dataset(obj, self._source)
            return obj
        if isinstance(obj, h5py.Group):
            return SafeH5Group(obj, self._source)
        raise ValueError(f"Cannot load {self._source}: HDF5 entry '{obj.name}' is not a group or dataset.")

    def dataset(self, key):
        """The checked ``h5py.Dataset`` at ``key``; a group there is a clear error."""
        entry = self.entry(key)
        if not isinstance(entry, h5py.Dataset):
            raise ValueError(
                f"Cannot load {self._source}: HDF5 entry '{entry.name}' is a group, but a "
                "variable must be stored as a dataset."
            )
        return entry

    def check_all(self):
        """Check every entry below this group (links, storage) without reading any data."""
        for key in self.keys():
            entry = self.entry(key)
            if isinstance(entry, SafeH5Group):
                entry.check_all()
            else:
                check_stored_size(entry, self._source)

    def _refuse_link(self, group, part):
        link = group.get(part, getlink=True)
        kind = type(link).__name__
        target = f" to {link.filename!r}" if isinstance(link, h5py.ExternalLink) else ""
        raise ValueError(
            f"Refusing to load {self._source}: HDF5 entry '{group.name.rstrip('/')}/{part}' "
            f"is a {kind}{target}; weights files may only hold their own data."
        )


def check_dataset(dataset, source):
    """Refuse a dataset that reads outside its file or holds no plain numbers."""
    if dataset.external:
        files = sorted({str(name) for name, *_ in dataset.external})
        raise ValueError(
            f"Refusing to load {source}: HDF5 dataset '{dataset.name}' uses external storage "
            f"(it would read {files}); weights files may only hold their own data."
        )
    if dataset.is_virtual:
        raise ValueError(
            f"Refusing to load {source}: HDF5 dataset '{dataset.name}' is a virtual dataset "
            "mapping other files; weights files may only hold their own data."
        )
    # Keras stores bfloat16 as 2-byte opaque values tagged with their dtype.
    bfloat16 = dataset.dtype == "V2" and dataset.attrs.get("dtype") == "bfloat16"
    if dataset.dtype.kind not in _NUMERIC_KINDS and not bfloat16:
        raise ValueError(
            f"Cannot load {source}: HDF5 dataset '{dataset.name}' has dtype {dataset.dtype}; "
            "weights must be numeric arrays."
        )


def check_stored_size(dataset, source):
    """Refuse a large dataset whose declared bytes are not all stored in the file.

    Such a dataset (compressed, or declared but never written) could inflate far past the
    file's own size when read; small ones are allowed whatever their storage.
    """
    nbytes = dataset.size * dataset.dtype.itemsize
    if nbytes > _SMALL_HOOK_BYTES and dataset.id.get_storage_size() < nbytes:
        raise ValueError(
            f"Refusing to load {source}: HDF5 dataset '{dataset.name}' declares shape "
            f"{dataset.shape} ({nbytes} bytes) but stores only {dataset.id.get_storage_size()} "
            "bytes; a compressed or unwritten entry this large is refused."
        )


class _HookDataset:
    """What a ``load_own_variables`` hook sees for a dataset: shape first, data on request."""

    def __init__(self, dataset, source):
        self._dataset = dataset
        self._source = source

    shape = property(lambda self: self._dataset.shape)
    dtype = property(lambda self: self._dataset.dtype)
    ndim = property(lambda self: self._dataset.ndim)
    size = property(lambda self: self._dataset.size)
    name = property(lambda self: self._dataset.name)

    def __len__(self):
        return len(self._dataset)

    def __getitem__(self, index):
        check_stored_size(self._dataset, self._source)
        return self._dataset[index]

    def __array__(self, dtype=None, copy=None):
        value = np.asarray(self[()])
        return value.astype(dtype) if dtype is not None else value


def _parts(key):
    return [p for p in str(key).split("/") if p]
