"""Training and inference speed of Lamina next to plain PyTorch, measured in one run.

Four comparisons, on 2 CPU threads:

1. An MLP 784-512-512-10 (relu, softmax, crossentropy), batch 128, Adam.
2. The Keras MNIST convnet (Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D
   2, Flatten, Dropout 0.5, Dense 10 softmax), batch 128, Adam, 28x28x1 channels_last inputs.
3. The seed document's Embedding(1000, 64) + LSTM(128) + Dense(10) on sequences of 50 token ids,
   batch 128, Adam (PyTorch: ``nn.LSTM`` on the same shapes, logits from the last hidden state).
4. The per-batch Python overhead of ``fit`` / ``predict``: a model so small that compute is
   negligible, against a raw torch loop doing the same work.

Lamina runs ``model.fit(x, y, batch_size=128, epochs=1, verbose=0)`` on numpy arrays (time per
batch of a fit of N batches, nothing subtracted) and ``model.predict(x, batch_size=128,
verbose=0)``. PyTorch runs twice:

* "user": written as a PyTorch user writes it: ``nn.Module``, ``torch.optim.Adam()`` defaults,
  ``optimizer.zero_grad()``, ``loss.item()`` every step; ``torch.no_grad()`` for inference.
* "tuned": fused Adam (or foreach, whichever is faster here), ``zero_grad(set_to_none=True)``,
  the loss summed on the device and read once, ``torch.inference_mode()``; the convnet in the
  memory format (contiguous NCHW or ``channels_last``) measured fastest.

Both PyTorch loops shuffle like ``fit`` does (one ``randperm`` per epoch, a gather per batch) and
compute logits + ``cross_entropy`` (the usual PyTorch spelling of softmax + crossentropy); the
predict loops return softmax probabilities as numpy, as ``predict`` does.

The machine may be shared, so each comparison runs many short rounds, every round running all its
variants back to back in a rotating order, for a fixed time. A time is the best round of its
variant (the one least disturbed by other processes); a ratio is given of the best rounds and, as a
check, as the median of the per-round ratios. With two threads, contention slows torch kernels
several-fold, so numbers taken while the load average is above about 1 say little.

Run with ``make bench`` or ``python bench/training.py`` (about three minutes);
``python bench/training.py --profile`` prints where ``fit`` spends its time per batch on the
tiny model (cProfile).
"""

import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import lamina
from lamina import layers

BATCH = 128
NUM_CLASSES = 10


# --- models -----------------------------------------------------------------------------------


def _lamina_mlp():
    model = lamina.Sequential(
        [
            lamina.Input((784,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def _torch_mlp():
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, NUM_CLASSES)
    )


def _lamina_convnet():
    model = lamina.Sequential(
        [
            lamina.Input((28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def _torch_convnet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, NUM_CLASSES),
    )


VOCAB, SEQ_LEN = 1000, 50


def _lamina_lstm():
    # The seed document's model: Embedding(1000, 64) -> LSTM(128) -> Dense(10).
    model = lamina.Sequential(
        [
            lamina.Input((SEQ_LEN,), dtype="int32"),
            layers.Embedding(VOCAB, 64),
            layers.LSTM(128),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


class _TorchLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 64)
        self.lstm = nn.LSTM(64, 128, batch_first=True)
        self.dense = nn.Linear(128, NUM_CLASSES)

    def forward(self, x):
        _, (h, _) = self.lstm(self.embedding(x))
        return self.dense(h[-1])


def _lamina_tiny(metrics=None):
    model = lamina.Sequential([lamina.Input((8,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=metrics)
    return model


# --- data -------------------------------------------------------------------------------------


def _data(sample_shape, n, seed=0):
    """Random float32 inputs, integer labels and their one-hot form (numpy)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *sample_shape), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=n)
    return x, labels, np.eye(NUM_CLASSES, dtype=np.float32)[labels]


# --- loops ------------------------------------------------------------------------------------


def _lamina_fit(model, x, y):
    def run(steps):
        model.fit(x[: steps * BATCH], y[: steps * BATCH], batch_size=BATCH, epochs=1, verbose=0)

    return run


def _lamina_predict(model, x):
    def run(steps):
        model.predict(x[: steps * BATCH], batch_size=BATCH, verbose=0)

    return run


def _user_fit(model, x, labels):
    """The loop from a PyTorch tutorial."""
    optimizer = torch.optim.Adam(model.parameters())
    criterion = nn.CrossEntropyLoss()
    batch = BATCH

    def run(steps):
        model.train()
        order = torch.randperm(steps * batch)
        running = 0.0
        for i in range(steps):
            idx = order[i * batch : (i + 1) * batch]
            xb, yb = x[idx], labels[idx]
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        return running / steps

    return run


def _tuned_fit(model, x, labels, batch=BATCH, loss_fn=F.cross_entropy):
    """No host sync per step, set-to-none gradients, a fused/foreach optimizer."""
    optimizer = _fastest_adam(model)

    def run(steps):
        model.train()
        order = torch.randperm(steps * batch)
        total = torch.zeros(())
        for i in range(steps):
            idx = order[i * batch : (i + 1) * batch]
            xb, yb = x.index_select(0, idx), labels.index_select(0, idx)
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return float(total) / steps

    return run


def _user_predict(model, x):
    def run(steps):
        model.eval()
        with torch.no_grad():
            outs = [F.softmax(model(x[i * BATCH : (i + 1) * BATCH]), dim=-1) for i in range(steps)]
        return torch.cat(outs).numpy()

    return run


def _tuned_predict(model, x):
    def run(steps):
        model.eval()
        with torch.inference_mode():
            outs = [F.softmax(model(x[i * BATCH : (i + 1) * BATCH]), dim=-1) for i in range(steps)]
            return torch.cat(outs).numpy()

    return run


_ADAM_KIND = {}


def _fastest_adam(model):
    """Fused Adam if this torch build has it on this device and it is faster, else foreach."""
    if "kind" not in _ADAM_KIND:
        params = [torch.randn(512, 512, requires_grad=True) for _ in range(4)]
        for p in params:
            p.grad = torch.randn_like(p)
        best = None
        for kind in ("fused", "foreach"):
            try:
                opt = torch.optim.Adam(params, **{kind: True})
                opt.step()
            except RuntimeError:
                continue
            start = time.perf_counter()
            for _ in range(50):
                opt.step()
            elapsed = time.perf_counter() - start
            if best is None or elapsed < best[1]:
                best = (kind, elapsed)
        _ADAM_KIND["kind"] = best[0]
    return torch.optim.Adam(model.parameters(), **{_ADAM_KIND["kind"]: True})


# --- measurement ------------------------------------------------------------------------------


def _interleaved(variants, steps, seconds, min_rounds=3, enough_rounds=10, warmup_steps=3):
    """Seconds per batch of each variant in every round: ``{name: [per-round times]}``.

    ``variants`` maps a name to ``run(steps)``. Each round runs every variant once for ``steps``
    batches, rotating the order so none always follows another; rounds repeat for ``seconds``
    (at least ``min_rounds``). Short rounds, many of them, let the best round of each variant come
    from a moment when the shared machine was quiet; when other processes slow the rounds down so
    much that fewer than ``enough_rounds`` fit, the run goes on for up to twice as long.
    """
    names = list(variants)
    for name in names:
        variants[name](warmup_steps)
    per_round = {name: [] for name in names}
    began = time.perf_counter()
    r = 0
    while True:
        limit = seconds if r >= enough_rounds else 2 * seconds
        if r >= min_rounds and time.perf_counter() - began >= limit:
            break
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start = time.perf_counter()
            variants[name](steps)
            per_round[name].append((time.perf_counter() - start) / steps)
        r += 1
    return per_round


class _Result:
    """Per-round times of the variants of one comparison; ``best`` is the fastest round."""

    def __init__(self, title, per_round):
        self.title = title
        self.per_round = per_round
        self.best = {k: min(v) for k, v in per_round.items()}
        self.rounds = len(next(iter(per_round.values())))

    def ratio(self, a, b):
        """``a / b``: of the best rounds, and the median of the per-round ratios."""
        pairs = zip(self.per_round[a], self.per_round[b])
        return self.best[a] / self.best[b], statistics.median(x / y for x, y in pairs)

    def rows(self, ours, baselines):
        out = [(self.title, ours, self.best[ours], None)]
        out += [(self.title, base, self.best[base], self.ratio(ours, base)) for base in baselines]
        return out


# --- the comparisons --------------------------------------------------------------------------


def mlp(fit_steps=16, predict_steps=24, seconds=(20, 8)):
    """MLP 784-512-512-10: fit and predict, Lamina against both PyTorch loops.

    Returns the ``_Result``s, the table rows and the target checks.
    """
    n = max(fit_steps, predict_steps) * BATCH
    x_np, labels_np, onehot_np = _data((784,), n)
    x, labels = torch.from_numpy(x_np), torch.from_numpy(labels_np)
    torch.manual_seed(0)
    ours = _lamina_mlp()
    user, tuned = _torch_mlp(), _torch_mlp()
    fit = _Result("MLP fit step", _interleaved(
        {
            "lamina": _lamina_fit(ours, x_np, onehot_np),
            "torch user": _user_fit(user, x, labels),
            "torch tuned": _tuned_fit(tuned, x, labels),
        },
        fit_steps,
        seconds[0],
    ))
    predict = _Result("MLP predict batch", _interleaved(
        {
            "lamina": _lamina_predict(ours, x_np),
            "torch user": _user_predict(user, x),
            "torch tuned": _tuned_predict(tuned, x),
        },
        predict_steps,
        seconds[1],
    ))
    baselines = ["torch user", "torch tuned"]
    checks = [
        ("MLP fit / torch tuned", fit.ratio("lamina", "torch tuned")[0], 1.10, "x"),
        ("MLP predict / torch tuned", predict.ratio("lamina", "torch tuned")[0], 1.10, "x"),
    ]
    return [fit, predict], fit.rows("lamina", baselines) + predict.rows("lamina", baselines), checks


def convnet(fit_steps=4, predict_steps=8, seconds=(40, 15)):
    """The Keras MNIST convnet: fit and predict, Lamina against PyTorch in both layouts.

    Lamina gets channels_last numpy arrays; PyTorch gets the same data as NCHW tensors, once
    contiguous and once in ``channels_last`` memory format (the model converted to match).
    Returns the ``_Result``s, the table rows and the target checks.
    """
    n = max(fit_steps, predict_steps) * BATCH
    x_np, labels_np, onehot_np = _data((28, 28, 1), n)
    x_nchw = torch.from_numpy(x_np).permute(0, 3, 1, 2).contiguous()
    x_cl = x_nchw.contiguous(memory_format=torch.channels_last)
    labels = torch.from_numpy(labels_np)
    torch.manual_seed(0)
    ours = _lamina_convnet()
    user = _torch_convnet()
    tuned_nchw = _torch_convnet()
    tuned_cl = _torch_convnet().to(memory_format=torch.channels_last)
    fit = _Result("Convnet fit step", _interleaved(
        {
            "lamina": _lamina_fit(ours, x_np, onehot_np),
            "torch user": _user_fit(user, x_nchw, labels),
            "tuned NCHW": _tuned_fit(tuned_nchw, x_nchw, labels),
            "tuned channels_last": _tuned_fit(tuned_cl, x_cl, labels),
        },
        fit_steps,
        seconds[0],
    ))
    predict = _Result("Convnet predict batch", _interleaved(
        {
            "lamina": _lamina_predict(ours, x_np),
            "torch user": _user_predict(user, x_nchw),
            "tuned NCHW": _tuned_predict(tuned_nchw, x_nchw),
            "tuned channels_last": _tuned_predict(tuned_cl, x_cl),
        },
        predict_steps,
        seconds[1],
    ))
    fit_tuned, predict_tuned = _fastest_tuned(fit), _fastest_tuned(predict)
    rows = fit.rows("lamina", ["torch user", *fit_tuned])
    rows += predict.rows("lamina", ["torch user", *predict_tuned])
    checks = [
        (f"Convnet fit / {fit_tuned[0]}", fit.ratio("lamina", fit_tuned[0])[0], 1.10, "x"),
        (
            f"Convnet predict / {predict_tuned[0]}",
            predict.ratio("lamina", predict_tuned[0])[0],
            1.10,
            "x",
        ),
    ]
    return [fit, predict], rows, checks


def lstm(fit_steps=4, predict_steps=8, seconds=(30, 10)):
    """Embedding + LSTM(128) + Dense on sequences of 50 token ids: fit and predict."""
    n = max(fit_steps, predict_steps) * BATCH
    rng = np.random.default_rng(0)
    x_np = rng.integers(0, VOCAB, size=(n, SEQ_LEN)).astype(np.int32)
    labels_np = rng.integers(0, NUM_CLASSES, size=n)
    onehot_np = np.eye(NUM_CLASSES, dtype=np.float32)[labels_np]
    x, labels = torch.from_numpy(x_np).long(), torch.from_numpy(labels_np)
    torch.manual_seed(0)
    ours = _lamina_lstm()
    user, tuned = _TorchLSTM(), _TorchLSTM()
    fit = _Result("LSTM fit step", _interleaved(
        {
            "lamina": _lamina_fit(ours, x_np, onehot_np),
            "torch user": _user_fit(user, x, labels),
            "torch tuned": _tuned_fit(tuned, x, labels),
        },
        fit_steps,
        seconds[0],
    ))
    predict = _Result("LSTM predict batch", _interleaved(
        {
            "lamina": _lamina_predict(ours, x_np),
            "torch user": _user_predict(user, x),
            "torch tuned": _tuned_predict(tuned, x),
        },
        predict_steps,
        seconds[1],
    ))
    baselines = ["torch user", "torch tuned"]
    checks = [
        ("LSTM fit / torch tuned", fit.ratio("lamina", "torch tuned")[0], 1.10, "x"),
        ("LSTM predict / torch tuned", predict.ratio("lamina", "torch tuned")[0], 1.10, "x"),
    ]
    return [fit, predict], fit.rows("lamina", baselines) + predict.rows("lamina", baselines), checks


def _fastest_tuned(result):
    """Both tuned layouts, the faster first: the target is against the faster one."""
    return sorted((k for k in result.best if k.startswith("tuned")), key=result.best.get)


def _tiny_data(batch, steps):
    rng = np.random.default_rng(1)
    x = rng.random((batch * steps, 8), dtype=np.float32)
    return x, rng.random((batch * steps, 1), dtype=np.float32)


def overhead(batch=32, fit_steps=100, predict_steps=200, seconds=(20, 6)):
    """Per-batch cost of the loops themselves: a Dense(1) on 8 features, batch 32, MSE, Adam."""
    x_np, y_np = _tiny_data(batch, max(fit_steps, predict_steps))
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    torch.manual_seed(0)
    ours = _lamina_tiny()
    with_metric = _lamina_tiny(metrics=["mae"])
    theirs = nn.Linear(8, 1)

    def lamina_fit(model):
        def run(steps):
            model.fit(x_np[: steps * batch], y_np[: steps * batch], batch_size=batch, verbose=0)

        return run

    def lamina_predict(steps):
        ours.predict(x_np[: steps * batch], batch_size=batch, verbose=0)

    def torch_predict(steps):
        with torch.inference_mode():
            torch.cat([theirs(x[i * batch : (i + 1) * batch]) for i in range(steps)]).numpy()

    fit = _Result("Tiny fit step", _interleaved(
        {
            "lamina": lamina_fit(ours),
            "lamina, metrics=['mae']": lamina_fit(with_metric),
            "torch tuned": _tuned_fit(theirs, x, y, batch=batch, loss_fn=F.mse_loss),
        },
        fit_steps,
        seconds[0],
    ))
    predict = _Result("Tiny predict batch", _interleaved(
        {"lamina": lamina_predict, "torch tuned": torch_predict}, predict_steps, seconds[1]
    ))
    fb, pb = fit.best, predict.best
    fit_overhead = fb["lamina"] - fb["torch tuned"]
    predict_overhead = pb["lamina"] - pb["torch tuned"]
    rows = [
        ("Tiny fit step", "torch tuned", fb["torch tuned"], None),
        ("Tiny fit step", "lamina", fb["lamina"], fit.ratio("lamina", "torch tuned")),
        ("Tiny fit step", "lamina, metrics=['mae']", fb["lamina, metrics=['mae']"], None),
        ("  fit overhead per batch", "lamina - torch tuned", fit_overhead, None),
        ("Tiny predict batch", "torch tuned", pb["torch tuned"], None),
        ("Tiny predict batch", "lamina", pb["lamina"], predict.ratio("lamina", "torch tuned")),
        ("  predict overhead per batch", "lamina - torch tuned", predict_overhead, None),
    ]
    checks = [("fit overhead per batch", fit_overhead * 1e3, 0.2, " ms")]
    return [fit, predict], rows, checks


def profile(batch=32, steps=2000, top=25):
    """cProfile of ``fit`` on the tiny model: per-batch microseconds of the Lamina functions.

    Profiling inflates every Python call; read the numbers as shares, not as absolute costs.
    """
    x_np, y_np = _tiny_data(batch, steps)
    model = _lamina_tiny()
    model.fit(x_np[: 10 * batch], y_np[: 10 * batch], batch_size=batch, verbose=0)
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x_np, y_np, batch_size=batch, verbose=0)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    root = os.path.dirname(os.path.abspath(lamina.__file__))
    rows = []
    for (path, line, func), (_, calls, own, cumulative, _) in stats.items():
        if path == "~":
            where = "(builtin)"
        elif path.startswith(root):
            where = f"{os.path.relpath(path, os.path.dirname(root))}:{line}"
        else:
            continue
        rows.append((own / steps, cumulative / steps, calls / steps, f"{func} {where}"))
    rows.sort(reverse=True)
    print(f"fit of the tiny model, {steps} batches, under cProfile (per batch):")
    print(f"{'own us':>8s} {'cum us':>8s} {'calls':>6s}  function")
    for own, cumulative, calls, name in rows[:top]:
        print(f"{own * 1e6:8.1f} {cumulative * 1e6:8.1f} {calls:6.1f}  {name}")


def _print(rows, checks):
    header = f"{'benchmark':30s} {'variant':24s} {'per batch':>11s}"
    print(f"{header} {'lamina / it':>12s} {'(median)':>9s}")
    for title, variant, seconds, ratio in rows:
        line = f"{title:30s} {variant:24s} {seconds * 1e3:8.3f} ms"
        if ratio is not None:
            line += f" {ratio[0]:11.2f}x {ratio[1]:8.2f}x"
        print(line)
    print("Targets:")
    for name, value, limit, unit in checks:
        verdict = "ok" if value <= limit else "MISSED"
        print(f"  {name:40s} {value:6.2f}{unit} (target <= {limit}{unit}): {verdict}")


def main(argv=()):
    torch.set_num_threads(2)
    if "--profile" in argv:
        profile()
        return
    load = os.getloadavg()[0]
    start = time.perf_counter()
    results, rows, checks = [], [], []
    for comparison in (mlp, convnet, lstm, overhead):
        found, new_rows, new_checks = comparison()
        results += found
        rows += new_rows
        checks += new_checks
    _print(rows, checks)
    rounds = ", ".join(f"{r.title} {r.rounds}" for r in results)
    print(
        f"Per batch: the best round; ratios: of the best rounds, and (median) over rounds. "
        f"Tuned Adam: {_ADAM_KIND.get('kind')}. Rounds: {rounds}. "
        f"{time.perf_counter() - start:.0f} s."
    )
    if load > 1.0:
        print(
            f"Warning: the load average was {load:.1f} when the run started ({os.cpu_count()} "
            "cores): other processes competed for the CPU, so times are inflated and ratios noisy."
        )


if __name__ == "__main__":
    main(sys.argv[1:])
