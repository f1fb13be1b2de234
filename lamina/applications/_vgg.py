"""The VGG family (Simonyan & Zisserman, 2014): stacks of 3x3 convolutions and 2x2 max pooling,
then two 4096-unit Dense layers. VGG16 and VGG19 differ only in the convolutions per block."""

from lamina import layers
from lamina.applications import _common, imagenet_utils

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
_HASHES = {  # md5 (with top, without top)
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
}
_FILTERS = (64, 128, 256, 512, 512)


def build_vgg(convs_per_block, family, include_top, weights, input_tensor, input_shape, pooling,
              classes, classifier_activation, name):
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=224, min_size=32)
    x = img_input
    for block, (filters, convs) in enumerate(zip(_FILTERS, convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = _common.make_model(input_tensor, img_input, x, name)
    _common.load_published(model, weights, include_top, f"{_BASE}{family}/", _common.tf_kernels_files(family),
                           _HASHES[family])
    return model


DOC = """Instantiate the {name} architecture (Very Deep Convolutional Networks, 2014).

    Call `lamina.applications.{module}.preprocess_input` on the inputs first (RGB to BGR, then
    the ImageNet channel means subtracted).

    Args:
        include_top: Whether to include the 3 fully connected layers at the top.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights, fetched
            into `~/.keras/models`), or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False` (otherwise
            `(224, 224, 3)`); at least 32x32 with 3 channels.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the `predictions` layer (`None` for logits).
        name: The model's name.

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.{name}(weights=None, include_top=False, input_shape=(64, 64, 3))
    """


preprocess_input = _common.preprocessor("caffe")
decode_predictions = _common.decode_predictions
