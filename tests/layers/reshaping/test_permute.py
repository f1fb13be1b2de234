import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.reshaping.permute import Permute


def test_permute_seed_example():
    model = lamina.Sequential()
    model.add(Permute((2, 1), input_shape=(10, 64)))
    assert model.output_shape == (None, 64, 10)


@pytest.mark.oracle
def test_permute_matches_oracle(oracle, rng):
    for dims, shape in [((2, 1), (2, 3, 4)), ((3, 1, 2), (2, 3, 4, 5)), ((1,), (2, 3))]:
        x = rng.standard_normal(shape).astype("float32")
        expected = np.asarray(oracle.layers.Permute(dims)(x))
        np.testing.assert_array_equal(Permute(dims)(x).numpy(), expected)
        # Symbolic, with the second non-batch axis unknown.
        sym = tuple(None if i == 1 else d for i, d in enumerate(shape[1:]))
        expected_shape = oracle.layers.Permute(dims)(oracle.Input(sym)).shape
        assert Permute(dims)(lamina.Input(sym)).shape == expected_shape


def test_permute_gradient_and_rank_check():
    x = torch.randn(2, 3, 4, requires_grad=True)
    Permute((2, 1))(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        Permute((2, 1))(torch.zeros(2, 3, 4, 5))


@pytest.mark.parametrize("dims", [(1, 3), (0, 1), (2, 2), (1.0, 2), 3, "ab"])
def test_permute_invalid_dims(dims):
    with pytest.raises(ValueError, match="dims"):
        Permute(dims)


@pytest.mark.oracle
def test_permute_config_round_trip(oracle):
    layer = Permute([3, 1, 2], name="p")
    config = layer.get_config()
    assert config == oracle.layers.Permute((3, 1, 2), name="p").get_config()
    assert Permute.from_config(config).dims == (3, 1, 2)
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.Permute((2, 1))))
    assert isinstance(rebuilt, Permute) and rebuilt.dims == (2, 1)
