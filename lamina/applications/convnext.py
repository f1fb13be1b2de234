"""ConvNeXt Tiny/Small/Base/Large/XLarge (A ConvNet for the 2020s, Liu et al., 2022).

With `include_preprocessing=True` (default) the model normalizes inputs in [0, 255] itself, so
`preprocess_input` is the identity. Only the `channels_last` data format is supported, as in Keras.
"""

import numpy as np

from lamina import backend, initializers, layers, ops, random
from lamina.backend import naming
from lamina.applications import _common, imagenet_utils
from lamina.models import Functional, Sequential
from lamina.saving.object_registration import register_builtin
from lamina.utils.source_inputs import get_source_inputs

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
WEIGHTS_HASHES = {  # sha256 (with top, without top)
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


@register_builtin("keras.src.applications.convnext")
class StochasticDepth(layers.Layer):
    """Drop the whole residual branch of a sample with probability ``drop_path_rate`` in
    training (surviving branches are scaled by ``1 / (1 - rate)``); the identity in inference.

    Args:
        drop_path_rate: Probability of dropping a sample's branch, in [0, 1].
    """

    _keras_registered_name = "StochasticDepth"

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training:
            return x
        keep_prob = 1 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(ops.shape(x)) - 1)
        mask = ops.floor(keep_prob + random.uniform(shape, 0, 1))
        return (x / keep_prob) * mask

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


@register_builtin("keras.src.applications.convnext")
class LayerScale(layers.Layer):
    """Multiply the input by a learned per-channel vector initialized to ``init_values``.

    Args:
        init_values: Initial value of every scale, in [0, 1].
        projection_dim: Number of channels.
    """

    _keras_registered_name = "LayerScale"

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, _):
        # Keras names an unnamed variable from a session-wide counter ("variable", "variable_1",
        # ...); the same names keep weight paths equal to Keras's.
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name=naming.unique_name("variable"))

    def call(self, x):
        return x * self.gamma

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """A function applying one ConvNeXt block: 7x7 depthwise conv, LayerNorm, an inverted MLP
    with GELU, layer scale, and the residual (with stochastic depth when ``drop_path_rate``)."""
    if name is None:
        name = f"prestem{backend.get_uid('prestem')}"

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            branch = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            branch = layers.Activation("linear", name=f"{name}_identity")
        return inputs + branch(x)

    return apply


def PreStem(name=None):
    """A function normalizing [0, 255] RGB inputs with the ImageNet mean and variance."""
    if name is None:
        name = f"prestem{backend.get_uid('prestem')}"

    def apply(x):
        return layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=f"{name}_prestem_normalization",
        )(x)

    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """A function applying the classifier: global average pooling, LayerNorm, Dense."""
    if name is None:
        name = str(backend.get_uid("head"))

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=224,
             name="convnext", include_preprocessing=True, include_top=True, weights=None, input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", weights_name=None):
    """Build a ConvNeXt with ``depths`` blocks and ``projection_dims`` channels per stage (see
    `ConvNeXtTiny` for the other arguments)."""
    if backend.image_data_format() == "channels_first":
        raise ValueError(
            "ConvNeXt does not support the `channels_first` image data format. Switch to "
            "`channels_last` by editing your local config file at ~/.keras/keras.json"
        )
    input_shape, img_input = _common.prepare_input(weights, include_top, classes, pooling, input_tensor,
                                                   input_shape, default_size=default_size, min_size=32)
    if input_tensor is not None:
        inputs, x = get_source_inputs(input_tensor)[0], input_tensor
    else:
        inputs = x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = PreStem(name=name)(x)
    stages = [Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")]
    for i in range(3):
        stages.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}"))
    drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = stages[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Functional(inputs=inputs, outputs=x, name=name)
    if weights == "imagenet":
        expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
        if list(depths) != expected["depths"] or list(projection_dims) != expected["projection_dims"]:
            raise ValueError(
                f"Architecture configuration does not match {weights_name} variant. When using "
                f"pre-trained weights, the model architecture must match the pre-trained configuration "
                f"exactly. Expected depths: {expected['depths']}, got: {depths}. Expected "
                f"projection_dims: {expected['projection_dims']}, got: {projection_dims}."
            )
        if weights_name not in name:
            raise ValueError(
                f'Model name "{name}" does not match weights variant "{weights_name}". When using imagenet '
                f'weights, model name must contain the weights variant (e.g., "{weights_name}").'
            )
    _common.load_published(model, weights, include_top, BASE_WEIGHTS_PATH, (f"{name}.h5", f"{name}_notop.h5"),
                           WEIGHTS_HASHES.get(weights_name))
    return model


_DOC = """Instantiate the {name} architecture.

    With `include_preprocessing=True` the model normalizes inputs in [0, 255] itself
    (`lamina.applications.convnext.preprocess_input` is the identity).

    Args:
        include_top: Whether to include the classifier head.
        include_preprocessing: Whether the model starts with ImageNet normalization.
        weights: `None`, `"imagenet"` (Keras's published weights) or the path of a weights file.
        input_tensor: Optional Keras tensor to use as the image input.
        input_shape: Optional shape tuple, only when `include_top=False`; at least 32x32.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"` (then a LayerNorm).
        classes: Number of classes, with `include_top=True` and no `weights`.
        classifier_activation: Activation of the head's Dense layer (`None` for logits).
        name: The model's name (it must contain the variant's name with imagenet weights).

    Returns:
        A `Model`.

    Example:

    >>> model = lamina.applications.{name}(weights=None, include_top=False, input_shape=(64, 64, 3))
    """


def _variant(size, public):
    config = MODEL_CONFIGS[size]

    def build(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
              input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
              name=f"convnext_{size}"):
        return ConvNeXt(weights_name=f"convnext_{size}", depths=config["depths"],
                        projection_dims=config["projection_dims"], drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=config["default_size"], name=name, include_top=include_top,
                        include_preprocessing=include_preprocessing, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation)

    return _common.public(build, public, _DOC.format(name=public))


ConvNeXtTiny = _variant("tiny", "ConvNeXtTiny")
ConvNeXtSmall = _variant("small", "ConvNeXtSmall")
ConvNeXtBase = _variant("base", "ConvNeXtBase")
ConvNeXtLarge = _variant("large", "ConvNeXtLarge")
ConvNeXtXLarge = _variant("xlarge", "ConvNeXtXLarge")


preprocess_input = _common.identity_preprocess_input
decode_predictions = _common.decode_predictions
