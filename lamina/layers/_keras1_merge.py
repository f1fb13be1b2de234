"""Keras 1's functional ``merge(inputs, mode=...)``, which Keras 2.0-2.1 kept (deprecated).

Each named mode is one of today's merging layers; a callable mode becomes a ``Lambda`` layer.
"""

import warnings

from lamina.layers.core import Lambda
from lamina.layers.merging import Add, Average, Concatenate, Dot, Maximum, Multiply

_ELEMENTWISE = {"sum": Add, "mul": Multiply, "ave": Average, "max": Maximum}


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
          arguments=None, name=None):
    """Keras 1: merge a list of tensors with one ``mode``.

    Args:
        inputs: A list of at least two tensors.
        mode: ``"sum"``, ``"mul"``, ``"ave"``, ``"max"`` (elementwise, same shapes), ``"concat"``
            (along ``concat_axis``), ``"dot"`` or ``"cos"`` (two tensors, contracted along
            ``dot_axes``; ``"cos"`` is the cosine similarity), or a function of the list of tensors.
        concat_axis: The axis of ``"concat"``.
        dot_axes: An axis, or a pair of axes (counting the batch axis), of ``"dot"``/``"cos"``.
        output_shape: For a function ``mode``: the output shape without the batch axis, or a
            function of the input shapes.
        output_mask: For a function ``mode``: the output mask, or a function of the input masks.
        arguments: For a function ``mode``: extra keyword arguments it receives.
        name: The layer's name.

    Returns:
        The merged tensor.

    Example:

    >>> a, b = lamina.Input((4,)), lamina.Input((4,))
    >>> merge([a, b], mode="concat", concat_axis=1).shape
    (None, 8)
    """
    warnings.warn(
        "The `merge` function is deprecated and will be removed after 08/2017. Use instead layers "
        "from `keras.layers.merge`, e.g. `add`, `concatenate`, etc.",
        UserWarning,
        stacklevel=3,
    )
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise TypeError(f"`merge` takes a list of at least 2 tensors. Received: inputs={inputs!r}")
    if callable(mode):
        layer = Lambda(mode, output_shape=output_shape, mask=output_mask, arguments=arguments, name=name)
    elif mode in _ELEMENTWISE:
        layer = _ELEMENTWISE[mode](name=name)
    elif mode == "concat":
        layer = Concatenate(axis=concat_axis, name=name)
    elif mode in ("dot", "cos"):
        if len(inputs) != 2:
            raise ValueError(f"`merge` mode {mode!r} takes exactly 2 tensors. Received {len(inputs)}.")
        layer = Dot(axes=dot_axes, normalize=mode == "cos", name=name)
    else:
        raise ValueError(
            "`merge` mode must be one of 'sum', 'mul', 'concat', 'ave', 'cos', 'dot', 'max' or a "
            f"function. Received: mode={mode!r}"
        )
    return layer(list(inputs))
