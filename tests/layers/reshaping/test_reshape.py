import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.reshaping.reshape import Reshape


def test_reshape_seed_001_sequential_example():
    model = lamina.Sequential()
    model.add(Reshape((3, 4), input_shape=(12,)))
    assert model.output_shape == (None, 3, 4)
    model.add(Reshape((6, 2)))
    assert model.output_shape == (None, 6, 2)
    model.add(Reshape((-1, 2, 2)))
    assert model.output_shape == (None, 3, 2, 2)
    x = np.arange(24, dtype="float32").reshape(2, 12)
    torch.testing.assert_close(model(x), torch.arange(24.0).reshape(2, 3, 2, 2))


def test_reshape_seed_000_functional_example():
    x = lamina.Input(shape=(12,))
    assert Reshape((3, 4))(x).shape == (None, 3, 4)
    assert Reshape((-1, 2, 2))(x).shape == (None, 3, 2, 2)


@pytest.mark.oracle
def test_reshape_symbolic_shapes_match_oracle(oracle):
    cases = [((12,), (3, 4)), ((12,), (-1, 2, 2)), ((None, 4), (-1, 2)), ((3, None), (3, -1)),
             ((2, 3), (6,))]
    for in_shape, target in cases:
        expected = oracle.layers.Reshape(target)(oracle.Input(in_shape)).shape
        assert Reshape(target)(lamina.Input(in_shape)).shape == expected


@pytest.mark.oracle
def test_reshape_values_match_oracle(oracle, rng):
    x = rng.standard_normal((2, 4, 6)).astype("float32")
    for target in [(24,), (-1, 3), (2, 3, 4)]:
        expected = np.asarray(oracle.layers.Reshape(target)(x))
        np.testing.assert_array_equal(Reshape(target)(x).numpy(), expected)


def test_reshape_dynamic_dims_resolve_at_call_time():
    layer = Reshape((-1, 2))
    model = lamina.Sequential([lamina.Input((None, 4)), layer])
    assert model.output_shape == (None, None, 2)
    assert layer(torch.zeros(3, 5, 4)).shape == (3, 10, 2)


def test_reshape_size_mismatch_errors():
    with pytest.raises(
        ValueError, match=r"total size.*unchanged.*input_shape=\(12,\).*target_shape=\(5, 2\)"
    ):
        Reshape((5, 2))(lamina.Input((12,)))
    with pytest.raises(ValueError, match=r"cannot be divided.*target_shape=\(5, -1\)"):
        Reshape((5, -1))(lamina.Input((12,)))
    with pytest.raises(ValueError, match=r"'reshape\w*'.*total size"):
        Reshape((4, 2))(torch.zeros(2, 3, 3))
    # Unknown at build time, wrong at call time.
    model = lamina.Sequential([lamina.Input((None, 3)), Reshape((-1, 2))])
    with pytest.raises(ValueError, match="cannot be divided"):
        model(torch.zeros(2, 3, 3))


@pytest.mark.parametrize(
    "target, message",
    [((-1, -1), "at most one unknown"), ((-2, 3), "non-negative integer"), (5, "tuple of integers"),
     ((2.5, 2), "non-negative integer"), ("ab", "tuple of integers")],
)
def test_reshape_invalid_target_shape(target, message):
    with pytest.raises(ValueError, match=message):
        Reshape(target)


@pytest.mark.oracle
def test_reshape_config_round_trip(oracle):
    layer = Reshape([3, -1], name="r")
    assert layer.target_shape == (3, -1)
    config = layer.get_config()
    assert config == oracle.layers.Reshape((3, -1), name="r").get_config()
    assert Reshape.from_config(config).target_shape == (3, -1)
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.Reshape((2, 6))))
    assert isinstance(rebuilt, Reshape) and rebuilt.target_shape == (2, 6)
    legacy = layers.deserialize({"class_name": "Reshape", "config": {"target_shape": [4, 3]}})
    assert legacy.target_shape == (4, 3)
