"""``BatchNormalization(synchronized=True)`` across two CPU processes (gloo) equals one big batch."""

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lamina import layers


def _data():
    torch.manual_seed(0)
    return torch.randn(8, 5, 3) * 2 + 1


def _loss(y):
    return (y * torch.arange(3.0)).pow(2).sum()


def _worker(rank, path, queue):
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=2)
    try:
        layer = layers.BatchNormalization(synchronized=True)
        x = _data()[rank * 4 : (rank + 1) * 4].clone().requires_grad_()
        y = layer(x, training=True)
        _loss(y).backward()
        queue.put((rank, y.detach().numpy(), x.grad.numpy(), layer.moving_variance.numpy(), layer.gamma.grad.numpy()))
    finally:
        dist.destroy_process_group()


def test_synchronized_statistics_over_two_processes(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, str(tmp_path / "pg"), queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = sorted((queue.get(timeout=120) for _ in procs), key=lambda r: r[0])
    for p in procs:
        p.join(timeout=60)
    x = _data().requires_grad_()
    layer = layers.BatchNormalization()
    y = layer(x, training=True)
    _loss(y).backward()
    np.testing.assert_allclose(np.concatenate([r[1] for r in results]), y.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([r[2] for r in results]), x.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[0][3], layer.moving_variance.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][4] + results[1][4], layer.gamma.grad.numpy(), rtol=1e-4, atol=1e-5)
