"""``torch.nn.parallel.DistributedDataParallel`` wraps a Lamina model in a hand-written loop."""

import os

import numpy as np
import pytest
import torch
from torch.nn.parallel import DistributedDataParallel

import lamina
from lamina import distribution, layers

STEPS, BATCH = 5, 8  # global batch; each of the 2 processes takes 4 samples


def _data():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(STEPS * BATCH, 5)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, 3, size=(STEPS * BATCH,)))
    return x, y


def _model(seed):
    lamina.utils.set_random_seed(seed)
    return lamina.Sequential([
        lamina.Input((5,)),
        layers.Dense(8, activation="tanh"),
        layers.Dense(3, activation="softmax"),
    ])


def _loop(model, forward, x, y, rank=0, world=1):
    optimizer = lamina.optimizers.SGD(0.1, momentum=0.9)
    loss_fn = lamina.losses.SparseCategoricalCrossentropy()
    per_rank = BATCH // world
    for step in range(STEPS):
        start = step * BATCH + rank * per_rank
        xb, yb = x[start:start + per_rank], y[start:start + per_rank]
        loss = loss_fn(yb, forward(xb, training=True))
        model.zero_grad()
        loss.backward()
        optimizer.apply([v.grad for v in model.trainable_weights], model.trainable_weights)


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank)
    try:
        model = _model(seed=rank)  # DDP broadcasts rank 0's weights when it wraps the model
        ddp = DistributedDataParallel(model)
        x, y = _data()
        _loop(model, ddp, x, y, rank, world=2)
        np.savez(os.path.join(out_dir, f"rank{rank}.npz"), *model.get_weights())
        # Both ranks done, then leave without interpreter teardown: on this torch build, gloo's
        # threads intermittently abort the process at exit ("terminate called without an
        # active exception") after all the work is done and saved.
        torch.distributed.barrier()
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    os._exit(0)


@pytest.mark.slow
def test_ddp_wrapped_model_trains_like_one_process(run_two_processes):
    model = _model(seed=0)
    x, y = _data()
    _loop(model, model, x, y)
    expected = model.get_weights()
    out = run_two_processes(_worker)
    ranks = []
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz") as f:
            ranks.append([f[f"arr_{i}"] for i in range(len(f.files))])
    # Equal slices: DDP's mean of the two half-batch gradients is the full-batch gradient.
    for got in ranks:
        assert len(got) == len(expected)
        for w, e in zip(got, expected):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
    for w0, w1 in zip(*ranks):
        np.testing.assert_array_equal(w0, w1)
