"""Behaviour shared by the elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
Minimum): numbers, broadcasting, masks, shapes, config, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.layer import Layer
from lamina.layers.merging import (
    Add,
    Average,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    maximum,
    minimum,
    multiply,
    subtract,
)

ELEMENTWISE = [Add, Subtract, Multiply, Average, Maximum, Minimum]
FUNCTIONS = {Add: add, Subtract: subtract, Multiply: multiply, Average: average, Maximum: maximum,
             Minimum: minimum}


class _ZeroMask(Layer):
    """Test helper: masks timesteps whose features are all zero (like Keras's Masking)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return torch.any(inputs != 0, dim=-1)


def _masked_pair(rng):
    a = rng.standard_normal((2, 3, 2)).astype("float32")
    b = rng.standard_normal((2, 3, 2)).astype("float32")
    a[0, 1] = b[0, 1] = 0  # masked in both
    a[1, 0] = 0  # masked in a only
    b[1, 2] = 0  # masked in b only
    return a, b


@pytest.mark.oracle
def test_elementwise_matches_oracle(oracle, rng):
    cases = [[(2, 3, 4), (2, 3, 4)], [(2, 4), (2, 3, 4)], [(2, 1, 4), (2, 3, 1)], [(2, 5)] * 3]
    for cls in ELEMENTWISE:
        for shapes in cases:
            if cls is Subtract and len(shapes) != 2:
                continue
            xs = [rng.standard_normal(s).astype("float32") for s in shapes]
            expected = np.asarray(getattr(oracle.layers, cls.__name__)()(xs))
            got = cls()(xs)
            assert isinstance(got, torch.Tensor)
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)
            functional = FUNCTIONS[cls]([torch.as_tensor(x) for x in xs])
            np.testing.assert_allclose(functional.numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_elementwise_symbolic_shapes_match_oracle(oracle):
    cases = [[(3,), (3,)], [(None, 3), (4, 1)], [(3,), (4, 3)], [(None, 2), (None, 2)],
             [(2, 1), (1, 3)]]
    for cls in ELEMENTWISE:
        for shapes in cases:
            ref = getattr(oracle.layers, cls.__name__)()
            expected = ref([oracle.Input(s) for s in shapes]).shape
            assert cls()([lamina.Input(s) for s in shapes]).shape == expected, (cls, shapes)
            assert cls().compute_output_shape([(None,) + s for s in shapes]) == expected


@pytest.mark.oracle
def test_elementwise_masked_values_and_mask_match_oracle(oracle, rng):
    a, b = _masked_pair(rng)
    for cls in ELEMENTWISE:
        for masked in [(True, True), (True, False), (False, True)]:
            ka, kb = oracle.Input((3, 2)), oracle.Input((3, 2))
            ref_in = [oracle.layers.Masking()(t) if m else t for t, m in zip((ka, kb), masked)]
            ref_layer = getattr(oracle.layers, cls.__name__)()
            expected = np.asarray(oracle.Model([ka, kb], ref_layer(ref_in))([a, b]))

            la, lb = lamina.Input((3, 2)), lamina.Input((3, 2))
            our_in = [_ZeroMask()(t) if m else t for t, m in zip((la, lb), masked)]
            model = lamina.Model([la, lb], cls()(our_in))
            np.testing.assert_allclose(model([a, b]).numpy(), expected, rtol=1e-6, atol=1e-6)

            # The output mask, eagerly: OR of the masks when every input has one, else none.
            masks = [np.any(x != 0, axis=-1) if m else None for x, m in zip((a, b), masked)]
            tensors = []
            for x, m in zip((a, b), masks):
                t = torch.as_tensor(x)
                if m is not None:
                    t._keras_mask = torch.as_tensor(m)
                tensors.append(t)
            out = cls()(tensors)
            ref_mask = ref_layer.compute_mask([a, b], masks)
            if ref_mask is None:
                assert getattr(out, "_keras_mask", None) is None
            else:
                np.testing.assert_array_equal(out._keras_mask.numpy(), np.asarray(ref_mask))


def test_merge_symbolic_mask_propagates():
    a, b = lamina.Input((3, 2)), lamina.Input((3, 2))
    out = Add()([_ZeroMask()(a), _ZeroMask()(b)])
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 3)
    assert getattr(Add()([_ZeroMask()(a), b]), "_keras_mask", None) is None


def test_merge_accepts_numpy_lists_and_torch_and_keeps_int_dtype():
    out = Add()([np.ones((2, 3), "int32"), np.ones((2, 3), "int32")])
    assert out.dtype == torch.int32
    assert Average()([torch.ones(2, 3, dtype=torch.int32)] * 2).dtype == torch.float32
    out = Maximum()([np.array([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])])
    torch.testing.assert_close(out, torch.tensor([[3.0, 5.0]]))


def test_merge_gradients():
    a = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(2, 3, requires_grad=True)
    Multiply()([a, b]).sum().backward()
    torch.testing.assert_close(a.grad, b.detach())
    torch.testing.assert_close(b.grad, a.detach())


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_merge_errors(cls):
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        cls()(torch.ones(2, 3))
    with pytest.raises(ValueError, match="different batch sizes"):
        cls()([torch.ones(2, 3), torch.ones(3, 3)])
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(3,\).*\(4,\)"):
        cls()([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match="incompatible shapes"):
        cls()([lamina.Input((3,)), lamina.Input((4,))])
    with pytest.raises(ValueError, match="list of inputs"):
        cls().compute_output_shape((None, 3))


@pytest.mark.oracle
def test_merge_config_round_trip(oracle):
    for cls in ELEMENTWISE:
        ref = getattr(oracle.layers, cls.__name__)(name="m")
        ours = cls(name="m")
        assert ours.get_config() == ref.get_config()
        rebuilt = layers.deserialize(oracle.layers.serialize(ref))
        assert type(rebuilt) is cls and rebuilt.get_config() == ref.get_config()
        assert type(cls.from_config(ours.get_config())) is cls
        out = FUNCTIONS[cls]([torch.ones(1, 2), torch.ones(1, 2)], name=f"named_{cls.__name__}")
        assert out.shape == (1, 2)
