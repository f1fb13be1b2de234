"""``predict`` / ``evaluate`` fold BatchNormalization into the convolution before it.

The folded numbers equal the unfolded (eager) ones to float32 rounding, and every way of changing
a weight is seen by the next inference call.
"""

import logging

import numpy as np
import pytest
import torch
from compile_fakes import fake_compile
from eager_reference import assert_loops_agree
from eager_reference import eager_predict as _eager

import lamina
from lamina import layers
from lamina.layers._inference import ConvBatchNormFold
from lamina.trainers import inference_path

rng = np.random.default_rng(0)
X = rng.normal(size=(24, 8, 8, 3)).astype("float32")
Y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=24)]

def _pairs(model):
    return [pair for pair in inference_path._linked_pairs(model) if inference_path._foldable(*pair)]


def _resnet():
    inputs = lamina.Input((8, 8, 3))
    stem = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(6, 3, padding="same")(inputs)))
    x = layers.BatchNormalization(center=False)(layers.Conv2D(6, 3, padding="same", use_bias=False)(stem))
    x = layers.ReLU()(layers.Add()([stem, x]))
    x = layers.GlobalAveragePooling2D()(x)
    model = lamina.Model(inputs, layers.Dense(4, activation="softmax")(x))
    _randomize(model)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _sequential():
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)), layers.Conv2D(5, 3), layers.BatchNormalization(scale=False),
        layers.ReLU(), layers.Flatten(), layers.Dense(4, activation="softmax"),
    ])
    _randomize(model)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def _randomize(model):
    # Statistics and scales away from 0 / 1, so a fold that ignored one of them would show.
    model.set_weights([
        (rng.uniform(0.5, 1.5, w.shape) if "variance" in n or "gamma" in n else rng.normal(0, 0.5, w.shape)).astype("float32")
        for w, n in zip(model.get_weights(), [v.path for v in model.weights])
    ])




def _check(model, x=X):
    # Folded weights round differently: outputs of order 1 after a Dense over 144 features may
    # differ by several 1e-6 (7.4e-6 seen with some random weights), near 0 relatively more.
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), _eager(model, x), rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(model.predict_on_batch(x[:8]), _eager(model, x[:8]), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("build, pairs", [(_resnet, 2), (_sequential, 1)])
def test_predict_folds_and_matches_eager(build, pairs):
    model = build()
    assert len(_pairs(model)) == pairs
    _check(model)
    kept = model.__dict__["_inference_kept"].values()
    assert sum(isinstance(made, ConvBatchNormFold) for _, made in kept) == pairs
    # Nothing is left switched on after the loop: eager calls and training run unfolded.
    for layer in model.layers:
        assert "_inference_fold" not in layer.__dict__ and "_inference_absorbed" not in layer.__dict__


def test_evaluate_and_test_on_batch_match_unfolded(monkeypatch):
    model = _resnet()
    folded = model.evaluate(X, Y, batch_size=8, verbose=0)
    on_batch = model.test_on_batch(X[:8], Y[:8])
    monkeypatch.setattr(inference_path, "_foldable", lambda conv, bn: False)
    np.testing.assert_allclose(folded, model.evaluate(X, Y, batch_size=8, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(on_batch, model.test_on_batch(X[:8], Y[:8]), rtol=1e-5)


def _bn(model):
    return [l for l in model.layers if isinstance(l, layers.BatchNormalization)][0]


def _conv(model):
    return [l for l in model.layers if isinstance(l, layers.Conv2D)][0]


CHANGES = {
    "set_weights": lambda m: m.set_weights([w * 1.1 for w in m.get_weights()]),
    "training_step": lambda m: m.fit(X, Y, batch_size=8, epochs=1, verbose=0),
    "train_on_batch": lambda m: m.train_on_batch(X[:8], Y[:8]),
    "assign_kernel": lambda m: _conv(m).kernel.assign(_conv(m).kernel.numpy() * -1.0),
    "assign_moving_mean": lambda m: _bn(m).moving_mean.assign(np.full(6, 0.3, "float32")),
    "assign_moving_variance": lambda m: _bn(m).moving_variance.assign(np.full(6, 2.0, "float32")),
    "assign_gamma": lambda m: _bn(m).gamma.assign(np.full(6, 0.7, "float32")),
    "direct_write": lambda m: _bn(m).beta.data.add_(0.25),  # no version bump, no assign
    "numpy_view_write": lambda m: _conv(m).bias.data.numpy().__setitem__(slice(None), 0.5),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changed_weights_are_refolded(change):
    model = _resnet()
    _check(model)
    before = model.predict(X, batch_size=8, verbose=0)
    CHANGES[change](model)
    _check(model)
    assert not np.allclose(model.predict(X, batch_size=8, verbose=0), before, rtol=1e-6, atol=1e-7)


def test_load_weights_is_seen(tmp_path):
    source, model = _resnet(), _resnet()
    _check(model)
    path = str(tmp_path / "w.weights.h5")
    source.save_weights(path)
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(X, batch_size=8, verbose=0), _eager(source, X), rtol=1e-5, atol=1e-6)


def test_trainable_toggle_then_fit_is_seen():
    model = _resnet()
    _check(model)
    bn = _bn(model)
    bn.trainable = False  # training now normalizes with the moving statistics, frozen
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    _check(model)
    bn.trainable = True
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    _check(model)


def test_pairs_that_must_not_fold():
    inputs = lamina.Input((8, 8, 3))
    branch = layers.Conv2D(4, 3)(inputs)  # read by the BatchNormalization and by the Add
    x = layers.Add()([branch, layers.BatchNormalization()(branch)])
    activated = layers.BatchNormalization()(layers.Conv2D(4, 3, activation="relu")(inputs))
    shared = layers.Conv2D(4, 3)
    a = layers.BatchNormalization()(shared(inputs))
    b = shared(inputs)
    outputs = layers.Concatenate()([x, activated, a, b])
    model = lamina.Model(inputs, outputs)
    assert _pairs(model) == []
    channels_first = lamina.Sequential([
        lamina.Input((3, 8, 8)), layers.Conv2D(4, 3, data_format="channels_first"),
        layers.BatchNormalization(axis=-1),  # normalizes a spatial axis, not the filters
    ])
    assert _pairs(channels_first) == []


def test_nested_model_and_channels_first_fold():
    inner = lamina.Sequential([
        lamina.Input((3, 8, 8)), layers.Conv2D(4, 3, data_format="channels_first"),
        layers.BatchNormalization(axis=1),
    ])
    outer = lamina.Sequential([lamina.Input((3, 8, 8)), inner, layers.Flatten(), layers.Dense(2)])
    _randomize(outer)
    assert len(_pairs(outer)) == 1
    _check(outer, X.transpose(0, 3, 1, 2).copy())


def test_custom_predict_step_is_not_folded():
    class Custom(lamina.Sequential):
        def predict_step(self, data):
            return self(data, training=False)

    model = Custom([lamina.Input((8, 8, 3)), layers.Conv2D(2, 3), layers.BatchNormalization()])
    model.predict(X, verbose=0)
    assert "_inference_kept" not in model.__dict__


def test_training_call_inside_the_loop_is_not_folded():
    # The model called in training mode under no_grad (from a callback, say): the
    # BatchNormalization normalizes with batch statistics, so its convolution must not fold.
    model = _sequential()
    x = torch.from_numpy(X)
    with torch.no_grad():
        expected = model(x, training=True)
        with inference_path.folded(model, "predict_step"):
            assert _bn(model).__dict__["_inference_absorbed"]
            out = model(x, training=True)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_layers_called_on_their_own_during_predict_are_not_folded():
    # A callback calling the convolution or the BatchNormalization directly, between predict's
    # batches, gets their own outputs, not the folded pair's.
    model = _sequential()
    conv, bn = model.layers[0], _bn(model)
    x = torch.from_numpy(X[:4])
    with torch.no_grad():
        conv_expected = conv(x).numpy()
        bn_expected = bn(conv(x), training=False).numpy()
    seen = {}

    def on_predict_batch_end(batch, logs=None):
        with torch.no_grad():
            seen["conv"] = conv(x).numpy()
            seen["bn"] = bn(conv(x), training=False).numpy()

    callback = lamina.callbacks.LambdaCallback(on_predict_batch_end=on_predict_batch_end)
    model.predict(X, batch_size=8, verbose=0, callbacks=[callback])
    np.testing.assert_allclose(seen["conv"], conv_expected, rtol=1e-6)
    np.testing.assert_allclose(seen["bn"], bn_expected, rtol=1e-6)


def _dense_model(jit_compile):
    model = lamina.Sequential([
        lamina.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(), layers.ReLU(),
        layers.Flatten(), layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", jit_compile=jit_compile)
    return model


def test_jit_compiled_predict_matches_eager_and_sees_weight_changes():
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    eager, compiled = _dense_model(False), _dense_model(True)
    _randomize(eager)
    compiled.set_weights(eager.get_weights())
    # 24 samples in batches of 10: the last batch (4) runs eagerly instead of compiling again.
    # Two full batches a call: a build call, the compiling call, then 3 timed calls of each path.
    assert_loops_agree(compiled, eager, "predict", X, calls=5, batch_size=10)
    step = compiled.__dict__["_predict_function"].step
    assert step.path in ("compiled", "eager") and not step.failed
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    new = [w * 0.5 + 0.1 for w in eager.get_weights()]
    eager.set_weights(new)
    compiled.set_weights(new)
    step.path = "compiled"  # whichever was faster here, the compiled graph must see the change
    np.testing.assert_allclose(
        compiled.predict(X[:20], batch_size=10, verbose=0), eager.predict(X[:20], batch_size=10, verbose=0),
        rtol=1e-5, atol=1e-6,
    )


def test_slower_compiled_predict_falls_back_to_eager_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", fake_compile(0.05))
    model = _dense_model(True)
    with caplog.at_level(logging.INFO, logger="lamina"):
        model.predict(X, batch_size=2, verbose=0)
    step = model.__dict__["_predict_function"].step
    assert step.path == "eager"
    messages = [r for r in caplog.records if "jit_compile" in r.getMessage()]
    assert len(messages) == 1 and messages[0].levelno == logging.WARNING
    assert "compiled predict step" in messages[0].getMessage()


def test_predict_without_jit_compile_never_compiles():
    model = _dense_model(False)
    model.predict(X, verbose=0)
    assert "_predict_function" not in model.__dict__


def test_graph_with_a_symbolic_loss_is_left_alone():
    inputs = lamina.Input((8, 8, 3))
    x = layers.BatchNormalization()(layers.Conv2D(4, 3)(inputs))
    model = lamina.Model(inputs, layers.Flatten()(x))
    model.add_loss(lamina.ops.mean(x))
    assert _pairs(model) == []
    model.predict(X, verbose=0)



def test_a_layer_also_used_at_another_level_is_not_rewritten():
    # The BatchNormalization after the inner model's convolution is called again in the outer
    # graph, on another tensor: folding it into the convolution would skip that second use.
    conv, bn = layers.Conv2D(3, 3, padding="same"), layers.BatchNormalization()
    inner = lamina.Sequential([lamina.Input((8, 8, 3)), conv, bn])
    inputs = lamina.Input((8, 8, 3))
    outer = lamina.Model(inputs, layers.Flatten()(bn(layers.Add()([inner(inputs), inputs]))))
    _randomize(outer)
    assert (conv, bn) not in inference_path._linked_pairs(outer)
    _check(outer)


def test_global_hooks_and_replaced_calls_turn_the_rewrites_off():
    model = _sequential()
    conv, bn = model.layers[:2]
    assert _pairs(model) == [(conv, bn)]
    seen = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: seen.append(module) if module is conv else None
    )
    try:
        assert _pairs(model) == []
        _check(model)
    finally:
        handle.remove()
    assert seen
    bn.call = lambda inputs, training=None: inputs * 2.0
    assert _pairs(model) == []
    _check(model)
