"""Every layer survives save -> load_model with identical outputs and configs."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

# (layer factory, input shape without batch, input dtype)
CASES = {
    "Dense": (lambda: layers.Dense(3, activation="relu", kernel_regularizer="l2"), (4,), "float32"),
    "EinsumDense": (lambda: layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), (4,), "float32"),
    "Activation": (lambda: layers.Activation("tanh"), (4,), "float32"),
    "ReLU": (lambda: layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), (4,), "float32"),
    "LeakyReLU": (lambda: layers.LeakyReLU(negative_slope=0.2), (4,), "float32"),
    "PReLU": (lambda: layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1]), (3, 4), "float32"),
    "ELU": (lambda: layers.ELU(alpha=0.5), (4,), "float32"),
    "Softmax": (lambda: layers.Softmax(axis=[1, 2]), (3, 4), "float32"),
    "ThresholdedReLU": (lambda: layers.ThresholdedReLU(theta=0.5), (4,), "float32"),
    "Normalization": (lambda: layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0]), (2, 3), "float32"),
    "Discretization": (lambda: layers.Discretization(bin_boundaries=[-1.0, 0.0, 0.5], output_mode="one_hot"), (3,), "float32"),
    "CategoryEncoding": (lambda: layers.CategoryEncoding(10, output_mode="count"), (4,), "int32"),
    "Embedding": (lambda: layers.Embedding(10, 3, mask_zero=True), (5,), "int32"),
    "Masking": (lambda: layers.Masking(0.0), (3, 2), "float32"),
    "Identity": (lambda: layers.Identity(), (4,), "float32"),
    "ActivityRegularization": (lambda: layers.ActivityRegularization(l1=0.1), (4,), "float32"),
    "Dropout": (lambda: layers.Dropout(0.5, seed=1), (4,), "float32"),
    "SpatialDropout1D": (lambda: layers.SpatialDropout1D(0.5), (3, 4), "float32"),
    "GaussianNoise": (lambda: layers.GaussianNoise(0.1), (4,), "float32"),
    "AlphaDropout": (lambda: layers.AlphaDropout(0.1), (4,), "float32"),
    "Flatten": (lambda: layers.Flatten(), (2, 3), "float32"),
    "Reshape": (lambda: layers.Reshape((-1, 2)), (4,), "float32"),
    "Permute": (lambda: layers.Permute((2, 1)), (2, 3), "float32"),
    "RepeatVector": (lambda: layers.RepeatVector(3), (4,), "float32"),
    "Conv1D": (lambda: layers.Conv1D(2, 3, padding="causal", dilation_rate=2), (7, 3), "float32"),
    "Conv2D": (lambda: layers.Conv2D(2, 3, strides=2, padding="same"), (7, 7, 3), "float32"),
    "Conv3D": (lambda: layers.Conv3D(2, 2), (4, 4, 4, 1), "float32"),
    "SeparableConv2D": (lambda: layers.SeparableConv2D(2, 3, depth_multiplier=2), (6, 6, 3), "float32"),
    "DepthwiseConv2D": (lambda: layers.DepthwiseConv2D(3), (6, 6, 3), "float32"),
    "Conv2DTranspose": (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=1), (4, 4, 3), "float32"),
    "Conv1DTranspose": (lambda: layers.Conv1DTranspose(2, 3), (5, 3), "float32"),
    "Conv3DTranspose": (lambda: layers.Conv3DTranspose(2, 2), (3, 3, 3, 1), "float32"),
    "MaxPooling2D": (lambda: layers.MaxPooling2D(2, padding="same"), (5, 5, 2), "float32"),
    "AveragePooling1D": (lambda: layers.AveragePooling1D(2), (6, 2), "float32"),
    "GlobalAveragePooling2D": (lambda: layers.GlobalAveragePooling2D(keepdims=True), (4, 4, 2), "float32"),
    "GlobalMaxPooling3D": (lambda: layers.GlobalMaxPooling3D(), (3, 3, 3, 2), "float32"),
    "Cropping2D": (lambda: layers.Cropping2D(((1, 0), (0, 1))), (5, 5, 2), "float32"),
    "UpSampling2D": (lambda: layers.UpSampling2D(2, interpolation="bilinear"), (3, 3, 2), "float32"),
    "ZeroPadding3D": (lambda: layers.ZeroPadding3D(1), (2, 2, 2, 1), "float32"),
    "LocallyConnected1D": (lambda: layers.LocallyConnected1D(2, 3), (6, 2), "float32"),
    "LocallyConnected2D": (lambda: layers.LocallyConnected2D(2, 2), (4, 4, 1), "float32"),
    "Resizing": (lambda: layers.Resizing(3, 5, interpolation="bicubic", crop_to_aspect_ratio=True), (6, 4, 2), "float32"),
    "CenterCrop": (lambda: layers.CenterCrop(3, 2), (5, 4, 2), "float32"),
    "RandomCrop": (lambda: layers.RandomCrop(3, 2, seed=1), (5, 4, 2), "float32"),
    "RandomFlip": (lambda: layers.RandomFlip("horizontal", seed=1), (4, 4, 2), "float32"),
    "RandomTranslation": (lambda: layers.RandomTranslation(0.2, 0.1, fill_mode="constant", seed=1), (5, 4, 2), "float32"),
    "RandomRotation": (lambda: layers.RandomRotation(0.2, fill_mode="wrap", seed=1), (5, 4, 2), "float32"),
    "RandomZoom": (lambda: layers.RandomZoom(0.2, (-0.1, 0.3), interpolation="nearest", seed=1), (5, 4, 2), "float32"),
    "RandomContrast": (lambda: layers.RandomContrast(0.3, value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "RandomBrightness": (lambda: layers.RandomBrightness((-0.1, 0.2), value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "RandomHeight": (lambda: layers.RandomHeight(0.3, seed=1), (5, 4, 2), "float32"),
    "RandomWidth": (lambda: layers.RandomWidth((0.1, 0.5), interpolation="nearest", seed=1), (5, 4, 2), "float32"),
    "STFTSpectrogram": (lambda: layers.STFTSpectrogram(mode="psd", frame_length=8, fft_length=16, padding="same"), (40, 2), "float32"),
    "MelSpectrogram": (lambda: layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8), (100,), "float32"),
    "RandomGrayscale": (lambda: layers.RandomGrayscale(0.4, seed=1), (5, 4, 3), "float32"),
    "RandomHue": (lambda: layers.RandomHue(0.3, value_range=(-3, 3), seed=1), (5, 4, 3), "float32"),
    "RandomSaturation": (lambda: layers.RandomSaturation((0.2, 0.7), seed=1), (5, 4, 3), "float32"),
    "RandomColorDegeneration": (lambda: layers.RandomColorDegeneration(0.5, seed=1), (5, 4, 3), "float32"),
    "RandomColorJitter": (lambda: layers.RandomColorJitter(brightness_factor=0.1, hue_factor=0.2, seed=1), (5, 4, 3), "float32"),
    "RandomSharpness": (lambda: layers.RandomSharpness(0.4, value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "RandomInvert": (lambda: layers.RandomInvert(0.5, value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "RandomPosterization": (lambda: layers.RandomPosterization((2, 6), value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "Solarization": (lambda: layers.Solarization(0.2, (0.3, 0.6), value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "AutoContrast": (lambda: layers.AutoContrast(value_range=(-3, 3)), (5, 4, 2), "float32"),
    "Equalization": (lambda: layers.Equalization(value_range=(-3, 3), bins=32), (5, 4, 2), "float32"),
    "RandomShear": (lambda: layers.RandomShear(0.2, (0.1, 0.3), fill_mode="constant", seed=1), (5, 4, 2), "float32"),
    "RandomErasing": (lambda: layers.RandomErasing(0.5, fill_value=1.0, value_range=(-3, 3), seed=1), (5, 4, 3), "float32"),
    "RandomGaussianBlur": (lambda: layers.RandomGaussianBlur(0.5, kernel_size=(3, 5), sigma=0.8, seed=1), (5, 4, 2), "float32"),
    "MixUp": (lambda: layers.MixUp(0.4, seed=1), (5, 4, 2), "float32"),
    "CutMix": (lambda: layers.CutMix((0.2, 0.6), seed=1), (5, 4, 2), "float32"),
    "RandomPerspective": (lambda: layers.RandomPerspective(0.5, scale=0.3, interpolation="nearest", seed=1), (5, 4, 2), "float32"),
    "RandAugment": (lambda: layers.RandAugment(value_range=(-3, 3), num_ops=3, factor=0.4, seed=1), (5, 4, 3), "float32"),
    "AugMix": (lambda: layers.AugMix(value_range=(-3, 3), num_chains=2, all_ops=False, seed=1), (5, 4, 3), "float32"),
    "RandomElasticTransform": (lambda: layers.RandomElasticTransform(0.5, scale=0.3, value_range=(-3, 3), seed=1), (5, 4, 2), "float32"),
    "MaxNumBoundingBoxes": (lambda: layers.MaxNumBoundingBoxes(4, fill_value=-2), (5, 4, 2), "float32"),
    "ContrastLimitedAdaptiveHistogramEqualization": (lambda: layers.ContrastLimitedAdaptiveHistogramEqualization((-3, 3), 2.0, (2, 2)), (5, 4, 2), "float32"),
    "TimeDistributed": (lambda: layers.TimeDistributed(layers.Conv1D(2, 2)), (3, 4, 2), "float32"),
    "Bidirectional": (lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum"), (4, 3), "float32"),
    "ConvLSTM1D": (lambda: layers.ConvLSTM1D(2, 3, go_backwards=True), (3, 5, 2), "float32"),
    "ConvLSTM2D": (lambda: layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True), (3, 4, 4, 1), "float32"),
    "IntegerLookup": (lambda: layers.IntegerLookup(vocabulary=[3, 1, 7], output_mode="count"), (4,), "int64"),
    "Hashing": (lambda: layers.Hashing(5, salt=7, mask_value=0), (3,), "int64"),
    "BatchNormalization": (lambda: layers.BatchNormalization(axis=1, momentum=0.9, renorm=True), (3, 4), "float32"),
    "LayerNormalization": (lambda: layers.LayerNormalization(axis=[1, 2], center=False), (3, 4), "float32"),
    "GroupNormalization": (lambda: layers.GroupNormalization(2, epsilon=0.01), (3, 4), "float32"),
    "UnitNormalization": (lambda: layers.UnitNormalization(axis=[1, 2]), (3, 4), "float32"),
    "RMSNormalization": (lambda: layers.RMSNormalization(epsilon=1e-3), (3, 4), "float32"),
    "SpectralNormalization": (lambda: layers.SpectralNormalization(layers.Dense(3), power_iterations=2), (4,), "float32"),
    "SimpleRNN": (lambda: layers.SimpleRNN(3, return_sequences=True, go_backwards=True), (5, 2), "float32"),
    "LSTM": (lambda: layers.LSTM(3, return_state=True, recurrent_regularizer="l2"), (5, 2), "float32"),
    "GRU": (lambda: layers.GRU(3, reset_after=False, return_sequences=True), (5, 2), "float32"),
    "RNN": (lambda: layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], return_sequences=True), (5, 2), "float32"),
    "CuDNNLSTM": (lambda: layers.CuDNNLSTM(3, return_sequences=True), (5, 2), "float32"),
    "CuDNNGRU": (lambda: layers.CuDNNGRU(3, go_backwards=True), (5, 2), "float32"),
    "AdaptiveAveragePooling2D": (lambda: layers.AdaptiveAveragePooling2D((2, 3)), (5, 7, 2), "float32"),
    "AdaptiveMaxPooling1D": (lambda: layers.AdaptiveMaxPooling1D(3, data_format="channels_first"), (2, 7), "float32"),
    "AdaptiveMaxPooling3D": (lambda: layers.AdaptiveMaxPooling3D((1, 2, 2)), (3, 4, 5, 2), "float32"),
    "ReversibleEmbedding": (lambda: layers.ReversibleEmbedding(10, 3, tie_weights=False, logit_soft_cap=5.0, mask_zero=True), (5,), "int32"),
    "Pipeline": (lambda: layers.Pipeline([layers.Rescaling(0.5), layers.Dense(3)]), (4,), "float32"),
}


def _data(shape, dtype):
    rng = np.random.default_rng(0)
    if dtype.startswith("int"):
        return rng.integers(0, 10, size=(2,) + shape).astype(dtype)
    return rng.standard_normal((2,) + shape).astype(dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_round_trip(name, tmp_path):
    factory, shape, dtype = CASES[name]
    inputs = lamina.Input(shape, dtype=dtype)
    outputs = factory()(inputs)
    model = lamina.Model(inputs, outputs)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = _data(shape, dtype)
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()


def test_merging_and_shared_layers_round_trip(tmp_path):
    a, b = lamina.Input((4,)), lamina.Input((4,))
    shared = layers.Dense(3, name="shared")
    merged = layers.concatenate([shared(a), shared(b), layers.add([a, b])])
    out = layers.Dot(axes=1)([layers.Dense(2)(merged), layers.Dense(2)(merged)])
    model = lamina.Model([a, b], out)
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    x = [torch.randn(2, 4), torch.randn(2, 4)]
    torch.testing.assert_close(loaded(x), model(x))


@lamina.saving.register_keras_serializable(package="tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_registered_custom_layer_and_subclassed_model(tmp_path):
    x = lamina.Input((3,))
    model = lamina.Model(x, Scale(3.0)(layers.Dense(3)(x)))
    model.layers[-1].w.assign(np.array([1.0, 2.0, 3.0]))
    model.save(tmp_path / "c.keras")
    loaded = lamina.models.load_model(tmp_path / "c.keras")
    data = torch.randn(2, 3)
    torch.testing.assert_close(loaded(data), model(data))

    @lamina.saving.register_keras_serializable(package="tests")
    class TwoLayer(lamina.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.first = layers.Dense(units, activation="relu")
            self.second = layers.Dense(1)

        def call(self, inputs):
            return self.second(self.first(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    sub = TwoLayer(5)
    sub(data)
    sub.save(tmp_path / "sub.keras")
    again = lamina.models.load_model(tmp_path / "sub.keras")
    torch.testing.assert_close(again(data), sub(data))


def test_unregistered_custom_class_needs_custom_objects(tmp_path):
    class Plain(layers.Layer):
        def call(self, x):
            return x + 1

    x = lamina.Input((2,))
    model = lamina.Model(x, Plain()(x))
    model.save(tmp_path / "p.keras")
    with pytest.raises(ValueError, match="Plain"):
        lamina.models.load_model(tmp_path / "p.keras")
    loaded = lamina.models.load_model(tmp_path / "p.keras", custom_objects={"Plain": Plain})
    torch.testing.assert_close(loaded(torch.zeros(1, 2)), torch.ones(1, 2))


def test_compiled_model_continues_training_after_reload(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")

    def make():
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([lamina.Input((5,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    straight = make()
    straight.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)

    first = make()
    first.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = lamina.models.load_model(tmp_path / "half.keras")
    assert int(resumed.optimizer.iterations.numpy()) == 8
    resumed.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_models_with_operators_and_ops_round_trip(tmp_path):
    x = lamina.Input((3, 4))
    y = (x * 2.0 + 1.0)[:, 1:, ::2]
    z = lamina.ops.concatenate([lamina.ops.mean(y, axis=1), -abs(lamina.ops.max(x, axis=1))], axis=-1)
    model = lamina.Model(x, layers.Dense(2)(z))
    model.save(tmp_path / "ops.keras")
    loaded = lamina.models.load_model(tmp_path / "ops.keras")
    data = torch.randn(2, 3, 4)
    torch.testing.assert_close(loaded(data), model(data))
    assert loaded.get_config() == model.get_config()
