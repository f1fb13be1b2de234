"""``Normalization``: ``(x - mean) / sqrt(variance)`` with statistics given or learned by ``adapt``."""

import math

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.core import convert_to_tensor
from lamina.layers.layer import Layer
from lamina.layers.preprocessing._adapt_data import adapt_batches
from lamina.saving.object_registration import register_builtin


def _streamed_moments(batches, keep_axes, stats_shape, dtype):
    """Mean and (population) variance over the reduced axes, merging one batch at a time."""
    mean = torch.zeros(stats_shape, dtype=dtype)
    var = torch.zeros(stats_shape, dtype=dtype)
    total = 0
    seen = False
    for batch in batches:
        batch = convert_to_tensor(batch).to(dtype)
        reduce_axes = tuple(d for d in range(batch.ndim) if d not in keep_axes)
        count = math.prod(batch.shape[d] for d in reduce_axes) if reduce_axes else 1
        if count == 0:
            continue
        seen = True
        batch_mean = torch.mean(batch, dim=reduce_axes) if reduce_axes else batch
        batch_var = torch.var(batch, dim=reduce_axes, unbiased=False) if reduce_axes else torch.zeros_like(batch)
        total += count
        w_new = count / total
        w_old = 1.0 - w_new
        new_mean = mean * w_old + batch_mean * w_new
        # Parallel-variance update: each part's variance plus its mean's offset from the new mean.
        var = (var + (mean - new_mean) ** 2) * w_old + (batch_var + (batch_mean - new_mean) ** 2) * w_new
        mean = new_mean
    return mean, var, seen


@register_builtin("keras.layers")
class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and standard deviation 1: ``(x - mean) / sqrt(var)``.

    The statistics are either given (``mean`` and ``variance``) or computed from data with
    ``adapt()`` before training; they are not updated by ``fit``. Adapted statistics are weights
    (``mean``, ``variance`` and Keras's unused ``count``), saved with the model. The denominator is
    ``max(sqrt(variance), epsilon())`` so constant features do not divide by zero.

    Args:
        axis: Integer, tuple of integers, or None: the axes that get separate statistics (one per
            index). ``-1`` (default) normalizes each feature of the last axis; ``None`` uses one
            scalar mean and variance for everything.
        mean: Mean value(s), broadcast to the shape of the kept axes; set with ``variance``.
        variance: Variance value(s), like ``mean``.
        invert: If True, undo the normalization: ``x * sqrt(variance) + mean``.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.

    Input shape:
        Arbitrary; integer inputs are cast to the layer's compute dtype.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.Normalization()
    >>> layer.adapt(np.array([[0.0, 7.0], [2.0, 9.0]], "float32"))
    >>> layer(np.array([[1.0, 8.0]], "float32"))
    tensor([[0., 0.]])
    """

    _promotes_non_float_inputs = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis
        ):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(
                f"`axis` of a Normalization layer must be an integer, a tuple of integers or None. "
                f"Received: axis={axis!r}"
            )
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "When setting values directly, `mean` and `variance` must have the same shape. "
                    f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}"
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}"
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    # --- state ------------------------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"All `axis` values of Normalization layer '{self.name}' must be in the range "
                f"[-ndim, ndim). Received inputs with ndim={ndim}, while axis={self.axis}"
            )
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(
                    f"All `axis` values to be kept by Normalization layer '{self.name}' must have a "
                    f"known size. Received axis={self.axis}, inputs.shape={input_shape}, with "
                    f"unknown axis at index {d}"
                )
        self._build_input_shape = input_shape
        self._keep_axis = keep
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        self._stats_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._stats_shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(
                name="variance", shape=self._stats_shape, initializer="ones", trainable=False
            )
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
        else:
            # Given statistics are constants, not weights (as in Keras); buffers follow `.to()`.
            self.register_buffer("mean", self._given(self.input_mean), persistent=False)
            self.register_buffer("variance", self._given(self.input_variance), persistent=False)
        self.built = True

    def _given(self, value):
        value = np.asarray(value, dtype="float64")
        if value.ndim:
            # Trailing axes of the value line up with the trailing kept axes.
            expanded = [1] * len(self._broadcast_shape)
            for i in range(1, value.ndim + 1):
                expanded[self._keep_axis[-i]] = value.shape[-i]
            value = value.reshape(expanded)
        try:
            value = np.broadcast_to(value, self._broadcast_shape)
        except ValueError as e:
            raise ValueError(
                f"The `mean`/`variance` of Normalization layer '{self.name}' (shape "
                f"{np.shape(self.input_mean)}) cannot be broadcast to the kept axes "
                f"{self._stats_shape} of inputs of shape {self._build_input_shape}."
            ) from e
        return torch.tensor(value, dtype=self._compute_torch_dtype)

    def get_build_config(self):
        if self.built:
            return {"input_shape": self._build_input_shape}
        return None

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None and not self.built:
            self.build(tuple(config["input_shape"]))

    # --- adapt ------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of ``data`` for each index of the kept axes.

        Args:
            data: A numpy array, a torch tensor, a (nested) list of numbers, or an iterable of
                batches (a list of arrays, a generator, a ``DataLoader``; ``(x, y)`` batches use
                ``x``). Batches are merged exactly (streaming mean and variance).
            batch_size: Keras 2 argument: stream an array in batches of this size.
            steps: Keras 2 argument: stop after this many batches.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer '{self.name}' was created with `mean` and `variance`; it has "
                "no statistics to adapt. Create it without them to use `adapt()`."
            )
        whole, batches = adapt_batches(data, self, batch_size=batch_size, steps=steps)
        if whole is not None:
            shape = tuple(whole.shape)
        else:
            first = next(batches, None)
            if first is None:
                raise ValueError(
                    f"Normalization layer '{self.name}': adapt() received no data (an empty iterable "
                    "of batches)."
                )
            if not hasattr(first, "shape"):
                first = np.asarray(first)
            shape = tuple(first.shape)
            batches = _chain(first, batches)
        if not self.built:
            self.build(shape)
        self._check_adapt_shape(shape)
        if whole is not None:
            mean, var = self._moments(whole)
        else:
            dtype = self._compute_torch_dtype if self._compute_torch_dtype.is_floating_point else torch.float32
            mean, var, seen = _streamed_moments(
                (self._checked(b) for b in batches), self._keep_axis, self._stats_shape, dtype
            )
            if not seen:
                raise ValueError(f"Normalization layer '{self.name}': adapt() received only empty batches.")
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(var)
        self.finalize_state()

    def _moments(self, data):
        reduce_axes = tuple(d for d in range(data.ndim) if d not in self._keep_axis)
        if isinstance(data, np.ndarray):
            return np.mean(data, axis=reduce_axes), np.var(data, axis=reduce_axes)
        if not data.is_floating_point():
            data = data.to(torch.float32)
        data = data.detach()
        if not reduce_axes:
            return data, torch.zeros_like(data)
        return torch.mean(data, dim=reduce_axes), torch.var(data, dim=reduce_axes, unbiased=False)

    def _check_adapt_shape(self, shape):
        if len(shape) != len(self._build_input_shape) or any(
            shape[d] != self._build_input_shape[d] for d in self._keep_axis
        ):
            raise ValueError(
                f"Normalization layer '{self.name}' was built with input_shape="
                f"{self._build_input_shape}, but adapt() is being called with data with an "
                f"incompatible shape, data.shape={shape}"
            )

    def _checked(self, batch):
        shape = tuple(getattr(batch, "shape", np.shape(batch)))
        self._check_adapt_shape(shape)
        return batch

    def finalize_state(self):
        """Keras API: make adapted statistics take effect.

        Lamina reads the statistics from the weights at every call, so weights set by ``adapt``,
        ``set_weights`` or loading are used at once and there is nothing left to finalize.
        """

    # --- call -------------------------------------------------------------------------------
    def _statistics(self, device, dtype):
        if self.input_mean is not None:
            mean, variance = self.mean, self.variance
        else:
            mean = self.adapt_mean.reshape(self._broadcast_shape)
            variance = self.adapt_variance.reshape(self._broadcast_shape)
        return mean.to(device=device, dtype=dtype), variance.to(device=device, dtype=dtype)

    def call(self, inputs):
        dtype = self._compute_torch_dtype
        if inputs.dtype != dtype:
            inputs = inputs.to(dtype)
        self._check_call_shape(inputs)
        mean, variance = self._statistics(inputs.device, dtype)
        scale = torch.clamp(torch.sqrt(variance), min=backend_config.epsilon())
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def _check_call_shape(self, inputs):
        built = self._broadcast_shape
        if inputs.dim() < len(built) or any(
            size != 1 and got != size for size, got in zip(reversed(built), reversed(inputs.shape))
        ):
            raise ValueError(
                f"Input of Normalization layer '{self.name}' is incompatible with the layer: it was "
                f"built for inputs of shape {self._build_input_shape} (statistics of shape "
                f"{built}), but received an input with shape {tuple(inputs.shape)}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist(),
            }
        )
        return config


def _chain(first, rest):
    yield first
    yield from rest
