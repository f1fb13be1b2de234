"""Tests for lamina.layers.Discretization."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


RNG = np.random.default_rng(0)
X = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0], [2.0, -0.1, 1.99, 5.0]], "float32")


def _oracle_adapt(layer, batches):
    # Keras's adapt() checks for tf.data first and so needs TensorFlow; its per-batch API does not.
    layer.reset_state()
    for batch in batches:
        layer.update_state(batch)
    layer.finalize_state()


@pytest.mark.oracle
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("data", [X, X[0], X[:, :1]], ids=["rank2", "rank1", "column"])
def test_discretization_matches_oracle(oracle, mode, data):
    boundaries = [0.0, 1.0, 2.0]
    expected = oracle.layers.Discretization(bin_boundaries=boundaries, output_mode=mode)(data)
    got = layers.Discretization(bin_boundaries=boundaries, output_mode=mode)(data)
    assert str(got.dtype).replace("torch.", "") == str(expected.dtype)
    np.testing.assert_array_equal(got.numpy(), np.asarray(expected))


@pytest.mark.oracle
@pytest.mark.parametrize("num_bins, epsilon", [(4, 0.01), (3, 0.01), (7, 0.05), (2, 0.001)])
@pytest.mark.parametrize(
    "batches",
    [
        [RNG.random(30)],
        [RNG.standard_normal(1000)],
        [RNG.exponential(size=(50, 4)), RNG.exponential(size=(500, 4)), RNG.exponential(size=(7, 4))],
        [np.round(RNG.random(400) * 5)],  # many ties
    ],
    ids=["small", "large", "streamed", "ties"],
)
def test_discretization_adapt_boundaries_match_oracle(oracle, num_bins, epsilon, batches):
    k = oracle.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    _oracle_adapt(k, batches)
    ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    ours.adapt(batches if len(batches) > 1 else batches[0])
    assert ours.bin_boundaries == k.bin_boundaries
    data = np.concatenate([b.reshape(-1) for b in batches]).astype("float32")
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(k(data)))


@pytest.mark.oracle
def test_discretization_config_matches_oracle(oracle):
    kwargs = dict(num_bins=3, epsilon=0.02, output_mode="count", name="disc")
    k, ours = oracle.layers.Discretization(**kwargs), layers.Discretization(**kwargs)
    assert ours.get_config() == k.get_config()
    data = RNG.random(200)
    _oracle_adapt(k, [data])
    ours.adapt(data)
    assert ours.get_config() == k.get_config()
    for layer in (layers.Discretization.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert isinstance(layer, layers.Discretization)
        assert layer.bin_boundaries == k.bin_boundaries and layer.num_bins == 3 and layer.name == "disc"
        np.testing.assert_array_equal(layer(data[None, :5]).numpy(), np.asarray(k(data[None, :5])))


def test_discretization_adapt_input_kinds_agree():
    data = RNG.standard_normal(300).astype("float32")
    reference = layers.Discretization(num_bins=5)
    reference.adapt(data)
    for kind in (torch.from_numpy(data), data.tolist(), data.reshape(30, 10)):
        layer = layers.Discretization(num_bins=5)
        layer.adapt(kind)
        assert layer.bin_boundaries == reference.bin_boundaries
    streamed = layers.Discretization(num_bins=5)
    streamed.adapt(data, batch_size=100)
    manual = layers.Discretization(num_bins=5)
    manual.adapt(iter([data[:100], data[100:200], data[200:]]))
    assert streamed.bin_boundaries == manual.bin_boundaries
    np.testing.assert_allclose(streamed.bin_boundaries, reference.bin_boundaries, atol=0.1)
    few = layers.Discretization(num_bins=5)
    few.adapt(iter([data[:100], data[100:200], data[200:]]), steps=1)
    first = layers.Discretization(num_bins=5)
    first.adapt(data[:100])
    assert few.bin_boundaries == first.bin_boundaries


def test_discretization_semantics_and_symbolic():
    layer = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    out = layer(np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0]))
    assert out.dtype == torch.int32 and out.tolist() == [0, 1, 1, 2, 3, 3]
    assert layer(np.array([[0, 1, 5]], "int64")).tolist() == [[1, 2, 3]]
    y = layer(lamina.Input((4,)))
    assert y.shape == (None, 4) and y.dtype == "int32"
    y = layers.Discretization(bin_boundaries=[0.0], output_mode="one_hot")(lamina.Input((4, 1)))
    assert y.shape == (None, 4, 2) and y.dtype == "float32"
    y = layers.Discretization(bin_boundaries=[0.0, 1.0], output_mode="multi_hot")(lamina.Input((4,)))
    assert y.shape == (None, 3)
    sparse = layers.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count", sparse=True)(X[:, :2])
    assert sparse.is_sparse
    np.testing.assert_array_equal(
        sparse.to_dense().numpy(), layers.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count")(X[:, :2]).numpy()
    )


def test_discretization_errors():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        layers.Discretization()
    with pytest.raises(ValueError, match="Both"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="num_bins"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match="output_mode"):
        layers.Discretization(num_bins=2, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        layers.Discretization(num_bins=2, sparse=True)
    with pytest.raises(ValueError, match="sorted"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="epsilon"):
        layers.Discretization(num_bins=2, epsilon=0.0)
    with pytest.raises(ValueError, match="adapt"):
        layers.Discretization(num_bins=2)(X)
    with pytest.raises(ValueError, match="Cannot adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(X)
    with pytest.raises(ValueError, match="rank 1 or 2"):
        layers.Discretization(bin_boundaries=[0.0], output_mode="multi_hot")(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="no data"):
        layers.Discretization(num_bins=2).adapt([])


def test_discretization_adapted_model_save_load(tmp_path):
    disc = layers.Discretization(num_bins=4)
    disc.adapt(RNG.standard_normal(500))
    inputs = lamina.Input((3,))
    outputs = layers.CategoryEncoding(4, output_mode="count")(disc(inputs))
    model = lamina.Model(inputs, outputs)
    model.save(tmp_path / "d.keras")
    loaded = lamina.models.load_model(tmp_path / "d.keras")
    x = RNG.standard_normal((5, 3)).astype("float32")
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.layers[1].bin_boundaries == disc.bin_boundaries
