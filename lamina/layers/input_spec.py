"""``InputSpec``: what a layer accepts (rank, dtype, fixed axes), checked at call time."""

from lamina.backend.dtypes import standardize_dtype
from lamina.utils import tree


class InputSpec:
    """Constraints on a layer input.

    Args:
        dtype: Expected dtype name, or ``None``.
        shape: Expected full shape (``None`` entries are free), or ``None``.
        ndim: Expected rank, or ``None``.
        max_ndim: Largest accepted rank.
        min_ndim: Smallest accepted rank.
        axes: Dict mapping axis index (negative allowed) to the required size.
        allow_last_axis_squeeze: Accept a rank one lower/higher when the last axis has size 1.
        name: Name of the input, for multi-input layers given dicts.
    """

    def __init__(
        self,
        dtype=None,
        shape=None,
        ndim=None,
        max_ndim=None,
        min_ndim=None,
        axes=None,
        allow_last_axis_squeeze=False,
        name=None,
        optional=False,
    ):
        self.dtype = standardize_dtype(dtype) if dtype is not None else None
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            top = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > top:
                raise ValueError(f"Axis {max(self.axes)} is out of range for a rank-{top + 1} input spec.")

    def __repr__(self):
        parts = [
            f"{k}={v}"
            for k, v in (
                ("dtype", self.dtype),
                ("shape", self.shape),
                ("ndim", self.ndim),
                ("max_ndim", self.max_ndim),
                ("min_ndim", self.min_ndim),
                ("axes", self.axes),
            )
            if v
        ]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _shape_and_dtype(x):
    shape = tuple(x.shape)
    dtype = x.dtype if isinstance(x.dtype, str) else standardize_dtype(x.dtype)
    return shape, dtype


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raise ``ValueError`` naming the layer when ``inputs`` break ``input_spec``."""
    if not input_spec:
        return
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    if isinstance(inputs, dict) and any(s.name for s in specs if s is not None):
        flat = [inputs.get(s.name) if s is not None else None for s in specs]
    else:
        flat = tree.flatten(inputs)
    if len(flat) != len(specs):
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it received {len(flat)} '
            f"input tensors."
        )
    for index, (x, spec) in enumerate(zip(flat, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f'Input {index} of layer "{layer_name}" is not a tensor: {x!r}.')
        shape, dtype = _shape_and_dtype(x)
        rank = len(shape)
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer'
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(
                f"{where}: expected ndim={spec.ndim}, found ndim={rank}. Full shape received: {shape}"
            )
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{where}: expected max_ndim={spec.max_ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{where}: expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        if spec.dtype is not None and dtype != spec.dtype:
            raise ValueError(f"{where}: expected dtype={spec.dtype}, found dtype={dtype}.")
        for axis, size in spec.axes.items():
            if size is None:
                continue
            if axis >= rank or axis < -rank:
                raise ValueError(f"{where}: expected axis {axis} to exist. Full shape received: {shape}")
            found = shape[axis]
            if found is not None and found != size:
                raise ValueError(
                    f"{where}: expected axis {axis} of input shape to have value {size}, but "
                    f"received input with shape {shape}"
                )
        if spec.shape is not None and rank == len(spec.shape):
            for expected, found in zip(spec.shape, shape):
                if expected is not None and found is not None and expected != found:
                    raise ValueError(
                        f"{where}: expected shape={spec.shape}, found shape={shape}"
                    )


def last_axis_adjustment(received_shape, expected_shape):
    """How a model input of rank one off is made to fit, as Keras does for model inputs.

    Returns ``-1`` when the data has one trailing axis of size 1 too many (squeeze it), ``1`` when
    the ``Input`` ends in a size-1 axis the data lacks (add it), ``0`` otherwise.
    """
    got, want = len(received_shape), len(expected_shape)
    if got == want + 1 and received_shape[-1] == 1:
        return -1
    if got == want - 1 and expected_shape[-1] == 1:
        return 1
    return 0
