"""``SpatialDropout1D/2D/3D``: dropout of whole feature maps (channels) instead of single units."""

from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.regularization.dropout import Dropout, _dropout, noise_generator
from lamina.saving.object_registration import register_builtin


class BaseSpatialDropout(Dropout):
    """Dropout whose mask has size 1 on every spatial axis, so a channel is kept or dropped whole.

    Args:
        rank: Number of spatial axes (1, 2 or 3).
        rate: Float in ``[0, 1]``, the fraction of channels to drop.
        data_format: ``"channels_last"`` or ``"channels_first"``; ``None`` means
            ``image_data_format()``.
        seed: Integer seed of the layer's random stream.
    """

    def __init__(self, rank, rate, data_format=None, seed=None, **kwargs):
        # Keras 2 configs carry `noise_shape` (always None for these layers): accept and ignore it.
        kwargs.pop("noise_shape", None)
        super().__init__(rate, seed=seed, **kwargs)
        self._rank = rank
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _noise_shape(self, shape):
        ones = (1,) * self._rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        noise_shape = self._noise_shape(tuple(inputs.shape))
        generator = noise_generator(self.seed_generator, inputs)
        return _dropout(inputs, self.rate, noise_shape, generator)

    def get_config(self):
        # Keras 3 writes exactly these keys (its constructor takes no other keyword), so configs
        # written here load in Keras too.
        config = {
            "rate": self.rate,
            "seed": self.seed,
            "name": self.name,
            "dtype": self.dtype_policy.name,
        }
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


@register_builtin("keras.layers")
class SpatialDropout1D(BaseSpatialDropout):
    """Spatial 1D dropout: drops entire 1D feature maps (channels) in training.

    When neighbouring timesteps are strongly correlated (as in early convolution layers),
    dropping single units barely regularizes; dropping whole channels does.

    Args:
        rate: Float in ``[0, 1]``, the fraction of channels to drop.
        seed: Integer seed of the layer's random stream.

    Call arguments:
        inputs: 3D tensor.
        training: Whether to apply dropout (``True``) or pass the inputs through.

    Input shape:
        3D tensor ``(samples, timesteps, channels)``.

    Output shape:
        Same as the input.
    """

    def __init__(self, rate, seed=None, **kwargs):
        if "data_format" in kwargs:
            raise TypeError(
                "SpatialDropout1D takes no `data_format` argument: the channels of its 3D inputs "
                f"are always on the last axis. Received: data_format={kwargs['data_format']!r}"
            )
        super().__init__(1, rate, data_format="channels_last", seed=seed, **kwargs)


@register_builtin("keras.layers")
class SpatialDropout2D(BaseSpatialDropout):
    """Spatial 2D dropout: drops entire 2D feature maps (channels) in training.

    Args:
        rate: Float in ``[0, 1]``, the fraction of channels to drop.
        data_format: ``"channels_last"`` (channels at index 3) or ``"channels_first"`` (index 1);
            ``None`` means ``image_data_format()``.
        seed: Integer seed of the layer's random stream.

    Call arguments:
        inputs: 4D tensor.
        training: Whether to apply dropout (``True``) or pass the inputs through.

    Input shape:
        4D tensor ``(samples, rows, cols, channels)`` (channels_last) or
        ``(samples, channels, rows, cols)`` (channels_first).

    Output shape:
        Same as the input.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(2, rate, data_format=data_format, seed=seed, **kwargs)


@register_builtin("keras.layers")
class SpatialDropout3D(BaseSpatialDropout):
    """Spatial 3D dropout: drops entire 3D feature maps (channels) in training.

    Args:
        rate: Float in ``[0, 1]``, the fraction of channels to drop.
        data_format: ``"channels_last"`` (channels at index 4) or ``"channels_first"`` (index 1);
            ``None`` means ``image_data_format()``.
        seed: Integer seed of the layer's random stream.

    Call arguments:
        inputs: 5D tensor.
        training: Whether to apply dropout (``True``) or pass the inputs through.

    Input shape:
        5D tensor ``(samples, dim1, dim2, dim3, channels)`` (channels_last) or
        ``(samples, channels, dim1, dim2, dim3)`` (channels_first).

    Output shape:
        Same as the input.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(3, rate, data_format=data_format, seed=seed, **kwargs)
