"""``Discretization``: buckets continuous values by boundaries, given or estimated by ``adapt``.

``adapt`` estimates quantiles with the same mergeable summary as Keras, so adapted boundaries are
identical: each batch is summarized by every ``step``-th sorted value (weight ``step``), summaries
are merged by value and compressed back to about ``1 / epsilon`` points by interpolating the
cumulative weights, and the final boundaries are the compressed summary at ``1 / num_bins``.
"""

import numbers

import numpy as np
import torch

from lamina.backend.core import convert_to_numpy
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.layer import Layer
from lamina.layers.preprocessing._adapt_data import adapt_batches
from lamina.layers.preprocessing._numeric_encoding import check_encodable, encode, encoded_shape
from lamina.backend.symbolic import KerasTensor
from lamina.saving.object_registration import register_builtin

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def _empty_summary():
    return np.zeros((2, 0), dtype="float32")


def _summarize(values, epsilon):
    """A (2, n) summary of ``values``: sorted sample points and the weight each one stands for."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size * epsilon, 1)
    points = values[int(step - 1) :: int(step)]
    return np.stack([points, np.ones_like(points) * step])


def _compress(summary, epsilon):
    """Re-sample ``summary`` at cumulative-weight fractions ``epsilon, 2 * epsilon, ..., 1``."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    cumulative_fraction = cumulative / cumulative[-1]
    points = np.interp(fractions, cumulative_fraction, summary[0])
    cumulative = np.interp(fractions, cumulative_fraction, cumulative)
    weights = np.diff(cumulative, prepend=0.0)
    return np.stack((points, weights)).astype("float32")


def _merge(new, previous, epsilon):
    merged = np.concatenate((new, previous), axis=1)
    merged = merged[:, np.argsort(merged[0])]
    return _compress(merged, epsilon)


def _boundaries(summary, num_bins):
    return _compress(summary, 1.0 / num_bins)[0, :-1]


@register_builtin("keras.layers")
class Discretization(Layer):
    """Buckets continuous features by ranges: ``boundaries[i-1] <= x < boundaries[i]`` gives ``i``.

    With ``bin_boundaries=[0., 1., 2.]`` the buckets are ``(-inf, 0)``, ``[0, 1)``, ``[1, 2)`` and
    ``[2, inf)``. Without boundaries, ``adapt()`` estimates ``num_bins`` quantile buckets from data
    (an approximation within ``epsilon``, identical to Keras's).

    Args:
        bin_boundaries: Sorted list of boundaries, or None to ``adapt``.
        num_bins: Number of buckets to estimate with ``adapt``; excludes ``bin_boundaries``.
        epsilon: Error tolerance of the quantile estimate (also sets the summary size).
        output_mode: ``"int"`` (bucket indices, int32), ``"one_hot"``, ``"multi_hot"`` or
            ``"count"`` (float encodings of the bucket indices, as ``CategoryEncoding``).
        sparse: Return a ``torch`` sparse COO tensor (encoding modes only).
        **kwargs: ``name`` and ``dtype``.

    Input shape:
        Any; values are compared as floats.

    Output shape:
        The input shape in ``"int"`` and ``"one_hot"`` (plus the bucket axis) modes;
        ``(batch, buckets)`` in ``"multi_hot"`` and ``"count"`` modes (inputs of rank <= 2).

    Example:

    >>> layer = lamina.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]]))
    tensor([[0, 2, 3, 1]], dtype=torch.int32)
    """

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        dtype=None,
        name=None,
        **kwargs,
    ):
        super().__init__(dtype=dtype, name=name, **kwargs)
        if sparse and output_mode == "int":
            raise ValueError(
                "`sparse=True` may only be used if `output_mode` is `'one_hot'`, `'multi_hot'`, or "
                f"`'count'`. Received: sparse={sparse} and output_mode={output_mode}"
            )
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"Unknown value for `output_mode`. Expected one of {list(_OUTPUT_MODES)}. "
                f"Received: output_mode={output_mode!r}"
            )
        if num_bins is not None and (
            not isinstance(num_bins, numbers.Integral) or isinstance(num_bins, bool) or num_bins < 0
        ):
            raise ValueError(f"`num_bins` must be an integer >= 0. Received: `num_bins={num_bins!r}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                "Both `num_bins` and `bin_boundaries` should not be set. "
                f"Received: `num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if not isinstance(epsilon, numbers.Real) or not 0 < epsilon < 1:
            raise ValueError(f"`epsilon` must be a float in (0, 1). Received: epsilon={epsilon!r}")
        if bin_boundaries is not None:
            bin_boundaries = self._checked_boundaries(bin_boundaries)
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = bool(sparse)
        self.summary = None if bin_boundaries else _empty_summary()

    @staticmethod
    def _checked_boundaries(bin_boundaries):
        values = np.asarray(bin_boundaries, dtype="float64")
        if values.ndim != 1:
            raise ValueError(
                f"`bin_boundaries` must be a flat list of numbers. Received: bin_boundaries={bin_boundaries!r}"
            )
        if np.any(np.diff(values) < 0):
            raise ValueError(f"`bin_boundaries` must be sorted. Received: bin_boundaries={bin_boundaries!r}")
        return [float(v) for v in values]

    # --- adapt ------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Estimates ``num_bins`` quantile boundaries from ``data``.

        Args:
            data: A numpy array, a torch tensor, a list of numbers, or an iterable of batches (a
                list of arrays, a generator, a ``DataLoader``; ``(x, y)`` batches use ``x``).
            batch_size: Keras 2 argument: summarize an array in batches of this size.
            steps: Stop after this many batches.
        """
        if self.num_bins is None:
            raise ValueError(
                "Cannot adapt a Discretization layer that has been initialized with "
                "`bin_boundaries`, use `num_bins` instead."
            )
        whole, batches = adapt_batches(data, self, batch_size=batch_size, steps=steps)
        self.reset_state()
        for batch in [whole] if whole is not None else batches:
            self.update_state(batch)
        if self.summary.shape[1] == 0:
            raise ValueError(f"Discretization layer '{self.name}': adapt() received no data.")
        self.finalize_state()

    def update_state(self, data):
        """Adds a batch to the quantile summary (``adapt`` calls this for each batch)."""
        values = np.asarray(convert_to_numpy(data)).astype("float32")
        self.summary = _merge(_summarize(values, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self):
        """Sets ``bin_boundaries`` from the summary built by ``update_state``."""
        if self.num_bins is None:
            return
        self.bin_boundaries = _boundaries(self.summary, self.num_bins).tolist()

    def reset_state(self):
        """Forgets the data seen by ``update_state``."""
        if self.num_bins is None:
            return
        self.summary = _empty_summary()

    # --- call -------------------------------------------------------------------------------
    @property
    def _output_dtype(self):
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                "You need to either pass the `bin_boundaries` argument at construction time or call "
                f"`adapt(dataset)` before you can start using the `Discretization` layer '{self.name}'."
            )
        values = inputs if inputs.is_floating_point() else inputs.to(self._compute_torch_dtype)
        boundaries = torch.tensor(self.bin_boundaries, dtype=values.dtype, device=values.device)
        # right=True: a value equal to a boundary goes to the bucket that starts there.
        indices = torch.bucketize(values, boundaries, right=True)
        if self.output_mode == "int":
            return indices.to(torch.int32)
        check_encodable(indices, self.output_mode, self)
        out = encode(indices, self.output_mode, len(self.bin_boundaries) + 1, to_torch_dtype(self._output_dtype))
        return out.to_sparse() if self.sparse else out

    def _depth(self):
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if self.output_mode != "one_hot" and len(input_shape) > 2:
            raise ValueError(
                f"Discretization layer '{self.name}' with output_mode='{self.output_mode}' accepts "
                f"inputs of rank 1 or 2. Received input shape {tuple(input_shape)}"
            )
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # The base class would give symbolic outputs the compute dtype; "int" mode gives int32.
        return KerasTensor(self.compute_output_shape(args[0].shape), dtype=self._output_dtype)

    def get_config(self):
        # Keras's keys exactly (no `trainable`; `dtype` as a name).
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            # An adapted layer: rebuild it adaptable, then restore the learned boundaries.
            del config["bin_boundaries"]
            layer = super().from_config(config)
            layer.bin_boundaries = cls._checked_boundaries(boundaries)
            return layer
        return super().from_config(config)
