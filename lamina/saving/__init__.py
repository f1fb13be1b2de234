"""Serialization and (in later issues) saving of models."""

from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from lamina.saving.saving_api import load_model, load_weights, save_model, save_weights
from lamina.saving.file_editor import KerasFileEditor

# `FeatureSpace.save` (a layer, floors below) writes its archive with this package's writer.
from lamina.layers.preprocessing import feature_space as _feature_space  # noqa: E402
from lamina.saving import saving_lib as _saving_lib  # noqa: E402

_feature_space.set_archive_writer(_saving_lib.save_model)
