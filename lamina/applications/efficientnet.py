"""EfficientNetB0-B7 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation, scaled in width,
depth and resolution by one compound coefficient per variant.

The models take images with values in [0, 255]: rescaling and normalization are their first
layers, so `preprocess_input` is the identity.
"""

import copy
import math

from lamina import layers
from lamina.applications import _common, _mbconv, imagenet_utils
from lamina.applications._mbconv import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER  # noqa: F401 (public, as in Keras)

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}


def _stage(kernel_size, repeats, filters_in, filters_out, expand_ratio, strides):
    return {"kernel_size": kernel_size, "repeats": repeats, "filters_in": filters_in,
            "filters_out": filters_out, "expand_ratio": expand_ratio, "id_skip": True,
            "strides": strides, "se_ratio": 0.25}


DEFAULT_BLOCKS_ARGS = [
    _stage(3, 1, 32, 16, 1, 1), _stage(3, 2, 16, 24, 6, 2), _stage(5, 2, 24, 40, 6, 2),
    _stage(3, 3, 40, 80, 6, 2), _stage(5, 3, 80, 112, 6, 1), _stage(5, 4, 112, 192, 6, 2),
    _stage(3, 1, 192, 320, 6, 1),
]
# The published weights expect inputs divided by the ImageNet std; the Normalization layer's
# stored variance is 1 per channel in those files (Keras's own correction, reproduced).
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def round_filters(filters, width_coefficient, divisor=8):
    """Scale a filter count by the width coefficient, to a multiple of ``divisor``."""
    return int(_common.make_divisible(filters * width_coefficient, divisor))


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                 depth_divisor=8, activation="swish", blocks_args="default", name="efficientnet",
                 include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", weights_name=None):
    """Build an EfficientNet from its scaling coefficients and stage descriptions.

    Args:
        width_coefficient: Scales the number of filters.
        depth_coefficient: Scales the number of blocks per stage.
        default_size: The default input height and width.
        dropout_rate: Dropout before the classifier.
        drop_connect_rate: Largest rate of the per-block stochastic depth (grows linearly with
            the block index).
        depth_divisor: Filter counts are multiples of it.
        activation: Activation of the convolutions.
        blocks_args: `"default"` or a list of stage dicts (see `DEFAULT_BLOCKS_ARGS`).
        name, include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: As for `EfficientNetB0`.
        weights_name: Key of the published weights in `WEIGHTS_HASHES`.

    Returns:
        A `Model`.
    """
    blocks_args = copy.deepcopy(DEFAULT_BLOCKS_ARGS if blocks_args == "default" else blocks_args)
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=default_size, min_size=32)
    axis = _common.channel_axis()

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=axis)(x)
    if weights == "imagenet":
        x = layers.Rescaling([1.0 / math.sqrt(stddev) for stddev in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = _mbconv.conv_unit(x, round_filters(32, width_coefficient, depth_divisor), 3, "stem_", activation,
                          strides=2, padding="valid")

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    def apply_block(x, drop_rate, block_name, args):
        return block(x, activation, drop_rate, name=block_name, **args)

    x = _mbconv.stages(x, blocks_args, ("repeats", "filters_in", "filters_out"),
                       lambda filters: round_filters(filters, width_coefficient, depth_divisor), round_repeats,
                       float(sum(round_repeats(args["repeats"]) for args in blocks_args)), drop_connect_rate,
                       "EfficientNet", apply_block)
    x = _mbconv.top(x, round_filters(1280, width_coefficient, depth_divisor), activation, None, include_top,
                    dropout_rate, pooling, classes, classifier_activation, weights)
    return _mbconv.finish(x, img_input, input_tensor, name, include_top, weights, BASE_WEIGHTS_PATH, WEIGHTS_HASHES,
                          weights_name)


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32, filters_out=16, kernel_size=3,
          strides=1, expand_ratio=1, se_ratio=0.0, id_skip=True):
    """MBConv: 1x1 expansion, depthwise convolution, squeeze-and-excitation, 1x1 projection, and
    a residual with stochastic depth when shapes allow."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _mbconv.conv_unit(x, filters, 1, f"{name}expand_", activation)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=_common.channel_axis(), name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = _mbconv.squeeze_excite(x, filters_in, filters, se_ratio, activation, name)
    x = _mbconv.conv_unit(x, filters_out, 1, f"{name}project_", None)
    if id_skip:
        # A negative rate means no dropout here; EfficientNetV2 lets Dropout refuse it (both as Keras).
        x = _mbconv.residual(x, inputs, strides, filters_in, filters_out, max(drop_rate, 0.0), name)
    return x


_VARIANTS = {  # name: (width, depth, default size, dropout)
    "B0": (1.0, 1.0, 224, 0.2), "B1": (1.0, 1.1, 240, 0.2), "B2": (1.1, 1.2, 260, 0.3),
    "B3": (1.2, 1.4, 300, 0.3), "B4": (1.4, 1.8, 380, 0.4), "B5": (1.6, 2.2, 456, 0.4),
    "B6": (1.8, 2.6, 528, 0.5), "B7": (2.0, 3.1, 600, 0.5),
}

_DOC = """Instantiate the EfficientNet{v} architecture (default input {size}x{size}).

    The model expects float inputs with values in [0, 255]; its first layers rescale and
    normalize them (`lamina.applications.efficientnet.preprocess_input` is the identity).

    Args:
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 32x32.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name (also the published weights file's name).

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.EfficientNet{v}(weights=None, include_top=False, input_shape=(64, 64, 3))
    """


def _variant(v):
    width, depth, size, dropout = _VARIANTS[v]

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=f"efficientnet{v.lower()}"):
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top, weights=weights,
                            input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=v.lower())

    return _common.public(build, f"EfficientNet{v}", _DOC.format(v=v, size=size))


EfficientNetB0 = _variant("B0")
EfficientNetB1 = _variant("B1")
EfficientNetB2 = _variant("B2")
EfficientNetB3 = _variant("B3")
EfficientNetB4 = _variant("B4")
EfficientNetB5 = _variant("B5")
EfficientNetB6 = _variant("B6")
EfficientNetB7 = _variant("B7")


preprocess_input = _common.identity_preprocess_input
decode_predictions = _common.decode_predictions
