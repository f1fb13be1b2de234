import json
import os
import subprocess
import sys

import pytest

import lamina
from lamina import backend


def _run(code, env):
    full_env = dict(os.environ, **env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, check=True
    ).stdout.strip()


def test_defaults_and_setters():
    assert backend.floatx() == "float32"
    assert backend.epsilon() == pytest.approx(1e-7)
    assert backend.image_data_format() == "channels_last"
    backend.set_epsilon(1e-5)
    try:
        assert backend.epsilon() == 1e-5
    finally:
        backend.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="floatx"):
        backend.set_floatx("float8")
    with pytest.raises(ValueError, match="data_format"):
        backend.set_image_data_format("channels_middle")


def test_config_file_is_read(tmp_path):
    (tmp_path / "lamina.json").write_text(json.dumps({"floatx": "float64", "image_data_format": "channels_first"}))
    out = _run(
        "import lamina.backend as b; print(b.floatx(), b.image_data_format())",
        {"LAMINA_HOME": str(tmp_path)},
    )
    assert out == "float64 channels_first"


def test_keras_json_fallback(tmp_path):
    (tmp_path / ".keras").mkdir()
    (tmp_path / ".keras" / "keras.json").write_text(json.dumps({"epsilon": 0.001}))
    out = _run("import lamina.backend as b; print(b.epsilon())", {"HOME": str(tmp_path), "LAMINA_HOME": ""})
    assert out == "0.001"


def test_unreadable_home_is_not_an_error(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    (home / "lamina.json").write_text("{not json")
    os.chmod(home, 0o500)
    out = _run("import lamina.backend as b; print(b.floatx())", {"LAMINA_HOME": str(home)})
    assert out == "float32"


def test_unique_names_and_clear_session():
    a, b = lamina.layers.Dense(1), lamina.layers.Dense(1)
    assert (a.name, b.name) == ("dense", "dense_1")
    backend.clear_session()
    assert lamina.layers.Dense(1).name == "dense"


def test_device_choice():
    assert backend.get_device().type in ("cpu", "cuda")
    previous = backend.get_device()
    backend.set_device("cpu")
    try:
        layer = lamina.layers.Dense(2)
        layer.build((None, 3))
        assert layer.kernel.device.type == "cpu"
    finally:
        backend.set_device(previous)
