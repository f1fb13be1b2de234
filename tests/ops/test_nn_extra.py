"""lamina.ops nn functions beyond the basics (activations, conv/pool, attention, CTC, ...)
against keras.ops (JAX backend) on the same inputs."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(7)
X = (_rng.normal(size=(2, 3, 6)) * 2).astype("float32")
INTS = np.array([-3, -1, 0, 1, 2, 5], "int32")
IMG = _rng.normal(size=(2, 7, 6, 4)).astype("float32")
IMG1D = _rng.normal(size=(2, 9, 3)).astype("float32")
VOL = _rng.normal(size=(1, 5, 6, 4, 2)).astype("float32")
K2 = _rng.normal(size=(3, 2, 4, 5)).astype("float32")
K2_GROUPED = _rng.normal(size=(3, 3, 2, 6)).astype("float32")
K1 = _rng.normal(size=(3, 3, 4)).astype("float32")
K3 = _rng.normal(size=(2, 3, 2, 2, 3)).astype("float32")
KT = _rng.normal(size=(3, 3, 5, 4)).astype("float32")
DW = _rng.normal(size=(3, 3, 4, 2)).astype("float32")
PW = _rng.normal(size=(1, 1, 8, 5)).astype("float32")
Q = _rng.normal(size=(2, 5, 4, 8)).astype("float32")
KV = _rng.normal(size=(2, 6, 2, 8)).astype("float32")
KV4 = _rng.normal(size=(2, 6, 4, 8)).astype("float32")
MASK = _rng.uniform(size=(2, 1, 5, 6)) > 0.4
MASK[0, 0, 1] = False  # a fully masked query row
BIAS = _rng.normal(size=(1, 4, 5, 6)).astype("float32")
CHW = _rng.normal(size=(2, 3, 6, 5)).astype("float32")
C8 = _rng.normal(size=(2, 8, 4, 6)).astype("float32")


def assert_same(got, expected, rtol=1e-5, atol=1e-5):
    if isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_same(g, e, rtol, atol)
        return
    g, e = got.detach().cpu().numpy(), np.asarray(expected)
    assert g.shape == e.shape
    assert g.dtype == e.dtype, (g.dtype, e.dtype)
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


# sparsemax is left out: Keras 3.15 computes it wrongly (see lamina.activations.sparsemax).
ACTIVATIONS = ["celu", "hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid",
               "squareplus", "tanh_shrink"]

CASES = (
    [(n, (X,), {}) for n in ACTIVATIONS]
    + [(n, (INTS,), {}) for n in ACTIVATIONS]
    + [
        ("celu", (X,), {"alpha": 0.5}),
        ("glu", (X,), {}),
        ("glu", (X[:, :2],), {"axis": 1}),
        ("hard_shrink", (X,), {"threshold": 1.5}),
        ("soft_shrink", (X,), {"threshold": 1.0}),
        ("squareplus", (X,), {"b": 1}),
        ("threshold", (X, 0.5, -2.0), {}),
        ("threshold", (INTS, 1, 7), {}),
        ("layer_normalization", (X,), {}),
        ("layer_normalization", (X,), {"gamma": np.arange(6, dtype="float32"), "beta": np.ones(6, "float32")}),
        ("layer_normalization", (X,), {"axis": (1, 2), "epsilon": 0.1}),
        ("layer_normalization", (X.astype("float16"),), {"axis": 1}),
        ("layer_normalization", (X,), {"gamma": np.full(6, 2.0, "float32"), "rms_scaling": True}),
        ("rms_normalization", (X,), {}),
        ("rms_normalization", (X,), {"scale": np.arange(6, dtype="float32"), "epsilon": 0.01}),
        ("rms_normalization", (X,), {"axis": 1}),
        ("psnr", (X, X * 0.9, 4.0), {}),
        ("polar", (np.abs(X), X), {}),
        ("conv", (IMG, K2), {}),
        ("conv", (IMG, K2), {"strides": 2, "padding": "same"}),
        ("conv", (IMG, K2), {"dilation_rate": (2, 1), "padding": "same"}),
        ("conv", (IMG, K2_GROUPED), {}),
        ("conv", (IMG1D, K1), {"padding": "same", "strides": 2}),
        ("conv", (VOL, K3), {"padding": "same"}),
        ("conv", (np.moveaxis(IMG, -1, 1), K2), {"data_format": "channels_first", "strides": (1, 2)}),
        ("depthwise_conv", (IMG, DW), {}),
        ("depthwise_conv", (IMG, DW), {"strides": 2, "padding": "same"}),
        ("separable_conv", (IMG, DW, PW), {"padding": "same"}),
        ("conv_transpose", (IMG, KT), {}),
        ("conv_transpose", (IMG, KT), {"strides": 2, "padding": "same"}),
        ("conv_transpose", (IMG, KT), {"strides": 2, "output_padding": 1}),
        # (Explicit strides: Keras 3.15 on JAX fails with strides=None; see the test below.)
        ("max_pool", (IMG, (2, 2)), {"strides": 2}),
        ("max_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
        ("max_pool", (IMG1D, (2,)), {"strides": (2,)}),
        ("average_pool", (IMG, (2, 3)), {"strides": 2, "padding": "same"}),
        ("average_pool", (VOL, (2, 2, 2)), {"strides": 2}),
        ("average_pool", (np.moveaxis(IMG, -1, 1), (2, 2)), {"data_format": "channels_first", "strides": (2, 2)}),
        ("adaptive_average_pool", (IMG, (3, 4)), {}),
        ("adaptive_max_pool", (IMG, 4), {}),
        ("adaptive_max_pool", (IMG1D, 4), {}),
        ("depth_to_space", (IMG[:, :, :, :4], 2), {}),
        ("depth_to_space", (C8, 2), {"data_format": "channels_first"}),
        ("space_to_depth", (IMG[:, :6], 2), {}),
        ("space_to_depth", (C8, 2), {"data_format": "channels_first"}),
        ("unfold", (CHW, 2), {}),
        ("unfold", (CHW, (2, 3)), {"dilation": 1, "padding": 1, "stride": 2}),
        ("fold", (np.ones((2, 12, 20), "float32"), (6, 5), 2), {}),
        ("dot_product_attention", (Q, KV4, KV4), {}),
        ("dot_product_attention", (Q, KV, KV), {"is_causal": True}),
        ("dot_product_attention", (Q, KV4, KV4), {"mask": MASK, "scale": 0.3}),
        ("dot_product_attention", (Q, KV4, KV4), {"bias": BIAS, "mask": MASK}),
        ("dot_product_attention", (Q, KV, KV), {"bias": BIAS, "is_causal": True}),
    ]
)


@pytest.mark.oracle
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(kops, name, args, kwargs):
    expected = getattr(kops, name)(*args, **kwargs)
    rtol = 1e-3 if kwargs.get("rms_scaling") or (args[0].dtype == np.float16) else 1e-5
    assert_same(getattr(ops, name)(*args, **kwargs), expected, rtol=rtol, atol=1e-4)
    assert_same(getattr(ops.nn, name)(*args, **kwargs), expected, rtol=rtol, atol=1e-4)


LABELS = np.array([[1, 2, 2, 0], [3, 1, 0, 0]], "int32")
LOGITS = _rng.normal(size=(2, 8, 5)).astype("float32")


@pytest.mark.oracle
def test_ctc_loss_matches_keras(kops):
    args = (LABELS, LOGITS, np.array([3, 2]), np.array([8, 6]))
    assert_same(ops.ctc_loss(*args), kops.ctc_loss(*args), rtol=1e-4)
    assert_same(ops.ctc_loss(*args, mask_index=4), kops.ctc_loss(*args, mask_index=4), rtol=1e-4)


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [{}, {"merge_repeated": False}, {"mask_index": 4}, {"mask_index": None}])
def test_ctc_greedy_decode_matches_keras(kops, kwargs):
    logits = LOGITS.copy()
    logits[0, 2:4, 3] = 9.0  # a repeat to merge
    args = (logits, np.array([8, 5]))
    assert_same(ops.ctc_decode(*args, **kwargs), kops.ctc_decode(*args, **kwargs))


def test_pool_strides_default_to_the_pool_size():
    for fn in (ops.max_pool, ops.average_pool):
        np.testing.assert_array_equal(fn(IMG, 2).numpy(), fn(IMG, (2, 2), strides=(2, 2)).numpy())


def test_sparsemax_projects_onto_the_simplex():
    out = ops.sparsemax(X, axis=1)
    np.testing.assert_allclose(out.sum(dim=1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ops.nn.sparsemax([0.0, 0.5, 1.0]).numpy(), [0.0, 0.25, 0.75], atol=1e-7)


def test_ctc_decode_beam_search_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(LOGITS, np.array([8, 8]), strategy="beam_search")


def test_conv_gradients_flow_to_inputs_and_kernel():
    x = torch.tensor(IMG, requires_grad=True)
    k = torch.tensor(K2, requires_grad=True)
    ops.sum(ops.conv(x, k, padding="same", strides=2)).backward()
    assert x.grad.shape == IMG.shape and k.grad.shape == K2.shape


def test_attention_soft_cap_follows_the_documented_formula():
    cap = 2.0
    q, k = torch.tensor(Q), torch.tensor(KV4)
    got = ops.dot_product_attention(q, k, k, attn_logits_soft_cap=cap)
    logits = torch.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(8)
    probs = torch.softmax(logits / (1 + logits.abs() / cap), dim=-1)
    np.testing.assert_allclose(got.numpy(), torch.einsum("bnts,bsnh->btnh", probs, k).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ops.conv(IMG, K2, padding="full"), "padding"),
        (lambda: ops.conv(IMG, K2[:, :, :3]), "multiple"),
        (lambda: ops.depth_to_space(IMG, 1), "block_size"),
        (lambda: ops.space_to_depth(IMG, 2), "divisible"),
        (lambda: ops.psnr(X, X[0], 1.0), "shapes"),
        (lambda: ops.dot_product_attention(Q[0], KV4[0], KV4[0]), "4D"),
        (lambda: ops.glu(X[:, :, :5]), "even"),
        (lambda: ops.unfold(X, 2), "4D"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_symbolic_conv_and_pool_record_keras_nodes():
    import lamina

    inp = lamina.Input((7, 6, 4))
    out = ops.max_pool(ops.conv(inp, torch.tensor(K2), padding="same"), 2)
    assert tuple(out.shape) == (None, 3, 3, 5)
    model = lamina.Model(inp, ops.layer_normalization(ops.depth_to_space(out[:, :2, :2, :4], 2)))
    assert tuple(model.output.shape) == (None, 4, 4, 1)
    np.testing.assert_allclose(
        model(IMG).detach().numpy(),
        ops.layer_normalization(ops.depth_to_space(ops.max_pool(ops.conv(IMG, K2, padding="same"), 2)[:, :2, :2, :4], 2)).numpy(),
        rtol=1e-5, atol=1e-5,
    )


def _new_ops_model(lib):
    """A functional model through several of the new ops, built the same way in Keras and Lamina."""
    o = lib.ops
    inp = lib.Input((8, 8, 4))
    x = o.conv(inp, K2, padding="same")
    x = o.layer_normalization(o.celu(x), epsilon=0.01)
    # (Int sizes: Lamina writes tuples in op configs as JSON lists, which Keras cannot read back.)
    x = o.average_pool(o.depthwise_conv(x, _rng_dw, padding="same"), 2, strides=2, padding="same")
    x = o.space_to_depth(o.rms_normalization(x), 2)
    real, imag = o.rfft(o.hard_tanh(x))
    y = o.segment_sum(o.transpose(o.reshape(real, (-1, 44))), np.arange(44) % 3, num_segments=3)
    return lib.Model(inp, [o.saturate_cast(imag * 100, "int16"), o.linalg.det(o.reshape(x[:, 0, 0, :16], (-1, 4, 4))), y])


_rng_dw = np.random.default_rng(2).normal(size=(3, 3, 5, 1)).astype("float32")


@pytest.mark.oracle
def test_new_op_nodes_save_and_load_both_ways(oracle, tmp_path):
    import lamina

    data = np.random.default_rng(3).normal(size=(2, 8, 8, 4)).astype("float32")
    keras_model = _new_ops_model(oracle)
    expected = [np.asarray(t) for t in keras_model(data)]

    def check(outputs):
        for got, want in zip(outputs, expected):
            got = ops.convert_to_numpy(got)
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)

    model = _new_ops_model(lamina)
    check(model(data))
    keras_model.save(tmp_path / "k.keras")
    check(lamina.models.load_model(tmp_path / "k.keras")(data))
    model.save(tmp_path / "l.keras")
    check(oracle.saving.load_model(tmp_path / "l.keras")(data))
