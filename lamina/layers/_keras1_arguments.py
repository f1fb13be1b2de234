"""Keras 1 argument names, as Keras 2.0-2.2 still accepted them.

Keras 2 kept old scripts running: ``Convolution2D(32, 3, 3, border_mode="same", init="he_normal")``
was rewritten to ``Conv2D(32, (3, 3), padding="same", kernel_initializer="he_normal")`` with a
``UserWarning`` that showed the new call. Lamina does the same for the layers Keras 2 did it for.

The tables below say, per layer class, which old keywords become which new ones, which old values
map to new values, and which positional forms change (Keras 1 gave kernel sizes as separate
integers). ``install`` wraps the listed classes' ``__init__``: the conversion costs only at
construction; calling a layer never passes through it.
"""

import functools
import warnings

import numpy as np

_DATA_FORMATS = {"tf": "channels_last", "th": "channels_first", "default": None}

_WEIGHT_RENAMES = (
    ("init", "kernel_initializer"),
    ("W_regularizer", "kernel_regularizer"),
    ("b_regularizer", "bias_regularizer"),
    ("W_constraint", "kernel_constraint"),
    ("b_constraint", "bias_constraint"),
    ("bias", "use_bias"),
)
_CONV_RENAMES = (
    ("nb_filter", "filters"),
    ("subsample", "strides"),
    ("border_mode", "padding"),
    ("dim_ordering", "data_format"),
) + _WEIGHT_RENAMES
_POOLING_RENAMES = (("border_mode", "padding"), ("dim_ordering", "data_format"))
_DATA_FORMAT_RENAMES = (("dim_ordering", "data_format"),)


class _Keras1Arguments:
    """How one layer class's Keras 1 arguments become Keras 2 ones.

    Args:
        renames: ``(old, new)`` keyword pairs.
        values: ``{old keyword: {old value: new value}}``, applied before renaming.
        preprocess: ``f(args, kwargs) -> (args, kwargs, converted)`` for the forms a rename cannot
            express (positional kernel sizes, dropped arguments); ``converted`` lists ``(new, old)``
            pairs that make the call worth a warning.
    """

    def __init__(self, renames=(), values=None, preprocess=None):
        self.renames = tuple(renames)
        self.values = values or {}
        self.preprocess = preprocess
        self.old_names = frozenset(old for old, _ in self.renames)


def _format_value(value):
    # Keras 2's rendering: strings quoted, arrays named, anything long cut at 10 characters.
    if isinstance(value, str):
        return f'"{value}"'
    text = "array" if isinstance(value, np.ndarray) else str(value)
    return text[:10] + "..." if len(text) > 10 else text


def _new_call(name, args, kwargs):
    parts = [_format_value(v) for v in args] + [f"{k}={_format_value(v)}" for k, v in kwargs.items()]
    return f"`{name}({', '.join(parts)})`"


def convert(name, spec, args, kwargs):
    """Rewrite a Keras 1 call of layer ``name`` to its Keras 2 form (warning when anything changed).

    Returns:
        The new ``(args, kwargs)``.

    Raises:
        TypeError: An argument came under both its Keras 1 and its Keras 2 name, or a Keras 1
            value that Keras 2 refused.
    """
    converted = []
    if spec.preprocess is not None:
        args, kwargs, converted = spec.preprocess(tuple(args), dict(kwargs))
    if not converted and spec.old_names.isdisjoint(kwargs):
        return args, kwargs
    new_kwargs = {}
    renamed = dict(spec.renames)
    for key, value in kwargs.items():
        if key in spec.values and isinstance(value, str) and value in spec.values[key]:
            value = spec.values[key][value]
        new = renamed.get(key)
        if new is None:
            new_kwargs[key] = value
            continue
        if new in kwargs or new in new_kwargs:
            _raise_duplicate(key, new)
        new_kwargs[new] = value
        converted.append((new, key))
    if converted:
        warnings.warn(
            f"Update your `{name}` call to the Keras 2 API: {_new_call(name, args, new_kwargs)}",
            UserWarning,
            stacklevel=3,
        )
    return args, new_kwargs


def _raise_duplicate(old, new):
    raise TypeError(
        f"For the `{new}` argument, the layer received both the legacy keyword argument `{old}` "
        f"and the Keras 2 keyword argument `{new}`. Stick to the latter!"
    )


# --- forms a rename cannot express ---------------------------------------------------------------


def _input_dim_to_shape(args, kwargs, converted, warn=False):
    # Keras 1 gave sequence layers `input_dim` (and `input_length`); Keras 2 wants `input_shape`.
    if "input_dim" in kwargs:
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        converted.append(("input_shape", "input_dim"))
        if warn:
            warnings.warn(
                "The `input_dim` and `input_length` arguments in recurrent layers are deprecated. "
                "Use `input_shape` instead.",
                UserWarning,
                stacklevel=5,
            )
    return args, kwargs, converted


def _conv1d(args, kwargs):
    return _input_dim_to_shape(args, kwargs, [])


def _kernel_size(args, kwargs, dims):
    """Fold Keras 1's separate kernel extents (``nb_row, nb_col`` or ``kernel_dim1..3``, positional
    or keyword) into one ``kernel_size`` tuple, as Keras 2 did."""
    rank = len(dims)
    converted = []
    extents = list(args[1 : 1 + rank])
    if (
        len(args) == 1 + rank
        and all(isinstance(x, int) for x in extents)
        # With Keras 2 keywords present the call is Keras 2's `(filters, kernel_size, strides)`.
        and not {"padding", "strides", "data_format"} & set(kwargs)
    ):
        return (args[0], tuple(extents)), kwargs, [("kernel_size", "/".join(dims))]
    if 1 <= len(args) <= rank and all(isinstance(x, int) for x in args[1:]):
        missing = dims[len(args) - 1 :]
        if all(d in kwargs for d in missing):
            extents = list(args[1:]) + [kwargs.pop(d) for d in missing]
            args = (args[0], tuple(extents))
            converted.append(("kernel_size", "/".join(dims)))
    elif not args and all(d in kwargs for d in dims):
        kwargs["kernel_size"] = tuple(kwargs.pop(d) for d in dims)
        converted.append(("kernel_size", "/".join(dims)))
    return args, kwargs, converted


def _conv2d(args, kwargs):
    return _kernel_size(args, kwargs, ("nb_row", "nb_col"))


def _conv3d(args, kwargs):
    return _kernel_size(args, kwargs, ("kernel_dim1", "kernel_dim2", "kernel_dim3"))


def _deconv2d(args, kwargs):
    # Keras 1's Deconvolution2D needed the output shape; Keras 2 computes it, so it is dropped.
    converted = []
    if len(args) == 4 and isinstance(args[3], tuple):
        args = args[:3]
        converted.append(("output_shape", None))
    if "output_shape" in kwargs:
        kwargs.pop("output_shape")
        converted.append(("output_shape", None))
    args, kwargs, more = _conv2d(args, kwargs)
    return args, kwargs, converted + more


def _separable_conv2d(args, kwargs):
    converted = []
    if "init" in kwargs:
        kwargs["depthwise_initializer"] = kwargs["pointwise_initializer"] = kwargs.pop("init")
        converted.append(("depthwise_initializer/pointwise_initializer", "init"))
    args, kwargs, more = _conv2d(args, kwargs)
    return args, kwargs, converted + more


def _forget_bias(kwargs, converted):
    if "forget_bias_init" in kwargs:
        if kwargs.pop("forget_bias_init") == "one":
            kwargs["unit_forget_bias"] = True
            converted.append(("unit_forget_bias", "forget_bias_init"))
        else:
            warnings.warn(
                "The `forget_bias_init` argument has been ignored. Use `unit_forget_bias=True` "
                "instead to initialize with ones.",
                UserWarning,
                stacklevel=5,
            )


def _recurrent(args, kwargs):
    converted = []
    _forget_bias(kwargs, converted)
    return _input_dim_to_shape(args, kwargs, converted, warn=True)


def _simple_rnn(args, kwargs):
    # SimpleRNN has a single kernel, so Keras 2 had nothing for `implementation` to choose.
    for name in ("consume_less", "implementation"):
        if name in kwargs:
            kwargs.pop(name)
            warnings.warn(
                f"The `{name}` argument in `SimpleRNN` has been deprecated. Please remove it from "
                "your layer call.",
                UserWarning,
                stacklevel=4,
            )
    return _recurrent(args, kwargs)


def _conv_lstm2d(args, kwargs):
    converted = []
    _forget_bias(kwargs, converted)
    args, kwargs, more = _conv2d(args, kwargs)
    return args, kwargs, converted + more


def _batch_normalization(args, kwargs):
    converted = []
    if "mode" in kwargs:
        if kwargs.pop("mode") != 0:
            raise TypeError(
                "The `mode` argument of `BatchNormalization` no longer exists. `mode=1` and "
                "`mode=2` are no longer supported."
            )
        converted.append(("mode", None))
    return args, kwargs, converted


def _embedding(args, kwargs):
    if "dropout" in kwargs:
        kwargs.pop("dropout")
        warnings.warn(
            "The `dropout` argument is no longer support in `Embedding`. You can apply a "
            "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get the "
            "same behavior.",
            UserWarning,
            stacklevel=4,
        )
    return args, kwargs, []


def _pad_dict(padding):
    if isinstance(padding, dict) and set(padding) <= {"top_pad", "bottom_pad", "left_pad", "right_pad"}:
        warnings.warn(
            "The `padding` argument in the Keras 2 API no longer accepts dict types. You can now "
            "input argument as: `padding=((top_pad, bottom_pad), (left_pad, right_pad))`.",
            UserWarning,
            stacklevel=5,
        )
        get = lambda key: padding.get(key, 0)  # noqa: E731
        return (get("top_pad"), get("bottom_pad")), (get("left_pad"), get("right_pad"))
    return padding


def _zero_padding2d(args, kwargs):
    if "padding" in kwargs:
        kwargs["padding"] = _pad_dict(kwargs["padding"])
    elif args:
        args = (_pad_dict(args[0]),) + tuple(args[1:])
    return args, kwargs, []


_CONV2D = dict(renames=_CONV_RENAMES, values={"dim_ordering": _DATA_FORMATS})

# Class name -> conversion, for the classes Keras 2's legacy interfaces covered.
KERAS1_ARGUMENTS = {
    "Dense": _Keras1Arguments((("output_dim", "units"),) + _WEIGHT_RENAMES),
    "Dropout": _Keras1Arguments((("p", "rate"),)),
    "Embedding": _Keras1Arguments(
        (
            ("init", "embeddings_initializer"),
            ("W_regularizer", "embeddings_regularizer"),
            ("W_constraint", "embeddings_constraint"),
        ),
        preprocess=_embedding,
    ),
    "PReLU": _Keras1Arguments((("init", "alpha_initializer"),)),
    "GaussianNoise": _Keras1Arguments((("sigma", "stddev"),)),
    "GaussianDropout": _Keras1Arguments((("p", "rate"),)),
    "SpatialDropout1D": _Keras1Arguments((("p", "rate"),)),
    "BatchNormalization": _Keras1Arguments(
        (("beta_init", "beta_initializer"), ("gamma_init", "gamma_initializer")),
        preprocess=_batch_normalization,
    ),
    "Conv1D": _Keras1Arguments(
        (
            ("nb_filter", "filters"),
            ("filter_length", "kernel_size"),
            ("subsample_length", "strides"),
            ("border_mode", "padding"),
        )
        + _WEIGHT_RENAMES,
        preprocess=_conv1d,
    ),
    "Conv2D": _Keras1Arguments(**_CONV2D, preprocess=_conv2d),
    "Conv3D": _Keras1Arguments(**_CONV2D, preprocess=_conv3d),
    "Conv2DTranspose": _Keras1Arguments(**_CONV2D, preprocess=_deconv2d),
    "SeparableConv2D": _Keras1Arguments(
        tuple(pair for pair in _CONV_RENAMES if pair[0] not in ("init", "W_regularizer", "W_constraint")),
        values={"dim_ordering": _DATA_FORMATS},
        preprocess=_separable_conv2d,
    ),
    "ConvLSTM2D": _Keras1Arguments(
        _CONV_RENAMES[:5]
        + (
            ("inner_init", "recurrent_initializer"),
            ("W_regularizer", "kernel_regularizer"),
            ("U_regularizer", "recurrent_regularizer"),
            ("b_regularizer", "bias_regularizer"),
            ("inner_activation", "recurrent_activation"),
            ("dropout_W", "dropout"),
            ("dropout_U", "recurrent_dropout"),
            ("bias", "use_bias"),
        ),
        values={"dim_ordering": _DATA_FORMATS},
        preprocess=_conv_lstm2d,
    ),
    "UpSampling1D": _Keras1Arguments((("length", "size"),)),
    "InputLayer": _Keras1Arguments((("input_dtype", "dtype"),)),
    "ZeroPadding2D": _Keras1Arguments(
        _DATA_FORMAT_RENAMES, values={"dim_ordering": _DATA_FORMATS}, preprocess=_zero_padding2d
    ),
}
for _name in ("MaxPooling1D", "AveragePooling1D"):
    KERAS1_ARGUMENTS[_name] = _Keras1Arguments(
        (("pool_length", "pool_size"), ("stride", "strides"), ("border_mode", "padding"))
    )
for _name in ("MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D"):
    KERAS1_ARGUMENTS[_name] = _Keras1Arguments(_POOLING_RENAMES, values={"dim_ordering": _DATA_FORMATS})
for _name in (
    "GlobalMaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling3D",
    "UpSampling2D", "UpSampling3D", "ZeroPadding3D", "Cropping2D", "Cropping3D",
):
    KERAS1_ARGUMENTS[_name] = _Keras1Arguments(_DATA_FORMAT_RENAMES, values={"dim_ordering": _DATA_FORMATS})
for _name in ("SpatialDropout2D", "SpatialDropout3D"):
    KERAS1_ARGUMENTS[_name] = _Keras1Arguments(
        (("p", "rate"),) + _DATA_FORMAT_RENAMES, values={"dim_ordering": _DATA_FORMATS}
    )
for _name in ("SimpleRNN", "GRU", "LSTM"):
    KERAS1_ARGUMENTS[_name] = _Keras1Arguments(
        (
            ("output_dim", "units"),
            ("init", "kernel_initializer"),
            ("inner_init", "recurrent_initializer"),
            ("inner_activation", "recurrent_activation"),
            ("W_regularizer", "kernel_regularizer"),
            ("b_regularizer", "bias_regularizer"),
            ("U_regularizer", "recurrent_regularizer"),
            ("dropout_W", "dropout"),
            ("dropout_U", "recurrent_dropout"),
            ("consume_less", "implementation"),
        ),
        values={"consume_less": {"cpu": 0, "mem": 1, "gpu": 2}},
        preprocess=_simple_rnn if _name == "SimpleRNN" else _recurrent,
    )


def _accepting_keras1_arguments(init, spec):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        args, kwargs = convert(type(self).__name__, spec, args, kwargs)
        init(self, *args, **kwargs)

    __init__._keras1_arguments = spec
    return __init__


# Keras 2's `add_weight(name, shape, dtype, initializer, regularizer, trainable, constraint)`; Keras 3
# puts `shape` first. A string first argument can only be a name, so the two orders never collide.
_KERAS2_ADD_WEIGHT_ORDER = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")


def _accepting_keras2_add_weight_order(add_weight):
    @functools.wraps(add_weight)
    def run(self, *args, **kwargs):
        if args and isinstance(args[0], str):
            if len(args) > len(_KERAS2_ADD_WEIGHT_ORDER):
                raise TypeError(
                    f"`add_weight` takes at most {len(_KERAS2_ADD_WEIGHT_ORDER)} positional arguments "
                    f"{_KERAS2_ADD_WEIGHT_ORDER} in Keras 2's order; received {len(args)}."
                )
            for key, value in zip(_KERAS2_ADD_WEIGHT_ORDER, args):
                if key in kwargs:
                    raise TypeError(f"`add_weight` received `{key}` both by position and by keyword.")
                kwargs[key] = value
            args = ()
        return add_weight(self, *args, **kwargs)

    run._keras2_order = True
    return run


def install(namespace):
    """Make the classes named in ``KERAS1_ARGUMENTS`` (found in ``namespace``, a module) accept
    Keras 1 arguments, and ``Layer.add_weight`` Keras 2's positional order. Installing twice
    changes nothing."""
    layer = namespace.Layer
    if not getattr(layer.add_weight, "_keras2_order", False):
        layer.add_weight = _accepting_keras2_add_weight_order(layer.add_weight)
    for name, spec in KERAS1_ARGUMENTS.items():
        cls = getattr(namespace, name)
        if getattr(cls.__dict__.get("__init__"), "_keras1_arguments", None) is None:
            cls.__init__ = _accepting_keras1_arguments(cls.__init__, spec)
