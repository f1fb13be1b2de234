import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.regularization.alpha_dropout import AlphaDropout


@pytest.mark.oracle
def test_alpha_dropout_values_match_oracle(oracle):
    # With a constant input the output takes exactly two values (kept, dropped); they must be
    # the same numbers as Keras's.
    x = np.full((8, 200), 0.5, "float32")
    ref = oracle.layers.AlphaDropout(0.3, seed=1)
    ours = AlphaDropout(0.3, seed=1)
    np.testing.assert_array_equal(ours(x).numpy(), np.asarray(ref(x)))
    theirs = np.unique(np.asarray(ref(x, training=True)))
    got = ours(x, training=True).numpy()
    assert len(theirs) == 2
    np.testing.assert_allclose(np.unique(got), theirs, rtol=1e-6)
    dropped_fraction = (got == got.min()).mean()
    assert abs(dropped_fraction - 0.3) < 0.03


def test_alpha_dropout_keeps_standard_normal_statistics():
    x = torch.randn(200, 500, generator=torch.Generator().manual_seed(0))
    out = AlphaDropout(0.2, seed=4)(x, training=True)
    assert abs(out.mean().item()) < 0.02
    assert abs(out.std().item() - 1.0) < 0.02


def test_alpha_dropout_noise_shape_seed_and_inference():
    x = torch.ones(3, 6, 5)
    out = AlphaDropout(0.5, noise_shape=(None, 1, None), seed=2)(x, training=True)
    torch.testing.assert_close(out, out[:, :1].expand_as(out))
    again = AlphaDropout(0.5, noise_shape=(None, 1, None), seed=2)(x, training=True)
    torch.testing.assert_close(out, again)
    assert torch.equal(AlphaDropout(0.5)(x), x)
    assert AlphaDropout(0.5)(lamina.Input((None, 2))).shape == (None, None, 2)


@pytest.mark.oracle
def test_alpha_dropout_config_matches_oracle(oracle):
    ours = AlphaDropout(0.3, noise_shape=(None, 1), seed=2, name="ad").get_config()
    ref = oracle.layers.AlphaDropout(0.3, noise_shape=(None, 1), seed=2, name="ad")
    assert ours == ref.get_config()
    rebuilt = layers.deserialize(oracle.layers.serialize(ref))
    assert isinstance(rebuilt, AlphaDropout) and rebuilt.get_config() == ours


def test_alpha_dropout_invalid_arguments():
    with pytest.raises(ValueError, match=r"`rate`.*\[0, 1\)"):
        AlphaDropout(1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        AlphaDropout(0.5, noise_shape=(0, 2))
    with pytest.raises(ValueError, match="same rank"):
        AlphaDropout(0.5, noise_shape=(None,))(torch.ones(2, 3), training=True)
