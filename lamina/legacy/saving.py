"""``lamina.legacy.saving``: the Keras 2 serialization format (mirrors ``keras.legacy.saving``)."""

from lamina.saving.legacy_serialization import deserialize_keras_object, serialize_keras_object
