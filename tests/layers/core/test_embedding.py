"""Tests for lamina.layers.core.embedding.Embedding."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.core.dense import Dense
from lamina.layers.core.embedding import Embedding


IDS = np.array([[1, 0, 4, 2], [0, 0, 3, 1]], dtype="int32")


def _pair(oracle, **config):
    """The same Embedding in Keras and Lamina, built, holding the same random table."""
    # A constant initializer keeps the Keras build cheap (no JAX random kernel to compile).
    k = oracle.layers.Embedding(embeddings_initializer="zeros", **config)
    k.build((None, 4))
    ours = Embedding(**config)
    ours.build((None, 4))
    table = np.random.default_rng(0).normal(size=(config["input_dim"], config["output_dim"]))
    k.set_weights([table.astype("float32")])
    ours.set_weights([table.astype("float32")])
    return k, ours


@pytest.mark.oracle
@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_lookup_matches_oracle(oracle, dtype):
    k, ours = _pair(oracle, input_dim=5, output_dim=3)
    ids = IDS.astype(dtype)
    expected = np.asarray(k(ids))
    got = ours(ids)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-6, atol=0)


@pytest.mark.oracle
def test_weights_and_symbolic_shape_match_oracle(oracle):
    k = oracle.layers.Embedding(7, 2, name="embedding")
    k.build()
    ours = Embedding(7, 2)
    lo = ours(lamina.Input((None,), dtype="int32"))
    assert lo.shape == tuple(k.compute_output_shape((None, None))) == (None, None, 2)
    assert lo.dtype == "float32"
    assert [w.path for w in ours.weights] == [w.path for w in k.weights] == ["embedding/embeddings"]
    assert [tuple(w.shape) for w in ours.weights] == [(7, 2)]
    # A float index input still gives a float32 output, as in Keras.
    assert Embedding(7, 2)(lamina.Input((3,))).shape == (None, 3, 2)


@pytest.mark.oracle
def test_mask_zero_matches_oracle(oracle):
    k, ours = _pair(oracle, input_dim=5, output_dim=3, mask_zero=True)
    expected = np.asarray(k.compute_mask(IDS))
    out = ours(IDS)
    np.testing.assert_array_equal(out._keras_mask.numpy(), expected)
    np.testing.assert_array_equal(ours.compute_mask(torch.as_tensor(IDS)).numpy(), expected)
    assert Embedding(5, 3).compute_mask(torch.as_tensor(IDS)) is None


def test_float_indices_are_not_autocast():
    # Float ids must be cast to integers, never rounded through float16/float32 first.
    layer = Embedding(5, 2, dtype="mixed_float16")
    out = layer(np.array([[1.0, 4.0]], dtype="float64"))
    assert out.dtype == torch.float16
    rows = layer.embeddings.detach().numpy()[[1, 4]].astype("float16")
    np.testing.assert_allclose(out.float().detach().numpy()[0], rows, rtol=1e-3)
    # float16 cannot hold 2049: a float16 autocast of the ids would look up row 2048.
    parity = (np.arange(2100) % 2).astype("float32").reshape(-1, 1)
    big = Embedding(2100, 1, weights=parity, dtype="mixed_float16")
    assert big(np.array([[2049.0]])).item() == 1.0


def test_mask_propagates_through_sequential():
    model = lamina.Sequential([lamina.Input((4,), dtype="int32"), Embedding(5, 3, mask_zero=True), Dense(2)])
    out = model(IDS)
    np.testing.assert_array_equal(out._keras_mask.numpy(), IDS != 0)
    assert model.layers[-1].output._keras_mask.shape == (None, 4)
    # Functional graph: the symbolic mask follows the tensors.
    x = lamina.Input((None,), dtype="int32")
    y = Dense(2)(Embedding(5, 3, mask_zero=True)(x))
    assert y._keras_mask is not None and y._keras_mask.shape == (None, None)


def test_keras2_input_length_sets_input_shape():
    layer = Embedding(1000, 64, input_length=10)
    model = lamina.Sequential([layer])
    assert model.output_shape == (None, 10, 64)
    config = layer.get_config()
    assert config["input_length"] == 10
    assert Embedding.from_config(config).input_length == 10
    with pytest.raises(ValueError, match="input_length"):
        Embedding(5, 2, input_length=0)


def test_weights_argument_builds_the_layer():
    table = np.arange(6, dtype="float32").reshape(3, 2)
    for weights in (table, [table]):
        layer = Embedding(3, 2, weights=weights)
        assert layer.built
        np.testing.assert_array_equal(layer.get_weights()[0], table)
    with pytest.raises(ValueError, match="shape"):
        Embedding(3, 2, weights=np.zeros((2, 2)))


def test_get_set_weights_regularizer_and_gradient():
    layer = Embedding(4, 2, embeddings_regularizer=lamina.regularizers.L2(0.5))
    layer.build()
    table = np.ones((4, 2), "float32")
    layer.set_weights([table])
    np.testing.assert_array_equal(layer.get_weights()[0], table)
    assert [v.item() for v in layer.losses] == [pytest.approx(4.0)]
    layer(np.array([[1, 1, 3]])).sum().backward()
    grad = layer.embeddings.grad.numpy()
    np.testing.assert_array_equal(grad[:, 0], [0, 2, 0, 1])


@pytest.mark.oracle
def test_config_round_trip_and_keras_dict(oracle):
    k = oracle.layers.Embedding(6, 3, mask_zero=True, embeddings_initializer="ones", name="emb")
    ours = Embedding(6, 3, mask_zero=True, embeddings_initializer="ones", name="emb")
    assert set(ours.get_config()) == set(k.get_config())
    for layer in (Embedding.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, Embedding)
        assert (layer.input_dim, layer.output_dim, layer.mask_zero, layer.name) == (6, 3, True, "emb")
        out = layer(np.array([[0, 5]]))
        np.testing.assert_array_equal(out.detach().numpy(), np.ones((1, 2, 3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_dim=0, output_dim=3), "input_dim"),
        (dict(input_dim=5.0, output_dim=3), "input_dim"),
        (dict(input_dim=True, output_dim=3), "input_dim"),
        (dict(input_dim=5, output_dim=-1), "output_dim"),
        (dict(input_dim=5, output_dim=3, lora_rank=0), "lora_rank"),
        (dict(input_dim=5, output_dim=3, embeddings_initializer="nope"), "nope"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embedding(**kwargs)


def test_out_of_range_index_raises():
    with pytest.raises(IndexError):
        Embedding(3, 2)(np.array([[3]]))


@pytest.mark.parametrize("index", [3, 7, -1])
def test_out_of_range_index_names_the_layer_the_value_and_the_range(index):
    layer = Embedding(3, 2, name="tokens")
    with pytest.raises(ValueError, match=rf"Embedding layer 'tokens'.*indices \[{index}\].*\[0, 3\)"):
        layer(np.array([[0, index, 1]]))


def test_numpy_integer_sizes_accepted_as_keras2():
    layer = Embedding(np.int64(7), np.int32(2))
    assert (type(layer.input_dim), type(layer.output_dim)) == (int, int)
    assert layer.get_config()["input_dim"] == 7
    assert tuple(layer(np.array([[1, 6]])).shape) == (1, 2, 2)
