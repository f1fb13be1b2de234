"""ResNet50V2/101V2/152V2 (Identity Mappings in Deep Residual Networks, He et al., 2016)."""

from lamina.applications import _common
from lamina.applications.resnet import ResNet, stack_residual_blocks_v2


def _v2_stages(counts):
    def stack_fn(x):
        x = stack_residual_blocks_v2(x, 64, counts[0], name="conv2")
        x = stack_residual_blocks_v2(x, 128, counts[1], name="conv3")
        x = stack_residual_blocks_v2(x, 256, counts[2], name="conv4")
        return stack_residual_blocks_v2(x, 512, counts[3], stride1=1, name="conv5")

    return stack_fn


_DOC = """Instantiate the {name} architecture (pre-activation ResNet, 2016).

    Call `lamina.applications.resnet_v2.preprocess_input` on the inputs first (scales to [-1, 1]).

    Args:
        include_top: Whether to include the classifier (global average pooling + Dense).
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 32x32, 3 channels.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.{name}(weights=None, include_top=False, pooling="avg")
    """


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    return ResNet(_v2_stages((3, 4, 6, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    return ResNet(_v2_stages((3, 4, 23, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    return ResNet(_v2_stages((3, 8, 36, 3)), True, True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name=name, weights_name="resnet152v2")


ResNet50V2.__doc__ = _DOC.format(name="ResNet50V2")
ResNet101V2.__doc__ = _DOC.format(name="ResNet101V2")
ResNet152V2.__doc__ = _DOC.format(name="ResNet152V2")


preprocess_input = _common.preprocessor("tf")
decode_predictions = _common.decode_predictions
