"""``CategoryEncoding``: integer ids to one-hot, multi-hot or count vectors."""

import numbers

import torch

from lamina.backend.core import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.layer import Layer
from lamina.layers.preprocessing._numeric_encoding import ENCODING_MODES, check_encodable, encode, encoded_shape
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as dense vectors.

    Args:
        num_tokens: Number of distinct ids; inputs must lie in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (default; Keras 2's ``"binary"`` is accepted): one vector per
            sample (row) with a 1 at each id present. ``"one_hot"``: one vector per id (a trailing
            axis of size 1 is replaced). ``"count"``: like ``"multi_hot"`` with the number of
            occurrences (or the sum of ``count_weights``).
        sparse: Return a ``torch`` sparse COO tensor instead of a dense one.
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype`` (the output dtype).

    Call arguments:
        inputs: Integer ids, rank 0 to 2 (``"one_hot"``: any rank).
        count_weights: Weights of the same shape as ``inputs``, summed per id in ``"count"`` mode.

    Input shape:
        ``(samples,)`` or ``(batch, samples)``.

    Output shape:
        ``(batch, num_tokens)`` (multi_hot / count), or the input shape plus ``num_tokens``
        (one_hot).

    Example:

    >>> layer = lamina.layers.CategoryEncoding(num_tokens=4, output_mode="count")
    >>> layer(np.array([[0, 1], [3, 3]]))
    tensor([[1., 1., 0., 0.],
            [0., 0., 0., 2.]])
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ENCODING_MODES:
            raise ValueError(
                f"Unknown arg for output_mode: {output_mode!r}. Expected one of {list(ENCODING_MODES)}"
            )
        if num_tokens is None:
            raise ValueError(
                "num_tokens must be set to use this layer. If the number of tokens is not known "
                "beforehand, use the IntegerLookup layer instead."
            )
        if not isinstance(num_tokens, numbers.Integral) or isinstance(num_tokens, bool) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be an integer >= 1. Received: num_tokens={num_tokens!r}.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = bool(sparse)

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    "`count_weights` is not used when `output_mode` is not `'count'`. "
                    f"Received `count_weights={count_weights}`."
                )
            count_weights = convert_to_tensor(count_weights).to(inputs.device)
            if tuple(count_weights.shape) != tuple(inputs.shape):
                raise ValueError(
                    f"`count_weights` of layer '{self.name}' must have the shape of the inputs "
                    f"{tuple(inputs.shape)}. Received count_weights.shape={tuple(count_weights.shape)}"
                )
        indices = self._checked_ids(inputs)
        # Keras encodes in the layer's (variable) dtype, float32 by default.
        out = encode(indices, self.output_mode, self.num_tokens, to_torch_dtype(self.dtype), count_weights)
        return out.to_sparse() if self.sparse else out

    def _checked_ids(self, inputs):
        if inputs.dtype == torch.bool or inputs.is_complex():
            raise ValueError(
                f"Layer '{self.name}' (CategoryEncoding) expects integer ids. Received inputs of "
                f"dtype {inputs.dtype}"
            )
        if inputs.is_floating_point():
            if not torch.equal(inputs, torch.floor(inputs)):
                raise ValueError(
                    f"Layer '{self.name}' (CategoryEncoding) expects integer ids; received floats "
                    "with a fractional part."
                )
        check_encodable(inputs, self.output_mode, self)
        indices = inputs.to(torch.int64)
        if indices.numel():
            low, high = int(indices.min()), int(indices.max())
            if low < 0 or high >= self.num_tokens:
                raise ValueError(
                    f"Layer '{self.name}' (CategoryEncoding) expects ids in the range "
                    f"0 <= values < num_tokens with num_tokens={self.num_tokens}. Received values "
                    f"from {low} to {high}."
                )
        return indices

    def compute_output_shape(self, input_shape):
        if self.output_mode in ("multi_hot", "count") and len(input_shape) > 2:
            raise ValueError(
                f"Layer '{self.name}' (CategoryEncoding) with output_mode='{self.output_mode}' "
                f"accepts inputs of rank 1 or 2. Received input shape {tuple(input_shape)}"
            )
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        config = super().get_config()
        # Keras leaves `sparse` out of the config; so does Lamina, for identical files.
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
