"""``InputLayer`` and ``Input``: the entry points of a functional graph."""

from lamina.backend.dtypes import STRING, standardize_dtype
from lamina.backend.naming import unique_name
from lamina.backend import symbolic
from lamina.layers.layer import Layer
from lamina.saving.object_registration import register_builtin


@register_builtin("keras.layers")
class InputLayer(Layer):
    """The layer behind ``Input``: it produces a symbolic tensor and does nothing at run time.

    Args:
        shape: Shape without the batch dimension.
        batch_size: Optional fixed batch size.
        dtype: Dtype of the input (default ``floatx()``); ``"string"`` for string data, which
            reaches the model as numpy arrays of ``str`` (torch has no string tensors).
        sparse: Whether the input is sparse (accepted for API compatibility; dense tensors are used).
        batch_shape: Full shape including the batch dimension (instead of ``shape``/``batch_size``).
        input_tensor: An existing ``KerasTensor`` to wrap instead of creating one.
        name: Layer name; a unique ``input_layer`` name is generated when omitted.
        optional: Whether the input may be ``None``.
    """

    _accepts_string_inputs = True

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        batch_shape=None,
        input_tensor=None,
        optional=False,
        name=None,
        ragged=None,
        **kwargs,
    ):
        # Keras 2 configs spell `batch_shape` as `batch_input_shape`.
        batch_shape = batch_shape if batch_shape is not None else kwargs.pop("batch_input_shape", None)
        kwargs.pop("input_shape", None) if shape is not None else None
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if batch_size is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `batch_size` and `batch_shape` at the same time.")
        if input_tensor is not None and not symbolic.is_keras_tensor(input_tensor):
            raise ValueError(
                f"`input_tensor` must be a KerasTensor. Received: input_tensor={input_tensor!r}"
            )
        if shape is None and batch_shape is None:
            if input_tensor is None:
                raise ValueError("You must pass a `shape` argument.")
            batch_shape = input_tensor.shape
        if batch_shape is None:
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        for d in batch_shape:
            if d is not None and d < 0:
                raise ValueError(f"Input shapes must not have negative dimensions: {batch_shape}")
        dtype = standardize_dtype(dtype if dtype is not None else (input_tensor.dtype if input_tensor is not None else None))
        # A string input has no torch dtype to compute in; its layer keeps the default policy, as
        # in Keras.
        policy = None if dtype == STRING else dtype
        super().__init__(name=name or unique_name("input_layer"), dtype=policy, **kwargs)
        self._batch_shape = batch_shape
        self.sparse = bool(sparse)
        self.optional = optional
        self._input_dtype = dtype
        self.built = True
        if input_tensor is None:
            input_tensor = symbolic.KerasTensor(batch_shape, dtype=dtype, sparse=self.sparse, name=self.name)
        input_tensor.name = input_tensor.name or self.name
        symbolic.Node(self, (), {}, input_tensor)
        self._input_tensor = input_tensor

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def dtype(self):
        return self._input_dtype

    @property
    def input(self):
        # Keras 2 code reads `model.layers[0].input` for the model's input tensor (Keras 3 gives an
        # empty list here): the input layer's input is the tensor it makes.
        return self.output

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {
            "batch_shape": self._batch_shape,
            "dtype": self._input_dtype,
            "sparse": self.sparse,
            "ragged": False,
            "name": self.name,
            "optional": self.optional,
        }


def Input(
    shape=None,
    batch_size=None,
    dtype=None,
    sparse=None,
    batch_shape=None,
    name=None,
    tensor=None,
    optional=False,
    ragged=None,
):
    """Create a symbolic input tensor, the start of a functional model.

    Args:
        shape: Shape tuple without the batch dimension (``(32,)`` for vectors of 32 values).
        batch_size: Optional fixed batch size.
        dtype: Expected input dtype (default ``floatx()``); ``"string"`` for text fed to a
            ``StringLookup`` / ``TextVectorization`` front end as numpy arrays of ``str``.
        sparse: Whether the input is sparse.
        batch_shape: Shape including the batch dimension, e.g. ``(10, 32)`` or ``(None, 32)``.
        name: Optional name, unique within a model.
        tensor: Optional existing ``KerasTensor`` to wrap.
        optional: Whether the input may be ``None``.

    Returns:
        A ``KerasTensor``.

    Example:

    >>> x = Input(shape=(32,))
    >>> y = lamina.layers.Dense(16, activation="softmax")(x)
    >>> model = lamina.Model(x, y)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        input_tensor=tensor,
        optional=optional,
    )
    return layer._input_tensor
