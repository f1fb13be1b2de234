"""Public saving entry points: ``save_model``, ``load_model``, ``save_weights``, ``load_weights``."""

from lamina.saving import saving_lib


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save ``model`` to a ``.keras`` file, or a legacy ``.h5`` file (see ``Model.save``)."""
    model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a ``.keras`` model saved by Lamina or Keras 3, or a legacy ``.h5`` / ``.hdf5`` model
    file saved by Keras 2, Keras 3 or Lamina.

    Args:
        filepath: Path to the ``.keras`` (or ``.h5``) file.
        custom_objects: Dict of user classes/functions the config refers to.
        compile: Whether to compile the model with its saved training configuration.
        safe_mode: Refuse anything that could run code from the file (e.g. Lambda bytecode).
            Only the caller can turn it off; nothing in the file can.
    """
    return saving_lib.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save ``model``'s variables to a ``.weights.h5`` (or legacy ``.h5``) file (see ``Model.save_weights``)."""
    model.save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Load ``model``'s variables from a ``.weights.h5``, ``.keras`` or legacy ``.h5`` file (see ``Model.load_weights``)."""
    model.load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)
