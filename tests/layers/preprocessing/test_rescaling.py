import numpy as np
import pytest

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize(
    "scale, offset, dtype", [(1.0 / 255, 0.0, "uint8"), (2.0, -1.0, "float32"), ([1.0, 2.0, 3.0], [0.0, 1.0, -1.0], "float32")]
)
def test_rescaling_matches_oracle(oracle, scale, offset, dtype):
    x = (np.random.default_rng(0).random((2, 4, 3)) * 255).astype(dtype)
    expected = np.asarray(oracle.layers.Rescaling(scale, offset)(x))
    out = layers.Rescaling(scale, offset)(x)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)
    assert out.dtype.is_floating_point


def test_rescaling_seed_example_config_and_errors():
    layer = layers.Rescaling(1.0 / 255)
    assert layers.Rescaling.from_config(layer.get_config()).scale == pytest.approx(1.0 / 255)
    x = lamina.Input((2, 2, 3), dtype="uint8")
    assert layer(x).shape == (None, 2, 2, 3)
    with pytest.raises(ValueError, match="scale"):
        layers.Rescaling("big")
