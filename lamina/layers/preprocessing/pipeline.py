"""``Pipeline``: a plain layer that applies a list of layers one after the other."""

from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


@register_builtin("keras.layers")
class Pipeline(Layer):
    """Applies a series of layers to an input, in order.

    Meant for preprocessing, in particular image augmentation pipelines. Unlike a
    ``Sequential`` model it is a plain layer (not a ``Model``: no ``fit``, no ``summary``), and
    its ``training`` argument defaults to ``True``, so random augmentation layers in it are
    active when it is called directly (for example on each batch of a data pipeline). Inside a
    model the model's training flag is passed on as usual. Masks produced by one layer are
    passed to the next.

    Args:
        layers: List of ``lamina.layers.Layer`` instances, applied in order.
        name: Name of the layer.

    Example:

    >>> augment = lamina.layers.Pipeline([
    ...     lamina.layers.RandomFlip("horizontal"),
    ...     lamina.layers.RandomZoom(0.2),
    ...     lamina.layers.RandomRotation(0.2),
    ... ])
    >>> augment(np.random.rand(8, 32, 32, 3).astype("float32")).shape
    torch.Size([8, 32, 32, 3])
    """

    def __init__(self, layers, name=None):
        if not isinstance(layers, (list, tuple)) or not all(isinstance(l, Layer) for l in layers):
            raise ValueError(
                "`Pipeline` expects `layers` to be a list of `lamina.layers.Layer` instances. "
                f"Received: layers={layers!r}"
            )
        super().__init__(name=name)
        self._pipeline_layers = list(layers)
        # Saved (and visible to torch) under the name Keras uses: "layers".
        self._track_layer_collection("layers", self._pipeline_layers)

    @property
    def layers(self):
        return self._pipeline_layers

    @property
    def _accepts_string_inputs(self):
        # Strings are fine when the first layer reads them (e.g. a StringLookup pipeline).
        layers = self._pipeline_layers
        return bool(layers) and layers[0]._accepts_string_inputs

    def build(self, input_shape=None):
        # Built here, with real shapes, so that no layer creates its weights while the pipeline
        # runs on meta tensors for shape inference.
        shape = input_shape
        for layer in self._pipeline_layers:
            if not layer.built:
                layer._build_shapes = shape
                layer.build(shape)
                layer.built = True
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=True, mask=None):
        outputs = inputs
        for layer in self._pipeline_layers:
            takes_mask = layer._call_facts()[1]
            kwargs = {}
            if takes_mask and mask is not None:
                kwargs["mask"] = mask
            if training is not None:
                kwargs["training"] = training
            outputs = layer(outputs, **kwargs)
            mask = tree.map_structure(lambda t: getattr(t, "_keras_mask", None), outputs)
            if all(m is None for m in tree.flatten(mask)):
                mask = None
        return outputs

    def get_config(self):
        return {
            "layers": [serialization_lib.serialize_keras_object(l) for l in self._pipeline_layers],
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "`Pipeline` config must contain a `layers` key mapping to a list of serialized "
                f"layers. Received config with layers={layers!r}."
            )
        config = dict(config)
        deserialize = serialization_lib.deserialize_keras_object
        config["layers"] = [deserialize(c, custom_objects=custom_objects) for c in layers]
        return cls(**config)
