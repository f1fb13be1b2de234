"""Models' one door up to archive saving: ``Model.save``, ``save_weights`` and ``load_weights``, and
``keras.models.load_model`` / ``save_model``.

Archive and HDF5 saving sits a floor above models (DESIGN.md): it reads and writes models, asking
model-ness by attribute, and never imports this package. Keras's models still offer those methods
and names, so models reach up to it here, and nowhere else (issue 12).
"""

from lamina import saving  # the one upward import of models: see the module docstring

load_model = saving.load_model
save_model = saving.save_model


def write_model(model, filepath, zipped, include_optimizer=True):
    """Write ``model`` to a ``.keras`` archive (a zip file, or a folder with ``zipped=False``), or
    to Keras's legacy HDF5 file for a ``.h5`` path."""
    saving.saving_lib.save_model(model, filepath, zipped=zipped, include_optimizer=include_optimizer)


def write_weights(model, filepath):
    """Write ``model``'s variables to a ``.weights.h5`` file."""
    saving.saving_lib.save_weights(model, filepath)


def read_weights(model, filepath, skip_mismatch, by_name=False):
    """Load ``model``'s variables from a ``.weights.h5`` file, a ``.keras`` archive or a legacy
    ``.h5`` file (``by_name`` for the last)."""
    saving.saving_lib.load_weights(model, filepath, skip_mismatch=skip_mismatch, by_name=by_name)


# Export (``torch.export`` and ONNX artifacts) sits above models too and imports them; it installs its
# entry point here when it loads (lamina/export/__init__.py), so ``Model.export`` needs no import up.
_EXPORTER = []


def set_exporter(export_model):
    """Install ``export_model(model, filepath, **kwargs)``, which ``Model.export`` calls."""
    _EXPORTER[:] = [export_model]


def export_model(model, filepath, **kwargs):
    """Export ``model`` with the installed exporter."""
    if not _EXPORTER:
        raise RuntimeError("`Model.export` needs `lamina.export`: `import lamina` first.")
    return _EXPORTER[0](model, filepath, **kwargs)
