"""Tests for lamina.layers.PReLU."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


RNG = np.random.default_rng(2)
X = RNG.standard_normal((2, 3, 4, 5)).astype("float32")


@pytest.mark.oracle
@pytest.mark.parametrize("shared_axes", [None, [1, 2], 3, (1, 2, 3)])
def test_prelu_matches_oracle(oracle, shared_axes):
    k = oracle.layers.PReLU(shared_axes=shared_axes)
    k.build(X.shape)
    ours = layers.PReLU(shared_axes=shared_axes)
    ours.build(X.shape)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == [(w.name, tuple(w.shape)) for w in k.weights]
    alpha = RNG.uniform(-0.5, 0.5, size=tuple(k.weights[0].shape)).astype("float32")
    k.set_weights([alpha])
    ours.set_weights([alpha])
    np.testing.assert_allclose(ours(X).detach().numpy(), np.asarray(k(X)), rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_prelu_config_matches_oracle(oracle):
    kwargs = dict(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg", shared_axes=1, name="p")
    k, ours = oracle.layers.PReLU(**kwargs), layers.PReLU(**kwargs)
    assert ours.get_config() == k.get_config()
    assert ours.shared_axes == [1]
    for layer in (layers.PReLU.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.PReLU) and layer.shared_axes == [1] and layer.name == "p"
        layer.build((None, 2, 3))
        np.testing.assert_array_equal(layer.get_weights()[0], np.ones((1, 3), "float32"))
        assert len(layer.losses) == 1


def test_prelu_default_is_relu_and_weights():
    layer = layers.PReLU()
    out = layer(X)
    assert [w.name for w in layer.weights] == ["alpha"] and layer.alpha.shape == (3, 4, 5)
    assert layer.trainable_weights[0] is layer.alpha
    np.testing.assert_allclose(out.detach().numpy(), np.maximum(X, 0))
    layer.set_weights([np.full((3, 4, 5), 0.25, "float32")])
    np.testing.assert_allclose(layer(X).detach().numpy(), np.where(X > 0, X, 0.25 * X), rtol=1e-6)


def test_prelu_learns_alpha():
    model = lamina.Sequential([lamina.Input((4,)), layers.PReLU(alpha_initializer="zeros")])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="mse")
    x = -np.abs(RNG.standard_normal((32, 4))).astype("float32")
    model.fit(x, 0.5 * x, epochs=30, batch_size=32, verbose=0)
    alpha = model.layers[-1].get_weights()[0]
    np.testing.assert_allclose(alpha, 0.5, atol=0.05)


def test_prelu_symbolic_and_input_checks():
    layer = layers.PReLU(shared_axes=[1])
    y = layer(lamina.Input((None, 4)))
    assert y.shape == (None, None, 4) and layer.alpha.shape == (1, 4)
    with pytest.raises(ValueError, match="p_re_lu"):
        layer(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="known"):
        layers.PReLU()(lamina.Input((None, 4)))
    with pytest.raises(ValueError, match="out of range"):
        layers.PReLU(shared_axes=[3]).build((None, 2, 3))


@pytest.mark.parametrize("shared_axes", [0, [-1], "1", [1.5]])
def test_prelu_invalid_shared_axes(shared_axes):
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=shared_axes)


def test_prelu_torch_input_gradients():
    layer = layers.PReLU(alpha_initializer="ones")
    x = torch.randn(2, 3, requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3)))
