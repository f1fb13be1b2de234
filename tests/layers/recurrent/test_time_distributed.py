import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.oracle
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda L: L.Dense(3, activation="tanh"), (2, 4, 5)),
        (lambda L: L.Conv2D(2, 3, padding="same"), (2, 3, 5, 5, 2)),
        (lambda L: L.Flatten(), (2, 3, 2, 2)),
        (lambda L: L.Dropout(0.5), (2, 3, 4)),
    ],
)
def test_time_distributed_matches_oracle(oracle, rng, make, shape):
    x = rng.standard_normal(shape).astype("float32")
    ref = oracle.layers.TimeDistributed(make(oracle.layers))
    ref.build(shape)
    layer = layers.TimeDistributed(make(layers))
    layer.build(shape)
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(_np(layer(x)), _np(ref(x)), rtol=1e-5, atol=1e-6)
    assert [w.name for w in layer.weights] == [w.name for w in ref.weights]
    assert layer.compute_output_shape(shape) == ref.compute_output_shape(shape)


@pytest.mark.oracle
def test_time_distributed_mask_passes_through(oracle):
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    ref_e = oracle.layers.Embedding(10, 3, mask_zero=True)
    ref_td = oracle.layers.TimeDistributed(oracle.layers.Dense(2))
    ref_out = ref_td(ref_e(ids))
    emb = layers.Embedding(10, 3, mask_zero=True)
    td = layers.TimeDistributed(layers.Dense(2))
    emb.build((2, 4))
    emb.set_weights(ref_e.get_weights())
    h = emb(ids)
    td.build(tuple(h.shape))
    td.set_weights(ref_td.get_weights())
    out = td(h)
    np.testing.assert_allclose(_np(out), _np(ref_out), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(_np(out._keras_mask), np.asarray(ref_out._keras_mask))
    # Symbolically the mask reaches the next layer, e.g. an RNN that skips padded steps.
    inputs = lamina.Input((4,), dtype="int32")
    y = layers.TimeDistributed(layers.Dense(2))(layers.Embedding(10, 3, mask_zero=True)(inputs))
    assert y._keras_mask is not None and tuple(y._keras_mask.shape) == (None, 4)


def test_time_distributed_passes_folded_mask_to_inner_layer():
    class Record(layers.Layer):
        def call(self, x, mask=None):
            self.seen = mask
            return x

    x = torch.ones(2, 3, 4)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    td = layers.TimeDistributed(Record())
    td(x, mask=mask)
    torch.testing.assert_close(td.layer.seen, mask.reshape(6))


def test_time_distributed_training_flag_reaches_inner_layer():
    td = layers.TimeDistributed(layers.Dropout(0.5, seed=1))
    x = torch.ones(4, 3, 8)
    torch.testing.assert_close(td(x), x)
    dropped = td(x, training=True)
    assert (dropped == 0).any() and set(torch.unique(dropped).tolist()) <= {0.0, 2.0}


@pytest.mark.oracle
def test_time_distributed_config_round_trip(oracle):
    layer = layers.TimeDistributed(layers.Dense(3, activation="relu"), name="td")
    config = layer.get_config()
    theirs = oracle.layers.TimeDistributed(oracle.layers.Dense(3, activation="relu"), name="td").get_config()
    assert set(theirs) <= set(config)
    assert config["layer"]["class_name"] == "Dense"
    rebuilt = layers.TimeDistributed.from_config(config)
    assert isinstance(rebuilt.layer, layers.Dense) and rebuilt.layer.units == 3
    ref = oracle.layers.TimeDistributed(oracle.layers.Conv1D(2, 3))
    ref.build((None, 4, 6, 3))
    ours = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(ours, layers.TimeDistributed) and isinstance(ours.layer, layers.Conv1D)
    ours.build((None, 4, 6, 3))
    ours.set_weights(ref.get_weights())
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 3)).astype("float32")
    np.testing.assert_allclose(_np(ours(x)), _np(ref(x)), rtol=1e-5, atol=1e-6)


def test_time_distributed_symbolic_shapes():
    x = lamina.Input((None, 8, 8, 3))
    y = layers.TimeDistributed(layers.Conv2D(4, 3, strides=2))(x)
    assert y.shape == (None, None, 3, 3, 4)
    model = lamina.Model(x, y)
    assert tuple(model(np.zeros((2, 5, 8, 8, 3), "float32")).shape) == (2, 5, 3, 3, 4)
    seq = lamina.Sequential([lamina.Input((6, 4)), layers.TimeDistributed(layers.Dense(2))])
    assert seq.output_shape == (None, 6, 2)


def test_time_distributed_errors():
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.TimeDistributed(lambda x: x)
    td = layers.TimeDistributed(layers.Dense(2), name="td")
    with pytest.raises(ValueError, match=r"'td'.*at least 3 dimensions.*\(2, 3\)"):
        td(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2)).compute_output_shape((None, 3))
    with pytest.raises(ValueError, match=r"mask.*'td'.*\(2, 5\)"):
        td(torch.zeros(2, 4, 3), mask=torch.ones(2, 5, dtype=torch.bool))
    td(torch.zeros(2, 4, 3))
    with pytest.raises(ValueError, match="dense"):
        td(torch.zeros(2, 4, 5))


def test_time_distributed_weights_file_layout(tmp_path):
    model = lamina.Sequential([lamina.Input((3, 4)), layers.TimeDistributed(layers.Dense(2))])
    path = tmp_path / "td.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert "layers/time_distributed/layer/vars/0" in f
        assert "layers/time_distributed/layer/vars/1" in f


@pytest.mark.oracle
def test_time_distributed_keras_files_both_ways(oracle, tmp_path):
    def build(K):
        x = K.Input((3, 6, 2))
        y = K.layers.TimeDistributed(K.layers.Conv1D(4, 3, activation="relu"))(x)
        y = K.layers.TimeDistributed(K.layers.Dense(2))(y)
        return K.Model(x, y)

    x = np.random.default_rng(2).standard_normal((2, 3, 6, 2)).astype("float32")
    ref = build(oracle)
    ref.save(tmp_path / "k.keras")
    loaded = lamina.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(_np(loaded(x)), _np(ref(x)), rtol=1e-5, atol=1e-6)
    ours = build(lamina)
    ours.save(tmp_path / "l.keras")
    theirs = oracle.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(_np(theirs(x)), _np(ours(x)), rtol=1e-5, atol=1e-6)
