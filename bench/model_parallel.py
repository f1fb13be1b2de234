"""Fully sharded training step time: Lamina's ``FullySharded`` next to hand-written FSDP2.

The model is an MLP 784-512-512-10 (relu, softmax crossentropy), global batch 128 split over the
processes, Adam. Lamina runs ``model.fit(x, y, batch_size=128, epochs=1, verbose=0)`` under
``lamina.distribution.FullySharded()`` (every variable split along its first dimension, gathered
to compute, gradients reduced and cut back to shards). PyTorch runs the same model as a user of
FSDP2 writes it: ``fully_shard`` on each ``nn.Linear`` and on the root, ``torch.optim.Adam``, each
process stepping on its slice of every batch.

Each process runs both, in alternating rounds of ``STEPS`` steps, for a fixed time; a time is the
best round per step (the round least disturbed by other processes on a shared machine), and the
ratio is Lamina's over PyTorch's (below 1: Lamina faster). Gloo on CPU by default.

Run with ``torchrun --nproc_per_node=2 bench/model_parallel.py``, or ``python
bench/model_parallel.py [N]`` (it starts N processes itself; default 2).
"""

import os
import socket
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BATCH, STEPS, SECONDS = 128, 20, 30.0
SIZES = (784, 512, 512, 10)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * STEPS, SIZES[0])).astype("float32")
    return x, rng.integers(0, SIZES[-1], size=(BATCH * STEPS,))


def _lamina_runner(x, y):
    import lamina
    from lamina import distribution, layers

    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((SIZES[0],))] + [
        layers.Dense(n, activation="relu") for n in SIZES[1:-1]] + [
        layers.Dense(SIZES[-1], activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    strategy = distribution.FullySharded()

    def run():
        with strategy.scope():
            model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)

    return run


def _torch_runner(x, y):
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    torch.manual_seed(0)
    linears = [nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:])]
    model = nn.Sequential(*[m for lin in linears[:-1] for m in (lin, nn.ReLU())], linears[-1])
    mesh = init_device_mesh("cpu", (world,))
    for lin in linears:
        fully_shard(lin, mesh=mesh)
    fully_shard(model, mesh=mesh)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    per = BATCH // world
    xs = torch.from_numpy(x)
    ys = torch.from_numpy(y)

    def run():
        for step in range(STEPS):
            start = step * BATCH + rank * per
            xb, yb = xs[start:start + per], ys[start:start + per]
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()

    return run


def _bench(rank):
    torch.set_num_threads(1)
    x, y = _data()
    runners = {"lamina": _lamina_runner(x, y), "torch FSDP2": _torch_runner(x, y)}
    for run in runners.values():  # warm up (the first fit builds the optimizer)
        run()
    best = {name: float("inf") for name in runners}
    ratios = []
    deadline = time.perf_counter() + SECONDS
    rounds = 0
    while True:
        times = {}
        for name in (list(runners) if rounds % 2 == 0 else list(runners)[::-1]):
            torch.distributed.barrier()
            start = time.perf_counter()
            runners[name]()
            times[name] = (time.perf_counter() - start) / STEPS
            best[name] = min(best[name], times[name])
        ratios.append(times["lamina"] / times["torch FSDP2"])
        rounds += 1
        # Every process must run the same number of rounds: process 0 decides when to stop.
        stop = torch.tensor(float(time.perf_counter() > deadline))
        torch.distributed.broadcast(stop, 0)
        if stop.item():
            break
    if rank == 0:
        world = torch.distributed.get_world_size()
        print(f"MLP {'-'.join(map(str, SIZES))}, global batch {BATCH}, Adam, {world} gloo "
              f"processes, {rounds} rounds of {STEPS} steps")
        for name, value in best.items():
            print(f"  {name:12s} {value * 1e3:8.2f} ms/step (best round)")
        print(f"  ratio lamina / torch FSDP2: {best['lamina'] / best['torch FSDP2']:.2f} "
              f"(median of rounds {float(np.median(ratios)):.2f})")


def _worker(rank, world, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world))
    _main()


def _main():
    from lamina import distribution

    distribution.initialize()
    try:
        _bench(torch.distributed.get_rank())
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if "WORLD_SIZE" in os.environ:
        _main()
    else:
        import torch.multiprocessing as mp

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free_port = s.getsockname()[1]
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
        mp.spawn(_worker, args=(n, free_port), nprocs=n, join=True)
