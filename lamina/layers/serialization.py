"""``layers.serialize`` / ``layers.deserialize``."""

from lamina.saving import serialization_lib
from lamina.saving.object_registration import builtin_objects


def serialize(layer):
    """Return the Keras 3 config dict of ``layer`` (``module``, ``class_name``, ``config``, ...)."""
    return serialization_lib.serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """Create a layer from a config dict (Keras 3 form or legacy ``{"class_name", "config"}``).

    Example:

    >>> layer = lamina.layers.deserialize({"class_name": "Dense", "config": {"units": 4}})
    """
    objects = dict(builtin_objects("keras.layers"))
    objects.update(builtin_objects("keras.models"))
    objects.update(builtin_objects("keras"))
    return serialization_lib.deserialize_keras_object(
        config, module_objects=objects, custom_objects=custom_objects
    )
