"""The argument set that Keras's recurrent layers and cells share, read and written in one place.

Every recurrent class takes an initializer, a regularizer and a constraint for each of its three
weights (``kernel``, ``recurrent_kernel``, ``bias``), most take dropout rates and a seed, and a
layer hands these on to its cell. The public constructors keep their explicit Keras signatures;
these helpers resolve, validate, serialize and build from them, and pass a constructor's
arguments on (``arguments_for(Cell.__init__, locals())``) without restating the list.
"""

import functools
import inspect
import numbers

import torch

from lamina import constraints, initializers, regularizers
from lamina.saving import serialization_lib

# Prefixes of the weight options: `kernel_*`, `recurrent_*` (the recurrent kernel) and `bias_*`.
_WEIGHTS = ("kernel", "recurrent", "bias")
_KINDS = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}


@functools.lru_cache(maxsize=None)
def _parameter_names(function):
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(
        name
        for name, p in inspect.signature(function).parameters.items()
        if name != "self" and p.kind in kinds
    )


def arguments_for(function, arguments):
    """The entries of ``arguments`` (a constructor's ``locals()``) that ``function`` names.

    ``self`` and ``**kwargs`` are left out: the caller passes its ``kwargs`` itself.
    """
    return {name: arguments[name] for name in _parameter_names(function) if name in arguments}


def set_weight_options(obj, arguments):
    """Resolve ``{kernel,recurrent,bias}_{initializer,regularizer,constraint}`` onto ``obj``."""
    for kind, module in _KINDS.items():
        for weight in _WEIGHTS:
            key = f"{weight}_{kind}"
            setattr(obj, key, module.get(arguments[key]))


def weight_options_config(obj, kinds=tuple(_KINDS)):
    """The serialized weight options of ``obj`` for ``kinds``, in Keras's config order."""
    s = serialization_lib.serialize_keras_object
    return {
        f"{weight}_{kind}": s(getattr(obj, f"{weight}_{kind}")) for kind in kinds for weight in _WEIGHTS
    }


def add_recurrent_weights(layer, kernel_shape, recurrent_shape, bias_shape=None, bias_initializer=None):
    """Create ``kernel``, ``recurrent_kernel`` and (when ``bias_shape`` is given) ``bias``, in that order."""
    layer.kernel = layer.add_weight(
        shape=kernel_shape,
        name="kernel",
        initializer=layer.kernel_initializer,
        regularizer=layer.kernel_regularizer,
        constraint=layer.kernel_constraint,
    )
    layer.recurrent_kernel = layer.add_weight(
        shape=recurrent_shape,
        name="recurrent_kernel",
        initializer=layer.recurrent_initializer,
        regularizer=layer.recurrent_regularizer,
        constraint=layer.recurrent_constraint,
    )
    layer.bias = None
    if bias_shape is not None:
        layer.bias = layer.add_weight(
            shape=bias_shape,
            name="bias",
            initializer=bias_initializer or layer.bias_initializer,
            regularizer=layer.bias_regularizer,
            constraint=layer.bias_constraint,
        )


def forget_bias_initializer(base, units, forget_block, blocks):
    """A bias initializer: ``base`` for every gate block but ``forget_block`` (of ``blocks``
    blocks of ``units``), which starts at one (``unit_forget_bias``, Jozefowicz et al. 2015)."""

    def init(shape, dtype=None):
        return torch.cat(
            [
                torch.as_tensor(base((forget_block * units,), dtype=dtype)),
                torch.as_tensor(initializers.get("ones")((units,), dtype=dtype)),
                torch.as_tensor(base(((blocks - forget_block - 1) * units,), dtype=dtype)),
            ]
        )

    return init


def validate_units(units):
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
        raise ValueError(
            "Received an invalid value for argument `units`, expected a positive integer, "
            f"got {units!r}."
        )
    return int(units)


def _check_real(rate, name):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise ValueError(f"Argument `{name}` must be a float in [0, 1]. Received: {name}={rate!r}")


def clip_rate(rate, name):
    """A dropout rate as the LSTM/GRU/SimpleRNN cells take it: out-of-range values are clipped."""
    _check_real(rate, name)
    # Keras clips out-of-range rates rather than rejecting them.
    return min(1.0, max(0.0, float(rate)))


def check_rate(rate, name):
    """A dropout rate as ConvLSTM takes it: out-of-range values are rejected."""
    _check_real(rate, name)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"Argument `{name}` must be a float in [0, 1]. Received: {name}={rate!r}")
    return float(rate)


def check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"Argument `seed` must be an integer or None. Received: seed={seed!r}")
    return seed


def cell_property(name):
    """A layer attribute that reads the argument ``name`` from the layer's cell (as in Keras)."""
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")
