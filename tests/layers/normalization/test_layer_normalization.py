import numpy as np
import pytest
import torch

import lamina
from lamina import layers

CASES = [
    ({}, (3, 5)),
    ({"axis": 1}, (2, 4, 3)),
    ({"axis": [1, 2]}, (2, 4, 3)),
    ({"axis": [-2, -1], "epsilon": 0.1}, (2, 3, 4, 5)),
    ({"axis": [1, -1]}, (2, 3, 4)),
    ({"axis": [1, 3]}, (2, 3, 4, 5)),
    ({"center": False}, (2, 3, 4)),
    ({"scale": False, "center": False}, (2, 6)),
    ({"rms_scaling": True}, (2, 3, 4)),
    ({"rms_scaling": True, "axis": 1}, (2, 3, 4)),
]


@pytest.mark.oracle
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("kwargs, shape", CASES)
def test_layer_normalization_matches_oracle(oracle, rng, kwargs, shape):
    ref = oracle.layers.LayerNormalization(**kwargs)
    ref.build(shape)
    weights = [rng.standard_normal(tuple(v.shape)).astype("float32") for v in ref.weights]
    ref.set_weights(weights)
    layer = layers.LayerNormalization(**kwargs)
    layer.build(shape)
    layer.set_weights(weights)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    x = (rng.standard_normal(shape) * 3 + 1).astype("float32")
    np.testing.assert_allclose(layer(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    assert layer.get_config()["axis"] == ref.get_config()["axis"]


@pytest.mark.oracle
def test_layer_normalization_config_matches_oracle(oracle):
    kwargs = dict(axis=[1, 2], epsilon=0.01, center=False, gamma_regularizer="l2")
    ours = layers.LayerNormalization(**kwargs, name="ln").get_config()
    theirs = oracle.layers.LayerNormalization(**kwargs, name="ln").get_config()
    assert sorted(ours) == sorted(theirs)
    for key in ("axis", "epsilon", "center", "scale", "rms_scaling", "dtype"):
        assert ours[key] == theirs[key], key
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.LayerNormalization(**kwargs)))
    assert isinstance(rebuilt, layers.LayerNormalization) and rebuilt.axis == [1, 2]
    assert layers.LayerNormalization.from_config(ours).get_config() == ours


def test_layer_normalization_shapes_masks_and_errors():
    x = lamina.Input((None, 4))
    assert layers.LayerNormalization()(x).shape == (None, None, 4)
    data = torch.randn(2, 3, 4)
    data._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    out = layers.LayerNormalization()(data)
    assert torch.equal(out._keras_mask, data._keras_mask)
    with pytest.raises(ValueError, match="axis"):
        layers.LayerNormalization(axis="last")
    layer = layers.LayerNormalization(axis=2, name="ln")
    with pytest.raises(ValueError, match="out of bounds.*'ln'"):
        layer(np.ones((2, 3), "float32"))
    layer = layers.LayerNormalization(name="ln2")
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r'"ln2".*axis -1.*value 3.*\(2, 4\)'):
        layer(np.ones((2, 4), "float32"))
    # float16 inputs are normalized in float32 and returned in the compute dtype.
    half = layers.LayerNormalization(dtype="mixed_float16")
    assert half(torch.randn(2, 4).half()).dtype == torch.float16
    assert half.gamma.dtype == torch.float32
