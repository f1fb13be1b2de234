"""The convolution unit most application families repeat: a bias-free convolution, batch
normalization and an activation, each layer named by the caller so the published weights keep
their paths."""

from lamina import layers
from lamina.applications import _common


def conv_bn(x, filters, kernel_size, names=(None, None, None), activation="relu", normalize=True, use_bias=False,
            bn_kwargs=None, conv=layers.Conv2D, **conv_kwargs):
    """Apply ``conv`` -> ``BatchNormalization`` -> ``Activation`` to ``x``.

    The layers are made in that order: unnamed ones take the session's counters (``conv2d_3``,
    ...), which the published files of some families depend on.

    Args:
        x: The input tensor.
        filters: Filters of the convolution.
        kernel_size: Its kernel size.
        names: ``(convolution, normalization, activation)`` layer names; `None` for a counter name.
        activation: The activation, or `None` for none.
        normalize: Whether the batch normalization is there.
        use_bias: Whether the convolution has a bias.
        bn_kwargs: Arguments of the ``BatchNormalization`` besides its axis and name.
        conv: The convolution class (``Conv2D``, ``SeparableConv2D``).
        **conv_kwargs: The convolution's other arguments (``strides``, ``padding``, ...).

    Returns:
        The output tensor.
    """
    conv_name, bn_name, act_name = names
    x = conv(filters, kernel_size, use_bias=use_bias, name=conv_name, **conv_kwargs)(x)
    if normalize:
        x = layers.BatchNormalization(axis=_common.channel_axis(), name=bn_name, **(bn_kwargs or {}))(x)
    if activation is not None:
        x = layers.Activation(activation, name=act_name)(x)
    return x


def suffixed(name, *suffixes):
    """``name`` with each suffix appended, or `None`s where ``name`` is `None` (a counter name)."""
    return tuple(None if name is None else f"{name}{suffix}" for suffix in suffixes)
