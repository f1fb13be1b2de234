import numpy as np
import pytest

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs, shape",
    [({}, (3, 5)), ({"axis": 2}, (2, 4, 3)), ({"axis": [1, 2], "epsilon": 0.1}, (2, 3, 4)), ({"axis": [-2, -1]}, (2, 3, 4, 5))],
)
def test_rms_normalization_matches_oracle(oracle, rng, kwargs, shape):
    ref = oracle.layers.RMSNormalization(**kwargs)
    ref.build(shape)
    weights = [rng.standard_normal(tuple(v.shape)).astype("float32") for v in ref.weights]
    ref.set_weights(weights)
    layer = layers.RMSNormalization(**kwargs)
    layer.build(shape)
    layer.set_weights(weights)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    x = rng.standard_normal(shape).astype("float32")
    np.testing.assert_allclose(layer(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    ours, theirs = layer.get_config(), ref.get_config()
    assert sorted(ours) == sorted(theirs) and ours["axis"] == theirs["axis"]
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, layers.RMSNormalization) and rebuilt.epsilon == ref.epsilon


def test_rms_normalization_shapes_and_errors():
    assert layers.RMSNormalization()(lamina.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match="axis"):
        layers.RMSNormalization(axis="x")
    with pytest.raises(ValueError, match="out of bounds.*'rms'"):
        layers.RMSNormalization(axis=3, name="rms")(np.ones((2, 3), "float32"))


def test_rms_normalization_inner_axes():
    # Keras 3.15 only broadcasts `scale` correctly over trailing axes (other axes fail there);
    # Lamina places it on the normalized axes.
    layer = layers.RMSNormalization(axis=1)
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    layer.build(x.shape)
    scale = np.arange(1, 5, dtype="float32")
    layer.set_weights([scale])
    expected = x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-6) * scale[:, None]
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
