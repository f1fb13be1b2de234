import numpy as np
import pytest
import torch

import lamina
from lamina.layers.merging import Subtract, subtract


def test_subtract_needs_exactly_two_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([torch.ones(2, 3)] * 3)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([lamina.Input((3,))])
    layer = Subtract()
    layer([torch.ones(2, 3), torch.ones(2, 3)])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layer([torch.ones(2, 3)] * 3)


def test_subtract_order_and_functional_model():
    a, b = lamina.Input((4,)), lamina.Input((4,))
    model = lamina.Model([a, b], subtract([a, b]))
    assert model.output_shape == (None, 4)
    x, y = np.full((2, 4), 5.0, "float32"), np.ones((2, 4), "float32")
    np.testing.assert_array_equal(model([x, y]).numpy(), x - y)
