"""The call path of real Keras programs: custom layers on symbolic inputs, numpy meeting tensors,
numpy results, public methods taking numpy, integer inputs, torch custom loops."""

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import layers, ops


class PatchEncoder(keras.Layer):
    """A custom layer that owns sublayers, first called on a keras.Input (ViT style)."""

    def __init__(self, num_patches, dim, **kwargs):
        super().__init__(**kwargs)
        self.num_patches = num_patches
        self.projection = layers.Dense(dim)
        self.position_embedding = layers.Embedding(num_patches, dim)

    def call(self, patches):
        positions = ops.expand_dims(ops.arange(0, self.num_patches), 0)
        return self.projection(patches) + self.position_embedding(positions)


def _is_real(v):
    return not type(v.data).__name__.startswith("Fake") and v.device.type != "meta"


def test_sublayers_built_on_symbolic_input_hold_real_weights():
    encoder = PatchEncoder(9, 16)
    out = encoder(keras.Input((9, 12)))
    assert out.shape == (None, 9, 16)
    assert [tuple(w.shape) for w in encoder.weights] == [(12, 16), (16,), (9, 16)]
    assert all(_is_real(w) for w in encoder.weights)
    # The weights were initialized (glorot / uniform), not left empty, and the layer runs eagerly.
    assert float(np.abs(encoder.projection.kernel.numpy()).sum()) > 0
    y = encoder(np.ones((2, 9, 12), "float32"))
    assert tuple(y.shape) == (2, 9, 16) and np.isfinite(np.asarray(y)).all()


def test_model_from_custom_layer_trains_saves_and_reloads(tmp_path):
    keras.saving.register_keras_serializable(package="call_path")(PatchEncoder)

    def get_config(self):
        return {**keras.Layer.get_config(self), "num_patches": self.num_patches, "dim": 16}

    PatchEncoder.get_config = get_config
    inputs = keras.Input((9, 12))
    x = PatchEncoder(9, 16)(inputs)
    outputs = layers.Dense(1)(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "mse")
    data = np.random.default_rng(0).random((8, 9, 12)).astype("float32")
    model.fit(data, np.ones((8, 1)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)


class LazyWeight(keras.Layer):
    """Keras 2 / tf.Module style: the weight is made inside `call` on first use."""

    def call(self, x):
        if not hasattr(self, "w"):
            self.w = self.add_weight(shape=(x.shape[-1], 3), initializer="ones", name="w")
        return ops.matmul(x, self.w)


def test_add_weight_inside_call_on_symbolic_input():
    inputs = keras.Input((4,))
    layer = LazyWeight()
    model = keras.Model(inputs, layer(inputs))
    assert _is_real(layer.w) and layer.w.shape == (4, 3)
    np.testing.assert_allclose(model.predict(np.ones((2, 4)), verbose=0), np.full((2, 3), 4.0))
    assert len(model.trainable_weights) == 1


class MaskedConv2D(keras.Layer):
    """PixelCNN-style: a numpy mask multiplied into a sublayer's kernel inside `call`."""

    def __init__(self, **kwargs):
        super().__init__()
        self.conv = layers.Conv2D(**kwargs)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.mask = np.ones(self.conv.kernel.shape)
        self.mask[1:, :] = 0.0

    def call(self, x):
        self.conv.kernel.assign(self.conv.kernel * self.mask)
        return self.conv(x)


def test_numpy_constant_meets_variable_symbolically_and_eagerly():
    layer = MaskedConv2D(filters=4, kernel_size=3, padding="same")
    out = layer(keras.Input((8, 8, 1)))
    assert out.shape == (None, 8, 8, 4)
    y = layer(np.ones((1, 8, 8, 1), "float32"))
    assert tuple(y.shape) == (1, 8, 8, 4)
    kernel = layer.conv.kernel.numpy()
    assert np.all(kernel[1:] == 0) and np.any(kernel[0] != 0)


def test_tensor_times_numpy_array_inside_call():
    class Scale(keras.Layer):
        def call(self, x):
            return x * np.array([1.0, 2.0, 3.0])

    inputs = keras.Input((3,))
    hidden = layers.Dense(3, kernel_initializer="ones")(inputs)
    out = Scale()(hidden)
    assert out.shape == (None, 3) and out.dtype == "float32"
    model = keras.Model(inputs, out)
    y = model(np.ones((2, 3), "float32"))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    np.testing.assert_allclose(np.asarray(y), [[3.0, 6.0, 9.0]] * 2)
    y.sum().backward()  # the numpy constant did not cut the gradient path
    assert model.layers[1].kernel.grad is not None


@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, lambda t: t.numpy(), lambda t: t.tolist()],
)
def test_eager_outputs_convert_to_numpy(convert):
    layer = layers.Dense(3)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    x = np.ones((2, 4), "float32")
    for out in (layer(x), model(x), keras.losses.MeanSquaredError()(np.zeros((2, 3)), model(x))):
        assert out.requires_grad
        result = np.asarray(convert(out))
        np.testing.assert_allclose(result, np.asarray(out.detach()).reshape(result.shape) if result.ndim else result)


def test_loss_value_converts_to_python_float_without_warning(recwarn):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    loss = keras.losses.MeanSquaredError()(np.zeros((2, 1)), model(np.ones((2, 4), "float32")))
    assert isinstance(float(loss), float) and isinstance(loss.item(), float)
    assert not [w for w in recwarn if "requires_grad" in str(w.message)]


def test_eager_outputs_keep_gradients_and_plain_ops():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    out = model(np.ones((2, 4), "float32"))
    assert isinstance(out, torch.Tensor)
    derived = out * 2 + 1
    assert type(derived) is torch.Tensor  # ops on results are plain tensors
    derived.sum().backward()
    assert all(v.grad is not None for v in model.trainable_weights)


def test_torch_custom_training_loop_reads_value_grad():
    """The Keras guide's torch loop: loss.backward(), then v.value.grad for each weight."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = keras.losses.MeanSquaredError()
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((16, 4)), dtype=torch.float32)
    y = x.sum(dim=1, keepdim=True)
    losses = []
    for _ in range(20):
        loss = loss_fn(y, model(x))
        model.zero_grad()
        loss.backward()
        trainable = model.trainable_weights
        gradients = [v.value.grad for v in trainable]
        assert all(g is not None for g in gradients)
        with torch.no_grad():
            optimizer.apply(gradients, trainable)
        losses.append(float(loss))
    assert losses[-1] < losses[0] / 2
    model.zero_grad()
    assert all(v.value.grad is None for v in model.trainable_weights)


def test_compute_mask_takes_numpy_and_lists():
    embedding = layers.Embedding(10, 3, mask_zero=True)
    expected = [[True, False, True]]
    for ids in (np.array([[1, 0, 2]]), [[1, 0, 2]]):
        mask = embedding.compute_mask(ids)
        assert isinstance(mask, torch.Tensor) and mask.tolist() == expected
    masking = layers.Masking(0.0)
    data = np.array([[[0.0, 0.0], [1.0, 0.0]]])
    assert masking.compute_mask(data).tolist() == [[False, True]]
    assert masking.compute_mask(data.tolist()).tolist() == [[False, True]]


_INT_INPUT_LAYERS = {
    "Dense": lambda m: m.layers.Dense(2),
    "Conv1D": lambda m: m.layers.Conv1D(2, 2),
    "LSTM": lambda m: m.layers.LSTM(2),
    "BatchNormalization": lambda m: m.layers.BatchNormalization(),
    "Embedding": lambda m: m.layers.Embedding(3, 2),
    "Flatten": lambda m: m.layers.Flatten(),
    "TimeDistributed": lambda m: m.layers.TimeDistributed(m.layers.Dense(2)),
}
# LayerNormalization is left out: on integer or boolean data Keras computes its statistics in the
# input's dtype (truncated), Lamina normalizes the values as floats.
_INT_INPUT_CASES = [(name, dtype) for name in _INT_INPUT_LAYERS for dtype in ("bool", "int64", "uint8", "int32")]


@pytest.mark.oracle
@pytest.mark.parametrize("name,dtype", _INT_INPUT_CASES)
def test_integer_and_boolean_inputs_follow_keras(oracle, name, dtype):
    make = _INT_INPUT_LAYERS[name]
    x = (np.arange(12).reshape(1, 4, 3) % 3).astype(dtype)
    theirs = make(oracle)
    want = theirs(x)
    ours = make(keras)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    want_dtype = str(want.dtype)
    # JAX without x64 reports int64 data as int32; the kind (float / int / bool) must agree.
    assert got.dtype.is_floating_point == want_dtype.startswith("float")
    np.testing.assert_allclose(np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64"), rtol=1e-5, atol=1e-6)
    if name != "Flatten":
        # Flatten's symbolic output reports the compute dtype (known deviation: layers that
        # define compute_output_shape are not run symbolically); eagerly it keeps the dtype.
        symbolic = make(keras)(keras.Input((4, 3), dtype=dtype))
        assert symbolic.dtype.startswith("float") == want_dtype.startswith("float")


def test_layer_is_top_level():
    assert keras.Layer is keras.layers.Layer
