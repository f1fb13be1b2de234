"""ImageNet helpers shared by the applications: ``preprocess_input``, ``decode_predictions`` and
the input-shape rules every builder applies."""

import json
import warnings

import numpy as np

from lamina import activations, backend, ops
from lamina.utils import file_utils

CLASS_INDEX = None
CLASS_INDEX_PATH = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
_CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

# Per-channel statistics of the ImageNet training set, in the order each mode expects.
_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of images (pixel values in [0, 255]) the way an ImageNet model was trained.

    Args:
        x: A float numpy array or tensor, 3D or 4D, with 3 color channels. A float numpy array is
            modified in place (as in Keras); pass ``np.copy(x)`` to keep the original.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``keras.config.image_data_format()``.
        mode: ``"caffe"`` (RGB to BGR, then subtract the ImageNet channel means), ``"tf"``
            (scale to [-1, 1]) or ``"torch"`` (scale to [0, 1], then normalize each channel with
            the ImageNet mean and standard deviation).

    Returns:
        The preprocessed images (float32 unless the input had another float type).

    Example:

    >>> x = np.random.uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    >>> y = lamina.applications.imagenet_utils.preprocess_input(x, mode="tf")
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = backend.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "Expected data_format to be one of `channels_first` or `channels_last`. "
            f"Received: data_format={data_format}"
        )
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_shape(ndim, data_format):
    """Broadcast shape of a per-channel vector for an image batch of rank ``ndim``."""
    if data_format == "channels_first":
        return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    return (1,) * (ndim - 1) + (3,)


def _preprocess_numpy(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    channel_axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else x.ndim - 1
    shape = _channel_shape(x.ndim, data_format)
    if mode == "torch":
        x /= 255.0
        x -= np.asarray(_TORCH_MEAN, dtype=x.dtype).reshape(shape)
        x /= np.asarray(_TORCH_STD, dtype=x.dtype).reshape(shape)
        return x
    x = np.flip(x, axis=channel_axis)  # a view: RGB -> BGR without a copy, as Keras
    x -= np.asarray(_CAFFE_MEAN, dtype=x.dtype).reshape(shape)
    return x


def _preprocess_tensor(x, data_format, mode):
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = _channel_shape(ndim, data_format)
    if mode == "torch":
        mean = ops.reshape(ops.convert_to_tensor(np.asarray(_TORCH_MEAN), dtype=x.dtype), shape)
        std = ops.reshape(ops.convert_to_tensor(np.asarray(_TORCH_STD), dtype=x.dtype), shape)
        return (x / 255.0 - mean) / std
    channel_axis = (0 if ndim == 3 else 1) if data_format == "channels_first" else -1
    x = ops.flip(x, axis=channel_axis)
    mean = ops.reshape(ops.convert_to_tensor(np.asarray(_CAFFE_MEAN), dtype=x.dtype), shape)
    return x - mean


def decode_predictions(preds, top=5):
    """Turn ImageNet class probabilities into readable labels.

    The class index (``imagenet_class_index.json``) is fetched once with ``get_file`` into the
    Keras cache (``~/.keras/models``).

    Args:
        preds: A batch of predictions, shape ``(samples, 1000)``.
        top: How many of the best guesses to return per sample.

    Returns:
        One list per sample of ``(class_name, class_description, score)`` tuples, best first.

    Example:

    >>> decode_predictions(model.predict(images), top=3)
    """
    global CLASS_INDEX
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
            f"(samples, 1000)). Received array with shape: {tuple(preds.shape)}"
        )
    if CLASS_INDEX is None:
        fpath = file_utils.get_file(
            "imagenet_class_index.json", CLASS_INDEX_PATH, cache_subdir="models",
            file_hash=_CLASS_INDEX_HASH,
        )
        with open(fpath) as f:
            CLASS_INDEX = json.load(f)
    preds = ops.convert_to_numpy(preds)
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        result = [tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in best]
        result.sort(key=lambda item: item[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """Check a user's ``input_shape`` against a model's rules, or give the model's default.

    Args:
        input_shape: ``None`` or a 3-tuple (may hold ``None`` spatial sizes).
        default_size: The model's default image height and width.
        min_size: The smallest height/width the model accepts.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        require_flatten: Whether the classifier top needs a static shape.
        weights: ``None``, ``"imagenet"`` or a file path.

    Returns:
        The input shape tuple to build the model with.
    """
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn(
                "This model usually expects 1 or 3 input channels. However, it was passed an "
                f"input_shape with {channels} input channels.",
                stacklevel=3,
            )
        default_shape = (channels, default_size, default_size) if first else (default_size, default_size, channels)
    else:
        default_shape = (3, default_size, default_size) if first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                "When setting `include_top=True` and loading `imagenet` weights, `input_shape` "
                f"should be {default_shape}.  Received: input_shape={input_shape}"
            )
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        channels, spatial = (input_shape[0], input_shape[1:]) if first else (input_shape[-1], input_shape[:2])
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(size is not None and size < min_size for size in spatial):
            raise ValueError(
                f"Input size must be at least {min_size}x{min_size}; Received: input_shape={input_shape}"
            )
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    input_shape = tuple(input_shape)
    if require_flatten and None in input_shape:
        raise ValueError(
            f"If `include_top` is True, you should specify a static `input_shape`. Received: input_shape={input_shape}"
        )
    return input_shape


def correct_pad(inputs, kernel_size):
    """Zero padding ``((top, bottom), (left, right))`` that makes a stride-2 "valid" convolution
    on ``inputs`` match TensorFlow's "same" padding (which pads more at the end)."""
    axis = 2 if backend.image_data_format() == "channels_first" else 1
    size = inputs.shape[axis: axis + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation, weights):
    """Pretrained tops were trained with softmax: only ``None`` or ``"softmax"`` may replace it."""
    if weights is None:
        return
    fn = activations.get(classifier_activation)
    if fn not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError(
            "Only `None` and `softmax` activations are allowed for the `classifier_activation` "
            "argument when using pretrained weights, with `include_top=True`; Received: "
            f"classifier_activation={classifier_activation}"
        )
