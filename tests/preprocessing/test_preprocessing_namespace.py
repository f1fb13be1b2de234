import numpy as np
import pytest

import lamina


def _public(module):
    return {name for name in dir(module) if not name.startswith("_")}


@pytest.mark.oracle
def test_keras2_modules_expose_keras_names(keras2):
    for name in ("image", "sequence", "text"):
        expected = _public(getattr(keras2, name))
        got = _public(getattr(lamina.preprocessing, name))
        assert expected <= got, f"missing in preprocessing.{name}: {sorted(expected - got)}"


@pytest.mark.oracle
def test_keras3_names(oracle):
    assert lamina.preprocessing.image.load_img is lamina.utils.load_img
    assert lamina.preprocessing.sequence.pad_sequences is lamina.utils.pad_sequences
    for name in ("image", "sequence"):
        missing = _public(getattr(oracle.preprocessing, name)) - _public(
            getattr(lamina.preprocessing, name)
        )
        assert not missing


def test_dataset_functions_come_from_utils(monkeypatch):
    def fake_dataset_function():
        return "from utils"

    monkeypatch.setattr(
        lamina.utils, "timeseries_dataset_from_array", fake_dataset_function, raising=False
    )
    assert lamina.preprocessing.timeseries_dataset_from_array() == "from utils"
    assert "timeseries_dataset_from_array" in dir(lamina.preprocessing)
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        lamina.preprocessing.not_a_function


@pytest.mark.oracle
def test_smart_resize_matches_keras(keras2):
    rng = np.random.default_rng(0)
    for shape, data_format in (((17, 23, 3), "channels_last"), ((2, 3, 11, 30), "channels_first")):
        x = rng.random(shape).astype("float32")
        cases = (((8, 8), "bilinear"), ((5, 12), "nearest"), ((30, 9), "bicubic"))
        for size, interpolation in cases:
            expected = keras2.image.smart_resize(x, size, interpolation=interpolation,
                                                 data_format=data_format)
            got = lamina.preprocessing.image.smart_resize(x, size, interpolation=interpolation,
                                                          data_format=data_format)
            assert isinstance(got, np.ndarray)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="incorrect rank"):
        lamina.preprocessing.image.smart_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="tuple of 2 integers"):
        lamina.preprocessing.image.smart_resize(np.zeros((4, 4, 1)), (2, 2, 2))
