"""MobileNet (Howard et al., 2017): depthwise-separable convolutions with width and resolution
multipliers."""

from lamina import layers
from lamina.applications import _common, imagenet_utils

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}
# (pointwise filters, stride) of blocks 1..13.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """Instantiate the MobileNet architecture.

    Call `lamina.applications.mobilenet.preprocess_input` on the inputs first (scales to
    [-1, 1]).

    Args:
        input_shape: Optional shape tuple (at least 32x32); published weights exist for square
            inputs of 128, 160, 192 or 224 pixels.
        alpha: Width multiplier (published weights for 0.25, 0.5, 0.75 and 1.0).
        depth_multiplier: Resolution multiplier of the depthwise convolutions (1 with
            published weights).
        dropout: Dropout rate before the classifier.
        include_top: Whether to include the classifier at the top.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name; defaults to `"mobilenet_{alpha:0.2f}_{rows}"`.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3))
    """
    input_shape, rows, cols = _common.mobile_input_shape(weights, include_top, classes, pooling, input_shape, None,
                                                         _SIZES)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                "If imagenet weights are being loaded, depth multiplier must be 1.  "
                f"Received depth_multiplier={depth_multiplier}"
            )
        if alpha not in _ALPHA_TEXT:
            raise ValueError(
                "If imagenet weights are being loaded, alpha can be one of `0.25`, `0.50`, `0.75` or "
                f"`1.0` only.  Received alpha={alpha}"
            )
        rows = _common.published_rows(rows, cols, _SIZES)
    img_input = _common.image_input(input_tensor, input_shape)
    axis = _common.channel_axis()
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2), name="conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, int(filters * alpha), depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.head(x, False, pooling, classes, classifier_activation, weights, avg_name=None, max_name=None)
    model = _common.make_model(input_tensor, img_input, x, name or f"mobilenet_{alpha:0.2f}_{rows}")
    if weights == "imagenet":
        file_name = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        _common.load(model, weights, file_name, BASE_WEIGHT_PATH + file_name)
    else:
        _common.load(model, weights)
    return model


def _depthwise_conv_block(x, filters, depth_multiplier, stride, block_id):
    """3x3 depthwise convolution and 1x1 pointwise convolution, each with BN and ReLU6. A strided
    block pads bottom/right only, as TensorFlow's "same" padding does."""
    axis = _common.channel_axis()
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=(stride, stride), use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


preprocess_input = _common.preprocessor("tf")
decode_predictions = _common.decode_predictions
