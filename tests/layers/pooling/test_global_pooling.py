"""Global pooling: GlobalMaxPooling{1,2,3}D and GlobalAveragePooling{1,2,3}D."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers import pooling

_SPATIAL = {1: (5,), 2: (3, 5), 3: (3, 2, 5)}


@pytest.mark.oracle
def test_global_pooling_matches_oracle(oracle, rng):
    cases = [
        (mode, rank, data_format, keepdims)
        for mode in ("Max", "Average")
        for rank in (1, 2, 3)
        for data_format, keepdims in (("channels_last", False), ("channels_first", True))
    ]
    for mode, rank, data_format, keepdims in cases:
        name = f"Global{mode}Pooling{rank}D"
        shape = (2, *_SPATIAL[rank], 4)
        if data_format == "channels_first":
            shape = (2, 4, *_SPATIAL[rank])
        x = rng.standard_normal(shape).astype("float32")
        kwargs = dict(data_format=data_format, keepdims=keepdims)
        expected = np.asarray(getattr(oracle.layers, name)(**kwargs)(x))
        layer = getattr(pooling, name)(**kwargs)
        np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=name)
        assert layer.compute_output_shape(shape) == expected.shape
        symbolic = getattr(oracle.layers, name)(**kwargs)(oracle.Input((None,) * rank + (4,)))
        if data_format == "channels_last":
            assert layer(lamina.Input((None,) * rank + (4,))).shape == symbolic.shape


@pytest.mark.oracle
def test_global_average_1d_mask_matches_oracle(oracle, rng):
    x = rng.standard_normal((3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    for data_format in ("channels_last", "channels_first"):
        xin = x if data_format == "channels_last" else np.moveaxis(x, -1, 1)
        for keepdims in (False, True):
            ref = oracle.layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
            expected = np.asarray(ref(xin, mask=mask))
            layer = pooling.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
            out = layer(xin, mask=mask)
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
            assert getattr(out, "_keras_mask", None) is None


def test_global_average_1d_mask_from_previous_layer():
    x = torch.tensor([[[1.0], [3.0], [float("nan")]], [[2.0], [4.0], [6.0]]])
    x._keras_mask = torch.tensor([[True, True, False], [True, True, True]])
    out = pooling.GlobalAveragePooling1D()(x)
    # Masked steps are excluded (a nan there cannot leak in); unmasked rows are plain means.
    np.testing.assert_allclose(out.numpy(), [[2.0], [4.0]])
    assert getattr(out, "_keras_mask", None) is None
    nothing_left = torch.zeros(1, 2, dtype=torch.bool)
    out = pooling.GlobalAveragePooling1D()(torch.ones(1, 2, 1), mask=nothing_left)
    assert torch.isnan(out).all()  # 0 / 0, as in Keras


def test_global_average_1d_mask_in_functional_model():
    inputs = lamina.Input((4,))
    embedded = lamina.layers.Embedding(10, 3, mask_zero=True)(inputs)
    pooled = pooling.GlobalAveragePooling1D()(embedded)
    assert pooled.shape == (None, 3) and getattr(pooled, "_keras_mask", None) is None
    model = lamina.Model(inputs, pooled)
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    vectors = model.layers[1](ids).detach().numpy()
    expected = [vectors[0, :2].mean(0), vectors[1, :1].mean(0)]
    np.testing.assert_allclose(model(ids).detach().numpy(), expected, rtol=1e-6)


def test_global_max_pools_masked_steps_too():
    # GlobalMaxPooling1D does not take a mask (as in Keras): a masked input is pooled as a whole.
    x = torch.tensor([[[1.0], [9.0]]])
    x._keras_mask = torch.tensor([[True, False]])
    assert pooling.GlobalMaxPooling1D()(x).item() == 9.0


@pytest.mark.parametrize(
    "cls, shape, expected",
    [
        (pooling.GlobalMaxPooling1D, (None, None, 3), (None, 3)),
        (pooling.GlobalAveragePooling2D, (None, 4, None, 3), (None, 3)),
        (pooling.GlobalMaxPooling3D, (2, None, 4, 5, 6), (2, 6)),
    ],
)
def test_global_pooling_compute_output_shape(cls, shape, expected):
    assert cls().compute_output_shape(shape) == expected
    kept = cls(keepdims=True).compute_output_shape(shape)
    assert kept == (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)
    first = cls(data_format="channels_first", keepdims=True).compute_output_shape(shape)
    assert first == shape[:2] + (1,) * (len(shape) - 2)


@pytest.mark.oracle
def test_global_pooling_config_round_trip(oracle):
    for name in ("GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling3D"):
        kwargs = dict(data_format="channels_first", keepdims=True, name="g")
        config = getattr(pooling, name)(**kwargs).get_config()
        assert config == getattr(oracle.layers, name)(**kwargs).get_config()
        assert getattr(pooling, name).from_config(config).get_config() == config
        serialized = oracle.layers.serialize(getattr(oracle.layers, name)(**kwargs))
        rebuilt = layers.deserialize(serialized)
        assert type(rebuilt) is getattr(pooling, name)
        assert rebuilt.keepdims is True and rebuilt.data_format == "channels_first"


def test_global_pooling_aliases():
    for rank in (1, 2, 3):
        max_class = getattr(pooling, f"GlobalMaxPooling{rank}D")
        average_class = getattr(pooling, f"GlobalAveragePooling{rank}D")
        assert getattr(pooling, f"GlobalMaxPool{rank}D") is max_class
        assert getattr(pooling, f"GlobalAvgPool{rank}D") is average_class
    layer = layers.deserialize({"class_name": "GlobalAvgPool2D", "config": {"keepdims": True}})
    assert type(layer) is pooling.GlobalAveragePooling2D and layer.keepdims


def test_global_pooling_errors():
    with pytest.raises(ValueError, match="data_format"):
        pooling.GlobalMaxPooling2D(data_format="channels_middle")
    with pytest.raises(ValueError, match="keepdims"):
        pooling.GlobalMaxPooling2D(keepdims="yes")
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        pooling.GlobalAveragePooling1D()(np.zeros((1, 2, 3, 4), "float32"))
