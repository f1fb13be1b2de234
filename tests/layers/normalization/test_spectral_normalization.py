import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _pair(oracle, rng, make, shape):
    ref = oracle.layers.SpectralNormalization(make(oracle), power_iterations=2)
    ref.build(shape)
    weights = [rng.standard_normal(tuple(v.shape)).astype("float32") for v in ref.weights]
    ref.set_weights(weights)
    layer = layers.SpectralNormalization(make(lamina), power_iterations=2)
    layer.build(shape)
    layer.set_weights(weights)
    return ref, layer


@pytest.mark.oracle
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda lib: lib.layers.Dense(3), (4, 5)),
        (lambda lib: lib.layers.Conv2D(3, 2), (2, 5, 5, 2)),
        (lambda lib: lib.layers.Embedding(6, 3), (2, 4)),
    ],
)
def test_spectral_normalization_matches_oracle(oracle, rng, make, shape):
    ref, layer = _pair(oracle, rng, make, shape)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    x = rng.integers(0, 6, size=shape) if len(shape) == 2 and shape[1] == 4 else rng.standard_normal(shape)
    x = x.astype("int32" if x.dtype.kind == "i" else "float32")
    np.testing.assert_allclose(layer(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    for _ in range(2):
        np.testing.assert_allclose(
            layer(x, training=True).detach().numpy(), np.asarray(ref(x, training=True)), rtol=1e-4, atol=1e-5
        )
    for a, b, v in zip(layer.get_weights(), ref.get_weights(), ref.weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=v.name)


@pytest.mark.oracle
def test_spectral_normalization_config_and_saving_match_oracle(oracle, tmp_path):
    ref = oracle.layers.SpectralNormalization(oracle.layers.Dense(3), power_iterations=3, name="sn")
    ours = layers.SpectralNormalization(layers.Dense(3), power_iterations=3, name="sn").get_config()
    theirs = ref.get_config()
    assert sorted(ours) == sorted(theirs) and ours["power_iterations"] == 3
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt.layer, layers.Dense) and rebuilt.layer.units == 3
    x = oracle.Input((4,))
    kmodel = oracle.Model(x, oracle.layers.SpectralNormalization(oracle.layers.Dense(3))(x))
    kmodel.save(tmp_path / "sn.keras")
    model = lamina.models.load_model(tmp_path / "sn.keras")
    data = np.random.rand(2, 4).astype("float32")
    np.testing.assert_allclose(model(data).detach().numpy(), np.asarray(kmodel(data)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.layers[-1].vector_u.numpy(), np.asarray(kmodel.layers[-1].vector_u.value))


def test_spectral_normalization_behaviour_and_errors():
    layer = layers.SpectralNormalization(layers.Dense(4))
    x = torch.randn(5, 3)
    layer(x)
    assert {n for n, _ in layer.named_parameters()} == {"vector_u", "layer.kernel", "layer.bias"}
    kernel = layer.layer.kernel.detach().clone()
    layer(x, training=False)
    torch.testing.assert_close(layer.layer.kernel.detach(), kernel)
    for _ in range(30):
        layer(x, training=True)
    assert abs(torch.linalg.matrix_norm(layer.layer.kernel.detach(), ord=2).item() - 1.0) < 1e-3
    y = layer(x, training=True)
    y.sum().backward()
    assert layer.layer.kernel.grad is not None
    zero = layers.SpectralNormalization(layers.Dense(2, kernel_initializer="zeros"))
    zero(x, training=True)
    assert torch.count_nonzero(zero.layer.kernel) == 0
    assert layers.SpectralNormalization(layers.Dense(2))(lamina.Input((3,))).shape == (None, 2)
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="supported layer"):
        layers.SpectralNormalization("dense")
    with pytest.raises(ValueError, match="kernel"):
        layers.SpectralNormalization(layers.Flatten())(np.ones((2, 3), "float32"))
