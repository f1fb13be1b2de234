"""Convolution layers.

Also the Keras 2 module path: ``from keras.layers.convolutional import Conv2D`` becomes
``from lamina.layers.convolutional import Conv2D``.
"""

from lamina.layers.convolutional.conv1d import Conv1D, Convolution1D
from lamina.layers.convolutional.conv1d_transpose import Conv1DTranspose, Convolution1DTranspose
from lamina.layers.convolutional.conv2d import Conv2D, Convolution2D
from lamina.layers.convolutional.conv2d_transpose import Conv2DTranspose, Convolution2DTranspose
from lamina.layers.convolutional.conv3d import Conv3D, Convolution3D
from lamina.layers.convolutional.conv3d_transpose import Conv3DTranspose, Convolution3DTranspose
from lamina.layers.convolutional.depthwise_conv1d import DepthwiseConv1D
from lamina.layers.convolutional.depthwise_conv2d import DepthwiseConv2D
from lamina.layers.convolutional.separable_conv1d import SeparableConv1D, SeparableConvolution1D
from lamina.layers.convolutional.separable_conv2d import SeparableConv2D, SeparableConvolution2D

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
]

# Keras 2's `keras.layers.convolutional` also held the spatial reshaping layers.
from lamina.layers.reshaping import (  # noqa: E402,F401
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)

# tf-keras 2.x's `keras.layers.convolutional` also re-exported the pooling layers.
from lamina.layers.pooling import (  # noqa: E402,F401
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)

# Keras 1 names Keras 2 kept (`Deconvolution2D`, `AtrousConvolution2D`, ...).
from lamina.layers.convolutional._keras1_aliases import (  # noqa: E402,F401
    AtrousConv1D,
    AtrousConv2D,
    AtrousConvolution1D,
    AtrousConvolution2D,
    Deconv2D,
    Deconv3D,
    Deconvolution2D,
    Deconvolution3D,
)

__all__ += [
    "AtrousConv1D",
    "AtrousConv2D",
    "AtrousConvolution1D",
    "AtrousConvolution2D",
    "Deconv2D",
    "Deconv3D",
    "Deconvolution2D",
    "Deconvolution3D",
]
