"""Layers given a ``DTypePolicyMap`` resolve their own policy by path, as Keras 3.15 does: per-layer
compute/variable dtypes and quantization modes, nested layers, models, the ``dtype_policy`` setter,
configs and ``.keras`` files both ways with Keras."""

import numpy as np
import pytest
import torch

import lamina


def _policy_map(lib):
    m = lib.dtype_policies.DTypePolicyMap(default_policy="float32")
    m["q8"] = "int8_from_float32"
    m["q4"] = "int4_from_float32"
    m["ein"] = "int8_from_float32"
    m["emb"] = "int8_from_float32"
    m["half_.*"] = "bfloat16"
    m["mixed"] = "mixed_bfloat16"
    return m


def _functional(lib):
    pm = _policy_map(lib)
    L = lib.layers
    ids = lib.Input((3,), dtype="int32")
    x = L.Embedding(11, 8, name="emb", dtype=pm)(ids)
    x = L.Flatten(name="flat", dtype=pm)(x)
    x = L.Dense(16, name="q8", dtype=pm, activation="relu")(x)
    x = L.EinsumDense("ab,bc->ac", output_shape=12, bias_axes="c", name="ein", dtype=pm)(x)
    x = L.Dense(8, name="q4", dtype=pm)(x)
    x = L.Dense(6, name="plain", dtype=pm)(x)
    return lib.Model(ids, x, name="mapped")


def _describe(model):
    return [
        (l.name, l.path, l.compute_dtype, l.variable_dtype, l.quantization_mode,
         [(v.path, str(v.dtype).replace("torch.", ""), tuple(v.shape)) for v in l.weights])
        for l in model.layers[1:]  # past the InputLayer
    ]


def _random_quantized_weights(rng, model):
    out = []
    for w in model.get_weights():
        if w.dtype == np.int8:
            out.append(rng.integers(-7, 8, size=w.shape).astype("int8"))
        else:
            out.append((rng.standard_normal(w.shape) * 0.3 + (0.5 if w.ndim <= 1 else 0)).astype("float32"))
    return out


@pytest.mark.oracle
def test_functional_model_resolves_each_layer_like_keras_and_archives_round_trip(oracle, tmp_path):
    k, l = _functional(oracle), _functional(lamina)
    assert _describe(l) == _describe(k)
    assert l.get_layer("q8").quantization_mode == "int8" and l.get_layer("plain").quantization_mode is None
    assert isinstance(l.get_layer("q8").dtype_policy, lamina.dtype_policies.DTypePolicyMap)
    weights = _random_quantized_weights(np.random.default_rng(0), k)
    k.set_weights(weights)
    l.set_weights(weights)
    x = np.random.default_rng(1).integers(0, 11, size=(4, 3)).astype("int32")
    expected = np.asarray(k.predict(x, verbose=0))
    tol = dict(rtol=1e-5, atol=1e-5 * np.abs(expected).max())  # int8 kernels make large outputs
    np.testing.assert_allclose(l.predict(x, verbose=0), expected, **tol)
    assert l.get_layer("q8").get_config()["dtype"] == k.get_layer("q8").get_config()["dtype"]
    # Keras 3.15 cannot write this model (the quantized layers' `save_own_variables` read the map's
    # own mode and store a `None` scale), so the file goes Lamina -> Keras, and Lamina -> Lamina;
    # test_keras_archive_of_a_mapped_model_loads_in_lamina covers Keras -> Lamina.
    l.save(tmp_path / "l.keras")
    back = oracle.models.load_model(tmp_path / "l.keras")
    assert _describe(back) == _describe(k)
    np.testing.assert_allclose(np.asarray(back.predict(x, verbose=0)), expected, **tol)
    again = lamina.models.load_model(tmp_path / "l.keras")
    assert _describe(again) == _describe(k)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, **tol)


def _float_mapped(lib):
    pm = lib.dtype_policies.DTypePolicyMap("float32")
    pm["half_.*"] = "bfloat16"
    pm["mixed"] = "mixed_bfloat16"
    pm["f16"] = "float16"
    L = lib.layers
    ids = lib.Input((3,), dtype="int32")
    x = L.Embedding(11, 8, name="half_emb", dtype=pm)(ids)
    x = L.Flatten(name="flat", dtype=pm)(x)
    x = L.Dense(16, name="mixed", dtype=pm, activation="relu")(x)
    x = L.Dense(8, name="f16", dtype=pm)(x)
    x = L.Dense(6, name="plain", dtype=pm)(x)
    return lib.Model(ids, x, name="float_mapped")


@pytest.mark.oracle
def test_keras_archive_of_a_mapped_model_loads_in_lamina(oracle, tmp_path):
    k = _float_mapped(oracle)
    x = np.random.default_rng(1).integers(0, 11, size=(4, 3)).astype("int32")
    expected = np.asarray(k.predict(x, verbose=0)).astype("float32")
    k.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    assert _describe(loaded) == _describe(k)
    assert isinstance(loaded.get_layer("f16").dtype_policy, lamina.dtype_policies.DTypePolicyMap)
    ours = loaded.predict(x, verbose=0)
    np.testing.assert_allclose(ours.astype("float32"), expected, rtol=1e-2, atol=1e-2)
    # And back: bfloat16 weights are written as Keras writes them (tagged 2-byte values).
    loaded.save(tmp_path / "l.keras")
    back = oracle.models.load_model(tmp_path / "l.keras")
    assert _describe(back) == _describe(k)
    np.testing.assert_array_equal(np.asarray(back.predict(x, verbose=0)), expected)


@pytest.mark.oracle
def test_sequential_and_mixed_entries_match_keras(oracle):
    def make(lib):
        pm = lib.dtype_policies.DTypePolicyMap("float32")
        pm["seq/q"] = "int8_from_float32"
        pm["seq/half_.*"] = "bfloat16"
        pm["seq/mixed"] = "mixed_bfloat16"
        L = lib.layers
        return lib.Sequential(
            [lib.Input((4,)), L.Dense(5, name="q", dtype=pm), L.Dense(3, name="half_a", dtype=pm),
             L.Dense(3, name="mixed", dtype=pm), L.Dense(2, name="last", dtype=pm)],
            name="seq",
        )

    k, l = make(oracle), make(lamina)
    assert _describe(l) == _describe(k)
    weights = _random_quantized_weights(np.random.default_rng(2), k)
    k.set_weights(weights)
    l.set_weights(weights)
    x = np.random.default_rng(3).standard_normal((3, 4)).astype("float32")
    ours = l(x)
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(ours.detach().numpy(), np.asarray(k(x)), rtol=2e-2, atol=2e-2)
    # bfloat16 where the map says so, and mixed computes in bfloat16 with float32 weights.
    assert l.get_layer("half_a")(torch.ones(1, 5)).dtype == torch.bfloat16
    assert l.get_layer("mixed")(torch.ones(1, 3)).dtype == torch.bfloat16
    assert l.get_layer("mixed").kernel.dtype == torch.float32


def _nested(lib, dtype):
    L = lib.layers

    class Block(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = L.Dense(4, name="inner", dtype=self.dtype_policy)

        def build(self, input_shape):
            self.inner.build(input_shape)

        def call(self, x):
            return self.inner(x)

    class Lazy(L.Layer):  # its sublayers are built by its first call
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = L.Dense(4, name="a", dtype=self.dtype_policy)
            self.b = L.EinsumDense("...b,bc->...c", output_shape=3, name="b", dtype=self.dtype_policy)

        def call(self, x):
            return self.b(self.a(x))

    class Net(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.emb = L.Embedding(10, 6, name="emb", dtype=self.dtype_policy)
            self.block = Block(name="block", dtype=self.dtype_policy)
            self.lazy = Lazy(name="lazy", dtype=self.dtype_policy)

        def call(self, x):
            return self.lazy(self.block(self.emb(x)))

    return Net(name="net", dtype=dtype)


@pytest.mark.oracle
def test_nested_layers_receive_the_map_and_resolve_their_paths_like_keras(oracle):
    described = []
    for lib in (oracle, lamina):
        pm = lib.dtype_policies.DTypePolicyMap("float32")
        pm["net/block/inner"] = "int8_from_float32"
        pm["net/lazy/.*"] = "bfloat16"
        pm["net/emb"] = "int4_from_float32"
        net = _nested(lib, pm)
        y = net(np.array([[1, 2], [3, 4]], dtype="int32"))
        assert "bfloat16" in str(y.dtype)
        described.append([
            (l.path, l.compute_dtype, l.quantization_mode,
             sorted((v.path, str(v.dtype).replace("torch.", "")) for v in l.weights))
            for l in (net.emb, net.block.inner, net.lazy.a, net.lazy.b)
        ])
    assert described[0] == described[1]


def test_unbuilt_layer_follows_the_default_and_builds_its_entry():
    pm = lamina.dtype_policies.DTypePolicyMap("float32")
    pm["d"] = "float16"
    d = lamina.layers.Dense(2, name="d", dtype=pm)
    assert d.path is None and d.compute_dtype == "float32"
    d.build((None, 3))
    assert d.path == "d" and d.compute_dtype == d.variable_dtype == "float16"
    assert d.kernel.dtype == torch.float16
    assert d(np.ones((1, 3), "float32")).dtype == torch.float16
    other = lamina.layers.Dense(2, name="other", dtype=pm)
    assert other(np.ones((1, 3), "float32")).dtype == torch.float32


def test_setter_writes_the_entry_into_the_shared_map_and_quantizes():
    pm = lamina.dtype_policies.DTypePolicyMap("float32")
    a = lamina.layers.Dense(2, name="a", dtype=pm)
    b = lamina.layers.Dense(2, name="b", dtype=pm)
    a.build((None, 3))
    b.build((None, 3))
    a.dtype_policy = "float16"
    assert a.dtype_policy is pm and pm["a"].name == "float16" and a.compute_dtype == "float16"
    assert b.compute_dtype == "float32"
    a.dtype_policy = "bfloat16"  # the layer's own entry is replaced, not refused as a duplicate
    assert pm["a"].name == "bfloat16" and len(pm) == 1
    x = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    before = b(x).detach().numpy()
    b.dtype_policy = "int8_from_float32"  # a built float layer is quantized, as in Keras
    assert b.quantization_mode == "int8" and b.kernel.dtype == torch.int8 and pm["b"].name == "int8_from_float32"
    np.testing.assert_allclose(b(x).detach().numpy(), before, atol=5e-2)
    g = lamina.layers.Dense(2, name="g", dtype=pm)
    g.build((None, 3))
    with pytest.raises(ValueError, match="Implicitly enabling GPTQ quantization"):
        g.dtype_policy = "gptq/4/-1_from_float32"
    # An unbuilt layer has no path yet: the setter replaces its policy.
    u = lamina.layers.Dense(2, dtype=pm)
    u.dtype_policy = "float16"
    assert u.dtype_policy.name == "float16" and sorted(pm) == ["a", "b", "g"]


def test_quantize_on_a_map_layer_writes_its_entry():
    pm = lamina.dtype_policies.DTypePolicyMap("float32")
    d = lamina.layers.Dense(3, name="d", dtype=pm)
    d.build((None, 4))
    d.quantize("int8")
    assert d.dtype_policy is pm and pm["d"].name == "int8_from_float32" and d.quantization_mode == "int8"


@pytest.mark.oracle
def test_config_round_trip_keeps_the_map_and_matches_keras(oracle):
    configs = []
    for lib in (oracle, lamina):
        pm = _policy_map(lib)
        configs.append(lib.layers.Dense(3, name="q8", dtype=pm).get_config())
    assert configs[1]["dtype"] == configs[0]["dtype"]
    restored = lamina.layers.Dense.from_config(configs[0])
    assert isinstance(restored.dtype_policy, lamina.dtype_policies.DTypePolicyMap)
    restored.build((None, 2))
    assert restored.quantization_mode == "int8" and restored.kernel.dtype == torch.int8
    assert restored.get_config()["dtype"] == configs[0]["dtype"]


@pytest.mark.oracle
def test_map_without_default_serializes_entries_like_keras(oracle):
    configs = []
    for lib in (oracle, lamina):
        pm = lib.dtype_policies.DTypePolicyMap()
        pm["a"] = "float16"
        pm["b"] = "int8_from_float32"
        configs.append(lib.saving.serialize_keras_object(pm))
    assert configs[1] == configs[0]
    back = lamina.dtype_policies.get(configs[0])
    assert back["a"].name == "float32" and back["b"].quantization_mode == "int8"
    lamina.config.set_dtype_policy("mixed_bfloat16")
    try:
        deferred = lamina.dtype_policies.get(configs[0])
        assert deferred["a"].name == "mixed_bfloat16" and deferred["b"].name == "int8_from_mixed_bfloat16"
    finally:
        lamina.config.set_dtype_policy("float32")


@pytest.mark.oracle
@pytest.mark.parametrize(
    "entry", ["float8_from_float32", "int4_from_float32", "gptq/4/8_from_float32", "awq/4/8_from_float32"]
)
def test_each_quantized_entry_builds_keras_variables(oracle, entry):
    described = []
    for lib in (oracle, lamina):
        pm = lib.dtype_policies.DTypePolicyMap("float32")
        pm["outer/.*"] = entry
        layers = [lib.layers.Dense(4, name="d", dtype=pm),
                  lib.layers.EinsumDense("ab,bc->ac", output_shape=4, name="e", dtype=pm)]
        model = lib.Sequential([lib.Input((16,))] + layers, name="outer")
        described.append(_describe(model))
    assert described[1] == described[0]


@pytest.mark.oracle
def test_multi_head_attention_hands_the_map_to_its_projections(oracle):
    models = []
    for lib in (oracle, lamina):
        pm = lib.dtype_policies.DTypePolicyMap("float32")
        pm["mha/(query|key)"] = "int8_from_float32"
        x = lib.Input((5, 8))
        y = lib.layers.MultiHeadAttention(2, 4, name="mha", dtype=pm)(x, x)
        models.append(lib.Model(x, y))
    k, l = models
    described = [
        sorted((s.path, s.quantization_mode, [str(v.dtype).replace("torch.", "") for v in s.weights])
               for s in m.get_layer("mha")._flatten_layers() if s is not m.get_layer("mha") and s.weights)
        for m in (k, l)
    ]
    assert described[1] == described[0]
    assert dict((p, q) for p, q, _ in described[1])["mha/query"] == "int8"
    weights = _random_quantized_weights(np.random.default_rng(4), k)
    k.set_weights(weights)
    l.set_weights(weights)
    x = np.random.default_rng(5).standard_normal((2, 5, 8)).astype("float32")
    expected = np.asarray(k.predict(x, verbose=0))
    np.testing.assert_allclose(l.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
