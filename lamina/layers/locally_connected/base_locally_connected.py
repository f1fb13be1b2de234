"""``BaseLocallyConnected``: convolution with unshared weights (Keras 2 semantics and layouts).

Every output position has its own ``(kernel_volume * input_channels, filters)`` matrix. Keras 2
offered three ``implementation`` modes that store the kernel differently:

1. ``(output_positions, kernel_volume * input_channels, filters)``: one matrix per position, the
   rows of a patch ordered ``(*window, channel)`` for ``channels_last`` and
   ``(channel, *window)`` for ``channels_first``.
2. a dense input-to-output matrix whose unconnected entries are ignored:
   ``(*input_spatial, input_channels, *output_spatial, filters)`` for ``channels_last``,
   ``(input_channels, *input_spatial, filters, *output_spatial)`` for ``channels_first``.
3. a vector of the connected entries of the ``(output_size, input_size)`` matrix (both flattened
   in the data format's order), sorted by ``(output_index, input_index)``.

Lamina keeps each mode's layout (so weights move to and from Keras 2 unchanged) but computes all
three the same way: the kernel is gathered into layout 1 and the patches of all positions are
multiplied by their matrices in one batched matmul.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.config import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.utils.argument_validation import standardize_padding, standardize_tuple


def _ravel(indices, dims):
    """C-order flat index of the broadcastable index arrays ``indices`` in shape ``dims``."""
    flat = 0
    for index, size in zip(indices, dims):
        flat = flat * size + index
    return flat


def _gather_index(implementation, geometry, data_format):
    """Where each entry of the layout-1 kernel ``(P, K, F)`` lives in the flattened stored kernel.

    Returns ``(index, stored)``: ``index`` has shape ``(P, K, F)``; ``stored`` is the number of
    connected entries (the size of layout 3). A patch entry that falls in the zero padding has
    no weight of its own: its index points at some stored weight, which it multiplies by zero
    (contributing nothing to the output nor to that weight's gradient).
    """
    in_sizes, channels, out_sizes, filters, strides, kernel_size, before = geometry
    rank = len(in_sizes)
    last = data_format == "channels_last"
    window = [np.arange(k) for k in kernel_size]
    feature_axes = window + [np.arange(channels)] if last else [np.arange(channels)] + window
    grids = np.meshgrid(
        *[np.arange(o) for o in out_sizes], *feature_axes, np.arange(filters),
        indexing="ij", sparse=True,
    )
    full_shape = tuple(g.size for g in grids)
    out_pos, f = grids[:rank], grids[-1]
    offsets = grids[rank : 2 * rank] if last else grids[rank + 1 : 2 * rank + 1]
    c = grids[2 * rank] if last else grids[rank]
    in_pos = [o * s - b + k for o, s, b, k in zip(out_pos, strides, before, offsets)]
    connected = np.ones(full_shape, bool)
    for pos, size in zip(in_pos, in_sizes):
        connected &= (pos >= 0) & (pos < size)
    in_pos = [np.clip(pos, 0, size - 1) for pos, size in zip(in_pos, in_sizes)]
    if implementation == 2:
        if last:
            flat = _ravel([*in_pos, c, *out_pos, f], [*in_sizes, channels, *out_sizes, filters])
        else:
            flat = _ravel([c, *in_pos, f, *out_pos], [channels, *in_sizes, filters, *out_sizes])
    else:
        if last:
            out_index = _ravel([*out_pos, f], [*out_sizes, filters])
            in_index = _ravel([*in_pos, c], [*in_sizes, channels])
        else:
            out_index = _ravel([f, *out_pos], [filters, *out_sizes])
            in_index = _ravel([c, *in_pos], [channels, *in_sizes])
        key = np.broadcast_to(out_index * (math.prod(in_sizes) * channels) + in_index, full_shape)
        # Layout 3 lists the connected (output, input) pairs in sorted order.
        flat = np.searchsorted(np.sort(key[connected]), key)
        flat = np.minimum(flat, max(int(connected.sum()) - 1, 0))
    shape = (math.prod(out_sizes), math.prod(kernel_size) * channels, filters)
    index = np.array(np.broadcast_to(flat, full_shape)).reshape(shape)
    return index, int(connected.sum())


class BaseLocallyConnected(Layer):
    """Shared implementation of ``LocallyConnected1D`` and ``LocallyConnected2D``.

    Args:
        rank: Number of spatial axes.
        filters: Positive int, number of output channels.
        kernel_size: Int or tuple of ``rank`` ints, the window size.
        strides: Int or tuple of ``rank`` ints, the window step.
        padding: ``"valid"``, or ``"same"`` (only with ``implementation`` 2 or 3, as in Keras 2;
            the window of output ``i`` starts at ``i * stride - kernel_size // 2``).
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to
            ``image_data_format()``.
        activation: Activation function or name; ``None`` means linear.
        use_bias: Whether to add a bias of shape ``(*output_spatial, filters)``.
        kernel_initializer, bias_initializer: Initializers of the weights.
        kernel_regularizer, bias_regularizer, activity_regularizer: Regularizers.
        kernel_constraint, bias_constraint: Constraints applied after optimizer updates.
        implementation: 1, 2 or 3: the storage layout of the kernel (see the module docstring).
    """

    _promotes_non_float_inputs = True

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        implementation=1,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(
                f"The `filters` argument must be a positive integer. Received: filters={filters!r}"
            )
        if implementation not in (1, 2, 3) or isinstance(implementation, bool):
            raise ValueError(
                f"The `implementation` argument must be one of [1, 2, 3]. Received: "
                f"implementation={implementation!r}"
            )
        self.rank = rank
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.padding = standardize_padding(padding)
        if self.padding != "valid" and implementation == 1:
            raise ValueError(
                f"{type(self).__name__} supports `padding='same'` only with `implementation` 2 "
                f"or 3. Received: padding={padding!r}, implementation={implementation}"
            )
        self.data_format = standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.implementation = implementation
        self.input_spec = InputSpec(ndim=rank + 2)
        self._channel_axis = -1 if self.data_format == "channels_last" else 1
        first = 1 if self.data_format == "channels_last" else 2
        self._spatial_axes = tuple(range(first, first + rank))

    def _output_sizes(self, in_sizes):
        if self.padding == "same":
            return tuple(None if n is None else -(-n // s) for n, s in zip(in_sizes, self.strides))
        return tuple(
            None if n is None else (n - k) // s + 1
            for n, k, s in zip(in_sizes, self.kernel_size, self.strides)
        )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        channels = input_shape[self._channel_axis]
        in_sizes = tuple(input_shape[a] for a in self._spatial_axes)
        if channels is None or any(n is None for n in in_sizes):
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' needs fully defined spatial and "
                f"channel dimensions (it has one kernel per output position). Received input "
                f"shape {input_shape}"
            )
        out_sizes = self._output_sizes(in_sizes)
        if any(o <= 0 for o in out_sizes):
            raise ValueError(
                f"One of the dimensions in the output of layer '{self.name}' is <= 0: input shape "
                f"{input_shape} is too small for kernel_size={self.kernel_size}, "
                f"strides={self.strides}."
            )
        self._out_sizes = out_sizes
        before = (0,) * self.rank
        if self.padding == "same":
            before = tuple(k // 2 for k in self.kernel_size)
            self._torch_pad = self._same_padding(in_sizes, out_sizes, before)
        geometry = (
            in_sizes, channels, out_sizes, self.filters, self.strides, self.kernel_size, before
        )
        self._kernel_index = None
        if self.implementation == 1:
            patch_size = math.prod(self.kernel_size) * channels
            kernel_shape = (math.prod(out_sizes), patch_size, self.filters)
        else:
            index, stored = _gather_index(self.implementation, geometry, self.data_format)
            self._kernel_index = torch.from_numpy(index)
            if self.implementation == 2:
                if self.data_format == "channels_last":
                    kernel_shape = (*in_sizes, channels, *out_sizes, self.filters)
                else:
                    kernel_shape = (channels, *in_sizes, self.filters, *out_sizes)
            else:
                kernel_shape = (stored,)
        self.kernel = self.add_weight(
            shape=kernel_shape,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(*out_sizes, self.filters),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        # The kernel is tied to the input size: other sizes are refused, never cropped.
        axes = {self._channel_axis: channels}
        axes.update(dict(zip(self._spatial_axes, in_sizes)))
        self.input_spec = InputSpec(ndim=self.rank + 2, axes=axes)
        self.built = True

    def _same_padding(self, in_sizes, out_sizes, before):
        pads = []
        for n, o, k, s, b in zip(in_sizes, out_sizes, self.kernel_size, self.strides, before):
            pads.append((b, max(0, (o - 1) * s - b + k - n)))
        trailing = [0, 0] if self.data_format == "channels_last" else []
        return trailing + [v for pair in reversed(pads) for v in pair]

    def _position_kernels(self):
        """The kernel in layout 1: ``(output_positions, patch_size, filters)``."""
        if self._kernel_index is None:
            return self.kernel
        if self._kernel_index.device != self.kernel.device:
            self._kernel_index = self._kernel_index.to(self.kernel.device)
        return torch.take(self.kernel, self._kernel_index)

    def call(self, inputs):
        return _local_conv(
            inputs,
            self._position_kernels(),
            self.bias,
            self.kernel_size,
            self.strides,
            self._out_sizes,
            self.data_format,
            self._torch_pad if self.padding == "same" else None,
            self.activation,
        )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        out_sizes = self._output_sizes(tuple(input_shape[a] for a in self._spatial_axes))
        if self.data_format == "channels_last":
            return (input_shape[0], *out_sizes, self.filters)
        return (input_shape[0], self.filters, *out_sizes)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": s(self.kernel_initializer),
                "bias_initializer": s(self.bias_initializer),
                "kernel_regularizer": s(self.kernel_regularizer),
                "bias_regularizer": s(self.bias_regularizer),
                "activity_regularizer": s(self.activity_regularizer),
                "kernel_constraint": s(self.kernel_constraint),
                "bias_constraint": s(self.bias_constraint),
                "implementation": self.implementation,
            }
        )
        return config


def _local_conv(
    inputs, kernels, bias, kernel_size, strides, out_sizes, data_format, pad, activation
):
    """Unshared convolution: ``kernels[p]`` maps the flattened patch at output position ``p``.

    The patch of a position is flattened ``(*window, channel)`` for ``channels_last`` and
    ``(channel, *window)`` for ``channels_first``; ``bias`` is added as Keras 2 does (see
    ``LocallyConnected1D``).
    """
    rank = len(kernel_size)
    x = F.pad(inputs, pad) if pad is not None else inputs
    first = 1 if data_format == "channels_last" else 2
    for axis in range(first, first + rank):
        # Each unfold appends a window axis: (B, *out, C, *window) or (B, C, *out, *window).
        x = x.unfold(axis, kernel_size[axis - first], strides[axis - first])
    out_axes = list(range(first, first + rank))
    window_axes = list(range(rank + 2, 2 * rank + 2))
    channel_axis = rank + 1 if data_format == "channels_last" else 1
    if data_format == "channels_last":
        order = out_axes + [0] + window_axes + [channel_axis]
    else:
        order = out_axes + [0, channel_axis] + window_axes
    batch = inputs.shape[0]
    # (positions, batch, patch): the one copy of the patches, laid out for a batched matmul.
    patches = x.permute(order).reshape(kernels.shape[0], batch, kernels.shape[1])
    out = torch.bmm(patches, kernels).reshape(*out_sizes, batch, kernels.shape[2])
    if data_format == "channels_last":
        out = out.movedim(rank, 0)
        if bias is not None:
            out = out + bias
    else:
        out = out.permute(rank, rank + 1, *range(rank))
        if bias is not None:
            # Keras 2 reinterprets the (*out, filters) bias buffer as (filters, *out): a reshape,
            # not a transpose. Kept so that weights trained in Keras 2 give the same outputs.
            out = out + bias.reshape(kernels.shape[2], *out_sizes)
    return activation(out)
