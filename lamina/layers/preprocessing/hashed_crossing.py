"""``HashedCrossing``: crosses categorical features with the hashing trick, bit-exact with Keras."""

import numpy as np

from lamina.layers.preprocessing._hash_functions import fingerprint64, fingerprint_cat64, to_hash_strings
from lamina.layers.preprocessing._host_layer import (
    HostDataLayer,
    encode_dense,
    is_string_array,
    to_numpy,
    to_output_tensor,
    validate_choice,
)
from lamina.saving.object_registration import register_builtin

# TensorFlow's `sparse.cross_hashed` starts every cross from this key.
_CROSS_HASH_KEY = 0xDECAFCAFFE


@register_builtin("keras.layers")
class HashedCrossing(HostDataLayer):
    """Crosses two or more scalar categorical features: ``hash(feature_1, ..., feature_n) % num_bins``.

    String features are fingerprinted with FarmHash Fingerprint64, integer features enter as their
    64-bit value; the fingerprints are chained as TensorFlow's ``sparse.cross_hashed`` does, so
    the bins equal Keras's.

    Args:
        num_bins: Number of hash bins.
        output_mode: ``"int"`` (bin indices) or ``"one_hot"``.
        sparse: Must be ``False`` (sparse outputs need TensorFlow).

    Input shape:
        A list or tuple of at least two features, all of shape ``()``, ``(batch,)`` or
        ``(batch, 1)``, of strings or integers.

    Output shape:
        ``"int"``: the feature shape (int64). ``"one_hot"``: ``(batch, num_bins)`` (or
        ``(num_bins,)`` for scalar features).

    Example:

    >>> layer = lamina.layers.HashedCrossing(num_bins=5)
    >>> layer((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102]))).tolist()
    [1, 4, 1, 1, 3]
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, autocast=False, **kwargs)
        if sparse:
            raise ValueError(
                "`sparse=True` is not supported by HashedCrossing in Lamina (Keras supports it only "
                "on the TensorFlow backend). Use `sparse=False`."
            )
        validate_choice(output_mode, ("int", "one_hot"), "HashedCrossing", "output_mode")
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"`num_bins` for `HashedCrossing` must be a positive integer. Received: num_bins={num_bins}")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = sparse
        self._output_dtype = self.dtype_policy.compute_dtype

    def _check_at_least_two_inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"`HashedCrossing` should be called on a list or tuple of inputs. Received: inputs={inputs}"
            )
        if len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. Received: inputs={inputs}")

    def call(self, inputs):
        self._check_at_least_two_inputs(inputs)
        arrays = [to_numpy(x, self) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(
                f"Layer '{self.name}': all `HashedCrossing` inputs should have shape `()`, "
                f"`(batch_size)` or `(batch_size, 1)`. Received shapes: {[a.shape for a in arrays]}"
            )
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(
                f"Layer '{self.name}': all `HashedCrossing` inputs should have equal shape. "
                f"Received shapes: {[a.shape for a in arrays]}"
            )
        if not all(a.dtype.kind in "iu" or is_string_array(a) for a in arrays):
            raise ValueError(
                f"Layer '{self.name}': all `HashedCrossing` inputs should have an integer or string "
                f"dtype. Received dtypes: {[str(a.dtype) for a in arrays]}"
            )
        hashed = np.full(int(np.prod(shape, dtype=np.int64)), _CROSS_HASH_KEY, dtype=np.uint64)
        for a in arrays:
            if a.dtype.kind in "iu":
                feature = a.reshape(-1).astype(np.int64).view(np.uint64)
            else:
                feature = fingerprint64(to_hash_strings(a))
            hashed = fingerprint_cat64(hashed, feature)
        bins = (hashed % np.uint64(self.num_bins)).astype(np.int64).reshape(shape)
        if self.output_mode == "int":
            return to_output_tensor(bins, self._output_dtype)
        return to_output_tensor(encode_dense(bins, "one_hot", self.num_bins), self._output_dtype)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2 or not all(isinstance(s, (tuple, list)) for s in input_shape):
            raise ValueError(f"Expected as input a list/tuple of at least 2 tensors. Received input_shape={input_shape}")
        first = tuple(input_shape[0])
        if any(tuple(s)[-1:] != first[-1:] for s in input_shape[1:]):
            raise ValueError(f"Expected the input tensors to have identical shapes. Received input_shape={input_shape}")
        if self.output_mode == "int":
            return first
        if not first:
            return (self.num_bins,)
        if first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def get_config(self):
        return {
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype,
        }
