import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.regularization.dropout import Dropout


def _plain(config):
    """A config with tuples as lists, as JSON would store it."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}


@pytest.mark.oracle
def test_dropout_matches_oracle_pattern_and_inference(oracle, rng):
    x = rng.standard_normal((4, 50, 8)).astype("float32") + 3.0
    ref = oracle.layers.Dropout(0.25, seed=1)
    ours = Dropout(0.25, seed=1)
    np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))
    np.testing.assert_array_equal(ours(x, training=False).numpy(), x)
    theirs = np.asarray(ref(x, training=True))
    got = ours(x, training=True).numpy()
    # Both keep units scaled by exactly 1 / (1 - rate) and zero the others.
    for out in (got, theirs):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-6)
    assert abs((got == 0).mean() - 0.25) < 0.04
    assert abs((got == 0).mean() - (theirs == 0).mean()) < 0.06


@pytest.mark.oracle
def test_dropout_rate_one_and_zero_match_oracle(oracle):
    x = np.ones((2, 3), "float32")
    expected = np.asarray(oracle.layers.Dropout(1.0)(x, training=True))
    np.testing.assert_array_equal(Dropout(1.0)(x, training=True).numpy(), expected)
    np.testing.assert_array_equal(Dropout(0.0)(x, training=True).numpy(), x)


def test_dropout_same_seed_same_mask_and_stream_advances():
    x = torch.ones(3, 40)
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    first = a(x, training=True)
    torch.testing.assert_close(first, b(x, training=True))
    assert not torch.equal(first, a(x, training=True))
    assert not torch.equal(first, Dropout(0.5, seed=8)(x, training=True))


def test_dropout_noise_shape_broadcasts_with_none_entries():
    x = torch.ones(3, 6, 5)
    out = Dropout(0.5, noise_shape=(None, 1, None), seed=3)(x, training=True)
    # The mask is shared over timesteps: every timestep equals the first one.
    torch.testing.assert_close(out, out[:, :1].expand_as(out))
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    out = Dropout(0.5, noise_shape=[3, 1, 1], seed=3)(x, training=True)
    assert all(len(out[i].unique()) == 1 for i in range(3))


def test_dropout_noise_shape_mismatch_errors():
    with pytest.raises(ValueError, match="noise_shape.*same rank"):
        Dropout(0.5, noise_shape=(None, 1))(torch.ones(2, 3, 4), training=True)
    with pytest.raises(ValueError, match="does not broadcast"):
        Dropout(0.5, noise_shape=(None, 2, 4))(torch.ones(2, 3, 4), training=True)


def test_dropout_gradient_flows_through_kept_units():
    x = torch.ones(2, 30, requires_grad=True)
    out = Dropout(0.5, seed=0)(x, training=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (out.detach().numpy() != 0) * 2.0)


def test_dropout_in_sequential_training_flag_and_masks():
    model = lamina.Sequential([lamina.Input((4,)), Dropout(0.5, seed=0)])
    x = np.ones((3, 4), "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert (model(x, training=True).numpy() == 0).any()
    masked = torch.ones(2, 3, 4)
    masked._keras_mask = torch.tensor([[True, False, True], [True, True, False]])
    out = Dropout(0.5)(masked, training=True)
    assert torch.equal(out._keras_mask, masked._keras_mask)


def test_dropout_symbolic_shape_keeps_none():
    x = lamina.Input((None, 3))
    assert Dropout(0.3)(x).shape == (None, None, 3)
    assert Dropout(0.3).compute_output_shape((None, 5)) == (None, 5)


@pytest.mark.oracle
def test_dropout_config_matches_oracle_and_deserializes(oracle):
    kwargs = dict(rate=0.3, noise_shape=(None, 1, 4), seed=5, name="drop")
    ours = Dropout(**kwargs).get_config()
    theirs = oracle.layers.Dropout(**kwargs).get_config()
    assert set(ours) == set(theirs)
    assert _plain(ours) == _plain(theirs)
    rebuilt = layers.deserialize(oracle.layers.serialize(oracle.layers.Dropout(**kwargs)))
    assert isinstance(rebuilt, Dropout)
    assert _plain(rebuilt.get_config()) == _plain(ours)
    again = Dropout.from_config(ours)
    assert (again.rate, again.noise_shape, again.seed) == (0.3, (None, 1, 4), 5)
    legacy = layers.deserialize(
        {"class_name": "Dropout", "config": {"rate": 0.5, "noise_shape": [None, 1], "seed": None}}
    )
    assert legacy.noise_shape == (None, 1)


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", None, True])
def test_dropout_invalid_rate(rate):
    with pytest.raises(ValueError, match=r"`rate`.*\[0, 1\].*Received: rate="):
        Dropout(rate)


@pytest.mark.parametrize("noise_shape", ["abc", 3, (2, 0), (2, -1), (2, 1.5)])
def test_dropout_invalid_noise_shape(noise_shape):
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=noise_shape)


def test_dropout_invalid_seed_and_kwargs():
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5, seed="x")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        Dropout(0.5, rat=3)
