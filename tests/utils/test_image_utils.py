import builtins
import io
import pathlib

import numpy as np
import pytest

import lamina
from lamina.utils import image_utils


def _write_image(path, shape, mode=None):
    rng = np.random.default_rng(len(shape) * 7 + shape[0])
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    from PIL import Image

    Image.fromarray(pixels, mode).save(path)
    return pixels


@pytest.fixture
def image_files(tmp_path):
    files = {}
    files["rgb"] = tmp_path / "rgb.png"
    _write_image(files["rgb"], (23, 31, 3))
    files["rgba"] = tmp_path / "rgba.png"
    _write_image(files["rgba"], (17, 12, 4))
    files["gray"] = tmp_path / "gray.png"
    _write_image(files["gray"], (20, 20))
    files["jpeg"] = tmp_path / "photo.jpg"
    _write_image(files["jpeg"], (30, 18, 3))
    files["gray16"] = tmp_path / "gray16.png"
    from PIL import Image

    Image.fromarray((np.arange(300, dtype=np.uint16) * 200).reshape(15, 20)).save(files["gray16"])
    return files


@pytest.mark.oracle
@pytest.mark.parametrize(
    "resize",
    [
        {},
        {"target_size": (10, 14)},
        {"target_size": (40, 9), "interpolation": "bilinear"},
        {"target_size": (12, 12), "interpolation": "bicubic", "keep_aspect_ratio": True},
        {"target_size": (7, 25), "interpolation": "lanczos", "keep_aspect_ratio": True},
        {"target_size": (9, 9), "interpolation": "box"},
        {"target_size": (9, 8), "interpolation": "hamming"},
    ],
)
def test_load_img_and_img_to_array_match_keras(oracle, image_files, resize):
    for path in image_files.values():
        for color_mode in ("rgb", "rgba", "grayscale"):
            expected = oracle.utils.load_img(path, color_mode=color_mode, **resize)
            got = lamina.utils.load_img(path, color_mode=color_mode, **resize)
            assert got.mode == expected.mode and got.size == expected.size
            for data_format, dtype in (("channels_last", None), ("channels_first", "uint8")):
                a = lamina.utils.img_to_array(got, data_format=data_format, dtype=dtype)
                b = oracle.utils.img_to_array(expected, data_format=data_format, dtype=dtype)
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)


@pytest.mark.oracle
def test_load_img_path_types(oracle, image_files):
    path = image_files["rgb"]
    reference = np.asarray(oracle.utils.load_img(str(path)))
    for source in (str(path), pathlib.Path(path), str(path).encode()):
        np.testing.assert_array_equal(np.asarray(lamina.utils.load_img(source)), reference)
    buffer = io.BytesIO(path.read_bytes())
    np.testing.assert_array_equal(np.asarray(lamina.utils.load_img(buffer)), reference)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(6, 5, 3), (6, 5, 4), (6, 5, 1), (3, 6, 5)])
@pytest.mark.parametrize("scale", [True, False])
def test_array_to_img_matches_keras(oracle, shape, scale):
    x = np.random.default_rng(1).random(shape) * (1 if scale else 255)
    data_format = "channels_first" if shape[0] == 3 else "channels_last"
    expected = oracle.utils.array_to_img(x, data_format=data_format, scale=scale)
    got = lamina.utils.array_to_img(x, data_format=data_format, scale=scale)
    assert got.mode == expected.mode
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    # One channel with values beyond 8 bits becomes a 32-bit image, as in Keras.
    wide = np.arange(12.0).reshape(3, 4, 1) * 100
    assert lamina.utils.array_to_img(wide, scale=False).mode == "I"
    np.testing.assert_array_equal(
        np.asarray(lamina.utils.array_to_img(wide, scale=False)),
        np.asarray(oracle.utils.array_to_img(wide, scale=False)),
    )


@pytest.mark.oracle
@pytest.mark.parametrize("file_name", ["out.png", "out.jpg", "out.bmp"])
def test_save_img_matches_keras(oracle, tmp_path, file_name):
    x = np.random.default_rng(2).random((8, 9, 3))
    lamina.utils.save_img(tmp_path / ("lamina_" + file_name), x)
    oracle.utils.save_img(tmp_path / ("keras_" + file_name), x)
    assert (tmp_path / ("lamina_" + file_name)).read_bytes() == (
        tmp_path / ("keras_" + file_name)
    ).read_bytes()


def test_save_img_options(tmp_path):
    x = np.random.default_rng(3).random((3, 8, 9))
    lamina.utils.save_img(tmp_path / "cf.png", x, data_format="channels_first", scale=True)
    back = lamina.utils.img_to_array(lamina.utils.load_img(tmp_path / "cf.png"))
    np.testing.assert_array_equal(back, np.asarray(lamina.utils.array_to_img(x, "channels_first")))
    buffer = io.BytesIO()
    lamina.utils.save_img(buffer, x.transpose(1, 2, 0) * 255, file_format="png", scale=False)
    assert buffer.getvalue().startswith(b"\x89PNG")
    with pytest.warns(UserWarning, match="RGBA"):
        lamina.utils.save_img(tmp_path / "rgba.jpg", np.ones((4, 4, 4)))
    assert lamina.utils.load_img(tmp_path / "rgba.jpg").mode == "RGB"


def test_load_img_keras2_grayscale_argument(image_files):
    path = image_files["rgb"]
    expected = np.asarray(lamina.utils.load_img(path, color_mode="grayscale"))
    with pytest.warns(DeprecationWarning, match="color_mode"):
        np.testing.assert_array_equal(np.asarray(lamina.utils.load_img(path, grayscale=True)),
                                      expected)
    with pytest.warns(DeprecationWarning, match="color_mode"):
        np.testing.assert_array_equal(np.asarray(lamina.utils.load_img(path, True)), expected)
    assert lamina.utils.load_img(path, False).mode == "RGB"


def test_image_utils_errors(image_files):
    with pytest.raises(ValueError, match="color_mode"):
        lamina.utils.load_img(image_files["rgb"], color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation"):
        lamina.utils.load_img(image_files["rgb"], target_size=(3, 3), interpolation="cubic")
    with pytest.raises(TypeError, match="path-like or io.BytesIO"):
        lamina.utils.load_img(12)
    with pytest.raises(ValueError, match="rank 3"):
        lamina.utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="number of channels: 2"):
        lamina.utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="Unsupported image shape"):
        lamina.utils.img_to_array(np.zeros((1, 2, 2, 3)))


def test_missing_pillow_names_the_install_command(monkeypatch, image_files):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        image_utils.load_img(image_files["rgb"])
    with pytest.raises(ImportError, match="pip install pillow"):
        image_utils.array_to_img(np.zeros((2, 2, 3)))
