"""IntegerLookup against the documented Keras examples (Keras's layer needs TensorFlow: no oracle)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

VOCAB = [12, 36, 1138, 42]
DATA4 = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])


def test_documented_vocabulary_adapt_and_multiple_oov():
    assert layers.IntegerLookup(vocabulary=VOCAB)(np.array([[12, 1138, 42], [42, 1000, 36]])).tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = layers.IntegerLookup()
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert layer(data).tolist() == [[5, 2, 1], [1, 3, 4]]
    two = layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert two(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5], [1, 0, 3]]


def test_documented_floormod_vs_farmhash_oov():
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    floormod = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="floormod")
    farmhash = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="farmhash")
    assert floormod(oov).tolist() == [0, 0, 0, 0, 0, 0]
    assert farmhash(oov).tolist() == [3, 3, 2, 2, 0, 1]
    # Salted: SipHash of the decimal strings, as Keras's Hashing(3, salt=[133, 137]) on 0..4.
    salted = layers.IntegerLookup(vocabulary=[99], num_oov_indices=3, oov_method="farmhash", salt=[133, 137])
    assert salted(np.arange(5)).tolist() == [1, 1, 2, 0, 1]
    with pytest.raises(ValueError, match="salt"):
        layers.IntegerLookup(num_oov_indices=2, salt=1)


def test_documented_encodings():
    one_hot = layers.IntegerLookup(vocabulary=VOCAB, output_mode="one_hot")(np.array([12, 36, 1138, 42, 7]))
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(5, dtype="float32")[[1, 2, 3, 4, 0]])
    assert layers.IntegerLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4).tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    assert layers.IntegerLookup(vocabulary=VOCAB, output_mode="count")(DATA4).tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tf_idf = layers.IntegerLookup(output_mode="tf_idf", vocabulary=VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tf_idf(DATA4).numpy(), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)
    tf_idf = layers.IntegerLookup(output_mode="tf_idf", vocabulary=[-1] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tf_idf(DATA4).numpy(), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_documented_invert_pairs():
    inverse = layers.IntegerLookup(vocabulary=VOCAB, invert=True)
    assert inverse(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [[12, 1138, 42], [42, -1, 36]]
    forward = layers.IntegerLookup(vocabulary=VOCAB)
    pair = layers.IntegerLookup(vocabulary=forward.get_vocabulary(), invert=True)
    out = pair(forward(np.array([[12, 1138, 42], [42, 1000, 36]])))
    assert out.dtype == torch.int64 and out.tolist() == [[12, 1138, 42], [42, -1, 36]]


def test_mask_token_torch_inputs_and_adapt_iterables():
    layer = layers.IntegerLookup(vocabulary=VOCAB, mask_token=0)
    assert layer.get_vocabulary()[:2] == [0, -1]
    assert layer(torch.tensor([[12, 0, 5]])).tolist() == [[2, 0, 1]]
    adapted = layers.IntegerLookup(max_tokens=3)
    adapted.adapt(iter([np.array([5, 5, 6]), np.array([7, 6, 5])]))
    assert adapted.get_vocabulary() == [-1, 5, 6]
    adapted.adapt([[1, 2, 2]])
    assert adapted.get_vocabulary() == [-1, 2, 1]


def test_symbolic_shapes_and_model():
    inputs = lamina.Input((4,), dtype="int64")
    ints = layers.IntegerLookup(vocabulary=VOCAB)(inputs)
    counts = layers.IntegerLookup(vocabulary=VOCAB, output_mode="count")(inputs)
    padded = layers.IntegerLookup(vocabulary=VOCAB, output_mode="multi_hot", max_tokens=10, pad_to_max_tokens=True)(inputs)
    assert (ints.shape, ints.dtype) == ((None, 4), "int64")
    assert (counts.shape, counts.dtype) == ((None, 5), "float32")
    assert padded.shape == (None, 10)
    embedded = layers.Embedding(5, 2)(ints)
    model = lamina.Model(inputs, [embedded, counts])
    out_embedded, out_counts = model(DATA4)
    assert tuple(out_embedded.shape) == (2, 4, 2)
    assert out_counts.tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]


def test_errors():
    with pytest.raises(ValueError, match="vocabulary_dtype"):
        layers.IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(ValueError, match="num_oov_indices"):
        layers.IntegerLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match="oov_method"):
        layers.IntegerLookup(oov_method="modulo")
    with pytest.raises(ValueError, match="'il'.*integer inputs"):
        layers.IntegerLookup(vocabulary=VOCAB, name="il")(np.array([1.5]))
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=0)(np.array([3]))
    with pytest.raises(ValueError, match="tf_idf.*file"):
        layers.IntegerLookup(output_mode="tf_idf").set_vocabulary(__file__, idf_weights=[1.0])


def test_config_round_trip_and_adapted_model_save(tmp_path):
    layer = layers.IntegerLookup(vocabulary=np.array(VOCAB), mask_token=0, oov_method="farmhash", num_oov_indices=2)
    config = layer.get_config()
    assert config["vocabulary"] == VOCAB and config["vocabulary_dtype"] == "int64" and config["mask_token"] == 0
    clone = layers.deserialize(layers.serialize(layer))
    x = np.array([[12, 0, 99, 1000]])
    assert clone(x).tolist() == layer(x).tolist()
    inputs = lamina.Input((3,), dtype="int64")
    tf_idf = layers.IntegerLookup(output_mode="tf_idf", max_tokens=6, pad_to_max_tokens=True)
    tf_idf.adapt(np.array([[1, 2, 3], [2, 3, 3], [5, 5, 5]]))
    model = lamina.Model(inputs, tf_idf(inputs))
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    data = np.array([[1, 2, 9], [5, 5, 8]])
    torch.testing.assert_close(loaded(data), model(data))
    assert loaded.layers[1].get_vocabulary() == [-1, 5, 3, 2, 1]
