"""What a ``FeatureSpace`` is made of: feature and cross specifications, and its two helper layers.

``Feature`` (a dtype, a preprocessing layer and an output mode) and ``Cross`` (feature names and a
crossing dimension) are the objects ``FeatureSpace.float_normalized()``, ``FeatureSpace.cross()``
... return. They, and the identity/concatenation layers a feature space builds, are registered
under the module and names Keras writes (``TFDIdentity``, ``TFDConcat``) so ``.keras`` files move
between Keras and Lamina.
"""

import torch

from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

_KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"
FEATURE_OUTPUT_MODES = ("int", "one_hot", "float")
CROSS_OUTPUT_MODES = ("int", "one_hot")


@register_builtin(_KERAS_MODULE)
class Cross:
    """A feature cross: the named features hashed together into ``crossing_dim`` bins.

    Args:
        feature_names: Names of the features to cross (two or more).
        crossing_dim: Number of hashing bins of the crossed feature.
        output_mode: ``"one_hot"`` (default) or ``"int"``.
    """

    _keras_registered_name = "Cross"

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in CROSS_OUTPUT_MODES:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{set(CROSS_OUTPUT_MODES)}. Received: output_mode={output_mode!r}"
            )
        if isinstance(feature_names, str) or len(tuple(feature_names)) < 2:
            raise ValueError(
                "A feature cross needs at least two feature names. "
                f"Received: feature_names={feature_names!r}"
            )
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {
            "feature_names": self.feature_names,
            "crossing_dim": self.crossing_dim,
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<Cross {self.name} crossing_dim={self.crossing_dim} output_mode={self.output_mode!r}>"


@register_builtin(_KERAS_MODULE)
class Feature:
    """One feature of a ``FeatureSpace``: its input dtype, preprocessing layer and output mode.

    Args:
        dtype: dtype of the raw input (``"float32"``, ``"int32"``, ``"string"``).
        preprocessor: The layer (or its serialized config) applied to the raw input.
        output_mode: ``"float"`` (used as is), ``"int"`` (an index, left unencoded) or
            ``"one_hot"`` (the index one-hot encoded).
    """

    _keras_registered_name = "Feature"

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in FEATURE_OUTPUT_MODES:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{set(FEATURE_OUTPUT_MODES)}. Received: output_mode={output_mode!r}"
            )
        if isinstance(preprocessor, dict):
            preprocessor = serialization_lib.deserialize_keras_object(preprocessor)
        if not callable(preprocessor):
            raise TypeError(
                "`preprocessor` must be a layer (or another callable). "
                f"Received: preprocessor={preprocessor!r}"
            )
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {
            "dtype": self.dtype,
            "preprocessor": serialization_lib.serialize_keras_object(self.preprocessor),
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        name = getattr(self.preprocessor, "name", self.preprocessor)
        return f"<Feature dtype={self.dtype!r} preprocessor={name!r} output_mode={self.output_mode!r}>"


# The two layers below keep the class names Keras writes into files: a Keras-saved model that
# holds them then loads here, and the reverse.
@register_builtin(_KERAS_MODULE)
class TFDIdentity(Layer):
    """Passes a plain float feature through, as a tensor of the layer's dtype."""

    _keras_registered_name = "TFDIdentity"

    def call(self, inputs):
        return inputs.to(self._compute_torch_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register_builtin(_KERAS_MODULE)
class TFDConcat(Layer):
    """Concatenates the encoded features along ``axis``."""

    _keras_registered_name = "TFDConcat"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return torch.cat([x.to(self._compute_torch_dtype) for x in inputs], dim=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(shape) for shape in input_shape]
        axis = self.axis % len(shapes[0])
        sizes = [shape[axis] for shape in shapes]
        return shapes[0][:axis] + (None if None in sizes else sum(sizes),) + shapes[0][axis + 1 :]

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
