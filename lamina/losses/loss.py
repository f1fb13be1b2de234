"""The ``Loss`` base class, its function wrapper, and the weighting and reduction rules they share.

A loss object turns ``(y_true, y_pred)`` into per-sample values with ``call``, then weighs them by
``sample_weight`` and by any mask carried on ``y_pred`` (its ``_keras_mask`` attribute) or on the
values ``call`` returns, and finally reduces them according to ``reduction``.
"""

import numbers

import torch

from lamina.backend import config as backend_config
from lamina.backend import dtype_policy, naming
from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.numpy_interop import mark_eager_output
from lamina.saving import object_registration, serialization_lib
from lamina.utils import tree

_MODULE = "keras.losses"

# Listed in a fixed order so the error message is the same on every run.
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
# Keras 2 called the default reduction "auto"; configs written by tf.keras still carry it.
_LEGACY_REDUCTIONS = {"auto": "sum_over_batch_size"}


def standardize_reduction(reduction):
    """Validate ``reduction`` and return its Keras 3 spelling.

    Args:
        reduction: One of ``"sum_over_batch_size"``, ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or ``None`` (Keras 2's ``"auto"`` is read as
            ``"sum_over_batch_size"``).

    Returns:
        The reduction name (or ``None``).

    Raises:
        ValueError: If ``reduction`` is not one of the values above.
    """
    if isinstance(reduction, str) and reduction in _LEGACY_REDUCTIONS:
        return _LEGACY_REDUCTIONS[reduction]
    if reduction not in _REDUCTIONS:
        allowed = ", ".join(repr(r) for r in _REDUCTIONS)
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {{{allowed}}}. "
            f"Received: reduction={reduction}"
        )
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make the ranks of ``x1`` and ``x2`` agree when they differ by a trailing axis of size 1.

    The tensor with the extra size-1 axis loses it, except that a rank-1 partner gains one instead
    (when ``expand_rank_1``), so ``(batch,)`` labels meet ``(batch, 1)`` predictions as columns.

    Args:
        x1: A tensor.
        x2: A tensor.
        expand_rank_1: Whether a rank-1 tensor is expanded rather than the other one squeezed.

    Returns:
        The pair ``(x1, x2)``, possibly reshaped.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _divide_no_nan(x, y):
    # A zero divisor (no valid entry, weights summing to zero) gives a zero loss rather than NaN.
    zero = y == 0
    return torch.where(zero, torch.zeros_like(x), x / torch.where(zero, torch.ones_like(y), y))


def _check_broadcast(values, sample_weight):
    if values.shape == sample_weight.shape:
        return
    try:
        torch.broadcast_shapes(values.shape, sample_weight.shape)
    except RuntimeError:
        raise ValueError(
            f"`sample_weight` of shape {tuple(sample_weight.shape)} cannot be broadcast to the "
            f"loss values of shape {tuple(values.shape)}. Pass one weight per sample (a trailing "
            "axis of size 1 is dropped) or one per loss value."
        ) from None


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean ``mask`` into ``sample_weight``.

    With the averaging reductions the kept entries are scaled by ``total / valid`` so that dividing
    by the number of all entries gives the mean over the valid ones.

    Args:
        sample_weight: A tensor or ``None``.
        mask: A boolean tensor or ``None``.
        dtype: The torch dtype of the loss values.
        reduction: The (standardized) reduction.

    Returns:
        The combined weights, or ``sample_weight`` when there is no mask.
    """
    if mask is None:
        return sample_weight
    mask = mask.to(torch.bool)
    if reduction in ("mean", "sum_over_batch_size"):
        # With no valid entry the weight is unused (every entry gets 0), so clamping the count at
        # 1 only avoids a division by zero; Python scalars keep this free of host-device copies.
        valid = torch.clamp(torch.sum(mask, dtype=dtype), min=1.0)
        float_mask = torch.where(mask, mask.numel() / valid, 0.0)
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight.to(dtype))
    _check_broadcast(sample_weight, float_mask)
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduce already weighted loss ``values`` to a scalar (or leave them, for ``"none"``).

    Scalars and empty 1-D values are returned unchanged, as Keras does.
    """
    if reduction is None or reduction == "none" or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    if reduction == "sum":
        return torch.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(torch.sum(values), torch.sum(sample_weight).to(values.dtype))
    # The mean of an empty batch would be NaN; its sum is the zero loss wanted.
    return torch.mean(values) if values.numel() else torch.sum(values)


def reduce_weighted_values(
    values, sample_weight=None, mask=None, reduction="sum_over_batch_size", dtype=None
):
    """Weigh loss ``values`` by ``sample_weight`` and ``mask``, then reduce them.

    Args:
        values: Per-sample (or per-entry) loss values.
        sample_weight: Optional weights, one per sample or one per value.
        mask: Optional boolean mask of valid values.
        reduction: How to reduce; see ``Loss``.
        dtype: Dtype to compute in (default: that of ``values``).

    Returns:
        The reduced loss tensor.
    """
    reduction = standardize_reduction(reduction)
    values = convert_to_tensor(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = convert_to_tensor(sample_weight, dtype=values.dtype, device=values.device)
    if mask is not None:
        mask = convert_to_tensor(mask).to(values.device)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        _check_broadcast(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


def convert_pair(y_true, y_pred):
    """Convert the inputs of a loss function: a float ``y_pred``, and ``y_true`` cast to match it."""
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(backend_config.floatx()))
    y_true = convert_to_tensor(y_true)
    # Usually already matching; a no-op `.to` costs twice the comparison.
    if y_true.dtype is not y_pred.dtype or y_true.device != y_pred.device:
        y_true = y_true.to(device=y_pred.device, dtype=y_pred.dtype)
    return y_true, y_pred


def check_compatible(y_true, y_pred):
    """Raise a readable error when element-wise losses get shapes that cannot broadcast."""
    if y_true.shape == y_pred.shape:
        return
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise ValueError(
            "`y_true` and `y_pred` must have the same shape (or shapes that broadcast). "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        ) from None


def _is_number_list(x):
    """Whether ``x`` is a (nested) list or tuple of Python numbers: data, not a structure of inputs."""
    while isinstance(x, (list, tuple)):
        if not x:
            return True
        x = x[0]
    return isinstance(x, numbers.Number)


def _convert_structure(x, dtype, keep_integers=False):
    """Convert every input of a possibly nested ``y_true`` / ``y_pred`` to a ``dtype`` tensor.

    With ``keep_integers``, integer inputs (class ids) keep their dtype: casting them to float
    and back would cost two kernels and give the same ids.
    """
    if isinstance(x, dict):
        return {key: _convert_structure(value, dtype, keep_integers) for key, value in x.items()}
    if isinstance(x, (list, tuple)) and not _is_number_list(x):
        return type(x)(_convert_structure(item, dtype, keep_integers) for item in x)
    if keep_integers:
        x = convert_to_tensor(x)
        if not (x.is_floating_point() or x.is_complex()):
            return x
    return convert_to_tensor(x, dtype=dtype)


def set_mask(values, mask):
    """Attach ``mask`` to loss ``values`` so ``Loss.__call__`` counts only the valid entries."""
    values._keras_mask = mask
    return values


class Loss:
    """Base class for losses.

    Subclasses implement ``call(y_true, y_pred)``, returning one loss value per sample (or per
    time step, pixel, ...). Calling the loss object applies ``sample_weight``, any mask carried by
    ``y_pred``, and the reduction.

    Args:
        name: Optional name for the loss instance.
        reduction: How the weighted values are reduced: ``"sum_over_batch_size"`` (the default) and
            ``"mean"`` divide the sum by the number of values, ``"sum"`` sums them,
            ``"mean_with_sample_weight"`` divides the sum by the sum of the sample weights, and
            ``"none"`` or ``None`` returns the values unreduced.
        dtype: The dtype the loss is computed in, a dtype name or a ``DTypePolicy`` (its compute
            dtype is used). Defaults to ``floatx()``.

    Example:

    >>> class MeanFourthPower(lamina.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return torch.mean((y_pred - y_true) ** 4, dim=-1)
    >>> MeanFourthPower()([[0.0, 1.0]], [[1.0, 1.0]])
    tensor(0.5000)
    """

    # Subclasses whose labels are class ids set this so integer labels are not cast to float.
    _integer_labels = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype_policy = dtype_policy.get(dtype or backend_config.floatx())
        self._dtype = self._dtype_policy.compute_dtype

    @property
    def dtype(self):
        """The dtype name the loss computes in."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Compute the weighted, reduced loss.

        Args:
            y_true: Ground truth values (a tensor, array or list; or a nested structure for losses
                that take one).
            y_pred: Predicted values. A boolean ``_keras_mask`` attribute on it marks the valid
                entries.
            sample_weight: Optional weights: a scalar, one per sample, or one per loss value.

        Returns:
            A scalar tensor, or the weighted per-sample values when ``reduction`` is ``"none"``.
        """
        if getattr(y_pred, "_is_keras_tensor", False) or getattr(y_true, "_is_keras_tensor", False):
            from lamina.losses._symbolic import record_loss_object

            return record_loss_object(self, y_true, y_pred, sample_weight)
        in_mask = getattr(y_pred, "_keras_mask", None)
        torch_dtype = to_torch_dtype(self._dtype)
        y_pred = _convert_structure(y_pred, torch_dtype)
        y_true = _convert_structure(y_true, torch_dtype, keep_integers=self._integer_labels)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = convert_to_tensor(in_mask).to(torch.bool) & out_mask.to(torch.bool)
        else:
            mask = in_mask if in_mask is not None else out_mask
        result = reduce_weighted_values(
            losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction, dtype=torch_dtype
        )
        # A loss value the user holds converts to numpy / float as a Keras value does.
        return mark_eager_output(result)

    def call(self, y_true, y_pred):
        """Return the unreduced loss values. Subclasses must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _serialize(obj):
    """Serialize a loss or loss function; built-in functions take the dict form Keras writes."""
    name = getattr(obj, "__name__", None)
    if not isinstance(obj, type) and object_registration.builtin_objects(_MODULE).get(name) is obj:
        return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    return serialization_lib.serialize_keras_object(obj)


class LossFunctionWrapper(Loss):
    """Wrap a loss function ``fn(y_true, y_pred, **kwargs)`` into a ``Loss``.

    Before ``fn`` runs, ``y_true`` and ``y_pred`` whose ranks differ by a trailing axis of size 1
    are brought to the same rank.

    Args:
        fn: The loss function, returning per-sample values.
        reduction: How to reduce the values; see ``Loss``.
        name: Optional name for the loss instance.
        dtype: The dtype the loss is computed in; see ``Loss``.
        **kwargs: Keyword arguments passed on to ``fn``.

    Example:

    >>> loss = lamina.losses.LossFunctionWrapper(lamina.losses.huber, delta=0.5)
    >>> loss([[0.0, 2.0]], [[0.2, 1.0]])
    tensor(0.1975)
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if isinstance(y_true, torch.Tensor) and isinstance(y_pred, torch.Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        elif tree.is_nested(y_true) or tree.is_nested(y_pred):
            flat_pairs = zip(tree.flatten(y_true), tree.flatten(y_pred))
            pairs = [squeeze_or_expand_to_same_rank(t, p) for t, p in flat_pairs]
            y_true = tree.pack_sequence_as(y_true, [t for t, _ in pairs])
            y_pred = tree.pack_sequence_as(y_pred, [p for _, p in pairs])
        # The plain function: `Loss.__call__` has already checked for symbolic tensors. (Looked up
        # here, not kept: the plain function is not picklable by name.)
        return getattr(self.fn, "_lamina_plain", self.fn)(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = _serialize(self.fn)
        config.update(serialization_lib.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = serialization_lib.deserialize_keras_object(
                config["fn"], module_objects=object_registration.builtin_objects(_MODULE)
            )
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


object_registration.register_builtin(_MODULE)(Loss)
object_registration.register_builtin(_MODULE)(LossFunctionWrapper)
