"""GPTQ and AWQ (``model.quantize("gptq" | "awq", config=...)``) against Keras 3.15 (JAX).

Keras 3.15.1 records the calibration inputs by replacing ``layer.call``, but a quantized layer is
called through ``quantized_call``, so its recorder never runs: the Hessians stay zero (GPTQ turns
into grouped round-to-nearest) and AWQ's scales stay one. Lamina records the inputs. To compare
the algorithms themselves, the oracle runs here with its recorder moved onto ``quantized_call``
(``_keras_recording_inputs``); nothing else of Keras changes.
"""

import contextlib
from unittest import mock

import numpy as np
import pytest
import torch

import lamina
from lamina.quantizers import AWQConfig, GPTQConfig

VOCAB, DIM, LENGTH = 23, 8, 6
BLOCK_LAYERS = ["qkv", "attn_out", "up", "down"]


class _Tokenizer:
    """Characters to ids: what a real tokenizer's ``tokenize`` does, small enough for a test."""

    def tokenize(self, text):
        return np.array([ord(c) % VOCAB for c in text], dtype="int32")


def _block_class(lib):
    """A transformer-like block: 3-D EinsumDense projections in and out, then a Dense MLP."""

    class Block(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.qkv = lib.layers.EinsumDense("btd,dhk->bthk", (None, 2, 2), bias_axes="hk", name="qkv")
            self.out = lib.layers.EinsumDense("bthk,hkd->btd", (None, DIM), name="attn_out")
            self.up = lib.layers.Dense(12, activation="relu", name="up")
            self.down = lib.layers.Dense(DIM, use_bias=False, name="down")

        def build(self, input_shape):
            self.qkv.build(input_shape)
            self.out.build(input_shape[:2] + (2, 2))
            self.up.build(input_shape)
            self.down.build(input_shape[:2] + (12,))

        def call(self, x):
            x = x + self.out(self.qkv(x))
            return x + self.down(self.up(x))

    return Block


def _model(lib, seed=0):
    """Embedding, two blocks and a head; the same float weights in both libraries."""
    Block = _block_class(lib)
    inputs = lib.Input((LENGTH,), dtype="int32")
    embedding = lib.layers.Embedding(VOCAB, DIM, name="embedding")
    blocks = [Block(name="block_0"), Block(name="block_1")]
    head = lib.layers.Dense(5, name="head")
    x = embedding(inputs)
    for block in blocks:
        x = block(x)
    model = lib.Model(inputs, head(x))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    structure = {"pre_block_layers": [embedding], "sequential_blocks": blocks}
    return model, structure


def _dataset(seed=1):
    return [np.random.default_rng(seed).integers(0, VOCAB, size=60)]


def _config(lib, mode, structure, dataset=None, **kwargs):
    cls = lib.quantizers.GPTQConfig if mode == "gptq" else lib.quantizers.AWQConfig
    dataset = _dataset() if dataset is None else dataset
    return cls(dataset, _Tokenizer(), num_samples=4, sequence_length=LENGTH,
               quantization_layer_structure=structure, **kwargs)


def _keras_recording_inputs(update):
    """Keras's calibration recorder, hooked where Keras 3.15 actually calls a quantized layer."""

    @contextlib.contextmanager
    def recording(layers_map, objects):
        from keras.src import ops

        def hook(name, call):
            def recording_call(*args, **kwargs):
                inputs = args[0] if args else kwargs["inputs"]
                update(objects[name], ops.reshape(inputs, (-1, objects[name].rows)))
                return call(*args, **kwargs)

            return recording_call

        try:
            for name, layer in layers_map.items():
                layer.__dict__["quantized_call"] = hook(name, layer.quantized_call)
            yield
        finally:
            for layer in layers_map.values():
                layer.__dict__.pop("quantized_call", None)

    return recording


def _keras_quantize(model, mode, config, **kwargs):
    if mode == "gptq":
        target = "keras.src.quantizers.gptq_core.stream_hessians"
        recording = _keras_recording_inputs(lambda obj, x: obj.update_hessian_with_batch(x))
    else:
        target = "keras.src.quantizers.awq_core.stream_activations"
        recording = _keras_recording_inputs(lambda obj, x: obj.update_activation_magnitudes(x))
    with mock.patch(target, recording):
        model.quantize(mode, config=config, **kwargs)


def _quantized_pair(oracle, mode, **kwargs):
    k_model, k_structure = _model(oracle)
    l_model, l_structure = _model(lamina)
    # Keras converts every Dense, the head too (which no block reaches); Lamina only the layers
    # of the blocks. The filter makes both convert the same layers.
    _keras_quantize(k_model, mode, _config(oracle, mode, k_structure, **kwargs), filters=BLOCK_LAYERS)
    l_model.quantize(filters=BLOCK_LAYERS, mode=mode, config=_config(lamina, mode, l_structure, **kwargs))
    return k_model, l_model


def _tokens(seed=2, batch=3):
    return np.random.default_rng(seed).integers(0, VOCAB, size=(batch, LENGTH)).astype("int32")


# Keras's eager GPTQ loop compiles an XLA kernel per slice shape (about a minute for this model on
# a busy 2-core machine): each case is quantized once per session and shared by the tests below.
CASES = [
    ("gptq", {"group_size": 4, "activation_order": True}),
    ("awq", {"group_size": 4}),
]
_PAIRS = {}


# Keras's GPTQ run is the slowest (about 40 s): `make test` compares the AWQ case at the model level
# and GPTQ through the solver tests below; `make test-heavy` adds the GPTQ model.
_INDICES = [pytest.param(0, marks=pytest.mark.heavy), 1]


def _cached_pair(oracle, index):
    if index not in _PAIRS:
        mode, kwargs = CASES[index]
        _PAIRS[index] = _quantized_pair(oracle, mode, **kwargs)
    return _PAIRS[index]


@pytest.mark.slow
@pytest.mark.oracle
@pytest.mark.parametrize("index", _INDICES)
def test_quantized_weights_and_outputs_match_keras(oracle, index):
    k_model, l_model = _cached_pair(oracle, index)
    assert [w.name for w in l_model.weights] == [w.name for w in k_model.weights]
    assert [tuple(w.shape) for w in l_model.weights] == [tuple(w.shape) for w in k_model.weights]
    assert [lamina.backend.standardize_dtype(w.dtype) for w in l_model.weights] == [
        oracle.backend.standardize_dtype(w.dtype) for w in k_model.weights
    ]
    for l_layer, k_layer in zip(l_model._flatten_layers(), k_model._flatten_layers()):
        if isinstance(k_layer, (oracle.layers.Dense, oracle.layers.EinsumDense)):
            assert l_layer.dtype_policy.name == k_layer.dtype_policy.name
    for lw, kw in zip(l_model.weights, k_model.weights):
        a, b = lw.detach().numpy(), np.asarray(kw.value)
        # Every integer equals Keras's; the AWQ scales (a float search) agree to float32 rounding.
        # The later blocks see activations torch and XLA round alike only to the last bit, so on
        # other data a value on a rounding boundary could in principle land one step away.
        if a.dtype == np.uint8:
            np.testing.assert_array_equal(a, b, err_msg=kw.path)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=kw.path)
    x = _tokens()
    np.testing.assert_allclose(l_model.predict(x, verbose=0), np.asarray(k_model.predict(x, verbose=0)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.oracle
@pytest.mark.parametrize("index", _INDICES)
def test_first_layer_is_bit_exact(oracle, index):
    """The first block's projection sees the embedding's outputs: every integer equals Keras's."""
    k_model, l_model = _cached_pair(oracle, index)
    pairs = [(lw, kw) for lw, kw in zip(l_model.weights, k_model.weights) if "qkv" in kw.path and "block_0" in kw.path]
    assert len(pairs) == (6 if CASES[index][0] == "awq" else 5)
    for lw, kw in pairs:
        np.testing.assert_allclose(lw.detach().numpy(), np.asarray(kw.value), rtol=1e-6, atol=1e-7, err_msg=kw.path)


def _flat_model(lib):
    """The block's layers straight in a functional model: each layer is a block of its own.

    Their configs carry the GPTQ/AWQ policies, so a saved model rebuilds them quantized (a
    custom block's sublayers would come back float).
    """
    inputs = lib.Input((LENGTH,), dtype="int32")
    embedding = lib.layers.Embedding(VOCAB, DIM, name="embedding")
    blocks = [
        lib.layers.EinsumDense("btd,dhk->bthk", (None, 2, 2), bias_axes="hk", name="qkv"),
        lib.layers.EinsumDense("bthk,hkd->btd", (None, DIM), name="attn_out"),
        lib.layers.Dense(12, activation="relu", name="up"),
        lib.layers.Dense(DIM, use_bias=False, name="down"),
    ]
    x = embedding(inputs)
    for block in blocks:
        x = block(x)
    model = lib.Model(inputs, lib.layers.Dense(5, name="head")(x))
    rng = np.random.default_rng(3)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    return model, {"pre_block_layers": [embedding], "sequential_blocks": blocks}


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["gptq", "awq"])
def test_saved_files_load_in_keras_and_back(oracle, mode, tmp_path):
    model, structure = _flat_model(lamina)
    model.quantize(mode, config=_config(lamina, mode, structure, group_size=4))
    assert model.get_layer("head").quantization_mode is None  # outside the blocks: stays float
    x = _tokens()
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "q.keras")
    model.save_weights(tmp_path / "q.weights.h5")
    k_model = oracle.saving.load_model(tmp_path / "q.keras")
    assert k_model.get_layer("qkv").dtype_policy.name == f"{mode}/4/4_from_float32"
    np.testing.assert_allclose(np.asarray(k_model.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    k_again = oracle.Model.from_config(model.get_config())
    k_again.load_weights(tmp_path / "q.weights.h5")
    np.testing.assert_allclose(np.asarray(k_again.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    restored = lamina.saving.load_model(tmp_path / "q.keras")
    np.testing.assert_allclose(restored.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    l_again = lamina.Model.from_config(model.get_config())
    l_again.load_weights(tmp_path / "q.weights.h5")
    np.testing.assert_allclose(l_again.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    assert l_again.get_layer("up").kernel.dtype == torch.uint8  # the stored integers, as Keras shows


@pytest.mark.slow
@pytest.mark.oracle
def test_keras_written_weights_give_a_clear_error(oracle, tmp_path):
    """Keras 3.15 writes GPTQ/AWQ layers without ``kernel_zero``: refused, with the reason."""
    k_model, l_model = _cached_pair(oracle, 1)
    k_model.save_weights(tmp_path / "k.weights.h5")
    with pytest.raises(ValueError, match="kernel_zero"):
        l_model.load_weights(tmp_path / "k.weights.h5")


@pytest.mark.oracle
@pytest.mark.parametrize("dataset", [
    ["the quick brown fox", "jumps over the lazy dog", "pack my box with five dozen jugs"],
    [np.arange(30), np.arange(7).reshape(1, 7)],
    np.arange(12).reshape(3, 4),
])
def test_calibration_windows_match_keras(oracle, dataset):
    from keras.src.quantizers.gptq_core import get_dataloader

    from lamina.models._calibrated_quantization import calibration_windows

    for num_samples, length in [(4, 6), (3, 40)]:
        expected = get_dataloader(_Tokenizer(), length, dataset, num_samples=num_samples)
        got = calibration_windows(_Tokenizer(), length, dataset, num_samples)
        assert got.dtype == np.int32 and got.shape == (num_samples, 1, length)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mode", ["gptq", "awq"])
def test_quantized_model_still_predicts_sensibly(mode):
    model, structure = _model(lamina)
    x = _tokens(batch=8)
    reference = model.predict(x, verbose=0)
    model.quantize(mode, config=_config(lamina, mode, structure, group_size=4))
    out = model.predict(x, verbose=0)
    relative = np.linalg.norm(out - reference) / np.linalg.norm(reference)
    assert 0 < relative < 0.2
    block = structure["sequential_blocks"][0]
    assert block.qkv.__dict__["_calibrated"] and "kernel" in [w.name for w in block.qkv.weights]
    assert not any(w.dtype == torch.float32 and tuple(w.shape) == (DIM, 2, 2) for w in block.qkv.weights)


def test_subclassed_model_structure_hook():
    class LM(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = lamina.layers.Embedding(VOCAB, DIM)
            self.block = _block_class(lamina)()
            self.head = lamina.layers.Dense(5)

        def call(self, x):
            return self.head(self.block(self.embedding(x)))

        def get_quantization_layer_structure(self, mode):
            return {"pre_block_layers": [self.embedding], "sequential_blocks": [self.block]}

    model = LM()
    x = _tokens()
    reference = model.predict(x, verbose=0)
    model.quantize("awq", config=AWQConfig(_dataset(), _Tokenizer(), num_samples=2, sequence_length=LENGTH))
    assert model.block.up.dtype_policy.name == "awq/4/128_from_float32"
    assert model.head.quantization_mode is None  # outside the blocks: left float
    out = model.predict(x, verbose=0)
    assert np.linalg.norm(out - reference) / np.linalg.norm(reference) < 0.2


def test_errors():
    model, structure = _model(lamina)
    with pytest.raises(ValueError, match="GPTQConfig"):
        model.quantize("gptq")
    with pytest.raises(ValueError, match="requires a dataset and a tokenizer"):
        model.quantize("gptq", config=GPTQConfig(None, None, quantization_layer_structure=structure))
    with pytest.raises(ValueError, match="quantization structure"):
        model.quantize("awq", config=AWQConfig(_dataset(), _Tokenizer()))
    with pytest.raises(ValueError, match="No sequential blocks"):
        model.quantize("gptq", config=GPTQConfig(_dataset(), _Tokenizer(),
                                                 quantization_layer_structure={"sequential_blocks": []}))
    with pytest.raises(ValueError, match="Contradictory"):
        model.quantize("awq", config=GPTQConfig(_dataset(), _Tokenizer()))
    # Nothing changed on the way.
    assert all(layer.quantization_mode is None for layer in model._flatten_layers())
    embedding = lamina.layers.Embedding(VOCAB, DIM)
    embedding.build((None, LENGTH))
    with pytest.raises(NotImplementedError, match="gptq"):
        embedding.quantize("gptq", config=GPTQConfig(_dataset(), _Tokenizer()))
    dense = lamina.layers.Dense(3)
    dense.build((None, 4))
    dense.enable_lora(2)
    with pytest.raises(NotImplementedError, match="LoRA"):
        dense.quantize("gptq", config=GPTQConfig(_dataset(), _Tokenizer()))
    prepared = lamina.layers.Dense(3)
    prepared.build((None, 4))
    prepared.quantize("gptq", config=GPTQConfig(_dataset(), _Tokenizer()))
    with pytest.raises(NotImplementedError, match="LoRA"):
        prepared.enable_lora(2)
    with pytest.raises(TypeError, match="iterable"):
        model.quantize("gptq", config=GPTQConfig("abc", _Tokenizer(), quantization_layer_structure=structure))


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (GPTQConfig, {"weight_bits": 5}, "Unsupported weight_bits 5"),
        (GPTQConfig, {"num_samples": 0}, "num_samples"),
        (GPTQConfig, {"sequence_length": -1}, "sequence_length"),
        (GPTQConfig, {"hessian_damping": 1.5}, "hessian_damping"),
        (GPTQConfig, {"group_size": 0}, "group_size"),
        (AWQConfig, {"weight_bits": 8}, "only supports 4-bit"),
        (AWQConfig, {"group_size": -2}, "group_size"),
        (AWQConfig, {"num_grid_points": 0}, "num_grid_points"),
    ],
)
def test_config_validation(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(None, None, **kwargs)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["GPTQConfig", "AWQConfig"])
def test_config_round_trip_matches_keras(oracle, name):
    kwargs = {"group_size": 64, "num_samples": 16}
    if name == "GPTQConfig":
        kwargs.update(weight_bits=3, symmetric=True, activation_order=True, hessian_damping=0.05)
    else:
        kwargs.update(num_grid_points=7)
    l_config = getattr(lamina.quantizers, name)([1, 2], _Tokenizer(), **kwargs)
    k_config = getattr(oracle.quantizers, name)([1, 2], _Tokenizer(), **kwargs)
    assert l_config.get_config() == k_config.get_config()
    assert l_config.mode == k_config.mode and l_config.dtype_policy_string() == k_config.dtype_policy_string()
    serialized = lamina.saving.serialize_keras_object(l_config)
    assert serialized == oracle.saving.serialize_keras_object(k_config)
    restored = lamina.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(l_config) and restored.get_config() == l_config.get_config()
    assert lamina.quantizers.deserialize(lamina.quantizers.serialize(l_config)).get_config() == l_config.get_config()


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["gptq/4/128_from_float32", "gptq/8/-1_from_mixed_bfloat16", "awq/4/32_from_float32"])
def test_dtype_policies_match_keras(oracle, name):
    l_policy = lamina.dtype_policies.get(name)
    k_policy = oracle.dtype_policies.get(name)
    assert type(l_policy).__name__ == type(k_policy).__name__
    assert l_policy.name == k_policy.name and l_policy.get_config() == k_policy.get_config()
    assert (l_policy.weight_bits, l_policy.group_size) == (k_policy.weight_bits, k_policy.group_size)
    assert lamina.saving.serialize_keras_object(l_policy) == oracle.saving.serialize_keras_object(k_policy)
    for bad in ("gptq/5/128", "awq/8/128", "gptq/4/0", "gptq/4", "gptq/x/1"):
        with pytest.raises(ValueError):
            lamina.dtype_policies.get(f"{bad}_from_float32")


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [
    {"group_size": 3, "symmetric": True, "weight_bits": 8},
    {"group_size": -1, "per_channel": False, "weight_bits": 2, "activation_order": True},
    {"group_size": 4, "weight_bits": 3, "hessian_damping": 0.5, "activation_order": True},
])
def test_gptq_solver_options_match_keras(oracle, kwargs):
    """One kernel and one Hessian through Keras's GPTQ and Lamina's: the same integers."""
    import types

    from keras.src.quantizers.gptq import GPTQ

    from lamina.ops import gptq

    rng = np.random.default_rng(4)
    kernel = rng.standard_normal((8, 5)).astype("float32")
    inputs = (rng.standard_normal((3, 6, 8)) * rng.uniform(0.1, 3, 8)).astype("float32")
    config = oracle.quantizers.GPTQConfig(None, None, **kwargs)
    layer = types.SimpleNamespace(
        variable_dtype="float32", kernel=oracle.ops.convert_to_tensor(kernel), quantized_kernel=None
    )
    stored = {}

    class _Sink:
        def __init__(self, name):
            self.name = name

        def assign(self, value):
            stored[self.name] = np.asarray(value)

    # Keras's GPTQ object without a layer (it accepts only Keras layers): the kernel, the
    # statistics and sinks for the results are all it uses.
    k_gptq = GPTQ.__new__(GPTQ)
    k_gptq.original_layer, k_gptq.num_samples, k_gptq.config = layer, 0, config
    from keras.src.quantizers.quantizers import GPTQQuantizer

    k_gptq.quantizer = GPTQQuantizer(config)
    k_gptq.rows, k_gptq.columns, k_gptq.layer = 8, 5, layer
    k_gptq.hessian = oracle.ops.zeros((8, 8))
    hessian, count = torch.zeros(8, 8), 0
    for batch in inputs:
        k_gptq.update_hessian_with_batch(oracle.ops.convert_to_tensor(batch))
        hessian, count = gptq.update_hessian(hessian, count, torch.from_numpy(batch))
    np.testing.assert_allclose(hessian.numpy(), np.asarray(k_gptq.hessian), rtol=1e-6, atol=1e-6)
    layer.quantized_kernel = types.SimpleNamespace(dtype="uint8", assign=_Sink("q").assign)
    layer.kernel_scale, layer.kernel_zero, layer.g_idx = _Sink("scale"), _Sink("zero"), _Sink("g_idx")
    layer._kernel = None
    k_gptq.quantize_and_correct_layer()
    quantized, scale, zero, g_idx = gptq.gptq_quantize_layer_kernel(
        torch.from_numpy(kernel), hessian, weight_bits=config.weight_bits, group_size=config.group_size,
        symmetric=config.symmetric, per_channel=config.per_channel,
        activation_order=config.activation_order, hessian_damping=config.hessian_damping,
    )
    np.testing.assert_array_equal(quantized.numpy().astype("uint8"), stored["q"])
    np.testing.assert_allclose(scale.numpy(), stored["scale"], rtol=1e-5)
    np.testing.assert_array_equal(zero.numpy(), stored["zero"])
    np.testing.assert_array_equal(g_idx.numpy(), stored["g_idx"])
