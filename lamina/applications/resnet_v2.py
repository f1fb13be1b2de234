"""ResNet50V2/101V2/152V2 (Identity Mappings in Deep Residual Networks, He et al., 2016)."""

from lamina.applications import _common
from lamina.applications.resnet import variant


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


ResNet50V2 = variant("ResNet50V2", (3, 4, 6, 3), True, __name__, _DOC)
ResNet101V2 = variant("ResNet101V2", (3, 4, 23, 3), True, __name__, _DOC)
ResNet152V2 = variant("ResNet152V2", (3, 8, 36, 3), True, __name__, _DOC)


preprocess_input = _common.preprocessor("tf")
decode_predictions = _common.decode_predictions
