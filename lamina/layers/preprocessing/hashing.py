"""``Hashing``: the hashing trick, bit-exact with Keras (FarmHash64, or SipHash64 with a salt)."""

import numpy as np

from lamina.backend import config as backend_config
from lamina.layers.preprocessing._hash_functions import hash_to_buckets
from lamina.layers.preprocessing._host_layer import (
    HostDataLayer,
    encode_dense,
    encoded_shape,
    is_string_array,
    to_numpy,
    to_output_tensor,
)
from lamina.saving.object_registration import register_builtin

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


@register_builtin("keras.layers")
class Hashing(HostDataLayer):
    """Hashes strings or integers into ``num_bins`` bins.

    Values are hashed through their string form (integers in decimal, floats first truncated to
    integers), with FarmHash Fingerprint64, or with SipHash-2-4 keyed by ``salt`` when one is
    given; the bin is the 64-bit hash modulo the number of bins. Results equal Keras's.

    Args:
        num_bins: Number of bins, the mask bin included when ``mask_value`` is set.
        mask_value: Value mapped to bin 0; the others then hash into bins ``1..num_bins-1``.
        salt: ``None`` (FarmHash), an int, or a pair of ints keying SipHash.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse: Must be ``False`` (sparse outputs need TensorFlow).

    Input shape:
        Strings (lists or numpy arrays) or integers of any shape.

    Output shape:
        ``"int"``: the input shape (int64). ``"one_hot"``: the input shape plus ``num_bins`` (a
        trailing axis of size 1 is replaced). ``"multi_hot"``/``"count"``:
        ``input_shape[:-1] + (num_bins,)``.

    Example:

    >>> layer = lamina.layers.Hashing(num_bins=3)
    >>> layer([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
    [[1], [0], [1], [1], [2]]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else backend_config.floatx()
        super().__init__(autocast=False, **kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                "The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                f"Received: num_bins={num_bins}."
            )
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"Invalid value for argument `output_mode`. Expected one of {_OUTPUT_MODES}. "
                f"Received: output_mode={output_mode}"
            )
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError(
                "When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or 'int64'. "
                f"Received: dtype={kwargs['dtype']}"
            )
        if sparse:
            raise ValueError(
                "`sparse=True` is not supported by Hashing in Lamina (Keras supports it only on the "
                "TensorFlow backend). Use `sparse=False`."
            )
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.salt = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(isinstance(s, (int, np.integer)) for s in salt):
                self.salt = [int(s) for s in salt]
            elif isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                self.salt = [int(salt), int(salt)]
            else:
                raise ValueError(
                    "The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a "
                    f"single integer. Received: salt={salt}."
                )
        self._output_dtype = self.dtype_policy.name

    def call(self, inputs):
        arr = to_numpy(inputs, self)
        if not (is_string_array(arr) or arr.dtype.kind in "iufb"):
            raise ValueError(
                f"Layer '{self.name}' (Hashing) expects string or numeric inputs. Received an input "
                f"of dtype {arr.dtype} and shape {arr.shape}."
            )
        bins = self._hash_values_to_bins(arr)
        if self.output_mode == "int":
            return to_output_tensor(bins, self._output_dtype)
        return to_output_tensor(encode_dense(bins, self.output_mode, self.num_bins), self._output_dtype)

    def _hash_values_to_bins(self, arr):
        num_bins = self.num_bins
        mask = None
        if self.mask_value is not None and num_bins > 1:
            num_bins -= 1
            mask = _equal(arr, self.mask_value)
        bins = hash_to_buckets(arr, num_bins, self.salt)
        if mask is not None:
            bins = np.where(mask, 0, bins + 1)
        return bins

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_bins": self.num_bins,
                "salt": self.salt,
                "mask_value": self.mask_value,
                "output_mode": self.output_mode,
                "sparse": self.sparse,
            }
        )
        return config


def _equal(arr, value):
    """Elementwise ``arr == value`` where strings and bytes compare by their text."""
    if is_string_array(arr):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        flat = [v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.reshape(-1).tolist()]
        return np.array([v == value for v in flat], dtype=bool).reshape(arr.shape)
    if isinstance(value, (str, bytes)):
        return np.zeros(arr.shape, dtype=bool)
    return arr == value
