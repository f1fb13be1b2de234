"""``TextVectorization``: raw strings -> standardized, split, n-grammed tokens -> indices or encodings."""

import re

import numpy as np

from lamina.backend import config as backend_config
from lamina.layers.preprocessing._host_layer import (
    HostDataLayer,
    encode_dense,
    encode_rows,
    string_list,
    to_numpy,
    to_output_tensor,
    validate_choice,
)
from lamina.layers.preprocessing.index_lookup import _is_batch_iterable, _listify
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

# The punctuation class Keras strips (note `,-\.` is the range ',' '-' '.').
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# Keras splits on ASCII whitespace only (TensorFlow's `strings.split`).
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
# Keras lowercases with TensorFlow's default `strings.lower`, which maps ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class _Ragged:
    """Token rows of different lengths (after splitting or n-grams), with the leading shape."""

    def __init__(self, rows, lead_shape):
        self.rows = rows
        self.lead_shape = tuple(lead_shape)


@register_builtin("keras.layers")
class TextVectorization(HostDataLayer):
    """Maps text to integer sequences or to multi-hot / count / TF-IDF vectors.

    Each example is standardized (by default lowercased, ASCII letters only as in Keras, and
    stripped of punctuation), split (by default on whitespace), optionally combined into
    n-grams, then looked up in a vocabulary given on construction or learned with ``adapt``.
    Inputs are Python lists or numpy arrays of strings; outputs are torch tensors. In a model,
    the layer follows ``Input(shape=(1,), dtype="string")`` and the data stays numpy arrays of
    ``str`` up to it.

    Args:
        max_tokens: Maximum vocabulary size, the padding (``"int"`` mode) and OOV tokens included.
        standardize: ``None``, ``"lower_and_strip_punctuation"``, ``"lower"``,
            ``"strip_punctuation"`` or a callable taking and returning a numpy array of ``str``.
        split: ``None``, ``"whitespace"``, ``"character"`` or a callable taking a 1D numpy array
            of ``str`` and returning one list of tokens per string.
        ngrams: ``None``, an int ``n`` (n-grams of sizes 1..n) or a tuple of sizes.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        output_sequence_length: ``"int"`` mode: pad with 0 or truncate every sequence to it.
        pad_to_max_tokens: Encodings get ``max_tokens`` columns whatever the vocabulary size.
        vocabulary: A list/array of strings or the path of a text file, one term per line.
        idf_weights: IDF weights, one per term (``"tf_idf"`` mode with ``vocabulary``).
        sparse: Must be ``False``. ragged: Must be ``False`` (both need TensorFlow in Keras).
        encoding: Text encoding used to decode ``bytes`` inputs (default ``"utf-8"``).

    Input shape:
        ``(batch,)`` or ``(batch, 1)`` strings when splitting; any shape with ``split=None``.

    Output shape:
        ``"int"``: ``(batch, output_sequence_length)`` (or the longest sequence of the batch).
        Other modes: ``(batch, vocabulary_size)`` (``max_tokens`` with ``pad_to_max_tokens``).

    Example:

    >>> layer = lamina.layers.TextVectorization(max_tokens=5000, output_sequence_length=4)
    >>> layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    >>> layer([["foo qux bar"], ["qux baz"]]).tolist()
    [[4, 1, 3, 0], [1, 2, 0, 0]]
    """

    _expected_input = "string"

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        name=None,
        **kwargs,
    ):
        if sparse:
            raise ValueError("`sparse=True` is not supported by TextVectorization in Lamina (Keras needs TensorFlow for it).")
        if ragged:
            raise ValueError("`ragged=True` is not supported by TextVectorization in Lamina (Keras needs TensorFlow for it).")
        if not (standardize is None or callable(standardize)):
            validate_choice(standardize, _STANDARDIZE, "TextVectorization", "standardize")
        if not (split is None or callable(split)):
            validate_choice(split, _SPLIT, "TextVectorization", "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        validate_choice(output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf"), "TextVectorization", "output_mode")
        if not (
            ngrams is None
            or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError(
                "`output_sequence_length` must be either None or an integer when `output_mode` is "
                f"'int'. Received: output_sequence_length={output_sequence_length}"
            )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length}."
            )
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, autocast=False, **kwargs)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged = ragged
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._has_input_vocabulary = has_input_vocabulary
        self._output_dtype = "int64" if output_mode == "int" else backend_config.floatx()
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            sparse=sparse,
            has_input_vocabulary=has_input_vocabulary,
            encoding=encoding,
            vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup",
        )

    # --- vocabulary ---------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data`` (a list/array of strings, or an iterable of batches).

        Terms are sorted by count, ties broken by the terms themselves (high to low), then cut to
        ``max_tokens``; in ``"tf_idf"`` mode document frequencies are learned too.
        """
        self.reset_state()
        if _is_batch_iterable(data):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            arr = to_numpy(data, self)
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            self.update_state(arr)
        self.finalize_state()

    def update_state(self, data):
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        tokens = self._preprocess(data)
        if isinstance(tokens, _Ragged):
            rows = tokens.rows
        else:
            if tokens.ndim == 0:
                tokens = tokens.reshape(1)
            if tokens.ndim == 1:
                tokens = tokens.reshape(1, -1)
            rows = [list(r) for r in tokens.reshape(tokens.shape[0], -1)]
        lookup._update_rows(rows)

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def reset_state(self):
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary; with special tokens (``""`` padding in ``"int"`` mode, ``"[UNK]"``)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (and IDF weights in ``"tf_idf"`` mode) directly."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # --- preprocessing ------------------------------------------------------------------------
    def _standardized(self, arr):
        strings = string_list(arr, self._encoding, self)
        if callable(self._standardize):
            out = np.empty(len(strings), dtype=object)
            out[:] = strings
            result = np.asarray(self._standardize(out.reshape(arr.shape).astype(str)))
            if result.shape != arr.shape:
                raise ValueError(
                    f"Layer '{self.name}': the `standardize` callable must keep the input shape "
                    f"{arr.shape}; it returned shape {result.shape}."
                )
            return string_list(result, self._encoding, self), arr.shape
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            strings = [s.translate(_ASCII_LOWER) for s in strings]
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            strings = [_PUNCTUATION.sub("", s) for s in strings]
        return strings, arr.shape

    def _split_strings(self, strings):
        if self._split == "whitespace":
            return [[t for t in _WHITESPACE.split(s) if t] for s in strings]
        if self._split == "character":
            return [list(s) for s in strings]
        arr = np.empty(len(strings), dtype=object)
        arr[:] = strings
        result = self._split(arr.astype(str) if len(strings) else arr)
        rows = [[t.decode(self._encoding) if isinstance(t, bytes) else str(t) for t in row] for row in result]
        if len(rows) != len(strings):
            raise ValueError(
                f"Layer '{self.name}': the `split` callable must return one row of tokens per "
                f"string ({len(strings)}); it returned {len(rows)}."
            )
        return rows

    def _ngram_rows(self, rows):
        out = []
        for row in rows:
            grams = []
            for width in self._ngrams:
                grams.extend(" ".join(row[i : i + width]) for i in range(len(row) - width + 1))
            out.append(grams)
        return out

    def _preprocess(self, inputs):
        """Standardize, split and n-gram: a dense token array, or ``_Ragged`` rows."""
        arr = to_numpy(inputs, self)
        strings, shape = self._standardized(arr)
        if self._split is not None:
            if len(shape) > 1:
                if shape[-1] != 1:
                    raise ValueError(
                        "When using `TextVectorization` to tokenize strings, the input rank must be 1 "
                        f"or the last shape dimension must be 1. Received: inputs.shape={shape} with "
                        f"rank={len(shape)}"
                    )
                shape = shape[:-1]
            lead = shape
            rows = self._split_strings(strings)
        elif self._ngrams is not None:
            if not shape:
                shape = (1,)
            lead = shape[:-1]
            width = shape[-1]
            if width:
                rows = [strings[i : i + width] for i in range(0, len(strings), width)]
            else:
                rows = [[] for _ in range(int(np.prod(lead)))]
        else:
            out = np.empty(len(strings), dtype=object)
            out[:] = strings
            return out.reshape(shape)
        if self._ngrams is not None:
            rows = self._ngram_rows(rows)
        return _Ragged(rows, lead)

    # --- call ---------------------------------------------------------------------------------
    def call(self, inputs):
        lookup = self._lookup_layer
        lookup._ensure_known_vocab_size()
        tokens = self._preprocess(inputs)
        if not isinstance(tokens, _Ragged):
            if self._output_mode != "int" and tokens.ndim <= 1:
                # Without splitting, each string of a rank-1 batch is one sample.
                tokens = tokens.reshape(-1, 1)
            indices = lookup.lookup_tokens(tokens.reshape(-1).tolist()).reshape(tokens.shape)
            if self._output_mode == "int":
                if self._output_sequence_length is not None and indices.ndim >= 1:
                    indices = _pad_or_truncate(indices, self._output_sequence_length)
                return to_output_tensor(indices, "int64")
            encoded = encode_dense(indices, self._output_mode, lookup._depth(), lookup._idf_weights)
            return to_output_tensor(encoded, self._output_dtype)
        rows, lead = tokens.rows, tokens.lead_shape
        flat = [t for row in rows for t in row]
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        indices = lookup.lookup_tokens(flat)
        if self._output_mode == "int":
            width = self._output_sequence_length
            if width is None:
                width = int(lengths.max()) if lengths.size else 0
            out = np.zeros((len(rows), width), dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if lengths.size else lengths
            for r, (start, n) in enumerate(zip(starts.tolist(), lengths.tolist())):
                n = min(n, width)
                out[r, :n] = indices[start : start + n]
            return to_output_tensor(out.reshape(lead + (width,)), "int64")
        row_ids = np.repeat(np.arange(len(rows)), lengths)
        depth = lookup._depth()
        encoded = encode_rows(indices, row_ids, len(rows), depth, self._output_mode, lookup._idf_weights)
        return to_output_tensor(encoded.reshape(lead + (depth,)), self._output_dtype)

    def compute_output_shape(self, input_shape):
        # The shapes `call` produces: token rows keep the leading axes and get a last axis of
        # `output_sequence_length` (unknown without it) or of the vocabulary size.
        shape = tuple(input_shape)
        depth = self._lookup_layer._depth()
        if self._split is not None:
            if len(shape) > 1:
                if shape[-1] not in (1, None):
                    raise ValueError(
                        "When using `TextVectorization` to tokenize strings, the input rank must be 1 "
                        f"or the last shape dimension must be 1. Received: inputs.shape={shape} with "
                        f"rank={len(shape)}"
                    )
                shape = shape[:-1]
            return shape + ((self._output_sequence_length if self._output_mode == "int" else depth),)
        if self._ngrams is not None:
            lead = shape[:-1]
            return lead + ((self._output_sequence_length if self._output_mode == "int" else depth),)
        if self._output_mode == "int":
            if self._output_sequence_length is not None and shape:
                return shape[:-1] + (self._output_sequence_length,)
            return shape
        if len(shape) <= 1:
            shape = shape + (1,) if shape else (1, 1)
        return shape[:-1] + (depth,)

    # --- config and saving --------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        lookup = self._lookup_layer
        config.update(
            {
                "max_tokens": lookup.max_tokens,
                "standardize": _serialize_option(self._standardize),
                "split": _serialize_option(self._split),
                "ngrams": list(self._ngrams_arg) if isinstance(self._ngrams_arg, tuple) else self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens,
                "sparse": lookup.sparse,
                "ragged": self._ragged,
                "vocabulary": _listify(lookup.input_vocabulary),
                "idf_weights": _listify(lookup.input_idf_weights),
                "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size(),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = serialization_lib.deserialize_keras_object(config[key])
            elif isinstance(config.get(key), str) and config[key] not in _STANDARDIZE + _SPLIT:
                # A registered function saved by name.
                config[key] = serialization_lib.deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return super().from_config(config)

    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)


def _pad_or_truncate(indices, length):
    indices = indices[..., :length]
    missing = length - indices.shape[-1]
    if missing > 0:
        pad = [(0, 0)] * (indices.ndim - 1) + [(0, missing)]
        indices = np.pad(indices, pad)
    return indices


def _serialize_option(value):
    return value if value is None or isinstance(value, str) else serialization_lib.serialize_keras_object(value)

