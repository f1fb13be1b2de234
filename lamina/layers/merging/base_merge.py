"""``Merge``: the base of the layers that combine a list of tensors (Add, Concatenate, Dot, ...)."""

import numbers

import torch

from lamina.layers.layer import Layer


def _check_list_of_shapes(input_shape, layer_name, class_name):
    if not isinstance(input_shape, (list, tuple)) or not all(
        isinstance(s, (list, tuple)) and all(d is None or isinstance(d, numbers.Integral) for d in s)
        for s in input_shape
    ):
        raise ValueError(
            f"A merge layer ({class_name} '{layer_name}') should be called on a list of inputs. "
            f"Received: input_shape={input_shape} (not a list of shapes)"
        )
    if not input_shape:
        raise ValueError(
            f"A merge layer ({class_name} '{layer_name}') should be called on a list of at least "
            "1 input. Received an empty list."
        )
    return [tuple(None if d is None else int(d) for d in s) for s in input_shape]


def _check_batch_sizes(shapes, layer_name):
    batch_sizes = {s[0] for s in shapes if s} - {None}
    if len(batch_sizes) > 1:
        raise ValueError(
            f"Layer '{layer_name}' cannot merge tensors with different batch sizes. Received "
            f"tensors with shapes {shapes}"
        )


def _broadcast_pair(shape1, shape2, layer_name):
    """Broadcast two non-batch shapes, aligned on their last axes (the shorter gets leading 1s)."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    head, tail = shape1[: len(shape1) - len(shape2)], shape1[len(shape1) - len(shape2) :]
    out = list(head)
    for i, j in zip(tail, shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(
                f"Layer '{layer_name}': inputs have incompatible shapes. Received shapes "
                f"{tuple(shape1)} and {tuple(shape2)} (batch axis excluded)"
            )
    return tuple(out)


def _elementwise_output_shape(shapes, layer_name):
    out = shapes[0][1:]
    for shape in shapes[1:]:
        out = _broadcast_pair(out, shape[1:], layer_name)
    batch_sizes = {s[0] for s in shapes if s} - {None}
    batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
    return (batch,) + tuple(out)


def _expand_mask(mask, x):
    """A ``(batch, ...)`` mask with trailing size-1 axes so it broadcasts against ``x``."""
    if mask.dtype != torch.bool:
        mask = mask.bool()
    while mask.dim() < x.dim():
        mask = mask.unsqueeze(-1)
    return mask


def _lift_rank(x, rank):
    """Insert size-1 axes right after the batch axis until ``x`` has ``rank`` axes."""
    missing = rank - x.dim()
    if missing <= 0:
        return x
    return x.reshape(tuple(x.shape[:1]) + (1,) * missing + tuple(x.shape[1:]))


class Merge(Layer):
    """Base class of elementwise merge layers.

    Subclasses implement ``_merge_function(inputs, masks)``: ``inputs`` is the list of tensors
    (all of the same rank once the base lifted lower-rank inputs with size-1 axes after the batch
    axis), ``masks`` the matching list of boolean masks or ``None``s. Inputs broadcast against each
    other as numpy arrays do, after that lift.

    The output mask is the OR of the input masks when every input has one, ``None`` otherwise.

    Args:
        **kwargs: Base layer keyword arguments, such as ``name`` and ``dtype``.
    """

    # Whether inputs of lower rank are lifted (Concatenate and Dot need equal or exact ranks).
    _lift_ranks = True
    # Exact number of inputs the layer takes (None: any number >= 1).
    _num_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _validate_shapes(self, input_shape, check_batch=True):
        shapes = _check_list_of_shapes(input_shape, self.name, type(self).__name__)
        if self._num_inputs is not None and len(shapes) != self._num_inputs:
            raise ValueError(
                f"A `{type(self).__name__}` layer should be called on exactly {self._num_inputs} "
                f"inputs. Received: input_shape={shapes}"
            )
        if check_batch:
            _check_batch_sizes(shapes, self.name)
        return shapes

    def build(self, input_shape):
        shapes = self._validate_shapes(input_shape)
        _elementwise_output_shape(shapes, self.name)
        self.built = True

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A merge layer ({type(self).__name__} '{self.name}') should be called on a list "
                f"of inputs. Received a single tensor of shape {tuple(inputs.shape)}"
            )
        if self._num_inputs is not None and len(inputs) != self._num_inputs:
            raise ValueError(
                f"A `{type(self).__name__}` layer should be called on exactly {self._num_inputs} "
                f"inputs. Received {len(inputs)} inputs."
            )
        inputs = list(inputs)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        if self._lift_ranks:
            rank = max(x.dim() for x in inputs)
            if any(x.dim() != rank for x in inputs):
                inputs = [_lift_rank(x, rank) for x in inputs]
                # As in Keras, the lifted tensors no longer carry their masks.
                masks = [None] * len(inputs)
        return self._merge_function(inputs, masks)

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        shapes = _check_list_of_shapes(input_shape, self.name, type(self).__name__)
        return _elementwise_output_shape(shapes, self.name)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{self.name}' expects lists of inputs and masks. Received: "
                f"mask={mask!r}"
            )
        if len(mask) != len(inputs):
            raise ValueError(
                f"Layer '{self.name}': the lists `inputs` and `mask` should have the same length. "
                f"Received {len(inputs)} inputs and {len(mask)} masks."
            )
        if any(m is None for m in mask):
            return None
        output_mask = mask[0]
        for m in mask[1:]:
            output_mask = torch.logical_or(output_mask, m)
        return output_mask


def _masked_reduce(op, inputs, masks):
    """Fold ``op`` over ``inputs`` ignoring masked-out entries (Maximum and Minimum).

    An entry that is masked out in one operand takes the other operand's value, so it cannot
    win the comparison; this mirrors Keras's order of operations exactly.
    """
    if all(m is None for m in masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = op(output, x)
        return output
    output = output_mask = None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = _expand_mask(m, x)
        if output is None:
            output, output_mask = x, m
            continue
        if m is not None:
            x = torch.where(m, x, output)
        if output_mask is not None:
            output = torch.where(output_mask, output, x)
        if m is not None and output_mask is not None:
            output_mask = torch.logical_or(output_mask, m)
        else:
            output_mask = None
        output = op(output, x)
    return output
