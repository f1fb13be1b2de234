"""The per-batch bookkeeping of ``fit`` that is prepared once and reused: batch indices cut once per
epoch, the loss tracker's count, detached predictions for the metrics, fused Adam's step."""

import numpy as np
import pytest
import torch

import lamina
from lamina.backend import core
from lamina.backend.core import one_like

N, BATCH = 70, 32  # two full batches and a partial one


def _recording_model(seen):
    class Recording(lamina.Sequential):
        def train_step(self, data):
            seen.append(data)
            return super().train_step(data)

    model = Recording([lamina.Input((1,)), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    return model


@pytest.mark.parametrize("shuffle", [True, False, "batch"])
def test_every_sample_once_per_epoch_in_aligned_batches(shuffle):
    ids = np.arange(N, dtype="float32")[:, None]
    seen = []
    model = _recording_model(seen)
    model.fit(ids, 2 * ids, sample_weight=3 * ids[:, 0], batch_size=BATCH, epochs=2,
              shuffle=shuffle, verbose=0)
    assert len(seen) == 6
    for epoch in (seen[:3], seen[3:]):
        assert [len(x) for x, _, _ in epoch] == [32, 32, 6]
        for x, y, sw in epoch:
            np.testing.assert_array_equal(y.numpy(), 2 * x.numpy())
            np.testing.assert_array_equal(sw.numpy(), 3 * x.numpy()[:, 0])
        order = np.concatenate([x.numpy()[:, 0] for x, _, _ in epoch])
        np.testing.assert_array_equal(np.sort(order), ids[:, 0])
        if shuffle is False:
            np.testing.assert_array_equal(order, ids[:, 0])
    if shuffle is True:  # a new order each epoch
        first = np.concatenate([x.numpy()[:, 0] for x, _, _ in seen[:3]])
        second = np.concatenate([x.numpy()[:, 0] for x, _, _ in seen[3:]])
        assert not np.array_equal(first, second)


def test_structured_inputs_are_batched_alike():
    ids = np.arange(N, dtype="float32")[:, None]
    inputs = {"a": lamina.Input((1,), name="a"), "b": lamina.Input((1,), name="b")}
    out = lamina.layers.Dense(1)(lamina.layers.Concatenate()([inputs["a"], inputs["b"]]))
    seen = []

    class Recording(lamina.Model):
        def train_step(self, data):
            seen.append(data)
            return super().train_step(data)

    model = Recording(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    model.fit({"a": ids, "b": -ids}, ids, batch_size=BATCH, verbose=0)
    assert [len(y) for _, y in seen] == [32, 32, 6]
    for x, y in seen:
        np.testing.assert_array_equal(x["a"].numpy(), y.numpy())
        np.testing.assert_array_equal(x["b"].numpy(), -y.numpy())


def test_loss_tracker_counts_the_samples_of_every_fit():
    rng = np.random.default_rng(0)
    x, y = rng.random((N, 3), dtype=np.float32), rng.random((N, 1), dtype=np.float32)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")  # weights stay: same loss
    for _ in range(2):
        history = model.fit(x, y, batch_size=BATCH, verbose=0)
        assert float(model._loss_tracker.count) == N
        expected = model.evaluate(x, y, batch_size=N, verbose=0)
        assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)
        assert float(model._loss_tracker.count) == N


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64, torch.int64])
def test_one_like_is_a_one_of_the_same_kind(dtype, monkeypatch):
    monkeypatch.setattr(core, "_ONES", {})  # made here, not by an earlier test of this worker
    like = torch.zeros((2, 3), dtype=dtype)
    one = one_like(like)
    assert one.shape == () and one.dtype == dtype and one.device == like.device and one.item() == 1
    assert one_like(torch.zeros((), dtype=dtype)) is one
    with torch.inference_mode():
        other = one_like(torch.zeros((), dtype=torch.bfloat16))
    assert not other.is_inference()
    count = torch.zeros(())
    count.add_(one_like(count), alpha=32)
    assert count.item() == 32


@pytest.mark.parametrize("batch_logs", [True, False])
def test_metrics_receive_detached_predictions(batch_logs):
    received = []

    class Probe(lamina.metrics.Metric):
        def __init__(self):
            super().__init__(name="probe")

        def update_state(self, y_true, y_pred, sample_weight=None):
            received.append(y_pred)

        def result(self):
            return torch.zeros(())

    class ReadsBatchLogs(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=[Probe()])
    x = np.ones((N, 3), "float32")
    model.fit(x, x[:, :1], batch_size=BATCH, verbose=0,
              callbacks=[ReadsBatchLogs()] if batch_logs else [])
    assert len(received) == 3
    assert all(not p.requires_grad and p.grad_fn is None for p in received)


def test_fused_adam_uses_the_current_step():
    """Fused Adam's step tensor is refilled from ``iterations`` on every update."""
    from lamina.optimizers import adam

    rng = np.random.default_rng(0)
    init = rng.standard_normal((4, 3)).astype("float32")
    grads = [rng.standard_normal((4, 3)).astype("float32") for _ in range(3)]

    def run():
        variable = lamina.Variable(init, name="w")
        opt = lamina.optimizers.Adam(learning_rate=0.1)
        for i, g in enumerate(grads):
            if i == 2:
                opt.iterations.assign(40)  # e.g. restored from a checkpoint
            opt.apply([torch.from_numpy(g)], [variable])
        return variable.numpy()

    assert adam._can_fuse(lamina.Variable(init))
    fused = run()
    adam_can_fuse = adam._can_fuse
    try:
        adam._can_fuse = lambda *args: False
        unfused = run()
    finally:
        adam._can_fuse = adam_can_fuse
    np.testing.assert_allclose(fused, unfused, rtol=0, atol=2e-5)  # the kernels round differently


def test_counts_stay_real_after_a_metric_updated_during_symbolic_inference(monkeypatch):
    # A layer updating a metric in `call` runs it under fake tensors when called on `Input`s: the
    # shared one made then must be a real tensor, or every later count adds nothing.
    monkeypatch.setattr(core, "_ONES", {})

    class Tracked(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.mean = lamina.metrics.Mean()

        def call(self, x):
            self.mean.update_state(x)
            return x

    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, lamina.layers.Dense(1)(Tracked()(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    metric = lamina.metrics.Mean()
    metric.update_state(np.ones(4, "float32"))
    assert float(metric.count) == 4
    x = np.ones((8, 2), "float32")
    history = model.fit(x, np.zeros((8, 1), "float32"), batch_size=4, verbose=0)
    assert history.history["loss"][0] > 0


def test_fused_adam_steps_outside_inference_mode_after_a_first_step_inside():
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    optimizer = lamina.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    grads = [torch.ones_like(v) for v in model.trainable_variables]
    with torch.inference_mode():
        optimizer.apply(grads, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)
    assert int(optimizer.iterations.numpy()) == 2
