"""``StringLookup``: strings to vocabulary indices (and back with ``invert=True``)."""

import numpy as np

from lamina.layers.preprocessing._host_layer import string_list
from lamina.layers.preprocessing.index_lookup import IndexLookup
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (given, or learned with ``adapt``).

    Strings are passed as Python lists, nested lists or numpy arrays (unicode, bytes or object
    dtype); indices come back as an int64 torch tensor, encodings as float32, and inverted
    lookups as a numpy array of ``str``; in a model it follows ``Input(dtype="string")``. With
    several OOV indices, OOV strings are spread over them with FarmHash Fingerprint64 (or
    SipHash-2-4 keyed by ``salt``), bit-exact with Keras.

    Args:
        max_tokens: Maximum vocabulary size, mask and OOV indices included (``None``: no cap).
        num_oov_indices: Number of OOV indices (default 1); with 0, OOV inputs raise an error.
        mask_token: Token mapped to index 0 in ``"int"`` mode and dropped by the encodings.
        oov_token: Token returned for OOV indices when ``invert=True`` (default ``"[UNK]"``).
        vocabulary: A list/tuple/1D array of strings, or the path of a text file, one per line.
        idf_weights: IDF weights, one per term; only (and then necessarily, with ``vocabulary``)
            in ``"tf_idf"`` mode.
        invert: Map indices back to strings (``"int"`` mode only).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        pad_to_max_tokens: Encodings get ``max_tokens`` columns whatever the vocabulary size.
        sparse: Must be ``False`` (sparse outputs need TensorFlow).
        encoding: Text encoding used to decode ``bytes`` inputs (default ``"utf-8"``).
        salt: With ``num_oov_indices > 1``: an int or a pair of ints keying SipHash for OOV buckets.

    Input shape:
        Any shape of strings (of integer indices when ``invert=True``).

    Output shape:
        ``"int"``: the input shape. ``"one_hot"``: the input shape plus ``vocabulary_size`` (a
        trailing axis of size 1 is replaced). Other modes: ``input_shape[:-1] + (vocabulary_size,)``.

    Example:

    >>> layer = lamina.layers.StringLookup(vocabulary=["a", "b", "c", "d"])
    >>> layer([["a", "c", "d"], ["d", "z", "b"]]).tolist()
    [[1, 3, 4], [4, 0, 2]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            name=name,
            salt=salt,
            vocabulary_dtype="string",
            **kwargs,
        )
        # Inverted, the layer reads indices and returns strings (numpy arrays of str).
        self._expected_input = "integer" if invert else "string"
        if invert:
            self._output_dtype = "string"

    def _tokens_from(self, arr):
        if not isinstance(arr, np.ndarray):
            arr = np.asarray(arr, dtype=object)
        return string_list(arr, self.encoding, self)

    def _token_from_text(self, line):
        return line

    def _tokens_to_output(self, values, shape):
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out.reshape(shape).astype(str)

    def get_config(self):
        config = super().get_config()
        # Strings have a single vocabulary dtype, so Keras leaves it out of the config.
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config
