import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.reshaping.flatten import Flatten


@pytest.mark.oracle
def test_flatten_matches_oracle(oracle, rng):
    for data_format in ("channels_last", "channels_first"):
        for shape in [(2,), (2, 5), (2, 3, 4), (2, 3, 2, 4)]:
            x = rng.standard_normal(shape).astype("float32")
            expected = np.asarray(oracle.layers.Flatten(data_format=data_format)(x))
            got = Flatten(data_format=data_format)(x)
            assert isinstance(got, torch.Tensor)
            np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.oracle
def test_flatten_symbolic_shape_matches_oracle(oracle):
    for shape in [(10, 64), (None, 3), (), (4, None, 2)]:
        expected = oracle.layers.Flatten()(oracle.Input(shape)).shape
        assert Flatten()(lamina.Input(shape)).shape == expected
        assert Flatten().compute_output_shape((None,) + shape) == expected


def test_flatten_seed_example_and_torch_input():
    model = lamina.Sequential([lamina.Input((3, 8, 8)), Flatten()])
    assert model.output_shape == (None, 192)
    out = Flatten()(torch.arange(24.0).reshape(2, 3, 4))
    torch.testing.assert_close(out, torch.arange(24.0).reshape(2, 12))
    assert Flatten()(torch.ones(0, 3, 2)).shape == (0, 6)


def test_flatten_channels_first_orders_like_channels_last():
    x = torch.randn(2, 3, 4, 5)  # (batch, channels, h, w)
    first = Flatten(data_format="channels_first")(x)
    last = Flatten(data_format="channels_last")(x.permute(0, 2, 3, 1))
    torch.testing.assert_close(first, last)


@pytest.mark.oracle
def test_flatten_config_and_errors(oracle):
    layer = Flatten(data_format="channels_first", name="f")
    config = layer.get_config()
    assert config == oracle.layers.Flatten(data_format="channels_first", name="f").get_config()
    assert Flatten.from_config(config).data_format == "channels_first"
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.Flatten()))
    assert isinstance(rebuilt, Flatten) and rebuilt.data_format == "channels_last"
    with pytest.raises(ValueError, match="data_format"):
        Flatten(data_format="channels_middle")
    with pytest.raises(ValueError, match="min_ndim=1"):
        Flatten()(torch.tensor(3.0))
