"""lamina.ops control flow (cond, loops, scans, maps), custom_gradient and saturate_cast against
keras.ops (JAX backend)."""

import numpy as np
import pytest
import torch

from lamina import ops

_rng = np.random.default_rng(11)
XS = _rng.normal(size=(7, 3)).astype("float32")


def close(got, expected, rtol=1e-5):
    g, e = np.asarray(ops.convert_to_numpy(got)), np.asarray(expected)
    assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, e.shape, g.dtype, e.dtype)
    np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_keras(kops, reverse):
    def step(o):
        return lambda carry, x: (carry * 0.5 + o.sum(x), {"y": x * carry})

    (c1, y1), (c2, y2) = (
        ops.scan(step(ops), np.float32(1.0), XS, reverse=reverse),
        kops.scan(step(kops), np.float32(1.0), XS, reverse=reverse),
    )
    close(c1, c2)
    close(y1["y"], y2["y"])


@pytest.mark.oracle
def test_scan_without_xs_matches_keras(kops):
    carry, ys = ops.scan(lambda c, _: (c + 1, c * 2), np.int32(0), length=4)
    kc, kys = kops.scan(lambda c, _: (c + 1, c * 2), np.int32(0), length=4)
    close(carry, kc)
    close(ys, kys)


@pytest.mark.oracle
@pytest.mark.parametrize("n,reverse,axis", [(7, False, 0), (8, True, 0), (5, False, 1), (1, False, 0)])
def test_associative_scan_matches_keras(kops, n, reverse, axis):
    elems = _rng.normal(size=(n, n + 1)).astype("float32")
    close(ops.associative_scan(ops.add, elems, reverse, axis), kops.associative_scan(kops.add, elems, reverse, axis))
    pair = (elems, elems * 2)

    def fn(o):
        return lambda a, b: (o.maximum(a[0], b[0]), a[1] + b[1])

    got, expected = ops.associative_scan(fn(ops), pair, axis=axis), kops.associative_scan(fn(kops), pair, axis=axis)
    for g, e in zip(got, expected):
        close(g, e)


@pytest.mark.oracle
def test_map_and_vectorized_map_match_keras(kops):
    close(ops.map(lambda x: ops.sum(x * x), XS), kops.map(lambda x: kops.sum(x * x), XS))
    close(
        ops.vectorized_map(lambda e: e["a"] @ e["b"], {"a": XS, "b": XS}),
        kops.vectorized_map(lambda e: e["a"] @ e["b"], {"a": XS, "b": XS}),
    )


def test_vectorized_map_falls_back_to_a_loop():
    out = ops.vectorized_map(lambda x: x * 2 if float(x.sum()) > 0 else x, torch.tensor(XS))
    expected = np.stack([x * 2 if x.sum() > 0 else x for x in XS])
    np.testing.assert_allclose(out.numpy(), expected)


@pytest.mark.oracle
def test_loops_and_branches_match_keras(kops):
    def loop(o):
        return o.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 2.0), (0, np.float32(1.0)))

    got, expected = loop(ops), loop(kops)
    assert int(got[0]) == int(expected[0]) and float(got[1]) == float(expected[1])
    assert int(ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7)) == int(
        kops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7)
    )
    close(
        ops.fori_loop(0, 4, lambda i, v: v + i, np.float32(0.5)),
        kops.fori_loop(0, 4, lambda i, v: v + i, np.float32(0.5)),
    )
    branches = [lambda x: x + 1, lambda x: x * 10]
    for index in (-3, 0, 1, 9):
        assert float(ops.switch(index, branches, 2.0)) == float(kops.switch(index, branches, 2.0))
    assert float(ops.cond(False, lambda: 1.0, lambda: 2.0)) == 2.0


@pytest.mark.oracle
@pytest.mark.parametrize(
    "x,dtype",
    [
        (np.array([-5.0, 0.4, 254.6, 300.0, np.inf], "float32"), "uint8"),
        (np.array([-3e9, 5.0, 3e9], "float32"), "int32"),
        (np.array([-70000, 5, 70000], "int32"), "int16"),
        (np.array([1e39, -1e39], "float64"), "float32"),
        (np.array([-5, 300], "int32"), "float16"),
    ],
)
def test_saturate_cast_matches_keras(kops, x, dtype):
    close(ops.saturate_cast(x, dtype), kops.saturate_cast(x, dtype))


@pytest.mark.oracle
def test_custom_gradient_matches_keras(kops):
    import jax

    def make(o):
        @o.custom_gradient
        def log1pexp(x):
            e = o.exp(x)

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return upstream * (1.0 - 1.0 / (1 + e)) * 3.0  # scaled: proves it is used

            return o.log(1 + e), grad

        return log1pexp

    x = torch.tensor([0.0, 1.0, 50.0], requires_grad=True)
    out = make(ops)(x)
    out.sum().backward()
    expected_grad = jax.grad(lambda v: make(kops)(v).sum())(np.array([0.0, 1.0, 50.0], "float32"))
    np.testing.assert_allclose(out.detach().numpy(), np.asarray(make(kops)(np.array([0.0, 1.0, 50.0], "float32"))), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), np.asarray(expected_grad), rtol=1e-6)


def test_custom_gradient_with_two_inputs_and_a_constant():
    @ops.custom_gradient
    def scaled_product(a, b, k):
        def grad(upstream):
            return upstream * b * k, upstream * a * 0.0, None

        return a * b * k, grad

    a = torch.tensor([2.0], requires_grad=True)
    b = torch.tensor([3.0], requires_grad=True)
    scaled_product(a, b, 4.0).sum().backward()
    assert float(a.grad) == 12.0 and float(b.grad) == 0.0


def test_scan_rejects_a_bad_unroll():
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(lambda c, x: (c, x), 0.0, XS, unroll=0)
