"""DenseNet121/169/201 (Densely Connected Convolutional Networks, Huang et al., 2016)."""

from lamina import backend, layers
from lamina.applications import _common

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
# blocks per dense stage -> (weights name, md5 with top, md5 without top)
_WEIGHTS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
_EPS = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), epsilon=_EPS, name=name)


def dense_block(x, blocks, name):
    """``blocks`` conv blocks, each concatenating 32 new channels to its input."""
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """BN-ReLU, a 1x1 convolution shrinking the channels by ``reduction``, 2x2 average pooling."""
    x = _bn(f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[_common.channel_axis()] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def conv_block(x, growth_rate, name):
    """BN-ReLU-1x1 conv (4x growth) then BN-ReLU-3x3 conv (growth), concatenated to ``x``."""
    y = _bn(f"{name}_0_bn")(x)
    y = layers.Activation("relu", name=f"{name}_0_relu")(y)
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn(f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=_common.channel_axis(), name=f"{name}_concat")([x, y])


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="densenet"):
    """Build a DenseNet with ``blocks`` conv blocks in each of its four dense stages.

    Args:
        blocks: Four integers, the conv blocks per dense stage.
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation, name: As for `DenseNet121`.

    Returns:
        A `Model`.
    """
    if backend.image_data_format() == "channels_first":
        raise ValueError(
            "DenseNet does not support the `channels_first` image data format. Switch to "
            "`channels_last` by editing your local config file at ~/.keras/keras.json"
        )
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=224, min_size=32)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn("conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = _bn("bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _common.head(x, include_top, pooling, classes, classifier_activation, weights)
    model = _common.make_model(input_tensor, img_input, x, name)
    if weights == "imagenet":
        if tuple(blocks) not in _WEIGHTS:
            raise ValueError(f"No published ImageNet weights for a DenseNet with blocks={list(blocks)}.")
        family, top_hash, notop_hash = _WEIGHTS[tuple(blocks)]
        _common.load_published(model, weights, include_top, BASE_WEIGHTS_PATH, _common.tf_kernels_files(family),
                               (top_hash, notop_hash))
    else:
        _common.load(model, weights)
    return model


_DOC = """Instantiate the {name} architecture (Densely Connected Convolutional Networks, 2016).

    Call `lamina.applications.densenet.preprocess_input` on the inputs first ("torch" mode:
    scaled to [0, 1], then normalized with the ImageNet channel statistics).

    Args:
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 32x32.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.{name}(weights=None, include_top=False, input_shape=(64, 64, 3))
    """


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet121"):
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet169"):
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet201"):
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name=name)


DenseNet121.__doc__ = _DOC.format(name="DenseNet121")
DenseNet169.__doc__ = _DOC.format(name="DenseNet169")
DenseNet201.__doc__ = _DOC.format(name="DenseNet201")


preprocess_input = _common.preprocessor("torch")
decode_predictions = _common.decode_predictions
