"""Keras 2 ``K.*`` convolution, pooling, CTC and focal losses against their Keras 3 equivalents
(the oracle), after the Keras 2 conventions are translated (CTC: probabilities and the last
class as blank; focal BCE: element-wise instead of averaged)."""

import numpy as np
import pytest

from lamina import backend as K

_rng = np.random.default_rng(5)


def _np(x):
    return np.asarray(K.convert_to_numpy(x))


@pytest.mark.oracle
@pytest.mark.parametrize("padding,strides,dilation", [("valid", (1, 1), (1, 1)), ("same", (2, 1), (1, 1)), ("same", (1, 1), (2, 2))])
def test_conv2d_and_depthwise(oracle, padding, strides, dilation):
    x = _rng.normal(size=(2, 7, 6, 3)).astype("float32")
    kernel = _rng.normal(size=(3, 3, 3, 4)).astype("float32")
    expected = oracle.ops.conv(x, kernel, strides, padding, dilation_rate=dilation)
    np.testing.assert_allclose(_np(K.conv2d(x, kernel, strides, padding, dilation_rate=dilation)), expected, rtol=1e-4, atol=1e-5)
    depthwise = _rng.normal(size=(3, 3, 3, 2)).astype("float32")
    expected = oracle.ops.depthwise_conv(x, depthwise, strides, padding, dilation_rate=dilation)
    np.testing.assert_allclose(
        _np(K.depthwise_conv2d(x, depthwise, strides, padding, dilation_rate=dilation)), expected, rtol=1e-4, atol=1e-5
    )


@pytest.mark.oracle
@pytest.mark.parametrize("pool_mode,padding", [("max", "valid"), ("avg", "same")])
def test_pool2d_and_pool3d(oracle, pool_mode, padding):
    x = _rng.normal(size=(2, 7, 5, 3)).astype("float32")
    ops_fn = oracle.ops.max_pool if pool_mode == "max" else oracle.ops.average_pool
    np.testing.assert_allclose(
        _np(K.pool2d(x, (3, 2), (2, 2), padding, pool_mode=pool_mode)), ops_fn(x, (3, 2), (2, 2), padding), rtol=1e-5, atol=1e-6
    )
    v = _rng.normal(size=(1, 5, 4, 6, 2)).astype("float32")
    np.testing.assert_allclose(
        _np(K.pool3d(v, (2, 2, 3), (2, 1, 2), padding, pool_mode=pool_mode)),
        ops_fn(v, (2, 2, 3), (2, 1, 2), padding),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.oracle
def test_ctc_batch_cost_is_ctc_loss_on_log_probabilities_with_last_blank(oracle):
    logits = _rng.normal(size=(3, 8, 5)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.array([[0, 1, 2], [3, 3, 0], [1, 0, 0]])
    label_length, input_length = np.array([3, 2, 1]), np.array([8, 6, 7])
    expected = oracle.ops.ctc_loss(
        labels, np.log(probs + K.epsilon()), label_length, input_length, mask_index=4
    )
    got = K.ctc_batch_cost(labels, probs, input_length[:, None], label_length[:, None])
    assert got.shape == (3, 1)
    np.testing.assert_allclose(_np(got)[:, 0], expected, rtol=1e-4)


@pytest.mark.oracle
def test_focal_crossentropies(oracle):
    target = (_rng.random((4, 5)) > 0.5).astype("float32")
    probs = _rng.uniform(0.05, 0.95, (4, 5)).astype("float32")
    ours = _np(K.binary_focal_crossentropy(target, probs, apply_class_balancing=True, alpha=0.4, gamma=1.5))
    theirs = oracle.losses.binary_focal_crossentropy(target, probs, apply_class_balancing=True, alpha=0.4, gamma=1.5)
    np.testing.assert_allclose(ours.mean(-1), theirs, rtol=1e-4)  # Keras 3 averages the last axis
    one_hot = np.eye(5, dtype="float32")[_rng.integers(0, 5, 4)]
    logits = _rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_allclose(
        _np(K.categorical_focal_crossentropy(one_hot, logits, from_logits=True, gamma=3.0)),
        oracle.losses.categorical_focal_crossentropy(one_hot, logits, from_logits=True, gamma=3.0),
        rtol=1e-4,
    )


def test_argument_errors():
    x = np.ones((1, 5, 5, 2), "float32")
    with pytest.raises(ValueError, match="Unknown data_format"):
        K.conv2d(x, np.ones((3, 3, 2, 1), "float32"), data_format="NHWC")
    with pytest.raises(ValueError, match="Invalid padding"):
        K.conv2d(x, np.ones((3, 3, 2, 1), "float32"), padding="full")
    with pytest.raises(ValueError, match="rank 4"):
        K.conv2d(np.ones((5, 5, 2)), np.ones((3, 3, 2, 1)))
    with pytest.raises(ValueError, match="causal"):
        K.conv2d(x, np.ones((3, 3, 2, 1), "float32"), padding="causal")
    with pytest.raises(ValueError, match="pooling mode"):
        K.pool2d(x, (2, 2), pool_mode="min")
    with pytest.raises(ValueError, match="tuple of 2"):
        K.pool2d(x, (2, 2, 2))
    with pytest.raises(ValueError, match="tuple of 2"):
        K.separable_conv2d(x, np.ones((3, 3, 2, 1)), np.ones((1, 1, 2, 3)), strides=1)
    with pytest.raises(ValueError, match="not reachable"):
        K.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), (1, 9, 9, 4), strides=(2, 2))
    with pytest.raises(ValueError, match="equal"):
        K.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), (1, 7, 5, 4), dilation_rate=(2, 1))
    with pytest.raises(ValueError, match="output channels"):
        K.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 2)), (1, 5, 5, 3))
    with pytest.raises(ValueError, match="output positions"):
        K.local_conv2d(x, np.ones((3, 18, 1)), (3, 3), (1, 1), (3, 3))
    with pytest.raises(ValueError, match="top_paths <= beam_width"):
        K.ctc_decode(np.ones((1, 4, 3)) / 3, np.array([4]), greedy=False, beam_width=2, top_paths=3)
    with pytest.raises(ValueError, match="more than the 1 paths"):
        K.ctc_decode(np.ones((1, 1, 2)) / 2, np.array([0]), greedy=False, beam_width=4, top_paths=2)
    with pytest.raises(ValueError, match="num_categories"):
        K.ctc_batch_cost(np.zeros((1, 2)), np.ones((4, 3)), np.array([[4]]), np.array([[2]]))
