"""``lamina.utils.legacy``: the Keras 2 serialization format (mirrors ``keras.utils.legacy``)."""

from lamina.saving.legacy_serialization import deserialize_keras_object, serialize_keras_object
