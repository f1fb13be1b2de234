"""InceptionV3 (Rethinking the Inception Architecture for Computer Vision, Szegedy et al., 2015).

The convolutions are unnamed, as in Keras, so their names come from the session's counters
(``conv2d``, ``conv2d_1``, ...) in creation order: the branches are built in Keras's order.
"""

from lamina import layers
from lamina.applications import _blocks, _common

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
_FILES = _common.tf_kernels_files("inception_v3")
WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP = (_BASE + f for f in _FILES)
_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Convolution (no bias), batch normalization without scale, ReLU."""
    names = _blocks.suffixed(name, "_conv", "_bn") + (name,)
    return _blocks.conv_bn(x, filters, (num_row, num_col), names, bn_kwargs={"scale": False}, strides=strides,
                           padding=padding)


def _avg_branch(x, filters):
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _concat(branches, name=None):
    return layers.concatenate(branches, axis=_common.channel_axis(), name=name)


def _block_35(x, pool_filters, name):
    b1 = conv2d_bn(x, 64, 1, 1)
    b5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    b3 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    return _concat([b1, b5, b3, _avg_branch(x, pool_filters)], name)


def _block_17(x, f7, name):
    b1 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, f7, 1, 1), f7, 1, 7), 192, 7, 1)
    b7d = conv2d_bn(x, f7, 1, 1)
    for filters, (rows, cols) in ((f7, (7, 1)), (f7, (1, 7)), (f7, (7, 1)), (192, (1, 7))):
        b7d = conv2d_bn(b7d, filters, rows, cols)
    return _concat([b1, b7, b7d, _avg_branch(x, 192)], name)


def _block_8(x, i):
    b1 = conv2d_bn(x, 320, 1, 1)
    b3 = conv2d_bn(x, 384, 1, 1)
    b3 = _concat([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)], f"mixed9_{i}")
    bd = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    bd = _concat([conv2d_bn(bd, 384, 1, 3), conv2d_bn(bd, 384, 3, 1)])
    return _concat([b1, b3, bd, _avg_branch(x, 192)], f"mixed{9 + i}")


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="inception_v3"):
    """Instantiate the Inception v3 architecture.

    Call `lamina.applications.inception_v3.preprocess_input` on the inputs first (scales to
    [-1, 1]). The default input size is 299x299.

    Args:
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 75x75.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    """
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=299, min_size=75)
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{i}")
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=(2, 2), padding="valid")
    x = _concat([b3, bd, layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], "mixed3")
    for i, f7 in enumerate((128, 160, 160, 192)):
        x = _block_17(x, f7, f"mixed{4 + i}")
    b3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    x = _concat([b3, b7, layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], "mixed8")
    for i in range(2):
        x = _block_8(x, i)
    x = _common.head(x, include_top, pooling, classes, classifier_activation, weights, max_name=None,
                     avg_name="avg_pool" if include_top else None)
    model = _common.make_model(input_tensor, img_input, x, name)
    _common.load_published(model, weights, include_top, _BASE, _FILES, _HASHES)
    return model


preprocess_input = _common.preprocessor("tf")
decode_predictions = _common.decode_predictions
