import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.core.dense import Dense
from lamina.layers.reshaping.repeat_vector import RepeatVector


def test_repeat_vector_seed_example():
    model = lamina.Sequential()
    model.add(Dense(32, input_dim=32))
    assert model.output_shape == (None, 32)
    model.add(RepeatVector(3))
    assert model.output_shape == (None, 3, 32)


@pytest.mark.oracle
def test_repeat_vector_matches_oracle(oracle, rng):
    x = rng.standard_normal((2, 5)).astype("float32")
    expected = np.asarray(oracle.layers.RepeatVector(3)(x))
    got = RepeatVector(3)(x)
    np.testing.assert_array_equal(got.numpy(), expected)
    # A real copy: writing one repeat leaves the others alone.
    got[:, 0] = 0
    np.testing.assert_array_equal(got[:, 1].numpy(), x)
    assert RepeatVector(4)(lamina.Input((None,))).shape == oracle.layers.RepeatVector(4)(
        oracle.Input((None,))
    ).shape


def test_repeat_vector_gradient_sums_repeats():
    x = torch.randn(2, 3, requires_grad=True)
    RepeatVector(4)(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((2, 3), 4.0))


def test_repeat_vector_errors():
    for n in (0, -2, 1.5, "3", True):
        with pytest.raises(ValueError, match="`n`"):
            RepeatVector(n)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        RepeatVector(2)(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="expected ndim=2"):
        RepeatVector(2)(lamina.Input((2, 3)))


@pytest.mark.oracle
def test_repeat_vector_config_round_trip(oracle):
    config = RepeatVector(3, name="rv").get_config()
    assert config == oracle.layers.RepeatVector(3, name="rv").get_config()
    assert RepeatVector.from_config(config).n == 3
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.RepeatVector(5)))
    assert isinstance(rebuilt, RepeatVector) and rebuilt.n == 5
