"""Max pooling without autograd over channels-last data with ``strides == pool_size`` takes the
strided-``torch.maximum`` path (``_pooling_math._tiled_max``): bit-identical to ``max_pool*d``
(zeros' signs included), NaN where it gives NaN (the NaN's payload bits may differ)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lamina import layers
from lamina.ops import _pooling_math

_POOLS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def _reference(x, pool_size):
    # torch's own pooling on the channels-first view.
    return _POOLS[len(pool_size)](x.movedim(-1, 1), pool_size, pool_size).movedim(1, -1)


@pytest.mark.parametrize("spatial, pool_size", [
    ((9,), (2,)), ((10,), (3,)), ((8, 8), (2, 2)), ((9, 7), (2, 2)), ((9, 7), (3, 2)),
    ((6, 6), (1, 3)), ((5, 6, 7), (2, 3, 2)),
])
def test_tiled_path_is_bit_identical_with_nan_inf_and_signed_zeros(rng, spatial, pool_size):
    x = rng.standard_normal((3, *spatial, 4)).astype("float32")
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=12, replace=False)
    flat[picks[:3]] = np.nan
    flat[picks[3:6]] = np.inf
    flat[picks[6:9]] = -np.inf
    flat[picks[9:]] = -0.0
    x = torch.from_numpy(x)
    assert _pooling_math._tiles(x, pool_size, pool_size, "valid", "channels_last", "max")
    out = _pooling_math.pool(x, pool_size, pool_size, "valid", "channels_last", "max")
    expected = _reference(x, pool_size)
    assert out.shape == expected.shape
    # NaN where the pool gives NaN; elsewhere the same bits (the sign of every zero included).
    nan = expected.isnan()
    assert torch.equal(out.isnan(), nan) and nan.any()
    assert torch.equal(out[~nan].view(torch.int32), expected[~nan].view(torch.int32))


def test_ties_between_signed_zeros_keep_the_first_cell_in_row_major_order():
    for window in ([0.0, -0.0, -0.0, 0.0], [-1.0, 0.0, -0.0, -1.0], [-1.0, -0.0, 0.0, -1.0]):
        x = torch.tensor(window).view(1, 2, 2, 1)
        out = _pooling_math.pool(x, (2, 2), (2, 2), "valid", "channels_last", "max")
        assert torch.equal(out.view(torch.int32), _reference(x, (2, 2)).view(torch.int32))


def test_same_padding_that_needs_no_cells_takes_the_tiled_path(rng):
    x = torch.from_numpy(rng.standard_normal((2, 8, 6, 3)).astype("float32"))
    assert _pooling_math._tiles(x, (2, 3), (2, 3), "same", "channels_last", "max")
    assert not _pooling_math._tiles(x, (3, 3), (3, 3), "same", "channels_last", "max")
    layer = layers.MaxPooling2D((2, 3), padding="same")
    with torch.no_grad():
        assert torch.equal(layer(x), _reference(x, (2, 3)))


def test_other_cases_keep_torch_pooling(rng):
    x = torch.from_numpy(rng.standard_normal((2, 8, 8, 3)).astype("float32"))
    args = ((2, 2), (2, 2), "valid")
    assert not _pooling_math._tiles(x, (2, 2), (1, 1), "valid", "channels_last", "max")
    assert not _pooling_math._tiles(x, *args, "channels_first", "max")
    assert not _pooling_math._tiles(x, *args, "channels_last", "average")
    assert not _pooling_math._tiles(x.transpose(1, 2), *args, "channels_last", "max")
    assert not _pooling_math._tiles(x.to(torch.int32), *args, "channels_last", "max")
    # With autograd recording, max pooling's gradient (all of it to one cell of a tie) is kept.
    assert not _pooling_math._tiles(x.requires_grad_(), *args, "channels_last", "max")
    ones = torch.ones((1, 2, 2, 1), requires_grad=True)
    layers.MaxPooling2D(2)(ones).sum().backward()
    assert ones.grad.sum().item() == 1.0 and ones.grad.max().item() == 1.0
