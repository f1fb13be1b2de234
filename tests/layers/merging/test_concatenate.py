import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.merging import Concatenate, concatenate
from lamina.layers.layer import Layer


class _ZeroMask(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return torch.any(inputs != 0, dim=-1)


@pytest.mark.oracle
def test_concatenate_matches_oracle(oracle, rng):
    cases = [(-1, [(2, 3, 4), (2, 3, 5)]), (1, [(2, 3, 4), (2, 5, 4)]), (0, [(2, 3), (1, 3)]),
             (-2, [(2, 1, 4), (2, 2, 4), (2, 3, 4)])]
    for axis, shapes in cases:
        xs = [rng.standard_normal(s).astype("float32") for s in shapes]
        expected = np.asarray(oracle.layers.Concatenate(axis=axis)(xs))
        np.testing.assert_array_equal(Concatenate(axis=axis)(xs).numpy(), expected)
        functional = concatenate([torch.as_tensor(x) for x in xs], axis=axis)
        np.testing.assert_array_equal(functional.numpy(), expected)


@pytest.mark.oracle
def test_concatenate_symbolic_shapes_match_oracle(oracle):
    cases = [(-1, [(None, 4), (5, 4)]), (1, [(None, 4), (5, 4)]), (-1, [(3, 2), (3, 5)]),
             (1, [(3,), (4,)]), (2, [(2, None), (2, 3), (2, 1)])]
    for axis, shapes in cases:
        expected = oracle.layers.Concatenate(axis=axis)([oracle.Input(s) for s in shapes]).shape
        assert Concatenate(axis=axis)([lamina.Input(s) for s in shapes]).shape == expected


def test_concatenate_seed_000_functional_model():
    a, b = lamina.Input((3,)), lamina.Input((5,))
    model = lamina.Model([a, b], layers.Dense(2)(Concatenate()([a, b])))
    assert model.output_shape == (None, 2)
    assert model([np.ones((4, 3), "float32"), np.ones((4, 5), "float32")]).shape == (4, 2)


@pytest.mark.oracle
def test_concatenate_masks_match_oracle(oracle, rng):
    for axis in (-1, 1):
        for masked in [(True, True), (True, False), (False, True)]:
            _check_masks(oracle, rng, axis, masked)


def _check_masks(oracle, rng, axis, masked):
    a = rng.standard_normal((2, 3, 2)).astype("float32")
    b = rng.standard_normal((2, 3, 2)).astype("float32")
    a[0, 1] = b[0, 1] = a[1, 0] = b[1, 2] = 0
    masks = [np.any(x != 0, axis=-1) if m else None for x, m in zip((a, b), masked)]
    expected = np.asarray(oracle.layers.Concatenate(axis=axis).compute_mask([a, b], masks))
    tensors = []
    for x, m in zip((a, b), masks):
        t = torch.as_tensor(x)
        if m is not None:
            t._keras_mask = torch.as_tensor(m)
        tensors.append(t)
    out = Concatenate(axis=axis)(tensors)
    np.testing.assert_array_equal(out._keras_mask.numpy(), expected)
    # Symbolically the mask has the same shape.
    la, lb = lamina.Input((3, 2)), lamina.Input((3, 2))
    ins = [_ZeroMask()(t) if m else t for t, m in zip((la, lb), masked)]
    assert Concatenate(axis=axis)(ins)._keras_mask.shape == (None,) + expected.shape[1:]


def test_concatenate_without_masks_has_no_mask():
    out = Concatenate()([torch.ones(2, 3), torch.ones(2, 3)])
    assert getattr(out, "_keras_mask", None) is None


def test_concatenate_errors():
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        Concatenate()([torch.ones(2, 3, 4), torch.ones(2, 5, 4)])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        Concatenate()([lamina.Input((3, 4)), lamina.Input((4,))])
    with pytest.raises(ValueError, match=r"`axis`=3 is out of range"):
        Concatenate(axis=3)([torch.ones(2, 3, 4), torch.ones(2, 3, 4)])
    with pytest.raises(ValueError, match="list of inputs"):
        Concatenate()(torch.ones(2, 3))
    with pytest.raises(ValueError, match="`axis` must be an integer"):
        Concatenate(axis="last")
    # Unknown sizes are compatible with any size.
    out = Concatenate(axis=2)([lamina.Input((None, 4)), lamina.Input((3, 4))])
    assert out.shape == (None, None, 8)


@pytest.mark.oracle
def test_concatenate_config_round_trip(oracle):
    ref = oracle.layers.Concatenate(axis=1, name="c")
    ours = Concatenate(axis=1, name="c")
    assert ours.get_config() == ref.get_config()
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, Concatenate) and rebuilt.axis == 1
    assert Concatenate.from_config(ours.get_config()).axis == 1
    legacy = {"class_name": "Concatenate", "config": {"axis": -1, "name": "cat"}}
    legacy = layers.deserialize(legacy)
    assert legacy.axis == -1 and legacy.name == "cat"
