import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"groups": 2}, (2, 5, 4)),
        ({"groups": 1}, (3, 6)),
        ({"groups": -1}, (2, 3, 3, 4)),
        ({"groups": 3, "axis": 1}, (2, 6, 4, 4)),
        ({"groups": 2, "axis": -2, "epsilon": 0.1}, (2, 3, 4, 5)),
        ({"groups": 2, "center": False}, (2, 2, 2, 2, 4)),
        ({"groups": 4, "scale": False, "center": False}, (2, 7, 8)),
    ],
)
def test_group_normalization_matches_oracle(oracle, rng, kwargs, shape):
    ref = oracle.layers.GroupNormalization(**kwargs)
    ref.build(shape)
    weights = [rng.standard_normal(tuple(v.shape)).astype("float32") for v in ref.weights]
    ref.set_weights(weights)
    layer = layers.GroupNormalization(**kwargs)
    layer.build(shape)
    layer.set_weights(weights)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    x = (rng.standard_normal(shape) * 2 - 1).astype("float32")
    np.testing.assert_allclose(layer(x).detach().numpy(), np.asarray(ref(x)), rtol=1e-5, atol=1e-5)
    assert layer.get_config()["groups"] == ref.get_config()["groups"]


@pytest.mark.oracle
def test_group_normalization_config_matches_oracle(oracle):
    kwargs = dict(groups=4, axis=1, epsilon=0.01, scale=False, beta_constraint="non_neg")
    ours = layers.GroupNormalization(**kwargs, name="gn").get_config()
    theirs = oracle.layers.GroupNormalization(**kwargs, name="gn").get_config()
    assert sorted(ours) == sorted(theirs)
    for key in ("groups", "axis", "epsilon", "center", "scale", "dtype"):
        assert ours[key] == theirs[key], key
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.GroupNormalization(**kwargs)))
    assert isinstance(rebuilt, layers.GroupNormalization) and rebuilt.groups == 4
    assert layers.GroupNormalization.from_config(ours).get_config() == ours


def test_group_normalization_shapes_and_errors():
    assert layers.GroupNormalization(2)(lamina.Input((None, 4))).shape == (None, None, 4)
    for groups in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="groups"):
            layers.GroupNormalization(groups)
    with pytest.raises(ValueError, match="cannot be more"):
        layers.GroupNormalization(8)(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="multiple"):
        layers.GroupNormalization(3)(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="defined dimension"):
        layers.GroupNormalization(2)(lamina.Input((3, None)))
    layer = layers.GroupNormalization(2, name="gn")
    layer(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match='"gn".*ndim=3'):
        layer(np.ones((2, 4), "float32"))
    x = torch.randn(2, 3, 4)
    x._keras_mask = torch.ones(2, 3, dtype=torch.bool)
    assert layer(x)._keras_mask is not None
