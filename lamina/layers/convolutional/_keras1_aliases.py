"""The Keras 1 convolution names that Keras 2 kept in ``keras.layers``.

``Deconvolution2D``/``Deconvolution3D`` (and ``Deconv2D``/``Deconv3D``) are the transposed
convolutions under their old names. ``AtrousConvolution1D``/``2D`` were dilated convolutions with an
``atrous_rate`` argument; Keras 2 made them functions returning a ``Conv1D``/``Conv2D`` with
``dilation_rate``, deprecated, and so does Lamina.
"""

import warnings

from lamina.layers.convolutional.conv1d import Conv1D
from lamina.layers.convolutional.conv2d import Conv2D
from lamina.layers.convolutional.conv2d_transpose import Conv2DTranspose
from lamina.layers.convolutional.conv3d_transpose import Conv3DTranspose

Deconvolution2D = Deconv2D = Conv2DTranspose
Deconvolution3D = Deconv3D = Conv3DTranspose


def _atrous(conv, old_name, args, kwargs):
    kwargs["dilation_rate"] = kwargs.pop("atrous_rate", 1)
    warnings.warn(
        f"The `{old_name}` layer  has been deprecated. Use instead the `{conv.__name__}` layer with "
        "the `dilation_rate` argument.",
        UserWarning,
        stacklevel=3,
    )
    return conv(*args, **kwargs)


def AtrousConvolution1D(*args, **kwargs):
    """Keras 1's dilated 1D convolution: a ``Conv1D`` whose ``dilation_rate`` is ``atrous_rate``.

    Takes ``Conv1D``'s arguments (Keras 1 names included) plus ``atrous_rate`` (default 1).

    Returns:
        A ``Conv1D`` layer.

    Example:

    >>> layer = AtrousConvolution1D(8, 3, atrous_rate=2)  # doctest: +SKIP
    >>> layer.dilation_rate
    (2,)
    """
    return _atrous(Conv1D, "AtrousConvolution1D", args, kwargs)


def AtrousConvolution2D(*args, **kwargs):
    """Keras 1's dilated 2D convolution: a ``Conv2D`` whose ``dilation_rate`` is ``atrous_rate``.

    Takes ``Conv2D``'s arguments (Keras 1 names and ``nb_row, nb_col`` included) plus
    ``atrous_rate`` (default 1).

    Returns:
        A ``Conv2D`` layer.

    Example:

    >>> layer = AtrousConvolution2D(8, 3, 3, atrous_rate=(2, 2))  # doctest: +SKIP
    >>> layer.kernel_size, layer.dilation_rate
    ((3, 3), (2, 2))
    """
    return _atrous(Conv2D, "AtrousConvolution2D", args, kwargs)


AtrousConv1D = AtrousConvolution1D
AtrousConv2D = AtrousConvolution2D
