"""``TimeDistributed``: apply one layer to every time step of a sequence."""

from lamina.layers._autocast import AutocastVariables
from lamina.layers.core.wrapper import Wrapper
from lamina.layers.input_spec import assert_input_compatibility
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


@register_builtin("keras.layers")
class TimeDistributed(Wrapper):
    """Applies a layer to every temporal slice of an input.

    The input is at least 3D, ``(batch, time, ...)``; axis 1 is the time axis. The same wrapped
    layer (the same weights) processes every time step independently. Lamina folds the time axis
    into the batch axis and calls the wrapped layer once on ``(batch * time, ...)``, which gives
    the same numbers as a per-step loop for every layer whose samples do not interact.

    Args:
        layer: A ``lamina.layers.Layer`` instance.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Call arguments:
        inputs: Tensor of shape ``(batch, time, ...)``.
        training: Passed on to the wrapped layer when its ``call`` takes it.
        mask: Boolean tensor ``(batch, time, ...)``; passed on (folded like the inputs) to the
            wrapped layer when its ``call`` takes a mask. The output keeps the input mask.

    Input shape:
        ``(batch, time, *inner_input_shape)``.

    Output shape:
        ``(batch, time, *inner_output_shape)``.

    Note: in training mode, layers that compute statistics over the batch (such as
    ``BatchNormalization``) see all time steps together, as in Keras 2; Keras 3 loops over the
    time steps and normalizes each one separately.

    Example:

    >>> inputs = lamina.Input(shape=(10, 128, 128, 3), batch_size=32)
    >>> outputs = lamina.layers.TimeDistributed(lamina.layers.Conv2D(64, 3))(inputs)
    >>> outputs.shape
    (32, 10, 126, 126, 64)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a `lamina.layers.Layer` instance. "
                f"Received: {layer!r}"
            )
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs with at least 3 dimensions "
                f"(batch, time, ...). Received input_shape={input_shape}"
            )
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self._build_wrapped(self.layer, self._child_input_shape(tuple(input_shape)))
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        child_shape = self._child_input_shape(input_shape)
        child_output = self.layer.compute_output_shape(child_shape)
        return _insert_time(child_output, input_shape[1])

    def call(self, inputs, training=None, mask=None):
        if inputs.dim() < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs with at least 3 dimensions "
                f"(batch, time, ...). Received input_shape={tuple(inputs.shape)}"
            )
        batch, steps = inputs.shape[0], inputs.shape[1]
        takes_training, takes_mask = self.layer._call_facts()[:2]
        kwargs = {}
        if training is not None and takes_training:
            kwargs["training"] = training
        if mask is not None:
            self._check_mask(mask, inputs)
            if takes_mask:
                kwargs["mask"] = mask.reshape(batch * steps, *mask.shape[2:])
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])
        if self.layer.input_spec is not None:
            assert_input_compatibility(self.layer.input_spec, folded, self.layer.name)
        # The wrapped layer's `call` runs inside this layer's call, as in Keras: under a mixed
        # policy it computes in this layer's autocast scope.
        if self._autocast_context:
            with AutocastVariables(self.layer, dtype=self._compute_torch_dtype):
                outputs = self.layer.call(folded, **kwargs)
        else:
            outputs = self.layer.call(folded, **kwargs)
        return tree.map_structure(lambda y: y.reshape(batch, steps, *y.shape[1:]), outputs)

    def _check_mask(self, mask, inputs):
        if mask.dim() < 2:
            raise ValueError(
                f"The `mask` passed to layer '{self.name}' (TimeDistributed) must be at least 2D "
                f"(batch, timesteps). Received mask shape {tuple(mask.shape)}"
            )
        if tuple(mask.shape[:2]) != tuple(inputs.shape[:2]):
            raise ValueError(
                f"The `mask` passed to layer '{self.name}' (TimeDistributed) has shape "
                f"{tuple(mask.shape)}, incompatible with the input shape {tuple(inputs.shape)}: "
                f"expected a mask starting with ({inputs.shape[0]}, {inputs.shape[1]})."
            )


def _insert_time(shape, steps):
    """Put the time axis back after the batch axis of a (possibly nested) output shape."""
    if isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape):
        return (shape[0], steps, *shape[1:])
    if isinstance(shape, dict):
        return {k: _insert_time(v, steps) for k, v in shape.items()}
    return type(shape)(_insert_time(s, steps) for s in shape)
