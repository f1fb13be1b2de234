"""Xception (Chollet, 2016): depthwise-separable convolutions with residual connections."""

from lamina import layers
from lamina.applications import _blocks, _common

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
_FILES = _common.tf_kernels_files("xception")
WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP = (_BASE + f for f in _FILES)
_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _bn(name=None):
    return layers.BatchNormalization(axis=_common.channel_axis(), name=name)


def _sep(filters, name):
    return layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)


def _entry_block(x, filters, block, first_activation=True, second_filters=None):
    """Two separable convolutions and a strided max pool, added to a strided 1x1 projection."""
    residual = layers.Conv2D(second_filters or filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = _bn()(residual)
    if first_activation:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sep(filters, f"block{block}_sepconv1")(x)
    x = _bn(f"block{block}_sepconv1_bn")(x)
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sep(second_filters or filters, f"block{block}_sepconv2")(x)
    x = _bn(f"block{block}_sepconv2_bn")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    """Instantiate the Xception architecture (Deep Learning with Depthwise Separable Convolutions).

    Call `lamina.applications.xception.preprocess_input` on the inputs first (scales to [-1, 1]).
    The default input size is 299x299.

    Args:
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 71x71.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.Xception(weights=None, include_top=False, input_shape=(96, 96, 3))
    """
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=299, min_size=71)
    x = _blocks.conv_bn(img_input, 32, (3, 3), _blocks.suffixed("block1_conv1", "", "_bn", "_act"), strides=(2, 2))
    x = _blocks.conv_bn(x, 64, (3, 3), _blocks.suffixed("block1_conv2", "", "_bn", "_act"))
    x = _entry_block(x, 128, 2, first_activation=False)
    x = _entry_block(x, 256, 3)
    x = _entry_block(x, 728, 4)
    for block in range(5, 13):  # middle flow: three separable convolutions, identity shortcut
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = _sep(728, f"block{block}_sepconv{i}")(x)
            x = _bn(f"block{block}_sepconv{i}_bn")(x)
        x = layers.add([x, residual])
    x = _entry_block(x, 728, 13, second_filters=1024)
    for i, filters in ((1, 1536), (2, 2048)):
        x = _blocks.conv_bn(x, filters, (3, 3), _blocks.suffixed(f"block14_sepconv{i}", "", "_bn", "_act"),
                            conv=layers.SeparableConv2D, padding="same")
    x = _common.head(x, include_top, pooling, classes, classifier_activation, weights, max_name=None,
                     avg_name="avg_pool" if include_top else None)
    model = _common.make_model(input_tensor, img_input, x, name)
    _common.load_published(model, weights, include_top, _BASE, _FILES, _HASHES)
    return model


preprocess_input = _common.preprocessor("tf")
decode_predictions = _common.decode_predictions
