"""`SwapEMAWeights` (against Keras 3, JAX) and `RemoteMonitor` (against a local HTTP server)."""

import http.server
import json
import threading
import urllib.parse

import numpy as np
import pytest

import lamina
from lamina import callbacks


def _model(module):
    x = module.Input((4,), name="x")
    h = module.layers.Dense(5, activation="tanh", name="h")(x)
    return module.Model(x, module.layers.Dense(1, name="out")(h))


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.standard_normal((32, 1)).astype("float32")
    return x, y


def _twins(oracle):
    ref = _model(oracle)
    ours = _model(lamina)
    ours.set_weights([np.asarray(w) for w in ref.get_weights()])
    for model, module in ((ref, oracle), (ours, lamina)):
        opt = module.optimizers.SGD(learning_rate=0.1, momentum=0.5, use_ema=True, ema_momentum=0.8)
        model.compile(optimizer=opt, loss="mse")
    return ref, ours


@pytest.mark.oracle
@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_fit_with_swapped_ema_weights_matches_keras(oracle, swap_on_epoch):
    x, y = _data()
    ref, ours = _twins(oracle)
    kwargs = dict(epochs=3, batch_size=8, shuffle=False, verbose=0, validation_data=(x[:16], y[:16]))
    k_hist = ref.fit(x, y, callbacks=[oracle.callbacks.SwapEMAWeights(swap_on_epoch)], **kwargs)
    l_hist = ours.fit(x, y, callbacks=[callbacks.SwapEMAWeights(swap_on_epoch)], **kwargs)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(l_hist.history[key], k_hist.history[key], rtol=1e-5)
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    ev = dict(batch_size=8, verbose=0)
    k_loss = ref.evaluate(x, y, callbacks=[oracle.callbacks.SwapEMAWeights()], **ev)
    l_loss = ours.evaluate(x, y, callbacks=[callbacks.SwapEMAWeights()], **ev)
    np.testing.assert_allclose(l_loss, k_loss, rtol=1e-5)


def test_validation_uses_the_averages_and_training_weights_come_back():
    x, y = _data()
    model = _model(lamina)
    model.compile(optimizer=lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    before = model.get_weights()
    averages = [a.numpy().copy() for a in model.optimizer._model_variables_moving_average]
    swap = callbacks.SwapEMAWeights()
    swap.set_model(model)
    swap.on_test_begin()
    for w, a in zip(model.get_weights(), averages):
        np.testing.assert_array_equal(w, a)
    swap.on_test_end()
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    swap.on_predict_begin()
    swap.on_predict_end()
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_swap_without_ema_raises():
    x, y = _data()
    model = _model(lamina)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[callbacks.SwapEMAWeights()])


class _Recorder(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (the http.server hook name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Recorder.received = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_form_encoded_json(server):
    root, received = server
    x, y = _data()
    model = _model(lamina)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[callbacks.RemoteMonitor(root=root)])
    assert [r[0] for r in received] == ["/publish/epoch/end/"] * 2
    path, headers, body = received[1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = json.loads(urllib.parse.parse_qs(body.decode())["data"][0])
    assert payload["epoch"] == 1 and set(payload) == {"epoch", "loss", "mae"}
    assert isinstance(payload["loss"], float)


def test_remote_monitor_posts_json_with_headers(server):
    root, received = server
    monitor = callbacks.RemoteMonitor(root=root, path="/hook", headers={"X-Run": "7"}, send_as_json=True)
    monitor.on_epoch_end(3, {"loss": np.float32(0.5), "acc": np.array(0.25)})
    path, headers, body = received[0]
    assert path == "/hook" and headers["X-Run"] == "7" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 3, "loss": 0.5, "acc": 0.25}


def test_remote_monitor_warns_when_the_server_is_unreachable():
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monitor = callbacks.RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        monitor.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(TypeError, match="headers"):
        callbacks.RemoteMonitor(headers=["X: 1"])
