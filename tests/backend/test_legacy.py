"""Keras 2 backend functions (``from lamina import backend as K``) against Keras 3 equivalents and
NumPy references of the Keras 2 formulas."""

import numpy as np
import pytest
import torch

from lamina.backend import legacy as K

_rng = np.random.default_rng(2)
X = _rng.normal(size=(3, 4)).astype("float32")
Y = _rng.normal(size=(3, 4)).astype("float32")
A = _rng.normal(size=(2, 3, 4)).astype("float32")
IMG = _rng.normal(size=(2, 3, 4, 2)).astype("float32")
PROBS = _rng.uniform(0.05, 1.0, size=(3, 4)).astype("float32")
LABELS = np.array([1, 0, 3])


@pytest.fixture(scope="module")
def keras(keras_oracle):
    return keras_oracle


def assert_close(got, expected):
    if isinstance(expected, (list, tuple)):
        for g, e in zip(got, expected):
            assert_close(g, e)
        return
    assert isinstance(got, torch.Tensor)
    g, e = got.detach().cpu().numpy(), np.asarray(expected)
    assert g.shape == e.shape
    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def antirectifier(x):
    """The Lambda-layer function of the seed (Keras 2 reference, core layers)."""
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def test_seed_antirectifier_matches_numpy():
    centered = X - X.mean(axis=1, keepdims=True)
    unit = centered / np.sqrt(np.maximum((centered**2).sum(axis=1, keepdims=True), 1e-12))
    expected = np.concatenate([np.maximum(unit, 0), np.maximum(-unit, 0)], axis=1)
    assert_close(antirectifier(torch.tensor(X)), expected)


def test_seed_hadamard_product_sum():
    out1 = torch.tensor(X) * torch.tensor(Y)
    assert_close(K.sum(out1, axis=-1), (X * Y).sum(axis=-1))


# (id, lamina call, oracle call on the keras module)
ORACLE_CASES = [
    ("mean", lambda: K.mean(A, axis=1, keepdims=True), lambda k: k.ops.mean(A, axis=1, keepdims=True)),
    ("mean_list_axis", lambda: K.mean(A, axis=[0, 2]), lambda k: k.ops.mean(A, axis=(0, 2))),
    ("sum", lambda: K.sum(A, axis=-1), lambda k: k.ops.sum(A, axis=-1)),
    ("max", lambda: K.max(A, axis=0), lambda k: k.ops.max(A, axis=0)),
    ("min", lambda: K.min(A), lambda k: k.ops.min(A)),
    ("prod", lambda: K.prod(X, axis=1), lambda k: k.ops.prod(X, axis=1)),
    ("std", lambda: K.std(A, axis=2), lambda k: k.ops.std(A, axis=2)),
    ("var", lambda: K.var(A, axis=(0, 1), keepdims=True), lambda k: k.ops.var(A, axis=(0, 1), keepdims=True)),
    ("logsumexp", lambda: K.logsumexp(A, axis=1), lambda k: k.ops.logsumexp(A, axis=1)),
    ("any", lambda: K.any(X > 1, axis=0), lambda k: k.ops.any(X > 1, axis=0)),
    ("all", lambda: K.all(X > -3), lambda k: k.ops.all(X > -3)),
    ("argmax", lambda: K.argmax(A), lambda k: k.ops.argmax(A, axis=-1)),
    ("argmin", lambda: K.argmin(A, axis=0), lambda k: k.ops.argmin(A, axis=0)),
    ("cumsum", lambda: K.cumsum(A), lambda k: k.ops.cumsum(A, axis=0)),
    ("cumprod", lambda: K.cumprod(X, axis=1), lambda k: k.ops.cumprod(X, axis=1)),
    ("square", lambda: K.square(X), lambda k: k.ops.square(X)),
    ("abs", lambda: K.abs(X), lambda k: k.ops.abs(X)),
    ("sqrt", lambda: K.sqrt(X), lambda k: k.ops.sqrt(k.ops.maximum(X, 0.0))),
    ("exp", lambda: K.exp(X), lambda k: k.ops.exp(X)),
    ("log", lambda: K.log(PROBS), lambda k: k.ops.log(PROBS)),
    ("pow", lambda: K.pow(PROBS, 1.5), lambda k: k.ops.power(PROBS, 1.5)),
    ("round", lambda: K.round(X * 2), lambda k: k.ops.round(X * 2)),
    ("sign", lambda: K.sign(X), lambda k: k.ops.sign(X)),
    ("sin", lambda: K.sin(X), lambda k: k.ops.sin(X)),
    ("cos", lambda: K.cos(X), lambda k: k.ops.cos(X)),
    ("maximum", lambda: K.maximum(X, Y), lambda k: k.ops.maximum(X, Y)),
    ("minimum", lambda: K.minimum(X, 0.0), lambda k: k.ops.minimum(X, 0.0)),
    ("equal", lambda: K.equal(X, X[0]), lambda k: k.ops.equal(X, X[0])),
    ("greater", lambda: K.greater(X, Y), lambda k: k.ops.greater(X, Y)),
    ("less_equal", lambda: K.less_equal(X, 0.1), lambda k: k.ops.less_equal(X, 0.1)),
    ("clip", lambda: K.clip(X, -0.5, 0.5), lambda k: k.ops.clip(X, -0.5, 0.5)),
    ("clip_swapped", lambda: K.clip(X, 0.5, -0.5), lambda k: k.ops.clip(X, 0.5, 0.5)),
    ("clip_open", lambda: K.clip(X, None, 0.2), lambda k: k.ops.minimum(X, 0.2)),
    ("dot_2d", lambda: K.dot(X, Y.T), lambda k: k.ops.matmul(X, Y.T)),
    ("transpose", lambda: K.transpose(A), lambda k: k.ops.transpose(A)),
    ("reshape", lambda: K.reshape(A, (4, -1)), lambda k: k.ops.reshape(A, (4, -1))),
    ("permute_dimensions", lambda: K.permute_dimensions(A, (0, 2, 1)), lambda k: k.ops.transpose(A, (0, 2, 1))),
    ("expand_dims", lambda: K.expand_dims(X), lambda k: k.ops.expand_dims(X, -1)),
    ("squeeze", lambda: K.squeeze(A[:, :1], 1), lambda k: k.ops.squeeze(A[:, :1], 1)),
    ("stack", lambda: K.stack([X, Y]), lambda k: k.ops.stack([X, Y])),
    ("concatenate", lambda: K.concatenate([A, A[..., :2]]), lambda k: k.ops.concatenate([A, A[..., :2]], axis=-1)),
    ("tile", lambda: K.tile(X, (2, 1)), lambda k: k.ops.tile(X, (2, 1))),
    ("repeat", lambda: K.repeat(X, 3), lambda k: k.ops.repeat(X[:, None], 3, axis=1)),
    ("repeat_elements", lambda: K.repeat_elements(A, 2, axis=1), lambda k: k.ops.repeat(A, 2, axis=1)),
    ("reverse", lambda: K.reverse(A, [0, 2]), lambda k: k.ops.flip(A, axis=(0, 2))),
    ("gather", lambda: K.gather(X, np.array([2, 0, 2])), lambda k: k.ops.take(X, np.array([2, 0, 2]), axis=0)),
    ("flatten", lambda: K.flatten(A), lambda k: k.ops.reshape(A, (-1,))),
    ("batch_flatten", lambda: K.batch_flatten(A), lambda k: k.ops.reshape(A, (2, -1))),
    ("slice", lambda: K.slice(A, (1, 0, 1), (1, -1, 2)), lambda k: k.ops.slice(A, (1, 0, 1), (1, 3, 2))),
    ("one_hot", lambda: K.one_hot(LABELS, 4), lambda k: k.ops.one_hot(LABELS, 4)),
    ("in_top_k", lambda: K.in_top_k(PROBS, LABELS, 2), lambda k: k.ops.in_top_k(LABELS, PROBS, 2)),
    ("softmax", lambda: K.softmax(A), lambda k: k.ops.softmax(A)),
    ("softmax_axis", lambda: K.softmax(A, axis=1), lambda k: k.ops.softmax(A, axis=1)),
    ("sigmoid", lambda: K.sigmoid(X), lambda k: k.ops.sigmoid(X)),
    ("tanh", lambda: K.tanh(X), lambda k: k.ops.tanh(X)),
    ("softplus", lambda: K.softplus(X), lambda k: k.ops.softplus(X)),
    ("softsign", lambda: K.softsign(X), lambda k: k.ops.softsign(X)),
    ("elu", lambda: K.elu(X, 0.5), lambda k: k.ops.elu(X, 0.5)),
    ("categorical_crossentropy", lambda: K.categorical_crossentropy(np.eye(4, dtype="float32")[LABELS], PROBS),
     lambda k: k.ops.categorical_crossentropy(np.eye(4, dtype="float32")[LABELS], PROBS)),
    ("sparse_cce_logits", lambda: K.sparse_categorical_crossentropy(LABELS, X, from_logits=True),
     lambda k: k.ops.sparse_categorical_crossentropy(LABELS, X, from_logits=True)),
    ("resize_nearest", lambda: K.resize_images(IMG, 2, 3, "channels_last"),
     lambda k: k.ops.image.resize(IMG, (6, 12), interpolation="nearest")),
    ("resize_bilinear", lambda: K.resize_images(IMG, 2, 2, "channels_last", interpolation="bilinear"),
     lambda k: k.ops.image.resize(IMG, (6, 8), interpolation="bilinear")),
    ("spatial_2d_padding", lambda: K.spatial_2d_padding(IMG, ((1, 0), (2, 1))),
     lambda k: k.ops.pad(IMG, ((0, 0), (1, 0), (2, 1), (0, 0)))),
    ("temporal_padding", lambda: K.temporal_padding(A, (0, 2)), lambda k: k.ops.pad(A, ((0, 0), (0, 2), (0, 0)))),
]
ORACLE_CASES += [
    (f"relu-{a}-{m}-{t}", (lambda a=a, m=m, t=t: K.relu(A * 3, alpha=a, max_value=m, threshold=t)),
     (lambda k, a=a, m=m, t=t: k.activations.relu(A * 3, negative_slope=a, max_value=m, threshold=t)))
    for a in (0.0, 0.1) for m in (None, 2.0, 6) for t in (0.0, 0.5, -0.5)
]
ORACLE_CASES += [
    (f"batch_dot-{i}", (lambda x=x, y=y, ax=ax: K.batch_dot(x, y, axes=ax)),
     (lambda k, x=x, y=y, ax=ax: __import__("keras.src.layers.merging.dot", fromlist=["x"]).batch_dot(
         k.ops.convert_to_tensor(x), k.ops.convert_to_tensor(y), axes=ax)))
    for i, (x, y, ax) in enumerate([
        (X, Y, 1),
        (X, Y, None),
        (np.ones((32, 20, 1), "float32"), np.ones((32, 30, 20), "float32"), (1, 2)),
        (A, _rng.normal(size=(2, 4, 5)).astype("float32"), None),
        (A, _rng.normal(size=(2, 5, 3)).astype("float32"), (1, 2)),
        (A, X[:2], (2, 1)),
        (X[:2], A, (1, 2)),
        (_rng.normal(size=(2, 3, 4, 5)).astype("float32"), _rng.normal(size=(2, 5, 3, 6)).astype("float32"), (3, 1)),
    ])
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,call,reference", ORACLE_CASES, ids=[c[0] for c in ORACLE_CASES])
def test_matches_keras(keras, name, call, reference):
    assert_close(call(), reference(keras))


def test_dot_matches_numpy():
    w = _rng.normal(size=(5, 4, 6)).astype("float32")
    assert_close(K.dot(A, w), np.dot(A, w))  # (2, 3, 4) . (5, 4, 6) -> (2, 3, 5, 6)
    assert_close(K.dot(A, X.T), np.dot(A, X.T))


def test_batch_dot_keras2_doc_example():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    y = np.array([[5.0, 6.0], [7.0, 8.0]], "float32")
    assert_close(K.batch_dot(x, y, axes=1), [[17.0], [53.0]])


def test_keras2_formulas_match_numpy():
    assert_close(K.l2_normalize(X), X / np.sqrt((X**2).sum()))
    assert_close(K.l2_normalize(np.zeros((2, 2), "float32"), axis=0), np.zeros((2, 2)))
    assert_close(K.hard_sigmoid(X * 4), np.clip(0.2 * X * 4 + 0.5, 0, 1))
    t = (PROBS > 0.5).astype("float32")
    eps = 1e-7
    p = np.clip(PROBS, eps, 1 - eps)
    assert_close(K.binary_crossentropy(t, PROBS), -(t * np.log(p + eps) + (1 - t) * np.log(1 - p + eps)))
    logits = X * 3
    ref = np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
    assert_close(K.binary_crossentropy(t, logits, from_logits=True), ref)
    log_p = np.log(np.clip(PROBS, eps, 1 - eps))
    log_softmax = log_p - np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    assert_close(K.sparse_categorical_crossentropy(LABELS, PROBS), -log_softmax[np.arange(3), LABELS])
    masked = K.sparse_categorical_crossentropy(np.array([1, -1, 3]), X, from_logits=True, ignore_class=-1)
    assert masked[1] == 0 and masked[0] > 0
    bn = K.batch_normalization(A, A.mean(axis=(0, 1)), A.var(axis=(0, 1)), 0.5, 2.0, epsilon=1e-3)
    assert_close(bn, (A - A.mean(axis=(0, 1))) / np.sqrt(A.var(axis=(0, 1)) + 1e-3) * 2.0 + 0.5)
    bias = np.arange(2, dtype="float32")
    assert_close(K.bias_add(IMG, bias), IMG + bias)
    chw = IMG.transpose(0, 3, 1, 2)
    assert_close(K.bias_add(chw, bias, data_format="channels_first"), chw + bias[:, None, None])
    assert_close(K.resize_volumes(A[None, ..., None], 2, 1, 3, "channels_last"),
                 A[None, ..., None].repeat(2, 1).repeat(3, 3))


def test_switch():
    cond = np.array([True, False, True])
    assert_close(K.switch(cond, X, Y), np.where(cond[:, None], X, Y))  # selects rows
    assert_close(K.switch(True, lambda: X, lambda: 1 / 0), X)  # only the chosen branch runs
    assert_close(K.switch(X > 0, X, 0.0), np.where(X > 0, X, 0.0))


def test_variables_and_values():
    v = K.variable([[1, 2], [3, 4]], name="w")
    assert v.dtype == torch.float32 and K.int_shape(v) == (2, 2) and K.ndim(v) == 2
    assert v.name == "w" and v.requires_grad and isinstance(v, torch.Tensor)
    plain = torch.zeros(2)
    K.set_value(plain, [1.0, 2.0])
    assert plain.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="constraint"):
        K.variable(1.0, constraint=lambda w: w)
    assert K.dtype(v) == "float32" and K.count_params(v) == 4
    K.set_value(v, np.zeros((2, 2)))
    np.testing.assert_array_equal(K.get_value(v), np.zeros((2, 2)))
    K.update_add(v, np.ones((2, 2)))
    assert K.eval(v).sum() == 4
    K.batch_set_value([(v, np.full((2, 2), 3.0))])
    assert K.batch_get_value([v])[0][0, 0] == 3.0
    with pytest.raises(ValueError, match="shape"):
        K.set_value(v, np.zeros(3))
    assert K.variable(np.ones(2), dtype="float16").dtype == torch.float16
    assert_close(K.constant(2.0, shape=(2, 3)), np.full((2, 3), 2.0))
    assert_close(K.eye((2, 3)), np.eye(2, 3))
    assert K.zeros((2, 3)).dtype == torch.float32 and K.ones((2,), dtype="int32").dtype == torch.int32
    assert K.arange(-3).numel() == 0 and K.arange(5).dtype == torch.int32
    assert isinstance(K.cast_to_floatx([1, 2]), np.ndarray) and K.cast_to_floatx([1, 2]).dtype == np.float32
    assert K.cast(X, "int32").dtype == torch.int32
    assert K.epsilon() == pytest.approx(1e-7) and K.floatx() == "float32"
    assert K.image_data_format() == "channels_last"


def test_shapes():
    class Symbolic:
        shape = (None, 3, 4)

    assert K.int_shape(Symbolic()) == (None, 3, 4) and K.ndim(Symbolic()) == 3
    assert K.int_shape(np.ones((2, 5))) == (2, 5)
    assert K.shape(A).tolist() == [2, 3, 4] and K.shape(A).dtype == torch.int32
    assert K.shape(Symbolic()) == (None, 3, 4)


def test_random_tensors_are_seeded():
    a = K.random_uniform((100,), -1.0, 2.0, seed=3)
    assert torch.equal(a, K.random_uniform((100,), -1.0, 2.0, seed=3))
    assert a.min() >= -1.0 and a.max() < 2.0
    n = K.truncated_normal((1000,), mean=1.0, stddev=0.5, seed=1)
    assert n.min() >= 0.0 and n.max() <= 2.0
    assert K.random_normal((2, 3), dtype="float64", seed=0).dtype == torch.float64
    b = K.random_bernoulli((1000,), p=0.3, seed=0)
    assert set(b.unique().tolist()) <= {0.0, 1.0} and 0.2 < b.mean() < 0.4


def test_dropout():
    x = torch.ones(4, 1000)
    out = K.dropout(x, 0.25, seed=0)
    kept = out != 0
    assert torch.allclose(out[kept], torch.tensor(1 / 0.75))
    assert 0.2 < 1 - kept.float().mean() < 0.3
    shared = K.dropout(x, 0.5, noise_shape=(4, 1), seed=0)
    assert all(len(row.unique()) == 1 for row in shared)


def test_gradients_flow_through_antirectifier():
    x = torch.tensor(X, requires_grad=True)
    K.sum(antirectifier(x * 1.0)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: K.softmax(np.ones(3)), "rank"),
        (lambda: K.batch_dot(X, Y, axes=0), "batch axis"),
        (lambda: K.batch_dot(X, Y[:2]), "batch sizes"),
        (lambda: K.batch_dot(X, np.ones((3, 5))), "axes do not match"),
        (lambda: K.batch_dot(X[0], Y), "rank"),
        (lambda: K.batch_dot(X, Y, axes=(1, 2, 3)), "axes"),
        (lambda: K.repeat(A, 2), "rank 2"),
        (lambda: K.squeeze(X, 0), "squeeze"),
        (lambda: K.dropout(X, 1.0), "level"),
        (lambda: K.spatial_2d_padding(IMG, (1, 1)), "padding"),
        (lambda: K.temporal_padding(A, (1, 1, 1)), "padding"),
        (lambda: K.resize_images(IMG, 2, 2, "channels_last", interpolation="cubic"), "interpolation"),
        (lambda: K.resize_images(IMG, 2, 2, "channels_middle"), "data_format"),
        (lambda: K.argmax(X, axis=2), "axis"),
        (lambda: K.bias_add(IMG, np.ones((2, 2))), "bias"),
        (lambda: K.switch(np.ones((2, 2, 2), bool), X[:2, :2], Y[:2, :2]), "condition"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_antirectifier_on_meta_tensors():
    # Lambda layers infer their output shape by calling the function on meta tensors.
    out = antirectifier(torch.empty(5, 4, device="meta"))
    assert out.shape == (5, 8) and out.device.type == "meta"
    assert K.batch_dot(torch.empty(2, 3, 4, device="meta"), torch.empty(2, 4, 5, device="meta")).shape == (2, 3, 5)
