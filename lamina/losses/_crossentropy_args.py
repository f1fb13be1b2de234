"""Argument checks and label smoothing shared by the crossentropy losses (``probabilistic`` and
``focal``)."""

import numbers
import warnings


def check_label_smoothing(label_smoothing):
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) or not (
        0 <= label_smoothing <= 1
    ):
        raise ValueError(
            "Invalid value for argument `label_smoothing`: expected a float in [0, 1]. "
            f"Received: label_smoothing={label_smoothing!r}"
        )
    return label_smoothing


def check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")
    return int(axis)


def class_axis(axis, rank):
    if not -rank <= axis < rank:
        raise ValueError(f"`axis`={axis} is out of range for `y_pred` of rank {rank}.")
    return axis % rank


def warn_single_class(fn_name, y_pred):
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn(
            f"{fn_name} got `y_pred` with a single class (shape {tuple(y_pred.shape)}): the loss is "
            "always 0. Use 'binary_crossentropy' for two classes encoded as one probability.",
            SyntaxWarning,
            stacklevel=3,
        )


def smooth_categorical(y_true, label_smoothing):
    # The class count is read from the last axis whatever `axis` is, as the reference does.
    if label_smoothing:
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return y_true


def smooth_binary(y_true, label_smoothing):
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true
