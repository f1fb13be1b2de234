"""numpy meeting torch tensors: operators where torch refuses numpy operands, numpy results."""

import numpy as np
import pytest
import torch

import lamina
from lamina.backend.numpy_interop import EagerTensor, mark_eager_output


def test_plain_tensors_keep_torchs_own_behaviour():
    # numpy already handled these (the tensor becomes an array): nothing changes for them.
    t = torch.ones(3)
    assert isinstance(t * np.array([1.0, 2.0, 3.0]), np.ndarray)
    assert isinstance(np.sin(t), np.ndarray)


@pytest.mark.parametrize("op", ["mul", "add", "sub", "truediv", "pow", "lt", "ne"])
def test_operators_on_tensors_with_history_stay_tensors(op):
    import operator

    fn = getattr(operator, op)
    w = torch.full((3,), 2.0, requires_grad=True)
    array = np.array([1.0, 2.0, 4.0])
    for tensor_first in (True, False):
        x = w * 1
        result = fn(x, array) if tensor_first else fn(array, x)
        expected = fn(np.full(3, 2.0), array) if tensor_first else fn(array, np.full(3, 2.0))
        assert isinstance(result, torch.Tensor)
        np.testing.assert_allclose(result.detach().numpy(), expected, rtol=1e-6)
        if result.is_floating_point():
            assert result.dtype == torch.float32  # the numpy float64 constant took the tensor's dtype
            w.grad = None
            result.sum().backward()
            assert w.grad is not None


def test_variable_with_numpy_operand_is_a_tensor_even_without_grad():
    v = lamina.Variable(np.ones((2, 2)), trainable=False)
    result = v * np.array([[0.0, 1.0], [1.0, 0.0]])
    assert isinstance(result, torch.Tensor) and result.dtype == torch.float32
    v.assign(result)
    np.testing.assert_array_equal(v.numpy(), [[0.0, 1.0], [1.0, 0.0]])


def test_fake_tensors_meet_numpy_during_shape_inference():
    from lamina.backend.torch_compat import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        x = torch.empty(4, 3)
        y = x * np.array([1.0, 2.0, 3.0], dtype="float32")
        assert tuple(y.shape) == (4, 3)


def test_eager_tensor_converts_and_stays_in_the_graph():
    w = torch.ones(2, requires_grad=True)
    out = mark_eager_output(w * 3)
    assert type(out) is EagerTensor and isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(np.asarray(out), [3.0, 3.0])
    np.testing.assert_array_equal(out.numpy(), [3.0, 3.0])
    assert np.asarray(out, dtype="float64").dtype == np.float64
    assert out.tolist() == [3.0, 3.0]
    assert float(mark_eager_output(out.sum())) == 6.0
    assert type(out + 1) is torch.Tensor
    assert repr(out).startswith("tensor([3., 3.]")
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    # Tensors without history, and leaves such as weights, are left as they are.
    plain = torch.ones(2)
    assert type(mark_eager_output(plain)) is torch.Tensor
    assert type(mark_eager_output(w)) is torch.Tensor and w.is_leaf


def test_fit_steps_skip_the_relabel_and_restore_it_even_on_error():
    import lamina as keras
    from lamina.backend import numpy_interop

    seen = []

    class Probe(keras.Model):
        def train_step(self, data):
            seen.append(numpy_interop._RELABEL[0])
            if len(seen) == 2:
                raise RuntimeError("stop")
            return super().train_step(data)

    inputs = keras.Input((3,))
    model = Probe(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    with pytest.raises(RuntimeError, match="stop"):
        model.fit(x, y, batch_size=4, verbose=0)
    assert seen == [False, False] and numpy_interop._RELABEL[0]
    np.asarray(model(x))  # eager results convert again after fit
