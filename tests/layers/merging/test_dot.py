import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.merging import Dot, dot


CASES = [
    (1, False, [(2, 4), (2, 4)]),
    (-1, True, [(2, 4), (2, 4)]),
    ((1, 2), False, [(2, 3, 5), (2, 10, 3)]),
    ((2, 1), True, [(2, 4, 3), (2, 3)]),
    ((1, 2), False, [(2, 3), (2, 4, 3)]),
    (-1, False, [(2, 2, 3, 4), (2, 5, 4)]),
    ((1, 3), False, [(2, 3, 2, 2), (2, 4, 2, 3)]),
]


@pytest.mark.oracle
def test_dot_matches_oracle(oracle, rng):
    for axes, normalize, shapes in CASES:
        xs = [rng.standard_normal(s).astype("float32") for s in shapes]
        ref = oracle.layers.Dot(axes=axes, normalize=normalize)
        expected = np.asarray(ref(xs))
        got = Dot(axes=axes, normalize=normalize)(xs)
        assert tuple(got.shape) == expected.shape
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
        sym = [(None,) + s[1:] for s in shapes]
        expected_shape = oracle.layers.Dot(axes=axes)([oracle.Input(s[1:]) for s in sym]).shape
        assert Dot(axes=axes)([lamina.Input(s[1:]) for s in sym]).shape == expected_shape


def test_dot_cosine_similarity_and_functional_form():
    x = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    y = torch.tensor([[6.0, 8.0], [0.0, 2.0]])
    torch.testing.assert_close(dot([x, y], axes=1, normalize=True), torch.tensor([[1.0], [0.0]]))
    torch.testing.assert_close(dot([x, y], axes=1), torch.tensor([[50.0], [0.0]]))


def test_dot_gradients_and_no_mask():
    x = torch.randn(2, 3, requires_grad=True)
    y = torch.randn(2, 3)
    y._keras_mask = torch.tensor([True, False])
    out = Dot(1)([x, y])
    out.sum().backward()
    torch.testing.assert_close(x.grad, y)
    assert getattr(out, "_keras_mask", None) is None


def test_dot_errors():
    with pytest.raises(ValueError, match=r"axis values 4 \(at axis 1\) != 3"):
        Dot((1, 1))([lamina.Input((4, 3)), lamina.Input((3,))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Dot(1)([torch.ones(2, 3)] * 3)
    with pytest.raises(ValueError, match="batch axis 0"):
        Dot(0)
    with pytest.raises(ValueError, match="batch axis 0"):
        Dot((1, 0))
    with pytest.raises(ValueError, match="Invalid type for argument `axes`"):
        Dot("a")
    with pytest.raises(ValueError, match="Invalid format for argument `axes`"):
        Dot((1, 2, 3))
    with pytest.raises(ValueError, match="Invalid format for argument `axes`"):
        Dot((1.0, 2))
    with pytest.raises(ValueError, match="`normalize`"):
        Dot(1, normalize="yes")
    with pytest.raises(ValueError, match="does not fit"):
        Dot(3)([torch.ones(2, 3), torch.ones(2, 3)])
    with pytest.raises(ValueError, match="list of inputs"):
        Dot(1)(torch.ones(2, 3))


@pytest.mark.oracle
def test_dot_config_round_trip(oracle):
    ref = oracle.layers.Dot(axes=(1, 2), normalize=True, name="d")
    ours = Dot(axes=[1, 2], normalize=True, name="d")
    assert ours.get_config() == ref.get_config()
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, Dot) and rebuilt.axes == (1, 2) and rebuilt.normalize is True
    again = Dot.from_config(Dot(axes=-1).get_config())
    assert again.axes == -1 and again.normalize is False
