"""The frame every application builder shares: argument checks, the input, the classifier or
pooling head, loading Keras's published weights through ``get_file``, and the families'
``preprocess_input`` / ``decode_predictions``."""

import os
import warnings

from lamina import backend, layers
from lamina.applications import imagenet_utils
from lamina.models import Functional
from lamina.utils import file_utils
from lamina.utils.source_inputs import get_source_inputs


def channel_axis():
    return 1 if backend.image_data_format() == "channels_first" else -1


def check_arguments(weights, include_top, classes, pooling=None):
    """Refuse ``weights``/``classes``/``pooling`` combinations Keras refuses."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization), 'imagenet' "
            "(pre-training on ImageNet), or the path to the weights file to be loaded.  "
            f"Received: weights={weights}"
        )
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            "If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
            f"Received classes={classes}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` should be one of None, 'avg' or 'max'. Received: pooling={pooling!r}")


def prepare_input(weights, include_top, classes, pooling, input_tensor, input_shape, default_size, min_size):
    """The checks and input every builder starts with: refuse bad arguments, settle the input
    shape (``obtain_input_shape``) and make the image input.

    Returns:
        ``(input_shape, img_input)``.
    """
    check_arguments(weights, include_top, classes, pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=min_size, data_format=backend.image_data_format(),
        require_flatten=include_top, weights=weights,
    )
    return input_shape, image_input(input_tensor, input_shape)


def image_input(input_tensor, input_shape):
    """The model's input: a new ``Input``, or one wrapping the user's ``input_tensor``."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if backend.is_keras_tensor(input_tensor):
        return input_tensor
    return layers.Input(tensor=input_tensor, shape=input_shape)


def head(x, include_top, pooling, classes, classifier_activation, weights, dropout=None,
         avg_name="avg_pool", max_name="max_pool", dropout_name="top_dropout", **dense_kwargs):
    """Global average pooling + (dropout, when the rate is positive) + the ``predictions``
    Dense layer (``dense_kwargs``: its initializers), or the feature pooling chosen by
    ``pooling`` when there is no top."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=avg_name)(x)
        if dropout is not None and dropout > 0:
            x = layers.Dropout(dropout, name=dropout_name)(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        return layers.Dense(classes, activation=classifier_activation, name="predictions", **dense_kwargs)(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def make_model(input_tensor, img_input, outputs, name):
    # A user's input_tensor may come from earlier layers: the model starts at their sources.
    inputs = get_source_inputs(input_tensor) if input_tensor is not None else img_input
    return Functional(inputs, outputs, name=name)


def fetch_weights(file_name, origin, file_hash=None):
    """Path of a published weights file in the Keras cache (``~/.keras/models``), downloaded on
    first use; a clear error naming the file and its URL when it can be neither found nor fetched."""
    try:
        return file_utils.get_file(file_name, origin, cache_subdir="models", file_hash=file_hash)
    except OSError as e:
        cache = os.path.join(file_utils.keras_home(), "models", file_name)
        raise OSError(
            f"Could not obtain the pretrained weights file {file_name!r} from {origin} ({e}). "
            f"Download it yourself and place it at {cache}, or pass `weights=<path>`."
        ) from e


def load(model, weights, file_name=None, origin=None, file_hash=None):
    """Load ``weights``: "imagenet" (the published file) or the path of a weights file."""
    if weights == "imagenet":
        if file_name is None:
            raise ValueError(f"No published ImageNet weights exist for the model {model.name!r}.")
        model.load_weights(fetch_weights(file_name, origin, file_hash))
    elif weights is not None:
        model.load_weights(weights)


def load_published(model, weights, include_top, base_url, files, hashes=None):
    """Load ``weights`` where the published files come in a with-top / without-top pair.

    Args:
        model: The built model.
        weights: `None`, `"imagenet"` or the path of a weights file.
        include_top: Picks the file: ``files[0]`` with the top, ``files[1]`` without.
        base_url: The folder URL the file names are appended to.
        files: ``(with top, without top)`` file names.
        hashes: ``(with top, without top)`` checksums, or `None` for none.

    With ``files=None`` (no published weights), ``weights="imagenet"`` is refused.
    """
    if files is None:
        return load(model, weights)
    i = 0 if include_top else 1
    load(model, weights, files[i], base_url + files[i], hashes[i] if hashes else None)


def tf_kernels_files(prefix):
    """The ``(with top, without top)`` names of the classic Keras weights files of ``prefix``."""
    return f"{prefix}_weights_tf_dim_ordering_tf_kernels.h5", f"{prefix}_weights_tf_dim_ordering_tf_kernels_notop.h5"


def preprocessor(mode):
    """The ``preprocess_input`` of an application whose inputs go through the ImageNet
    preprocessing ``mode`` ("caffe", "tf" or "torch")."""

    def preprocess_input(x, data_format=None):
        return imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)

    preprocess_input.__doc__ = f"""{_MODE_SUMMARIES[mode]}

    Args:
        x: Images with values in [0, 255], 3D or 4D, float numpy array or tensor.
        data_format: Optional; defaults to `image_data_format()`.

    Returns:
        The preprocessed images.
    """
    return preprocess_input


_MODE_SUMMARIES = {
    "caffe": 'ImageNet "caffe" preprocessing: RGB to BGR, then the channel means subtracted.',
    "tf": 'Scale images with values in [0, 255] to [-1, 1] ("tf" mode).',
    "torch": 'Scale images to [0, 1], then normalize them with the ImageNet channel statistics ("torch" mode).',
}


def identity_preprocess_input(x, data_format=None):
    """The identity: this application's models preprocess their inputs themselves.

    Args:
        x: Images with values in [0, 255].
        data_format: Unused; kept for API compatibility.

    Returns:
        `x` unchanged.
    """
    return x


def decode_predictions(preds, top=5):
    """See `lamina.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top)


def public(build, name, doc):
    """Give a variant builder made in a loop its public name and docstring."""
    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return build


def spatial_size(shape):
    """``(rows, cols)`` of a 3D image shape in the current data format."""
    if backend.image_data_format() == "channels_first":
        return shape[1], shape[2]
    return shape[0], shape[1]


def mobile_default_size(input_shape, input_tensor, sizes=(96, 128, 160, 192, 224)):
    """The MobileNets' default size: the given square size when published weights exist for it,
    else 224. Also checks a given ``input_tensor`` agrees with ``input_shape``."""
    if input_shape is not None:
        if input_tensor is not None:
            if not backend.is_keras_tensor(input_tensor):
                raise ValueError(f"input_tensor is not a Keras tensor; Received `input_tensor={input_tensor}`")
            if spatial_size(tuple(input_tensor.shape)[1:])[1] != spatial_size(tuple(input_shape))[1]:
                raise ValueError(
                    "The width of `input_tensor` must equal the width in `input_shape`; Received "
                    f"`input_tensor.shape={tuple(input_tensor.shape)}`, `input_shape={input_shape}`"
                )
        rows, cols = spatial_size(tuple(input_shape))
    elif input_tensor is not None and backend.is_keras_tensor(input_tensor):
        rows, cols = spatial_size(tuple(input_tensor.shape)[1:])
    else:
        return 224
    return rows if rows == cols and rows in sizes else 224


def mobile_input_shape(weights, include_top, classes, pooling, input_shape, input_tensor, sizes):
    """The MobileNets' argument checks and input shape.

    Args:
        weights, include_top, classes, pooling, input_shape: The builder's arguments.
        input_tensor: The tensor whose size sets the default size, or `None`.
        sizes: The square sizes published weights exist for.

    Returns:
        ``(input_shape, rows, cols)``.
    """
    check_arguments(weights, include_top, classes, pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=mobile_default_size(input_shape, input_tensor, sizes), min_size=32,
        data_format=backend.image_data_format(), require_flatten=include_top, weights=weights,
    )
    return (input_shape,) + spatial_size(input_shape)


def published_rows(rows, cols, sizes):
    """The input size of the published weights to load: ``rows``, or 224 with a warning when no
    file exists for a ``rows`` x ``cols`` input."""
    if rows == cols and rows in sizes:
        return rows
    warnings.warn(
        f"`input_shape` is undefined or non-square, or `rows` is not in [{', '.join(map(str, sizes))}]. "
        "Weights for input shape (224, 224) will be loaded as the default.",
        stacklevel=3,  # the warning is about the call of the builder
    )
    return 224


def make_divisible(v, divisor=8, min_value=None):
    """Round a channel count to a multiple of ``divisor``, never more than 10% below ``v``."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v
