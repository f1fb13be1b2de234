"""``IntegerLookup``: integers to vocabulary indices (and back with ``invert=True``)."""

import numpy as np

from lamina.layers.preprocessing._host_layer import int_array, to_output_tensor
from lamina.layers.preprocessing.index_lookup import IndexLookup
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class IntegerLookup(IndexLookup):
    """Maps integer tokens to contiguous indices through a vocabulary (given, or learned with ``adapt``).

    Args:
        max_tokens: Maximum vocabulary size, mask and OOV indices included (``None``: no cap).
        num_oov_indices: Number of OOV indices (default 1); with 0, OOV inputs raise an error.
        mask_token: Integer mapped to index 0 in ``"int"`` mode and dropped by the encodings.
        oov_token: Value returned for OOV indices when ``invert=True`` (default -1).
        vocabulary: A list/tuple/1D array of integers, or the path of a text file, one per line.
        vocabulary_dtype: Only ``"int64"`` is supported.
        idf_weights: IDF weights, one per term (``"tf_idf"`` mode only).
        invert: Map indices back to vocabulary terms (``"int"`` mode only).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        sparse: Must be ``False`` (sparse outputs need TensorFlow).
        pad_to_max_tokens: Encodings get ``max_tokens`` columns whatever the vocabulary size.
        oov_method: With ``num_oov_indices > 1``: ``"floormod"`` (``token % num_oov_indices``) or
            ``"farmhash"`` (FarmHash Fingerprint64 of the decimal string, as Keras).
        salt: With ``oov_method="farmhash"``: an int or a pair of ints keying SipHash instead.

    Input shape:
        Any shape of integers (of indices when ``invert=True``).

    Output shape:
        As ``StringLookup``.

    Example:

    >>> layer = lamina.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    _expected_input = "integer"

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "Only `vocabulary_dtype='int64'` is supported at this time. "
                f"Received: vocabulary_dtype={vocabulary_dtype}"
            )
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            vocabulary_dtype=vocabulary_dtype,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt,
            name=name,
            **kwargs,
        )

    def _tokens_from(self, arr):
        return int_array(np.asarray(arr), self).reshape(-1).tolist()

    def _token_from_text(self, line):
        return int(line)

    def _tokens_to_output(self, values, shape):
        return to_output_tensor(np.asarray(values, dtype=np.int64).reshape(shape), "int64")

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
