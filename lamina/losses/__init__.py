"""``lamina.losses`` (mirrors ``keras.losses``): loss classes, loss functions, and lookup by name.

Every loss exists as a class (``MeanSquaredError``), configurable and applying ``sample_weight``,
masks and a reduction, and as a function (``mean_squared_error``) returning unreduced per-sample
values. ``get`` resolves the identifiers ``compile(loss=...)`` accepts: names such as ``"mse"`` or
``"CategoricalCrossentropy"``, config dicts, classes, instances and functions.

Example:

>>> loss = lamina.losses.get("sparse_categorical_crossentropy")
>>> loss([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
tensor([0.0513, 2.3026])
"""

from lamina.losses.ctc import CTC, ctc
from lamina.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from lamina.losses.hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from lamina.losses.loss import (
    Loss,
    LossFunctionWrapper,
    _serialize,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)
from lamina.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_generalized_cross_entropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.losses.segmentation import Dice, Tversky, dice, tversky
from lamina.losses.similarity import Circle, circle
from lamina.saving import object_lookup, object_registration

# Short and Keras 2 spellings of the functions (the same objects, so they serialize by their full
# names).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh

_MODULE = "keras.losses"
_ALIASES = {
    "mse": mse,
    "MSE": MSE,
    "mae": mae,
    "MAE": MAE,
    "mape": mape,
    "MAPE": MAPE,
    "msle": msle,
    "MSLE": MSLE,
    "kld": kld,
    "KLD": KLD,
    "kullback_leibler_divergence": kullback_leibler_divergence,
    "bce": bce,
    "BCE": BCE,
    "logcosh": logcosh,
}
for _name, _obj in _ALIASES.items():
    object_registration.register_builtin(_MODULE, _name)(_obj)
del _name, _obj

# Everything registered above and in the submodules: classes, functions and aliases by name.
_ALL_OBJECTS = dict(object_registration.builtin_objects(_MODULE))


def serialize(loss):
    """Return the config of a loss, in the Keras 3 format.

    Args:
        loss: A ``Loss`` instance or a loss function.

    Returns:
        A dict. Built-in functions give ``{"module": "builtins", "class_name": "function",
        "config": <name>, ...}`` as Keras writes them.
    """
    return _serialize(loss)


# Keras resolves loss names against this module's table only (no custom-object lookup in `get`).
deserialize = object_lookup.deserializer(_ALL_OBJECTS)
get = object_lookup.name_getter("loss", _ALL_OBJECTS, deserialize)


__all__ = sorted(
    [n for n in _ALL_OBJECTS if not n.startswith("_")]
    + ["serialize", "deserialize", "get", "reduce_weighted_values", "squeeze_or_expand_to_same_rank"]
    + ["standardize_reduction"]
)
