"""``Embedding``: turns integer indices into dense vectors looked up in a table."""

import torch

from lamina import constraints, initializers, regularizers
from lamina.backend.dtypes import to_torch_dtype
from lamina.layers._quantization import check_lora_arguments
from lamina.layers.core._embedding_quantization import EmbeddingQuantization
from lamina.layers.layer import Layer
from lamina.ops._utils import is_int
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils.index_errors import out_of_range

_INDEX_DTYPES = (torch.int32, torch.int64)


def _embedding_lookup(indices, table):
    """Rows of ``table`` picked by ``indices`` (any shape): output ``indices.shape + (dim,)``."""
    if indices.dtype not in _INDEX_DTYPES:
        # Keras accepts float (and other integer) tensors holding indices and casts them.
        indices = indices.to(torch.int64)
    return torch.nn.functional.embedding(indices, table)


def _standardize_config(config, name):
    from lamina import quantizers

    config = quantizers.deserialize(config)
    if config is not None and (not isinstance(config, quantizers.QuantizationConfig) or config.mode not in ("int8", "int4")):
        raise ValueError(
            f"Embedding layer '{name}': `quantization_config` must be an Int8QuantizationConfig or "
            f"Int4QuantizationConfig. Received: quantization_config={config!r}"
        )
    return config


def _check_positive_int(name, value):
    # numpy integers are accepted as Keras 2 did (`np.max(y) + 1` as a vocabulary size).
    if not is_int(value) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={value!r} "
            f"(of type {type(value).__name__})"
        )
    return int(value)


@register_builtin("keras.layers")
class Embedding(EmbeddingQuantization, Layer):
    """Maps integer indices in ``[0, input_dim)`` to dense vectors of size ``output_dim``.

    Args:
        input_dim: Size of the vocabulary: the largest index plus one.
        output_dim: Size of each embedding vector.
        embeddings_initializer: Initializer for the ``(input_dim, output_dim)`` table.
        embeddings_regularizer: Regularizer for the table.
        embeddings_constraint: Constraint applied to the table after optimizer updates.
        mask_zero: Whether index 0 is padding. If True, the layer returns a mask (``inputs != 0``)
            that downstream layers such as recurrent layers use to skip padded steps; index 0
            then cannot be used as a real token, so ``input_dim`` should be the vocabulary size
            plus one.
        weights: Optional initial table, a ``(input_dim, output_dim)`` array (or a list holding
            it); the layer is built right away.
        lora_rank: If set, LoRA is enabled at this rank when the layer is built (see
            ``enable_lora``).
        lora_alpha: Scale numerator of the LoRA update (defaults to ``lora_rank``).
        input_length: Keras 2 argument: the fixed length of the input sequences. Accepted and
            kept; when the layer comes first in a ``Sequential`` model and no ``input_shape`` is
            given, it sets the input shape ``(input_length,)``.
        **kwargs: Base layer keyword arguments, such as ``name``, ``dtype`` and
            ``activity_regularizer``.

    Input shape:
        Tensor of any shape ``(batch_size, ...)`` holding indices (integers, or floats holding
        integral values).

    Output shape:
        ``(batch_size, ..., output_dim)``.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Embedding(1000, 64))
    >>> model(np.random.randint(1000, size=(32, 10))).shape
    torch.Size([32, 10, 64])
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        input_length=None,
        **kwargs,
    ):
        input_dim = _check_positive_int("input_dim", input_dim)
        output_dim = _check_positive_int("output_dim", output_dim)
        lora_alpha = kwargs.pop("lora_alpha", None)
        check_lora_arguments(lora_rank, lora_alpha)
        quantization_config = kwargs.pop("quantization_config", None)
        if input_length is not None:
            length = input_length if isinstance(input_length, (list, tuple)) else (input_length,)
            valid = (d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in length)
            if not all(valid):
                raise ValueError(
                    "Argument `input_length` must be a positive integer, a tuple of them, or None. "
                    f"Received: input_length={input_length!r}"
                )
            if not any(k in kwargs for k in ("input_shape", "batch_input_shape", "input_dim")):
                kwargs["input_shape"] = tuple(length)
        # Indices must reach `call` as they are: float autocasting would corrupt large int64 ids.
        kwargs["autocast"] = False
        super().__init__(**kwargs)
        if self.quantization_mode not in (None, "int8", "int4"):
            raise ValueError(
                f"Embedding layer '{self.name}': quantization mode '{self.quantization_mode}' is not "
                f"supported by Lamina (dtype={self.dtype_policy.name!r}); use int8 or int4."
            )
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = _standardize_config(quantization_config, self.name)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.input_length = input_length
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not (isinstance(weights, (list, tuple)) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        if self.quantization_mode is not None:
            self.quantized_build((self.input_dim, self.output_dim), self.quantization_mode)
        else:
            self.embeddings = self.add_weight(
                shape=(self.input_dim, self.output_dim),
                initializer=self.embeddings_initializer,
                regularizer=self.embeddings_regularizer,
                constraint=self.embeddings_constraint,
                name="embeddings",
            )
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, self.lora_alpha)
        self._select_call()

    def call(self, inputs):
        try:
            outputs = _embedding_lookup(inputs, self.embeddings)
        except IndexError:
            # Checked only once torch has refused: a check on every call would cost a device sync.
            raise out_of_range(
                f"Embedding layer '{self.name}' (input_dim={self.input_dim})", "indices", inputs,
                self.input_dim,
            ) from None
        compute_dtype = to_torch_dtype(self.compute_dtype)
        if outputs.dtype != compute_dtype:
            outputs = outputs.to(compute_dtype)
        return outputs

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return torch.ne(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": s(self.embeddings_initializer),
                "embeddings_regularizer": s(self.embeddings_regularizer),
                "activity_regularizer": s(self.activity_regularizer),
                "embeddings_constraint": s(self.embeddings_constraint),
                "mask_zero": self.mask_zero,
                "quantization_config": s(self.quantization_config),
            }
        )
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        if self.input_length is not None:
            config["input_length"] = self.input_length
        return config
