"""ResNet50/101/152 (He et al., 2015) and the residual blocks shared with ResNetV2.

Layer names and weight order follow Keras, so Keras's published ImageNet weights load as is.
"""

from lamina import layers
from lamina.applications import _common

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# (with top, without top) md5 of the published files.
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_EPS = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), epsilon=_EPS, name=name)


def ResNet(stack_fn, preact, use_bias, include_top=True, weights="imagenet", input_tensor=None,
           input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
           name="resnet", weights_name=None):
    """Build a ResNet (``preact=False``) or ResNetV2 (``preact=True``) around ``stack_fn``.

    Args:
        stack_fn: Function mapping the stem's output to the output of the residual stages.
        preact: Whether the blocks use pre-activation (ResNetV2).
        use_bias: Whether the stem convolution has a bias.
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation, name: As for ``ResNet50``.
        weights_name: Key of the published weights in ``WEIGHTS_HASHES``.

    Returns:
        A ``Model``.
    """
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=224, min_size=32)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = _common.head(x, include_top, pooling, classes, classifier_activation, weights)
    model = _common.make_model(input_tensor, img_input, x, name)
    published = weights_name in WEIGHTS_HASHES
    _common.load_published(model, weights, include_top, BASE_WEIGHTS_PATH,
                           _common.tf_kernels_files(weights_name) if published else None,
                           WEIGHTS_HASHES.get(weights_name))
    return model


def residual_block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Bottleneck block (1x1 -> kxk -> 1x1, x4 expansion) with post-activation."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """``blocks`` v1 blocks; the first one downsamples by ``stride1`` and projects the shortcut."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck block (ResNetV2); downsampling happens in the 3x3 convolution."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """``blocks`` v2 blocks; the first projects the shortcut, the last downsamples by ``stride1``."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _stages(stack, counts, first_strides):
    """The stack function of the stages ``conv2``..``conv5``: ``counts`` blocks each, the first
    block of each with the stride in ``first_strides``."""

    def stack_fn(x):
        for stage, (filters, blocks, stride1) in enumerate(zip((64, 128, 256, 512), counts, first_strides), start=2):
            x = stack(x, filters, blocks, stride1=stride1, name=f"conv{stage}")
        return x

    return stack_fn


def variant(public_name, counts, preact, module, doc):
    """A public builder (``ResNet50``, ``ResNet50V2``, ...) with Keras's signature.

    Args:
        public_name: The builder's name; lower-cased, the model's default name and the key of
            its published weights.
        counts: The blocks in each of the four stages.
        preact: Whether it is a ResNetV2 (pre-activation blocks, downsampling at a stage's end).
        module: The module the builder belongs to.
        doc: The docstring template (``{name}``: the builder's name).

    Returns:
        The builder.
    """
    default_name = public_name.lower()
    if preact:
        stack, first_strides = stack_residual_blocks_v2, (2, 2, 2, 1)
    else:
        stack, first_strides = stack_residual_blocks_v1, (1, 2, 2, 2)

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=default_name):
        return ResNet(_stages(stack, counts, first_strides), preact, True, include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation, name=name, weights_name=default_name)

    build.__module__ = module
    return _common.public(build, public_name, doc.format(name=public_name))


_DOC = """Instantiate the {name} architecture (Deep Residual Learning for Image Recognition, 2015).

    Call `lamina.applications.resnet.preprocess_input` on the inputs first (RGB to BGR, then
    ImageNet channel means subtracted).

    Args:
        include_top: Whether to include the classifier (global average pooling + Dense).
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights, fetched
            into `~/.keras/models`), or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False` (otherwise
            `(224, 224, 3)`); at least 32 pixels high and wide, 3 channels.
        pooling: With `include_top=False`: `None` (4D feature map), `"avg"` or `"max"` (global
            pooling to a 2D tensor).
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits); only
            `None` or `"softmax"` with pretrained weights.
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.{name}(weights=None, input_shape=(64, 64, 3), include_top=False)
    """


ResNet50 = variant("ResNet50", (3, 4, 6, 3), False, __name__, _DOC)
ResNet101 = variant("ResNet101", (3, 4, 23, 3), False, __name__, _DOC)
ResNet152 = variant("ResNet152", (3, 8, 36, 3), False, __name__, _DOC)


preprocess_input = _common.preprocessor("caffe")
decode_predictions = _common.decode_predictions
