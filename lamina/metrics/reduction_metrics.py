"""Metrics that reduce values: ``Sum``, ``Mean`` and ``MeanMetricWrapper`` (the mean of a function)."""

import torch

from lamina.metrics._utils import apply_mask, divide_no_nan, keras_mask, reduce_to_samplewise
from lamina.metrics.metric import Metric
from lamina.saving.object_registration import builtin_objects, register_builtin
from lamina.saving.serialization_lib import deserialize_keras_object, serialize_keras_object


@register_builtin("keras.metrics")
class Sum(Metric):
    """The (weighted) sum of the values seen so far.

    With values ``[1, 3, 5, 7]`` the sum is 16; with ``sample_weight=[1, 1, 0, 0]`` it is 4.
    State: one variable, ``total``.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Sum()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    tensor(4.)
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise(values, sample_weight, torch.sum, self.dtype)
        self._assign_add(self.total, values.sum())

    def result(self):
        return self.total.detach().clone()


@register_builtin("keras.metrics")
class Mean(Metric):
    """The (weighted) mean of the values seen so far.

    With values ``[1, 3, 5, 7]`` the mean is 4; with ``sample_weight=[1, 1, 0, 0]`` it is 2.
    Values with more than one axis are first averaged per sample (over all but the first axis).
    State: ``total`` and ``count``; the result is ``total / count`` (0 when nothing was counted).

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = lamina.metrics.Mean()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    tensor(2.)
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = reduce_to_samplewise(values, sample_weight, torch.mean, self.dtype)
        self._assign_add(self.total, values.sum())
        if sample_weight is None:
            self._assign_add(self.count, values.shape[0] if values.ndim >= 1 else 1)
        elif isinstance(sample_weight, torch.Tensor):
            self._assign_add(self.count, sample_weight.sum())
        else:
            self._assign_add(self.count, sample_weight)

    def result(self):
        return divide_no_nan(self.total.detach(), self.count.detach())


@register_builtin("keras.metrics")
class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)`` over everything seen.

    A mask that a layer attached to ``y_pred`` (``y_pred._keras_mask``) leaves masked entries out.

    Args:
        fn: The function to average, returning one value per sample (or per element).
        name: Name of the metric instance.
        dtype: Dtype of the result.
        **kwargs: Extra keyword arguments passed to ``fn``.

    Example:

    >>> def squared_error(y_true, y_pred):
    ...     return (torch.as_tensor(y_true) - torch.as_tensor(y_pred)) ** 2
    >>> m = lamina.metrics.MeanMetricWrapper(fn=squared_error)
    >>> m.update_state([[0.0, 1.0]], [[1.0, 1.0]])
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        if not callable(fn):
            raise ValueError(f"Argument `fn` must be callable. Received: fn={fn!r}")
        self._fn = fn
        self._fn_kwargs = kwargs
        # Wrapped losses (functions or instances) are to be minimized; callbacks read this.
        losses = builtin_objects("keras.losses").values()
        if any(fn is loss or type(fn) is loss for loss in losses):
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = keras_mask(y_pred)
        with torch.no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        sample_weight = apply_mask(sample_weight, mask, self.dtype)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = {**super().get_config(), "fn": serialize_keras_object(self._fn)}
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            config = {**config, "fn": deserialize_keras_object(config["fn"])}
        return cls(**config)


class _FunctionMetric(MeanMetricWrapper):
    """A ``MeanMetricWrapper`` around a fixed built-in function.

    Its config holds only the constructor arguments (``name``, ``dtype`` and the attributes listed
    in ``_extra_config``), never ``fn``. ``_goal`` says whether callbacks should maximize
    (``"up"``) or minimize (``"down"``) it.
    """

    _extra_config = ()
    _goal = None

    def __init__(self, fn, name, dtype, **kwargs):
        super().__init__(fn=fn, name=name, dtype=dtype, **kwargs)
        if self._goal is not None:
            self._direction = self._goal

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update({key: getattr(self, key) for key in self._extra_config})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
