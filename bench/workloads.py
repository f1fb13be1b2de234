"""Lamina next to hand-tuned and ``torch.compile``'d PyTorch on three workloads, with ratios.

Workloads (float32, Adam, softmax + categorical crossentropy on 10 classes):

1. The Keras MNIST convnet (as in ``training.py``), batch 128, 28x28x1 inputs.
2. A transformer encoder block: MultiHeadAttention (d_model 128, 4 heads of 32) + residual +
   LayerNormalization, a 512-wide relu feed-forward + residual + LayerNormalization, mean over the
   sequence, Dense(10); sequence 128, batch 32.
3. A ResNet-style block: a 3x3 Conv2D(32) + BatchNormalization + relu stem on 32x32x3 images, then
   Conv-BN-relu, Conv-BN, Add with the stem's output, relu, global average pooling, Dense(10);
   batch 64.

Variants: ``lamina`` (``fit`` / ``predict`` on numpy arrays), ``lamina jit`` (``jit_compile=True``
as a user gets it: ``fit`` and ``predict`` each keep the path, compiled or eager, that their own
timing chose during the warm-up), ``jit, no fallback`` (``fit`` only: the compiled train step
itself, its fallback turned off), ``torch tuned`` (the
tuned loop of ``training.py``: fused/foreach Adam, no host sync, ``inference_mode``), and ``torch
compiled`` (the same model through ``torch.compile``). ``--long-run`` adds ``lamina long run``
(``predict`` only): the default ``jit_compile="auto"`` after its warm-up has predicted eagerly
for ``AUTO_COMPILE_AFTER`` seconds (30), when "auto" compiles predict and keeps the faster path,
as in a job that has been predicting for a while. ``--keras-jax`` adds Keras 3 on JAX, run in
a subprocess so that this process never imports keras or jax; its rounds interleave with the
others' like an in-process variant's.

Each round runs every variant once, in a rotating order. Reported: the median over rounds of the
time per batch (wall clock, and CPU time of the process, which is less disturbed by other
processes on a shared machine), the spread (min-max) of the wall times, and the ratio of Lamina's
median to each variant's. Run ``python bench/workloads.py [--rounds N] [--threads N] [--keras-jax]
[--long-run] [convnet transformer resnet]``; on a shared machine ``--threads 1`` gives the steadiest CPU times
(with two threads, a thread waiting for the other spins, and that counts as CPU time). With
``--threads 1`` the Keras child runs pinned to one core, as XLA keeps a thread pool of its own.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The checkout this script lives in, not whichever Lamina the environment has installed.
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import training  # noqa: E402

NUM_CLASSES = 10
D_MODEL, HEADS, SEQ = 128, 4, 128


# --- models: Lamina (written as Keras users write them; `lib` is lamina or keras) ---------------


def lamina_transformer(lib):
    layers = lib.layers
    inputs = lib.Input((SEQ, D_MODEL))
    attended = layers.MultiHeadAttention(HEADS, D_MODEL // HEADS)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, attended]))
    ff = layers.Dense(4 * D_MODEL, activation="relu")(x)
    ff = layers.Dense(D_MODEL)(ff)
    x = layers.LayerNormalization()(layers.Add()([x, ff]))
    x = layers.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, layers.Dense(NUM_CLASSES, activation="softmax")(x))


def lamina_resnet(lib):
    layers = lib.layers

    def conv_bn(x, relu):
        x = layers.Conv2D(32, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x) if relu else x

    inputs = lib.Input((32, 32, 3))
    stem = conv_bn(inputs, True)
    x = conv_bn(conv_bn(stem, True), False)
    x = layers.ReLU()(layers.Add()([stem, x]))
    x = layers.GlobalAveragePooling2D()(x)
    return lib.Model(inputs, layers.Dense(NUM_CLASSES, activation="softmax")(x))


def lamina_convnet(lib):
    layers = lib.layers
    return lib.Sequential([
        lib.Input((28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


# --- models: hand-tuned PyTorch --------------------------------------------------------------


class TorchTransformer(nn.Module):
    """The same block: one fused QKV projection, SDPA, no copies but the head split."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.out = nn.Linear(D_MODEL, D_MODEL)
        self.norm1, self.norm2 = nn.LayerNorm(D_MODEL, eps=1e-3), nn.LayerNorm(D_MODEL, eps=1e-3)
        self.ff1, self.ff2 = nn.Linear(D_MODEL, 4 * D_MODEL), nn.Linear(4 * D_MODEL, D_MODEL)
        self.head = nn.Linear(D_MODEL, NUM_CLASSES)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, HEADS, D_MODEL // HEADS).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, D_MODEL)
        x = self.norm1(x + self.out(a))
        x = self.norm2(x + self.ff2(F.relu(self.ff1(x))))
        return self.head(x.mean(dim=1))


class TorchResNet(nn.Module):
    def __init__(self):
        super().__init__()

        def conv_bn(cin):
            return nn.Sequential(nn.Conv2d(cin, 32, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(32, eps=1e-3, momentum=0.01))

        self.stem, self.a, self.b = conv_bn(3), conv_bn(32), conv_bn(32)
        self.head = nn.Linear(32, NUM_CLASSES)

    def forward(self, x):
        stem = F.relu(self.stem(x))
        x = F.relu(stem + self.b(F.relu(self.a(stem))))
        return self.head(x.mean(dim=(2, 3)))


# --- workloads -------------------------------------------------------------------------------

WORKLOADS = {
    # name: (Lamina builder, torch builder, sample shape, batch, channels_first for torch)
    "convnet": (lamina_convnet, training._torch_convnet, (28, 28, 1), 128, True),
    "transformer": (lamina_transformer, TorchTransformer, (SEQ, D_MODEL), 32, False),
    "resnet": (lamina_resnet, TorchResNet, (32, 32, 3), 64, True),
}


def _data(shape, batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    n = batch * steps
    x = rng.random((n, *shape), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=n)
    return x, labels, np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def _torch_input(x, channels_first):
    t = torch.from_numpy(x)
    # Channels-last data seen as NCHW: the zero-copy view a Keras user's arrays give torch.
    return t.permute(0, 3, 1, 2) if channels_first else t


def _lamina_variants(lib, name, jit, x, onehot, batch):
    build = WORKLOADS[name][0]
    model = build(lib)
    forced, long_run = jit == "forced", jit == "long run"
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", jit_compile="auto" if long_run else forced or jit
    )
    if forced:
        model._make_train_function()._trials = 0  # time the compiled step, not the choice
    elif jit is True:
        # What a user gets: fit and predict each keep their own choice (compiled or eager,
        # measured), made during this warm-up (a build call, the compiling call, then 3 timed
        # calls of each path).
        model.fit(x[: 8 * batch], onehot[: 8 * batch], batch_size=batch, verbose=0)
        for _ in range(2):
            model.predict(x[: 8 * batch], batch_size=batch, verbose=0)
    elif long_run:
        # The default, in a job that has predicted for a while: "auto" compiles predict once it
        # has run eagerly for `AUTO_COMPILE_AFTER` seconds, and keeps whichever path measures
        # faster (3 timed calls of each).
        while getattr(model.__dict__.get("_predict_function"), "step", None) is None or (
            model.__dict__["_predict_function"].step.path is None
        ):
            model.predict(x[: 8 * batch], batch_size=batch, verbose=0)

    def fit(steps):
        model.fit(x[: steps * batch], onehot[: steps * batch], batch_size=batch, verbose=0)

    def predict(steps):
        model.predict(x[: steps * batch], batch_size=batch, verbose=0)

    return fit, predict


def _torch_variants(name, compiled, x, labels, batch):
    model = WORKLOADS[name][1]()
    runner = torch.compile(model) if compiled else model
    return (training._tuned_fit(runner, x, labels, batch=batch),
            _predict(runner, model, x, batch))


def _predict(runner, model, x, batch):
    def run(steps):
        model.eval()
        with torch.inference_mode():
            outs = [F.softmax(runner(x[i * batch : (i + 1) * batch]), dim=-1) for i in range(steps)]
            return torch.cat(outs).numpy()

    return run


def _rounds(variants, steps, rounds):
    """``{name: [(wall, cpu) per batch, one per round]}``; a warm-up call of each first.

    In each round, a variant's timed call follows an untimed one-batch call of its own: every
    variant is timed with its weights and buffers in the caches, as Keras on JAX is in its own
    process (otherwise whichever variant ran just before would have evicted them).
    """
    for run in variants.values():
        run(2)
    names = list(variants)
    out = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[: r % len(names)]:
            variants[n](1)
            if isinstance(variants[n], _Remote):  # timed in its own process
                out[n].append(variants[n].timed(steps))
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            variants[n](steps)
            out[n].append(((time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps))
    return out


# Batches per timed call.
FIT_STEPS, PREDICT_STEPS = 4, 8


def measure(name, rounds, peer=None, fit_steps=FIT_STEPS, predict_steps=PREDICT_STEPS, long_run=False):
    import lamina

    _, _, shape, batch, channels_first = WORKLOADS[name]
    x_np, labels_np, onehot = _data(shape, batch, max(fit_steps, predict_steps))
    x, labels = _torch_input(x_np, channels_first), torch.from_numpy(labels_np)
    torch.manual_seed(0)
    fits, predicts = {}, {}
    fits["lamina"], predicts["lamina"] = _lamina_variants(lamina, name, "auto", x_np, onehot, batch)
    fits["lamina jit"], predicts["lamina jit"] = _lamina_variants(lamina, name, True, x_np, onehot, batch)
    if long_run:
        _, predicts["lamina long run"] = _lamina_variants(lamina, name, "long run", x_np, onehot, batch)
    fits["jit, no fallback"], _ = _lamina_variants(lamina, name, "forced", x_np, onehot, batch)
    fits["torch tuned"], predicts["torch tuned"] = _torch_variants(name, False, x, labels, batch)
    fits["torch compiled"], predicts["torch compiled"] = _torch_variants(name, True, x, labels, batch)
    if peer is not None:
        fits["keras jax"] = _Remote(peer, name, "train")
        predicts["keras jax"] = _Remote(peer, name, "predict")
    return {"train": _rounds(fits, fit_steps, rounds), "predict": _rounds(predicts, predict_steps, rounds)}


class _KerasPeer:
    """Keras 3 on JAX in a child process (``--serve``), so that this process never imports keras
    or jax: it builds the workloads' models, then times one call at a time when asked, so that
    its rounds interleave with this process's and a change in the machine's load falls on all
    variants alike."""

    def __init__(self, names, threads):
        env = dict(os.environ, KERAS_BACKEND="jax")
        cores = None
        if threads == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            if hasattr(os, "sched_setaffinity"):
                # XLA's CPU runtime keeps a thread pool of its own whatever the flags say: one core.
                cores = {min(os.sched_getaffinity(0))}
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", *names]
        self.child = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            preexec_fn=None if cores is None else lambda: os.sched_setaffinity(0, cores),
        )
        self._ask("ready")

    def _ask(self, line):
        self.child.stdin.write(line + "\n")
        self.child.stdin.flush()
        answer = self.child.stdout.readline()
        if not answer:
            raise RuntimeError(f"the Keras child stopped (exit code {self.child.wait()})")
        return json.loads(answer)

    def run(self, name, kind, steps, timed=False):
        return self._ask(json.dumps([name, kind, steps, timed]))

    def close(self):
        self.child.stdin.close()
        self.child.wait()


class _Remote:
    """One of the Keras child's variants, called like the in-process ones."""

    def __init__(self, peer, name, kind):
        self.peer, self.name, self.kind = peer, name, kind

    def __call__(self, steps):
        self.peer.run(self.name, self.kind, steps)

    def timed(self, steps):
        return tuple(self.peer.run(self.name, self.kind, steps, timed=True))


def _serve(names):
    # Whatever else writes to stdout (Python or native code) goes to stderr, off the answers.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import keras

    variants = {}
    for name in names:
        _, _, shape, batch, _ = WORKLOADS[name]
        x, _, onehot = _data(shape, batch, max(FIT_STEPS, PREDICT_STEPS))
        variants[name, "train"], variants[name, "predict"] = _lamina_variants(
            keras, name, "auto", x, onehot, batch
        )
    for line in sys.stdin:
        request = json.loads(line) if line.strip() != "ready" else None
        answer = None
        if request is not None:
            name, kind, steps, timed = request
            wall, cpu = time.perf_counter(), time.process_time()
            variants[name, kind](steps)
            if timed:
                answer = [(time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps]
        print(json.dumps(answer), file=answers, flush=True)


def _print(name, results):
    for kind in ("train", "predict"):
        per = results[kind]
        wall = {n: statistics.median(w for w, _ in v) for n, v in per.items()}
        cpu = {n: statistics.median(c for _, c in v) for n, v in per.items()}
        unit = "ms/step" if kind == "train" else "ms/batch"
        print(f"{name} {kind} ({unit}; medians of {len(next(iter(per.values())))} rounds)")
        print(f"  {'variant':16s} {'wall':>8s} {'spread':>17s} {'cpu':>8s} {'lamina/it wall':>15s} {'cpu':>6s}")
        for n, v in per.items():
            walls = [w for w, _ in v]
            print(f"  {n:16s} {wall[n] * 1e3:8.1f} {min(walls) * 1e3:8.1f}-{max(walls) * 1e3:<8.1f}"
                  f"{cpu[n] * 1e3:8.1f} {wall['lamina'] / wall[n]:14.2f}x {cpu['lamina'] / cpu[n]:5.2f}x")
        peers = [n for n in per if not n.startswith(("lamina", "jit"))]
        best = min(peers, key=wall.get)
        for n in per:
            if n.startswith("lamina"):
                print(f"  {n} / best other ({best}): wall {wall[n] / wall[best]:.2f}x")


def main(argv):
    if argv and argv[0] == "--serve":
        _serve(argv[1:])
        return
    rounds, threads = 3, min(2, os.cpu_count())
    if "--rounds" in argv:
        rounds = int(argv[argv.index("--rounds") + 1])
    if "--threads" in argv:
        threads = int(argv[argv.index("--threads") + 1])
    torch.set_num_threads(threads)
    names = [a for a in argv if a in WORKLOADS] or list(WORKLOADS)
    load = os.getloadavg()[0]
    peer = _KerasPeer(names, threads) if "--keras-jax" in argv else None
    try:
        for name in names:
            _print(name, measure(name, rounds, peer, long_run="--long-run" in argv))
    finally:
        if peer is not None:
            peer.close()
    print(f"Threads: {torch.get_num_threads()}; load average at start {load:.1f} on "
          f"{os.cpu_count()} cores (above ~1, wall times are inflated: compare the cpu column).")


if __name__ == "__main__":
    main(sys.argv[1:])
