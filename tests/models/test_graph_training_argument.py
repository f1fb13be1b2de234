"""A ``training`` value recorded in a functional graph, and the model's own ``training``.

Keras 3 lets the model's ``training`` (when given) override the value a layer call recorded in
the graph, and leaves the recorded value in force otherwise. Keras writes ``training=False``
into the nodes of layers whose ``call`` defaults to it (``Dropout``), so a model loaded from a
Keras file depends on this to train with dropout at all.
"""

import numpy as np
import pytest

import lamina


def _numpy(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _graph(k):
    x = k.Input((200,))
    i = k.Input((200,))
    base = k.Model(i, k.layers.BatchNormalization(name="bn")(i), name="base")
    return k.Model(
        x,
        [
            k.layers.Dropout(0.5, name="fixed_off")(x, training=False),
            k.layers.Dropout(0.5, name="fixed_on")(x, training=True),
            base(x, training=False),
        ],
    )


@pytest.mark.oracle
@pytest.mark.parametrize("training", [None, False, True])
def test_recorded_training_yields_to_the_models_like_keras(oracle, training):
    x = np.random.default_rng(0).random((4, 200)).astype("float32") * 3 + 1
    results = {}
    for lib in (oracle, lamina):
        off, on, normalized = (_numpy(o) for o in _graph(lib)(x, training=training))
        results[lib.__name__] = ((off == 0).any(), (on == 0).any(), normalized)
    ours, theirs = results["lamina"], results["keras"]
    assert ours[:2] == theirs[:2]
    # BatchNormalization is deterministic: batch statistics only when the model trains.
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-4, atol=1e-4)


@pytest.mark.oracle
def test_dropout_from_a_keras_config_is_active_in_training(oracle, tmp_path):
    x = oracle.Input((200,))
    ref = oracle.Model(x, oracle.layers.Dense(200, kernel_initializer="identity")(oracle.layers.Dropout(0.5)(x)))
    ref.save(tmp_path / "d.keras")
    model = lamina.models.load_model(tmp_path / "d.keras")
    data = np.ones((2, 200), "float32")
    assert (_numpy(model(data, training=True)) == 0).any()
    np.testing.assert_allclose(_numpy(model(data)), data, rtol=1e-6)
