"""``IndexLookup``: the vocabulary table shared by ``StringLookup`` and ``IntegerLookup``.

Index layout (Keras's): in ``"int"`` mode the mask token (if any) takes index 0, then come
``num_oov_indices`` OOV indices, then the vocabulary. In the encoding modes the mask token has no
index (masked inputs are dropped) and the OOV indices come first.
"""

import collections
import os

import numpy as np

from lamina.backend import config as backend_config
from lamina.layers.preprocessing import _hash_functions
from lamina.layers.preprocessing._host_layer import (
    HostDataLayer,
    encode_dense,
    encoded_shape,
    to_numpy,
    to_output_tensor,
    validate_choice,
)
from lamina.saving import serialization_lib

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_VOCABULARY_FILE = "vocabulary.txt"


class IndexLookup(HostDataLayer):
    """Maps tokens to indices (or back, with ``invert=True``) through a vocabulary.

    Subclasses define how raw inputs become tokens (``_tokens_from``) and how tokens are written
    to and read from text (``_token_from_text``). Arguments are documented on the subclasses.
    """

    def __init__(
        self,
        max_tokens,
        num_oov_indices,
        mask_token,
        oov_token,
        vocabulary_dtype,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        name=None,
        salt=None,
        **kwargs,
    ):
        cls = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}"
            )
        if num_oov_indices is None or num_oov_indices < 0:
            raise ValueError(
                "`num_oov_indices` must be greater than or equal to 0. "
                f"Received: num_oov_indices={num_oov_indices}"
            )
        validate_choice(oov_method, ("floormod", "farmhash"), cls, "oov_method")
        if salt is not None:
            if vocabulary_dtype == "int64" and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError(
                    f"The `salt` argument for `{cls}` can only be a tuple of 2 integers, or a single "
                    f"integer. Received: salt={salt}."
                )
        # Keras 2 spellings of the output modes.
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        validate_choice(output_mode, _OUTPUT_MODES, cls, "output_mode")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(
                f"`sparse=True` is not supported by {cls} in Lamina (torch has no sparse string tensors; "
                "Keras only supports it on the TensorFlow backend). Use `sparse=False`."
            )
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                f"Received: idf_weights={idf_weights} and output_mode={output_mode}"
            )
        frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("dtype", None)
        kwargs.pop("trainable", None)
        super().__init__(name=name, autocast=False, **kwargs)

        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._output_dtype = "int64" if output_mode == "int" else backend_config.floatx()
        self._frozen_vocab_size = frozen_vocab_size
        # A file path is not kept for the config: the vocabulary travels as an asset instead.
        self.input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) else vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._tokens = []
        self._table = {}
        self._inverse = {}
        self._idf_weights = None
        self.reset_state()

        if output_mode == "tf_idf":
            if has_input_vocabulary and idf_weights is None and vocabulary is not None:
                raise ValueError(
                    "When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                    "`idf_weights` argument must also be provided."
                )
            if idf_weights is not None:
                self._idf_weights = np.asarray(idf_weights, dtype=np.float32)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # --- index layout -------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self):
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices

    # --- vocabulary ---------------------------------------------------------------------------
    def vocabulary_size(self):
        """Size of the vocabulary, mask and OOV indices included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary; with special tokens, a term's position equals its index."""
        if not include_special_tokens:
            return list(self._tokens)
        return self._special_tokens() + list(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (and, in ``"tf_idf"`` mode, the IDF weights) directly.

        Args:
            vocabulary: A list, tuple or 1D array of terms, or the path of a text file with one term
                per line. It may start with the special tokens in their index order.
            idf_weights: IDF weights, one per term; required in ``"tf_idf"`` mode only.
        """
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(
                "`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}"
            )
        if isinstance(vocabulary, (str, os.PathLike)):
            self._set_vocabulary_file(os.fspath(vocabulary))
            return
        vocabulary = to_numpy(vocabulary, self)
        if vocabulary.ndim != 1:
            raise ValueError(f"`vocabulary` must be 1D. Received: shape {vocabulary.shape}")
        if vocabulary.size == 0:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        vocabulary = self._tokens_from(vocabulary)
        special = self._special_tokens()
        token_start = len(special)
        found_special = vocabulary[:token_start] == special
        tokens = vocabulary[token_start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(
                "The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                f"The repeated terms are: {repeated}"
            )
        for which, token in (("mask_token", self.mask_token), ("oov_token", self.oov_token if self.invert else None)):
            if token is not None and token in tokens:
                where = len(vocabulary) - 1 - vocabulary[::-1].index(token)
                raise ValueError(
                    "Found reserved special token at unexpected location in `vocabulary`. Note that "
                    "passed `vocabulary` does not need to include the OOV and mask tokens. Either "
                    "remove all mask and OOV tokens, or include them only at the start of the "
                    f"vocabulary in precisely this order: {special}. Received: {which}={token} at "
                    f"vocabulary index {where}"
                )
        new_size = token_start + len(tokens)
        if self.max_tokens is not None and new_size > self.max_tokens:
            raise ValueError(
                "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                f"vocabulary size is {new_size}; `max_tokens` is {self.max_tokens}."
            )
        if self.output_mode == "tf_idf":
            self._idf_weights = self._padded_idf(idf_weights, len(vocabulary), found_special)
        self._set_tokens(tokens)

    def _padded_idf(self, idf_weights, vocab_len, found_special):
        idf = np.asarray(to_numpy(idf_weights, self), dtype=np.float64)
        if idf.ndim != 1:
            raise ValueError(f"TF-IDF data must be a 1-index array. Received: shape {idf.shape}")
        if len(idf) != vocab_len:
            raise ValueError(
                "`idf_weights` must be the same length as vocabulary. "
                f"len(idf_weights) is {len(idf)}; len(vocabulary) is {vocab_len}"
            )
        # Special tokens have no document frequency of their own: they get the mean weight.
        front = 0 if found_special else self._token_start_index()
        idf = np.concatenate([np.full(front, idf.mean() if len(idf) else 0.0), idf])
        if self.pad_to_max_tokens and self.max_tokens is not None:
            idf = np.concatenate([idf, np.zeros(max(self.max_tokens - len(idf), 0))])
        return idf.astype(np.float32)

    def _set_vocabulary_file(self, path):
        if serialization_lib.in_safe_mode():
            raise ValueError(
                "Requested the loading of a vocabulary file outside of the model archive. This "
                "carries a potential risk of loading arbitrary and sensitive files and thus it is "
                "disallowed by default. If you trust the source of the artifact, you can override "
                "this error by passing `safe_mode=False` to the loading function, or calling "
                f"`lamina.config.enable_unsafe_deserialization()`. Vocabulary file: '{path}'"
            )
        if not os.path.isfile(path):
            raise ValueError(f"Vocabulary file {path} does not exist.")
        if self.output_mode == "tf_idf":
            raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
        self._set_tokens(self._read_lines(path))

    def _read_lines(self, path):
        with open(path, encoding="utf-8", newline="\n") as f:
            lines = f.read().split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        return [self._token_from_text(line.rstrip("\r")) for line in lines]

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._table = {t: i + start for i, t in enumerate(self._tokens)}
        self._inverse = dict(enumerate(self._tokens, start))
        self._record_vocabulary_size()

    def _record_vocabulary_size(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens:
            size = self.vocabulary_size()
            if self._frozen_vocab_size is not None and size != self._frozen_vocab_size:
                raise RuntimeError(
                    f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the "
                    "vocabulary size cannot be changed after the layer is called. Old vocab size is "
                    f"{self._frozen_vocab_size}, new vocab size is {size}"
                )
        self._frozen_vocab_size = self.vocabulary_size()

    # --- adapt --------------------------------------------------------------------------------
    def adapt(self, data, steps=None):
        """Learn the vocabulary from ``data``: terms sorted by count, ties by term (high to low).

        Args:
            data: A list or numpy array of terms (rows are documents), or an iterable of batches
                (e.g. a generator or a ``torch.utils.data.DataLoader``).
            steps: Number of batches to read from an iterable (all of them when ``None``).
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
        """Count the terms of one batch (each row is a document)."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        arr = to_numpy(data, self)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            # A 1D batch is a single document.
            arr = arr.reshape(1, -1)
        rows = arr.reshape(arr.shape[0], -1)
        self._update_rows([self._tokens_from(row) for row in rows])

    def _update_rows(self, rows):
        for row in rows:
            self._token_counts.update(row)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(row))
        self._num_documents += len(rows)

    def finalize_state(self):
        """Turn the counts gathered by ``update_state`` into the vocabulary."""
        if self._has_input_vocabulary or not self._token_counts:
            self._record_vocabulary_size()
            return
        counts = self._token_counts
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[: max(self.max_tokens - self._token_start_index(), 0)]
        tokens = [token for token, _ in ordered]
        if self.output_mode == "tf_idf":
            doc_counts = np.array([self._document_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log(1.0 + self._num_documents / (1.0 + doc_counts)).astype(np.float32)
            # The OOV weight cannot be measured in one pass: use the mean, as Keras does.
            front = np.full(self._token_start_index(), idf.mean() if idf.size else 0.0, dtype=np.float32)
            idf = np.concatenate([front, idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.concatenate([idf, np.zeros(max(self.max_tokens - idf.size, 0), dtype=np.float32)])
            self._idf_weights = idf
        self._set_tokens(tokens)
        self.reset_state()

    def reset_state(self):
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    # --- call ---------------------------------------------------------------------------------
    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def _ensure_known_vocab_size(self):
        if self.output_mode == "int" or self.pad_to_max_tokens:
            return
        if self._frozen_vocab_size is None:
            raise RuntimeError(
                f"Layer '{self.name}' ({type(self).__name__}): when using "
                f"`output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must set the "
                "layer's vocabulary before calling it. Either pass a `vocabulary` argument to the "
                "layer, or call `adapt` with some sample data."
            )

    def call(self, inputs):
        self._ensure_known_vocab_size()
        arr = to_numpy(inputs, self)
        if self.invert:
            return self._invert(arr)
        indices = self.lookup_tokens(self._tokens_from(arr)).reshape(arr.shape)
        if self.output_mode == "int":
            return to_output_tensor(indices, "int64")
        if self.output_mode == "tf_idf" and self._idf_weights is None:
            raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.")
        encoded = encode_dense(indices, self.output_mode, self._depth(), self._idf_weights)
        return to_output_tensor(encoded, self._output_dtype)

    def lookup_tokens(self, tokens):
        """Indices of a flat list of tokens (masked tokens are -1 outside ``"int"`` mode)."""
        default = -1 if self.num_oov_indices != 1 else self._oov_start_index()
        table = self._table
        indices = np.fromiter((table.get(t, default) for t in tokens), dtype=np.int64, count=len(tokens))
        if self.num_oov_indices == 0 and (indices == -1).any():
            oov = [t for t, i in zip(tokens, indices) if i == -1 and t != self.mask_token]
            if oov:
                raise ValueError(
                    f"Layer '{self.name}': when `num_oov_indices=0` all inputs should be in vocabulary, "
                    f"found OOV values {oov[:10]}, consider setting `num_oov_indices=1`."
                )
        elif self.num_oov_indices > 1:
            oov = np.flatnonzero(indices == -1)
            if oov.size:
                indices[oov] = self._oov_buckets([tokens[i] for i in oov]) + self._oov_start_index()
        if self.mask_token is not None:
            masked = np.fromiter((t == self.mask_token for t in tokens), dtype=bool, count=len(tokens))
            indices[masked] = 0 if self.output_mode == "int" else -1
        return indices

    def _oov_buckets(self, tokens):
        if self.vocabulary_dtype == "int64" and self.oov_method != "farmhash":
            return np.mod(np.asarray(tokens, dtype=np.int64), self.num_oov_indices)
        values = np.asarray(tokens, dtype=np.int64 if self.vocabulary_dtype == "int64" else object)
        return _hash_functions.hash_to_buckets(values, self.num_oov_indices, self.salt)

    def _invert(self, arr):
        if arr.dtype.kind not in "iu":
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) with `invert=True` expects integer "
                f"indices. Received an input of dtype {arr.dtype} and shape {arr.shape}."
            )
        inverse = self._inverse
        oov = self.oov_token
        mask = self.mask_token
        flat = arr.reshape(-1).tolist()
        values = [mask if (i == 0 and mask is not None) else inverse.get(i, oov) for i in flat]
        return self._tokens_to_output(values, arr.shape)

    # --- shapes and config --------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "invert": self.invert,
                "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices,
                "oov_token": self.oov_token,
                "mask_token": self.mask_token,
                "output_mode": self.output_mode,
                "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype,
                "idf_weights": _listify(self.input_idf_weights),
                "vocabulary": _listify(self.input_vocabulary),
                "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method,
                "salt": self.salt,
            }
        )
        return config

    # --- saving: the same store keys and asset file as Keras ----------------------------------
    def save_own_variables(self, store):
        if self.output_mode == "tf_idf" and self._idf_weights is not None:
            store["idf_weights"] = self._idf_weights

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            entry = store["idf_weights"]
            # Checked before reading: a file must not make the loader allocate more than a
            # vocabulary this layer can hold.
            limit = self.max_tokens
            if len(entry.shape) != 1 or (limit is not None and entry.shape[0] > limit):
                raise ValueError(
                    f"Layer '{self.name}': the saved `idf_weights` have shape {tuple(entry.shape)}; "
                    f"expected one weight per vocabulary entry"
                    + (f" (at most max_tokens={limit})." if limit is not None else ".")
                )
            self._idf_weights = np.asarray(entry, dtype=np.float32)

    def save_assets(self, dir_path):
        if self.input_vocabulary is not None:
            return  # The vocabulary is in the config.
        vocabulary = self.get_vocabulary(include_special_tokens=True)
        with open(os.path.join(dir_path, _VOCABULARY_FILE), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(str(t) for t in vocabulary))

    def load_assets(self, dir_path):
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, _VOCABULARY_FILE)
        if not os.path.isfile(path):
            return  # Saved before any vocabulary was set.
        values = self._read_lines(path)
        if not values:
            return
        idf = None
        if self.output_mode == "tf_idf":
            idf = self._idf_weights[: len(values)] if self._idf_weights is not None else None
        self.set_vocabulary(values, idf_weights=idf)


def _is_batch_iterable(data):
    if isinstance(data, (list, tuple, np.ndarray, str, bytes)) or hasattr(data, "__array__"):
        return False
    return hasattr(data, "__iter__")


def _listify(x):
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    return x
