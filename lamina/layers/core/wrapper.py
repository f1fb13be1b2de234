"""``Wrapper``: the base class of layers that hold and augment another layer."""

from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class Wrapper(Layer):
    """Abstract base class of wrapper layers: layers that take another layer and augment it.

    The wrapped layer is kept as ``self.layer``; its weights are the wrapper's weights, building
    the wrapper builds it, and the config nests its serialized form under ``"layer"``. Subclasses
    (``TimeDistributed``, ``Bidirectional``, ``SpectralNormalization``) define ``call``.

    Args:
        layer: The ``lamina.layers.Layer`` instance to wrap.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Example:

    >>> class Doubled(lamina.layers.Wrapper):
    ...     def call(self, inputs):
    ...         return 2 * self.layer(inputs)
    >>> layer = Doubled(lamina.layers.Dense(3))
    >>> layer(np.ones((2, 4), "float32")).shape
    torch.Size([2, 3])
    """

    # Whether `layer` is registered as a sub-layer. A wrapper that builds its working layers
    # from `layer`'s config (Bidirectional) keeps the original as a plain reference, so that its
    # weights (if any) are neither trained nor saved, as in Keras.
    _tracks_wrapped_layer = True

    @property
    def _promotes_non_float_inputs(self):
        # The wrapped layer's math meets the inputs, so its rule holds.
        layer = self._modules.get("layer") or self.__dict__.get("layer")
        return layer is not None and layer._promotes_non_float_inputs

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Layer {layer!r} supplied to {type(self).__name__} isn't a supported layer type. "
                "Please ensure the wrapped layer is a valid `lamina.layers.Layer` instance."
            )
        super().__init__(**kwargs)
        if self._tracks_wrapped_layer:
            self.layer = layer
        else:
            self.__dict__["layer"] = layer

    def _build_wrapped(self, layer, input_shape):
        """Build ``layer`` for ``input_shape`` unless it already is."""
        if layer.built:
            return
        if isinstance(input_shape, list) and all(
            d is None or isinstance(d, int) for d in input_shape
        ):
            input_shape = tuple(input_shape)
        # Recorded so that the wrapped layer's build config is saved, as for a called layer.
        layer._build_shapes = input_shape
        layer.build(input_shape)
        layer.built = True

    def build(self, input_shape=None):
        self._build_wrapped(self.layer, input_shape)
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(
            f"Layer '{self.name}' ({type(self).__name__}) does not implement `call`: `Wrapper` "
            "is an abstract base class; subclass it and define `call`."
        )

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialization_lib.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = serialization_lib.deserialize_keras_object(
            config.pop("layer"), custom_objects=custom_objects
        )
        return super().from_config({"layer": layer, **config})
