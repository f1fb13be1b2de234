"""LocallyConnected1D / LocallyConnected2D (Keras 2 layers; Keras 3 has no oracle for them).

The references below restate the Keras 2 definitions with plain loops over output positions:
implementation 1 slices each patch and multiplies it by that position's matrix; implementations
2 and 3 are a masked dense matrix and a sorted list of connections.
"""

import itertools

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.locally_connected import LocallyConnected1D, LocallyConnected2D

_CLASSES = {1: LocallyConnected1D, 2: LocallyConnected2D}


def _out_sizes(in_sizes, kernel_size, strides, padding):
    if padding == "same":
        return tuple(-(-n // s) for n, s in zip(in_sizes, strides))
    return tuple((n - k) // s + 1 for n, k, s in zip(in_sizes, kernel_size, strides))


def _connected_inputs(in_sizes, kernel_size, strides, padding, position):
    ranges = []
    for n, k, s, p in zip(in_sizes, kernel_size, strides, position):
        centre = p * s + (k // 2 if padding == "valid" else 0)
        ranges.append(range(max(0, centre - k // 2), min(n, centre + k - k // 2)))
    return ranges


def _finish(out, bias, data_format, activation):
    if bias is not None:
        if data_format == "channels_last":
            out = out + bias
        else:
            # Keras 2 bias_add: the (*out, filters) bias is reshaped (not transposed).
            out = out + bias.reshape((out.shape[1],) + out.shape[2:])
    return activation(out)


def _reference_impl1(x, kernel, bias, kernel_size, strides, data_format, activation=lambda v: v):
    batch, rank = x.shape[0], len(kernel_size)
    spatial = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
    out_sizes = _out_sizes(spatial, kernel_size, strides, "valid")
    results = []
    for i, position in enumerate(itertools.product(*[range(o) for o in out_sizes])):
        index = [slice(None)] + ([slice(None)] if data_format == "channels_first" else [])
        index += [slice(p * s, p * s + k) for p, s, k in zip(position, strides, kernel_size)]
        patch = x[tuple(index)].reshape(batch, -1)
        results.append(patch @ kernel[i])
    out = np.stack(results).reshape(*out_sizes, batch, -1)
    if data_format == "channels_last":
        out = np.moveaxis(out, rank, 0)
    else:
        out = np.transpose(out, (rank, rank + 1, *range(rank)))
    return _finish(out, bias, data_format, activation)


def _connections(in_sizes, channels, kernel_size, strides, padding, filters, data_format):
    """Sorted (output_index, input_index) pairs, flattened in the data format's order."""
    out_sizes = _out_sizes(in_sizes, kernel_size, strides, padding)
    last = data_format == "channels_last"
    out_dims = (*out_sizes, filters) if last else (filters, *out_sizes)
    in_dims = (*in_sizes, channels) if last else (channels, *in_sizes)
    pairs = []
    for out_pos in itertools.product(*[range(o) for o in out_sizes]):
        ranges = _connected_inputs(in_sizes, kernel_size, strides, padding, out_pos)
        for in_pos in itertools.product(*ranges):
            for c in range(channels):
                for f in range(filters):
                    o = np.ravel_multi_index((*out_pos, f) if last else (f, *out_pos), out_dims)
                    i = np.ravel_multi_index((*in_pos, c) if last else (c, *in_pos), in_dims)
                    pairs.append((o, i))
    return sorted(pairs), out_sizes


def _reference_sparse(x, kernel, bias, kernel_size, strides, padding, filters, data_format, impl):
    last = data_format == "channels_last"
    in_sizes = x.shape[1:-1] if last else x.shape[2:]
    channels = x.shape[-1] if last else x.shape[1]
    pairs, out_sizes = _connections(
        in_sizes, channels, kernel_size, strides, padding, filters, data_format
    )
    in_size = x[0].size
    matrix = np.zeros((int(np.prod(out_sizes)) * filters, in_size), "float32")
    if impl == 3:
        for value, (o, i) in zip(kernel, pairs):
            matrix[o, i] = value
    else:
        # Layout 2 is the dense (input..., output...) matrix; only connected entries count.
        dense = kernel.reshape(in_size, -1).T
        for o, i in pairs:
            matrix[o, i] = dense[o, i]
    out = (x.reshape(x.shape[0], -1) @ matrix.T).reshape(
        (x.shape[0], *out_sizes, filters) if last else (x.shape[0], filters, *out_sizes)
    )
    return _finish(out, bias, data_format, lambda v: v)


def _input(rng, rank, data_format, spatial, channels=3):
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    return rng.standard_normal(shape).astype("float32")


def _randomize(layer, rng):
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    return layer.get_weights()


# rank -> (spatial shape, kernel_size, strides)
_GEOMETRY = {1: ((7,), (3,), (2,)), 2: ((5, 6), (3, 2), (2, 1))}


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_implementation_1_matches_loop_reference(rng, rank, data_format, use_bias):
    spatial, kernel_size, strides = _GEOMETRY[rank]
    layer = _CLASSES[rank](
        4, kernel_size, strides, data_format=data_format, use_bias=use_bias, activation="relu"
    )
    x = _input(rng, rank, data_format, spatial)
    layer(x)
    weights = _randomize(layer, rng)
    bias = weights[1] if use_bias else None
    expected = _reference_impl1(
        x, weights[0], bias, kernel_size, strides, data_format, lambda v: np.maximum(v, 0)
    )
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("implementation", [2, 3])
def test_implementations_2_and_3_match_keras2_definitions(
    rng, rank, data_format, padding, implementation
):
    spatial, kernel_size, strides = _GEOMETRY[rank]
    layer = _CLASSES[rank](
        2, kernel_size, strides=strides, padding=padding, data_format=data_format,
        implementation=implementation,
    )
    x = _input(rng, rank, data_format, spatial, channels=2)
    layer(x)
    kernel, bias = _randomize(layer, rng)
    expected = _reference_sparse(
        x, kernel, bias, kernel_size, strides, padding, 2, data_format, implementation
    )
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_the_three_implementations_agree(rng, rank, data_format):
    spatial, ks, st = _GEOMETRY[rank]
    x = _input(rng, rank, data_format, spatial)
    made = {}
    for implementation in (1, 2, 3):
        made[implementation] = _CLASSES[rank](
            3, ks, st, data_format=data_format, implementation=implementation
        )
        made[implementation](x)
    kernel1, bias = _randomize(made[1], rng)
    # Move every weight of layout 1 to its place in layouts 2 and 3.
    last = data_format == "channels_last"
    in_sizes, channels = (x.shape[1:-1], x.shape[-1]) if last else (x.shape[2:], x.shape[1])
    pairs, out_sizes = _connections(in_sizes, channels, ks, st, "valid", 3, data_format)
    rank_of = {pair: n for n, pair in enumerate(pairs)}
    kernel2 = np.zeros(made[2].get_weights()[0].shape, "float32")
    kernel3 = np.zeros(len(pairs), "float32")
    out_dims = (*out_sizes, 3) if last else (3, *out_sizes)
    in_dims = (*in_sizes, channels) if last else (channels, *in_sizes)
    for p, out_pos in enumerate(itertools.product(*[range(o) for o in out_sizes])):
        window = itertools.product(*[range(k) for k in ks])
        features = [(*w, c) for w in window for c in range(channels)] if last else [
            (c, *w) for c in range(channels) for w in itertools.product(*[range(k) for k in ks])
        ]
        for k, feature in enumerate(features):
            offsets, c = (feature[:-1], feature[-1]) if last else (feature[1:], feature[0])
            in_pos = tuple(o * s + d for o, s, d in zip(out_pos, st, offsets))
            for f in range(3):
                value = kernel1[p, k, f]
                if last:
                    kernel2[(*in_pos, c, *out_pos, f)] = value
                else:
                    kernel2[(c, *in_pos, f, *out_pos)] = value
                o = np.ravel_multi_index((*out_pos, f) if last else (f, *out_pos), out_dims)
                i = np.ravel_multi_index((*in_pos, c) if last else (c, *in_pos), in_dims)
                kernel3[rank_of[(o, i)]] = value
    made[2].set_weights([kernel2, bias])
    made[3].set_weights([kernel3, bias])
    expected = made[1](x).detach().numpy()
    for implementation in (2, 3):
        out = made[implementation](x).detach().numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, kernel_shape, bias_shape",
    [
        (LocallyConnected1D, dict(filters=4, kernel_size=3), (2, 7, 5), (5, 15, 4), (5, 4)),
        (
            LocallyConnected1D,
            dict(filters=4, kernel_size=3, implementation=2),
            (2, 7, 5), (7, 5, 5, 4), (5, 4),
        ),
        (
            LocallyConnected1D,
            dict(filters=4, kernel_size=3, implementation=2, data_format="channels_first"),
            (2, 5, 7), (5, 7, 4, 5), (5, 4),
        ),
        (LocallyConnected1D, dict(filters=4, kernel_size=3, implementation=3), (2, 7, 5), (300,),
         (5, 4)),
        (LocallyConnected2D, dict(filters=2, kernel_size=2, strides=2), (1, 5, 4, 3), (4, 12, 2),
         (2, 2, 2)),
        (
            LocallyConnected2D,
            dict(filters=2, kernel_size=2, implementation=2, data_format="channels_first"),
            (1, 3, 5, 4), (3, 5, 4, 2, 4, 3), (4, 3, 2),
        ),
        (
            LocallyConnected2D,
            dict(filters=2, kernel_size=3, implementation=3, padding="same"),
            (1, 3, 3, 1), (2 * (4 + 6 + 4 + 6 + 9 + 6 + 4 + 6 + 4),), (3, 3, 2),
        ),
    ],
)
def test_weight_layouts(cls, kwargs, input_shape, kernel_shape, bias_shape):
    layer = cls(**kwargs)
    out = layer(np.zeros(input_shape, "float32"))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert tuple(layer.kernel.shape) == kernel_shape
    assert tuple(layer.bias.shape) == bias_shape
    assert tuple(out.shape) == layer.compute_output_shape(input_shape)


def test_documented_examples_and_symbolic_shapes():
    model = lamina.Sequential()
    model.add(LocallyConnected1D(64, 3, input_shape=(10, 32)))
    assert model.output_shape == (None, 8, 64)
    model.add(LocallyConnected1D(32, 3))
    assert model.output_shape == (None, 6, 32)
    model = lamina.Sequential()
    model.add(LocallyConnected2D(8, (3, 3), input_shape=(12, 12, 3)))
    assert model.output_shape == (None, 10, 10, 8)
    assert model.count_params() == (10 * 10) * (3 * 3 * 3 * 8) + (10 * 10) * 8
    layer = LocallyConnected2D(5, 2, strides=(2, 3), data_format="channels_first")
    y = layer(lamina.Input((3, 7, 8)))
    assert y.shape == (None, 5, 3, 3)


def test_training_gradients_and_regularizers(rng):
    layer = LocallyConnected2D(
        2, 3, padding="same", implementation=3, kernel_regularizer="l2", bias_constraint="non_neg"
    )
    x = torch.tensor(rng.standard_normal((2, 4, 3, 2)).astype("float32"))
    out = layer(x)
    assert len(layer.losses) == 1
    (out.square().sum() + sum(layer.losses)).backward()
    assert layer.kernel.grad is not None and torch.isfinite(layer.kernel.grad).all()
    assert layer.kernel.grad.abs().min() > 0  # every stored weight is a real connection
    weights = layer.get_weights()
    layer.set_weights(weights)
    for a, b in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_config_round_trip_and_keras2_config():
    layer = LocallyConnected2D(
        3, (2, 3), strides=(1, 2), padding="SAME", data_format="channels_first", activation="tanh",
        kernel_initializer="he_normal", kernel_regularizer="l1", implementation=2, name="lc",
    )
    config = layer.get_config()
    expected_keys = {
        "name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format",
        "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint",
        "implementation",
    }
    assert set(config) == expected_keys
    assert config["padding"] == "same" and config["kernel_size"] == (2, 3)
    assert LocallyConnected2D.from_config(config).get_config() == config
    # A config as Keras 2 wrote it (tf.keras 2.x `model.to_json()` layer entry).
    keras2 = {
        "class_name": "LocallyConnected1D",
        "config": {
            "name": "locally_connected1d", "trainable": True, "batch_input_shape": [None, 6, 2],
            "dtype": "float32", "filters": 4, "kernel_size": [3], "strides": [1],
            "padding": "valid", "data_format": "channels_last", "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None, "implementation": 1,
        },
    }
    rebuilt = layers.deserialize(keras2)
    assert type(rebuilt) is LocallyConnected1D
    assert rebuilt.kernel_size == (3,) and rebuilt.filters == 4
    assert rebuilt(np.ones((2, 6, 2), "float32")).shape == (2, 4, 4)


def test_legacy_module_path():
    from lamina.layers import local

    assert local.LocallyConnected1D is LocallyConnected1D
    assert local.LocallyConnected2D is LocallyConnected2D


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filters=0, kernel_size=2), "filters"),
        (dict(filters=2.5, kernel_size=2), "filters"),
        (dict(filters=2, kernel_size=0), "kernel_size"),
        (dict(filters=2, kernel_size=(2, 2, 2)), "kernel_size"),
        (dict(filters=2, kernel_size=2, strides=0), "strides"),
        (dict(filters=2, kernel_size=2, padding="causal"), "padding"),
        (dict(filters=2, kernel_size=2, padding="same"), r"padding='same'.*implementation"),
        (dict(filters=2, kernel_size=2, implementation=4), "implementation"),
        (dict(filters=2, kernel_size=2, data_format="NCHW"), "data_format"),
        (dict(filters=2, kernel_size=2, activation="no_such"), "activation|Unknown|unknown"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LocallyConnected2D(**kwargs)


def test_input_errors():
    with pytest.raises(ValueError, match="fully defined"):
        LocallyConnected1D(2, 3)(lamina.Input((None, 4)))
    with pytest.raises(ValueError, match="<= 0"):
        LocallyConnected2D(2, 4)(np.zeros((1, 3, 5, 1), "float32"))
    layer = LocallyConnected2D(2, 2)
    layer(np.zeros((1, 4, 4, 3), "float32"))
    # The kernel belongs to a 4x4 input: other sizes are refused rather than cropped.
    with pytest.raises(ValueError, match=r"axis 1.*value 4"):
        layer(np.zeros((1, 5, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"axis -1.*value 3"):
        layer(np.zeros((1, 4, 4, 2), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        LocallyConnected1D(2, 2)(np.zeros((1, 4, 4, 3), "float32"))
