"""EfficientNetV2 B0-B3, S, M, L (Tan & Le, 2021): fused and regular MBConv blocks.

With `include_preprocessing=True` (default) the model rescales inputs in [0, 255] itself, so
`preprocess_input` is the identity.
"""

import math

from lamina import backend, initializers, layers
from lamina.applications import _common, _mbconv
from lamina.applications._mbconv import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER  # noqa: F401 (public, as in Keras)

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
_KEYS = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio", "se_ratio", "strides",
         "conv_type")  # conv_type 1: fused MBConv, 0: MBConv
_B = [(3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
      (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0)]
_TABLES = {
    "efficientnetv2-s": [(3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1), (3, 4, 48, 64, 4, 0, 2, 1),
                         (3, 6, 64, 128, 4, 0.25, 2, 0), (3, 9, 128, 160, 6, 0.25, 1, 0),
                         (3, 15, 160, 256, 6, 0.25, 2, 0)],
    "efficientnetv2-m": [(3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
                         (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
                         (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0)],
    "efficientnetv2-l": [(3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
                         (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
                         (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0)],
    **{f"efficientnetv2-b{i}": _B for i in range(4)},
}
DEFAULT_BLOCKS_ARGS = {name: [dict(zip(_KEYS, row)) for row in rows] for name, rows in _TABLES.items()}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """Scale a filter count by the width coefficient, to a multiple of ``depth_divisor``."""
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return int(max(minimum_depth, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    return int(math.ceil(depth_coefficient * repeats))


def _bn(momentum, name):
    return layers.BatchNormalization(axis=_common.channel_axis(), momentum=momentum, name=name)


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """A function applying an MBConv block: 1x1 expansion, depthwise conv, squeeze-excite, 1x1
    projection, residual. ``survival_probability`` is, as in Keras, the drop rate of the residual
    branch."""
    name = name if name is not None else backend.get_uid("block0")
    bn_kwargs = {"momentum": bn_momentum}

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _mbconv.conv_unit(x, filters, 1, f"{name}expand_", activation, bn_kwargs)
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides, depthwise_initializer=CONV_KERNEL_INITIALIZER,
                                   padding="same", data_format=backend.image_data_format(), use_bias=False,
                                   name=f"{name}dwconv2")(x)
        x = _bn(bn_momentum, f"{name}bn")(x)
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = _mbconv.squeeze_excite(x, input_filters, filters, se_ratio, activation, name)
        x = _mbconv.conv_unit(x, output_filters, 1, f"{name}project_", None, bn_kwargs)
        return _mbconv.residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1, se_ratio=0.0,
                     bn_momentum=0.9, activation="swish", survival_probability=0.8, name=None):
    """A function applying a fused MBConv block: the expansion and depthwise convolutions of
    MBConv fused into one regular kxk convolution."""
    name = name if name is not None else backend.get_uid("block0")
    bn_kwargs = {"momentum": bn_momentum}

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _mbconv.conv_unit(x, filters, kernel_size, f"{name}expand_", activation, bn_kwargs, strides=strides)
        if 0 < se_ratio <= 1:
            x = _mbconv.squeeze_excite(x, input_filters, filters, se_ratio, activation, name)
        # Without an expansion the projection is the block's only (kxk, activated) convolution.
        fused = expand_ratio == 1
        x = _mbconv.conv_unit(x, output_filters, kernel_size if fused else 1, f"{name}project_",
                              activation if fused else None, bn_kwargs, strides=strides if fused else 1)
        return _mbconv.residual(x, inputs, strides, input_filters, output_filters, survival_probability, name)

    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2, drop_connect_rate=0.2,
                   depth_divisor=8, min_depth=8, bn_momentum=0.9, activation="swish", blocks_args="default",
                   name="efficientnetv2", include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax", include_preprocessing=True,
                   weights_name=None):
    """Build an EfficientNetV2 (see `EfficientNetV2B0` for the user-facing arguments).

    ``blocks_args="default"`` takes the table of the variant named by ``weights_name`` (Keras
    looks it up by the model's ``name``, which fails for a custom name).
    """
    variant = name
    if weights_name:
        variant = "efficientnetv2" + (weights_name if weights_name.startswith("-") else f"-{weights_name}")
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS[variant]
    blocks_args = [dict(args) for args in blocks_args]
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=default_size, min_size=32)
    axis = _common.channel_axis()
    x = img_input
    if include_preprocessing:
        # The B variants were trained on ImageNet-normalized inputs, S/M/L on [-1, 1].
        if variant.split("-")[-1].startswith("b") and input_shape[0 if axis == 1 else -1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2], axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def rounded(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    bn_kwargs = {"momentum": bn_momentum}
    x = _mbconv.conv_unit(x, rounded(blocks_args[0]["input_filters"]), 3, "stem_", activation, bn_kwargs, strides=2)

    def apply_block(x, drop_rate, block_name, args):
        args = dict(args)
        block = FusedMBConvBlock if args.pop("conv_type") == 1 else MBConvBlock
        return block(activation=activation, bn_momentum=bn_momentum, survival_probability=drop_rate, name=block_name,
                     **args)(x)

    x = _mbconv.stages(x, blocks_args, ("num_repeat", "input_filters", "output_filters"), rounded,
                       lambda repeats: round_repeats(repeats, depth_coefficient),
                       float(sum(args["num_repeat"] for args in blocks_args)), drop_connect_rate, "EfficientNetV2",
                       apply_block)
    x = _mbconv.top(x, rounded(1280), activation, bn_kwargs, include_top, dropout_rate, pooling, classes,
                    classifier_activation, weights, bias_initializer=initializers.Constant(0.0))
    return _mbconv.finish(x, img_input, input_tensor, name, include_top, weights, BASE_WEIGHTS_PATH, WEIGHTS_HASHES,
                          weights_name)


_VARIANTS = {  # public name suffix: (width, depth, default size, weights key)
    "B0": (1.0, 1.0, 224, "b0"), "B1": (1.0, 1.1, 240, "b1"), "B2": (1.1, 1.2, 260, "b2"),
    "B3": (1.2, 1.4, 300, "b3"), "S": (1.0, 1.0, 384, "-s"), "M": (1.0, 1.0, 480, "-m"), "L": (1.0, 1.0, 480, "-l"),
}

_DOC = """Instantiate the EfficientNetV2{v} architecture (default input {size}x{size}).

    With `include_preprocessing=True` the model rescales inputs in [0, 255] itself
    (`lamina.applications.efficientnet_v2.preprocess_input` is the identity).

    Args:
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 32x32.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        include_preprocessing: Whether the model starts with its rescaling layers.
        name: The model's name (also the published weights file's name).

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.EfficientNetV2{v}(weights=None, include_top=False, input_shape=(64, 64, 3))
    """


def _variant(v):
    width, depth, size, key = _VARIANTS[v]

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", include_preprocessing=True,
              name=f"efficientnetv2-{v.lower()}"):
        return EfficientNetV2(width_coefficient=width, depth_coefficient=depth, default_size=size, name=name,
                              include_top=include_top, weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key)

    return _common.public(build, f"EfficientNetV2{v}", _DOC.format(v=v, size=size))


EfficientNetV2B0 = _variant("B0")
EfficientNetV2B1 = _variant("B1")
EfficientNetV2B2 = _variant("B2")
EfficientNetV2B3 = _variant("B3")
EfficientNetV2S = _variant("S")
EfficientNetV2M = _variant("M")
EfficientNetV2L = _variant("L")


preprocess_input = _common.identity_preprocess_input
decode_predictions = _common.decode_predictions
