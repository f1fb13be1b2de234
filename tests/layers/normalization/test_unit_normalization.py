import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize("axis, shape", [(-1, (3, 5)), (1, (2, 4, 3)), ([1, 2], (2, 3, 4)), (-2, (2, 3, 4))])
def test_unit_normalization_matches_oracle(oracle, rng, axis, shape):
    x = rng.standard_normal(shape).astype("float32")
    x[0] = 0.0
    expected = np.asarray(oracle.layers.UnitNormalization(axis=axis)(x))
    np.testing.assert_allclose(layers.UnitNormalization(axis=axis)(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    ours = layers.UnitNormalization(axis=axis, name="u").get_config()
    theirs = oracle.layers.UnitNormalization(axis=axis, name="u").get_config()
    assert ours == theirs
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.UnitNormalization(axis=axis)))
    assert rebuilt.axis == (list(axis) if isinstance(axis, list) else axis)


def test_unit_normalization_shapes_and_errors():
    assert layers.UnitNormalization()(lamina.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match="axis"):
        layers.UnitNormalization(axis=1.0)
    with pytest.raises(ValueError, match="out of bounds.*'un'"):
        layers.UnitNormalization(axis=2, name="un")(np.ones((2, 3), "float32"))
    x = torch.randn(2, 3, 4)
    x._keras_mask = torch.ones(2, 3, dtype=torch.bool)
    assert layers.UnitNormalization()(x)._keras_mask is not None
