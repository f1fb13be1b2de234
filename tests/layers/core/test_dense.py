import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"units": 4}, (3, 5)),
        ({"units": 3, "activation": "relu", "use_bias": False}, (2, 4)),
        ({"units": 2, "activation": "softmax"}, (2, 3, 4)),
        ({"units": 5, "activation": "tanh"}, (2, 2, 3, 4)),
    ],
)
def test_dense_matches_oracle(oracle, rng, kwargs, shape):
    x = rng.standard_normal(shape).astype("float32")
    ref = oracle.layers.Dense(**kwargs)
    expected = np.asarray(ref(x))
    layer = layers.Dense(**kwargs)
    layer.build(shape)
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in ref.weights]


@pytest.mark.oracle
def test_dense_config_matches_oracle(oracle):
    kwargs = dict(units=3, activation="relu", kernel_regularizer="l2", bias_constraint="non_neg")
    ours = layers.Dense(**kwargs, name="d").get_config()
    theirs = oracle.layers.Dense(**kwargs, name="d").get_config()
    theirs.pop("quantization_config", None)
    for key in theirs:
        assert key in ours, key
    assert ours["units"] == theirs["units"]
    assert ours["activation"] == theirs["activation"]
    assert ours["dtype"] == theirs["dtype"]
    assert ours["kernel_regularizer"]["class_name"] == theirs["kernel_regularizer"]["class_name"]
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.Dense(**kwargs)))
    assert isinstance(rebuilt, layers.Dense) and rebuilt.units == 3


def test_dense_symbolic_shapes():
    x = lamina.Input((None, 6))
    y = layers.Dense(3)(x)
    assert y.shape == (None, None, 3)
    assert layers.Dense(2).compute_output_shape((4, 5)) == (4, 2)


def test_dense_errors():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(-1)
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="activation|Unknown|unknown"):
        layers.Dense(2, activation="no_such_activation")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        layers.Dense(2, unit=3)
    layer = layers.Dense(2)
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r'"dense(_\d+)?".*axis -1.*value 3.*\(1, 4\)'):
        layer(np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="min_ndim=2"):
        layer(np.ones((3,), "float32"))


def test_dense_weights_roundtrip_and_gradients():
    layer = layers.Dense(2)
    x = torch.randn(4, 3)
    layer(x)
    w = [np.full((3, 2), 0.5, "float32"), np.array([1.0, -1.0], "float32")]
    layer.set_weights(w)
    for a, b in zip(layer.get_weights(), w):
        np.testing.assert_array_equal(a, b)
    out = layer(x).sum()
    out.backward()
    assert layer.kernel.grad is not None and layer.kernel.grad.shape == (3, 2)
    assert {n for n, _ in layer.named_parameters()} == {"kernel", "bias"}


def test_dense_passes_mask_through():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    y = layers.Dense(2)(x)
    assert torch.equal(y._keras_mask, x._keras_mask)


def test_numpy_integer_units_accepted_as_keras2():
    # Keras 2 scripts size the output layer with `np.max(y_train) + 1` (a numpy integer).
    layer = layers.Dense(np.int64(3))
    assert type(layer.units) is int and layer.get_config()["units"] == 3
    assert tuple(layer(np.zeros((2, 4), "float32")).shape) == (2, 3)
    with pytest.raises(ValueError, match="units"):
        layers.Dense(3.0)
    with pytest.raises(ValueError, match="units"):
        layers.Dense(np.int32(0))
