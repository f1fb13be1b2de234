"""Keras 2 ``K.*`` functions against reference results recorded from tf-keras 2.21 (TensorFlow).

The references live in ``fixtures/k_functions_tf_keras.npz``, written by
``fixtures/make_k_fixtures.py`` in a separate TensorFlow environment (the suite itself never
imports TensorFlow). Each case holds the function name, its array arguments, its keyword
arguments and the outputs.
"""

import json
import os

import numpy as np
import pytest
import torch

from lamina import backend as K

_PATH = os.path.join(os.path.dirname(__file__), "fixtures", "k_functions_tf_keras.npz")
_DATA = np.load(_PATH)
_CASES = sorted({key.split("/")[0] for key in _DATA.files})


def _case(name):
    fn = str(_DATA[f"{name}/fn"])
    args = json.loads(str(_DATA[f"{name}/args"]))
    kwargs = json.loads(str(_DATA[f"{name}/kwargs"]))
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    inputs = {a: _DATA[f"{name}/in_{a}"] for a in args}
    outputs = {k.split("/out_")[1]: _DATA[k] for k in _DATA.files if k.startswith(f"{name}/out_")}
    return fn, inputs, kwargs, outputs


def _np(x):
    return K.convert_to_numpy(x) if isinstance(x, torch.Tensor) else np.asarray(x)


def _rnn(inputs, kwargs):
    W, U = torch.tensor(inputs["W"]), torch.tensor(inputs["U"])

    def step(x_t, states):
        h = torch.tanh(x_t @ W + states[0] @ U)
        return h, [h]

    extra = {}
    if "mask" in inputs:
        extra["mask"] = inputs["mask"]
    if "input_length" in inputs:
        extra["input_length"] = torch.tensor(inputs["input_length"])
    last, outputs, states = K.rnn(step, inputs["inputs"], [torch.tensor(inputs["initial_state"])], **extra, **kwargs)
    return {"last": last, "outputs": outputs, "state": states[0]}


def _run(fn, inputs, kwargs):
    if fn == "rnn":
        return _rnn(inputs, kwargs)
    if fn == "moving_average_update":
        x = K.variable(inputs["x"])
        return {"out": K.moving_average_update(x, inputs["value"], **kwargs)}
    args = [list(v) if k == "reduction_axes" else v for k, v in inputs.items()]
    result = getattr(K, fn)(*args, **kwargs)
    if fn == "ctc_decode" and kwargs.get("greedy", True):
        return {"decoded": result[0][0], "log_prob": result[1]}
    if fn == "ctc_decode":
        return {**{f"decoded_{i}": d for i, d in enumerate(result[0])}, "log_prob": result[1]}
    if fn == "ctc_label_dense_to_sparse":
        return {"indices": result.indices().T, "values": result.values(), "dense_shape": torch.tensor(result.shape)}
    if fn == "normalize_batch_in_training":
        return dict(zip(("normed", "mean", "var"), result))
    return {"out": result}


def test_fixture_file_has_every_function():
    recorded = {str(_DATA[f"{c}/fn"]) for c in _CASES}
    assert recorded >= {
        "conv1d", "conv2d", "conv3d", "conv2d_transpose", "depthwise_conv2d", "separable_conv2d",
        "pool2d", "pool3d", "local_conv1d", "local_conv2d", "ctc_batch_cost", "ctc_decode",
        "ctc_label_dense_to_sparse", "rnn", "binary_focal_crossentropy",
        "categorical_focal_crossentropy", "normalize_batch_in_training", "moving_average_update",
    }


@pytest.mark.parametrize("case", _CASES)
def test_matches_tf_keras(case):
    fn, inputs, kwargs, expected = _case(case)
    got = _run(fn, inputs, kwargs)
    assert set(got) == set(expected)
    for name, want in expected.items():
        have = _np(got[name])
        assert have.shape == want.shape, (name, have.shape, want.shape)
        if np.issubdtype(want.dtype, np.integer):
            np.testing.assert_array_equal(have, want, err_msg=name)
        else:
            np.testing.assert_allclose(have, want, rtol=1e-4, atol=2e-5, err_msg=name)
