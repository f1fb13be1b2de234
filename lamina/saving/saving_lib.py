"""The ``.keras`` archive and ``.weights.h5`` files, in the Keras 3 layout, written atomically.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json``, ``model.weights.h5`` and,
for layers with ``save_assets``/``load_assets`` hooks (e.g. adapted vocabularies), files under
``assets/<object path>/``. Reading is defensive: only those members are accepted, member names
and sizes are checked before anything is extracted, and the config is deserialized in safe mode
unless the caller opts out.
"""

import contextlib
import datetime
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
import zlib

import h5py

from lamina.backend import variables
from lamina.saving import archive_dir, legacy_h5_model, model_sizing, serialization_lib, sharded_checkpoint
from lamina.saving.weights_store import load_weights_from_h5, save_weights_to_h5, walk
from lamina.utils import atomic_files

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
_ASSETS = "assets"
_ALLOWED_MEMBERS = {CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER}
# Generous bounds: configs are small; weights may be large but never larger than this.
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_WEIGHTS_BYTES = 16 * 1024**3
_MAX_COMPRESSION_RATIO = 1000
# Assets (vocabularies) are extracted to a temporary folder: their total is bounded too.
_MAX_ASSETS_BYTES = 1024**3
# The weights member is copied out in chunks, in memory up to _SPOOL_BYTES, then on disk.
_CHUNK_BYTES = 4 * 1024 * 1024
_SPOOL_BYTES = 256 * 1024 * 1024
# Variables a model may create beyond what its weights file stores (seed states, small buffers),
# when its config cannot be sized on the meta device first.
_UNSIZED_MARGIN_BYTES = 64 * 1024 * 1024

KERAS_VERSION = "3.15.1"


def save_model(model, filepath, zipped=True, include_optimizer=True):
    """Write ``model`` as a ``.keras`` archive (config, metadata, weights, assets).

    Args:
        model: The model to save.
        filepath: A ``.keras`` path, or with ``zipped=False`` a folder path (not ending in
            ``.keras``) that receives the same members as plain files. A ``.h5`` / ``.hdf5``
            path writes Keras's legacy whole-model HDF5 file instead.
        zipped: Whether to write a zip file (the default) or the unzipped folder form.
        include_optimizer: For a legacy HDF5 file, whether to store the training config and
            optimizer state (a ``.keras`` archive always stores them).
    """
    # A model sharded by ModelParallel is gathered; process 0 writes the usual archive.
    sharded_checkpoint.save_whole(model, lambda: _save_model(model, filepath, zipped, include_optimizer))


def _save_model(model, filepath, zipped, include_optimizer=True):
    filepath = os.fspath(filepath)
    if zipped and filepath.endswith(legacy_h5_model.H5_EXTENSIONS):
        legacy_h5_model.save_model_to_hdf5(model, filepath, include_optimizer=include_optimizer)
        return
    if zipped and not filepath.endswith(".keras"):
        raise ValueError(
            f"Invalid filepath extension for saving: {filepath!r}. Use `.keras` for a whole model "
            "(or `zipped=False` with a folder path), or `save_weights()` with a `.weights.h5` path."
        )
    if not zipped and filepath.endswith(".keras"):
        raise ValueError(
            "When using `zipped=False`, the `filepath` argument should not end in `.keras`. "
            f"Received: filepath={filepath!r}"
        )
    config = serialization_lib.serialize_keras_object(model)
    # Keras writes an empty dict for a model that was never compiled.
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else {}
    config["compile_config"] = compile_config
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        save_weights_to_h5(model, f)
    members = [
        (METADATA_MEMBER, json.dumps(metadata).encode()),
        (CONFIG_MEMBER, json.dumps(config, default=_json_default).encode()),
        (WEIGHTS_MEMBER, weights.getvalue()),
    ] + _collect_assets(model)

    if not zipped:
        _swap_directory(filepath, lambda tmp: archive_dir.write_directory(tmp, members))
        return

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)

    atomic_files.atomic_write(filepath, write)


def _swap_directory(path, write):
    """Write a folder next to ``path`` and move it into place, replacing an earlier save.

    A folder cannot replace another in one rename: the old one is moved aside first, so a kill
    leaves either the old or the new folder at ``path``, or (between the two renames) both
    beside it under temporary names, which the next save removes.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"Cannot save to {path!r} with `zipped=False`: it exists and is not a folder.")
    atomic_files.remove_stale_temps(path)
    tmp, old = atomic_files.temp_path(path), atomic_files.temp_path(path, "-old")
    try:
        write(tmp)
        if os.path.isdir(path):
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, old):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover)


def _has_asset_hook(obj, name):
    from lamina.layers.layer import Layer

    return isinstance(obj, Layer) and callable(getattr(type(obj), name, None))


def _asset_prefix(path):
    return f"{_ASSETS}/{path}/" if path else f"{_ASSETS}/"


def _collect_assets(model):
    """(archive name, bytes) of every file the layers' ``save_assets`` hooks write, Keras's layout."""
    files = []

    def visit(obj, path):
        if not _has_asset_hook(obj, "save_assets"):
            return
        with tempfile.TemporaryDirectory(prefix="lamina-assets-") as tmp:
            obj.save_assets(tmp)
            for root, _, names in sorted(os.walk(tmp)):
                for file_name in sorted(names):
                    full = os.path.join(root, file_name)
                    rel = os.path.relpath(full, tmp).replace(os.sep, "/")
                    with open(full, "rb") as f:
                        files.append((_asset_prefix(path) + rel, f.read()))

    walk(model, "", set(), visit)
    return files


def _load_assets(model, zf, names):
    """Hand each layer with a ``load_assets`` hook a temporary folder holding its own asset files."""
    assets = sorted(n for n in names if n.startswith(_ASSETS + "/"))
    if not assets:
        return

    def visit(obj, path):
        if not path or not _has_asset_hook(obj, "load_assets"):
            return
        prefix = _asset_prefix(path)
        mine = [n for n in assets if n.startswith(prefix)]
        if not mine:
            return
        with tempfile.TemporaryDirectory(prefix="lamina-assets-") as tmp:
            for name in mine:
                target = os.path.join(tmp, *name[len(prefix):].split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(read_member(zf, name, MAX_JSON_BYTES))
            obj.load_assets(tmp)

    walk(model, "", set(), visit)


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Cannot serialize {type(value).__name__} in a model config.")


def check_archive(zf, filepath):
    names = set()
    asset_bytes = 0
    for info in zf.infolist():
        name = info.filename
        if name.startswith("/") or name.startswith("\\") or ".." in name.replace("\\", "/").split("/"):
            raise ValueError(f"Refusing to load {filepath!r}: archive member {name!r} has an unsafe path.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValueError(f"Refusing to load {filepath!r}: archive member {name!r} is a symbolic link.")
        if name.endswith("/") and (name.rstrip("/") == _ASSETS or name.startswith(_ASSETS + "/")):
            continue
        if name not in _ALLOWED_MEMBERS and not name.startswith(_ASSETS + "/"):
            raise ValueError(f"Refusing to load {filepath!r}: unexpected archive member {name!r}.")
        if name in names:
            raise ValueError(f"Refusing to load {filepath!r}: duplicate archive member {name!r}.")
        names.add(name)
        limit = MAX_WEIGHTS_BYTES if name == WEIGHTS_MEMBER else MAX_JSON_BYTES
        if info.file_size > limit:
            raise ValueError(
                f"Refusing to load {filepath!r}: member {name!r} declares {info.file_size} bytes "
                f"(limit {limit})."
            )
        if info.compress_size and info.file_size / info.compress_size > _MAX_COMPRESSION_RATIO:
            raise ValueError(f"Refusing to load {filepath!r}: member {name!r} has a suspicious compression ratio.")
        if name.startswith(_ASSETS + "/"):
            asset_bytes += info.file_size
            if asset_bytes > _MAX_ASSETS_BYTES:
                raise ValueError(
                    f"Refusing to load {filepath!r}: its asset files declare more than "
                    f"{_MAX_ASSETS_BYTES} bytes in all."
                )
    if CONFIG_MEMBER not in names:
        raise ValueError(f"Cannot load {filepath!r}: the archive has no {CONFIG_MEMBER}.")
    return names


def read_member(zf, name, limit):
    with zf.open(name) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"Archive member {name!r} is larger than it declares.")
    return data


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with ``save_model`` (by Lamina or by Keras 3).

    Any failure caused by the file's content is reported as a ``ValueError`` naming the file.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(legacy_h5_model.H5_EXTENSIONS):
        return legacy_h5_model.load_model_from_hdf5(filepath, custom_objects, compile, safe_mode)
    try:
        return _load_model(filepath, custom_objects, compile, safe_mode)
    except ValueError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, IndexError, TypeError,
            AttributeError, UnicodeDecodeError, RuntimeError, EOFError, zlib.error) as e:
        raise ValueError(f"Cannot load {filepath!r}: the file is malformed ({type(e).__name__}: {e}).") from e


def _open_archive(filepath):
    if os.path.isdir(filepath) and not os.path.islink(filepath):
        return archive_dir.DirectoryArchive(filepath)
    if not os.path.isfile(filepath):
        raise ValueError(f"Cannot load {filepath!r}: no such file.")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"Cannot load {filepath!r}: it is not a `.keras` zip archive.")
    return zipfile.ZipFile(filepath, "r")


def _load_model(filepath, custom_objects, compile, safe_mode):
    source = repr(filepath)
    with _open_archive(filepath) as zf:
        names = check_archive(zf, filepath)
        try:
            config = json.loads(read_member(zf, CONFIG_MEMBER, MAX_JSON_BYTES))
        except ValueError as e:
            raise ValueError(f"Cannot load {filepath!r}: {CONFIG_MEMBER} is not valid JSON ({e}).") from None
        if not isinstance(config, dict):
            raise ValueError(f"Cannot load {filepath!r}: {CONFIG_MEMBER} does not hold an object config.")
        compile_config = config.pop("compile_config", None)

        def build():
            with serialization_lib.SafeModeScope(safe_mode):
                return serialization_lib.deserialize_keras_object(
                    config, custom_objects=custom_objects, safe_mode=safe_mode
                )

        # Sized on the meta device first: nothing is allocated for a model the file cannot fill.
        planned = model_sizing.build_on_meta(build)
        if WEIGHTS_MEMBER not in names:
            if planned is None:
                with variables.allocation_budget(_UNSIZED_MARGIN_BYTES, f"{filepath!r} (no {WEIGHTS_MEMBER})"):
                    planned = build()
            _refuse_missing_weights(planned, filepath)
            weights = None
        else:
            other = sum(zf.getinfo(n).file_size for n in names if n != WEIGHTS_MEMBER)
            limit = MAX_WEIGHTS_BYTES
            if planned is not None:
                limit = min(limit, model_sizing.weights_file_bound(planned, other))
            weights = _OpenWeights(zf, filepath, limit)
        with weights or contextlib.nullcontext():
            h5 = weights.h5 if weights else None
            if h5 is not None and planned is not None:
                load_weights_from_h5(planned, h5, source=source, check_only=True)
            if planned is None and weights is not None:
                # The config does not build on the meta device: build for real, but no variable
                # may take more than the weights file that must fill it holds.
                with variables.allocation_budget(weights.size + _UNSIZED_MARGIN_BYTES, f"{filepath!r}'s {WEIGHTS_MEMBER}"):
                    model = build()
            else:
                model = build()
            if compile and compile_config:
                _compile_from_config(model, compile_config, custom_objects, safe_mode)
            if h5 is not None:
                load_weights_from_h5(model, h5, source=source)
        # After the weights: a vocabulary in tf_idf mode needs its IDF weights loaded first.
        _load_assets(model, zf, names)
    return model


def _refuse_missing_weights(model, filepath):
    unstored = [getattr(v, "path", None) or getattr(v, "name", "?") for v in getattr(model, "weights", [])]
    if unstored:
        shown = ", ".join(unstored[:20]) + (f", ... ({len(unstored)} in all)" if len(unstored) > 20 else "")
        raise ValueError(
            f"Cannot load {filepath!r}: the archive has no {WEIGHTS_MEMBER}, so these variables would "
            f"have no stored value: {shown}."
        )


class _OpenWeights:
    """``model.weights.h5`` copied out of the archive in bounded chunks and opened with h5py.

    Small files stay in memory; larger ones spill to a temporary file, so loading never holds
    the archive member twice and never inflates it past ``limit`` bytes.
    """

    def __init__(self, zf, filepath, limit):
        info = zf.getinfo(WEIGHTS_MEMBER)
        if info.file_size > limit:
            raise ValueError(
                f"Refusing to load {filepath!r}: {WEIGHTS_MEMBER} declares {info.file_size} bytes, more "
                f"than the model in its config can need ({limit} bytes)."
            )
        self._buffer = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        try:
            with zf.open(WEIGHTS_MEMBER) as member:
                copied = 0
                while chunk := member.read(_CHUNK_BYTES):
                    copied += len(chunk)
                    if copied > limit:
                        raise ValueError(
                            f"Refusing to load {filepath!r}: {WEIGHTS_MEMBER} inflates past {limit} "
                            "bytes, more than the model in its config can need."
                        )
                    self._buffer.write(chunk)
            self.size = copied
            self._buffer.seek(0)
            try:
                self.h5 = h5py.File(self._buffer, "r")
            except OSError as e:
                raise ValueError(f"Cannot load {filepath!r}: {WEIGHTS_MEMBER} is not a valid HDF5 file ({e}).") from None
        except BaseException:
            self._buffer.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.h5.close()
        self._buffer.close()


def _compile_from_config(model, config, custom_objects, safe_mode):
    # The model's own `compile_from_config` (a subclass may override it, as Keras lets it), with
    # the file's custom objects and safe mode in force while it deserializes.
    from lamina.saving.object_registration import CustomObjectScope

    with serialization_lib.SafeModeScope(safe_mode), CustomObjectScope(custom_objects or {}):
        model.compile_from_config(config)


def save_weights(model, filepath):
    """Write the model's variables to a ``.weights.h5`` file (Keras 3 layout), atomically; or,
    for a ``.weights.dcp`` path, to a sharded ``torch.distributed.checkpoint`` folder.

    Any other ``.h5`` / ``.hdf5`` name writes the legacy (Keras 2) weights layout, as Keras 2's
    ``save_weights("w.h5")`` did.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith(sharded_checkpoint.SUFFIX):
        sharded_checkpoint.save_weights(model, filepath)
        return
    if legacy_h5_model.is_h5_path(filepath):
        from lamina.saving import legacy_h5_format

        def write_legacy(tmp):
            with h5py.File(tmp, "w") as f:
                legacy_h5_format.save_weights_to_hdf5_group(f, model)

        sharded_checkpoint.save_whole(model, lambda: atomic_files.atomic_write(filepath, write_legacy))
        return
    if not filepath.endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={filepath!r}"
        )

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            save_weights_to_h5(model, f)

    # A model sharded by ModelParallel: its whole weights, written by process 0.
    sharded_checkpoint.save_whole(model, lambda: atomic_files.atomic_write(filepath, write))


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Load variables from a ``.weights.h5`` file or from the weights inside a ``.keras`` archive
    (or from a sharded ``.weights.dcp`` folder, or a legacy ``.h5`` file).

    ``by_name=True`` (Keras 2's name matching) applies only to legacy ``.h5`` files.
    """
    filepath = os.fspath(filepath)
    if by_name and not legacy_h5_model.is_h5_path(filepath):
        raise ValueError(
            "`by_name` only supports loading legacy '.h5' or '.hdf5' files. "
            f"Received: filepath={filepath!r}"
        )
    if filepath.endswith(sharded_checkpoint.SUFFIX):
        sharded_checkpoint.load_weights(model, filepath)
        return
    sharded_checkpoint.load_whole(model, lambda: _load_weights(model, filepath, skip_mismatch, by_name))


def _load_weights(model, filepath, skip_mismatch, by_name=False):
    if filepath.endswith(".keras"):
        if not zipfile.is_zipfile(filepath):
            raise ValueError(f"Cannot load {filepath!r}: it is not a `.keras` zip archive.")
        with zipfile.ZipFile(filepath, "r") as zf:
            names = check_archive(zf, filepath)
            if WEIGHTS_MEMBER not in names:
                _refuse_missing_weights(model, filepath)
                return
            limit = min(MAX_WEIGHTS_BYTES, model_sizing.weights_file_bound(model))
            with _OpenWeights(zf, filepath, limit) as weights:
                load_weights_from_h5(model, weights.h5, skip_mismatch=skip_mismatch, source=repr(filepath))
        return
    if legacy_h5_model.is_h5_path(filepath):
        _load_legacy_h5_weights(model, filepath, skip_mismatch, by_name)
        return
    if not filepath.endswith(".weights.h5"):
        raise ValueError(
            f"File format not supported: filepath={filepath!r}. Lamina loads `.weights.h5` files, "
            "legacy `.h5` weights files and `.keras` archives."
        )
    try:
        f = h5py.File(filepath, "r")
    except OSError as e:
        raise ValueError(f"Cannot load {filepath!r}: not a valid HDF5 weights file ({e}).") from None
    with f:
        load_weights_from_h5(model, f, skip_mismatch=skip_mismatch, source=repr(filepath))


def _load_legacy_h5_weights(model, filepath, skip_mismatch, by_name=False):
    """A ``.h5`` file: the Keras 2 layout (e.g. Keras's pretrained application weights) or a
    Keras 3 weights file under an older name."""
    from lamina.saving import legacy_h5_format

    try:
        f = h5py.File(filepath, "r")
    except OSError as e:
        raise ValueError(f"Cannot load {filepath!r}: not a valid HDF5 weights file ({e}).") from None
    with f:
        if by_name:
            legacy_h5_format.load_weights_from_hdf5_group_by_name(
                f, model, skip_mismatch=skip_mismatch, source=repr(filepath)
            )
        elif legacy_h5_format.is_legacy_weights_file(f):
            legacy_h5_format.load_weights_from_hdf5_group(f, model, skip_mismatch=skip_mismatch, source=repr(filepath))
        else:
            load_weights_from_h5(model, f, skip_mismatch=skip_mismatch, source=repr(filepath))
