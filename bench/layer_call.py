"""Per-call overhead of Lamina layers next to the equivalent torch modules, in one run.

Measures (a) an eager ``Dense`` call on a small batch against ``torch.nn.Linear``, and (b) a
10-layer ``Sequential`` forward pass (inference) against ``torch.nn.Sequential``. Prints the time
per call of each and the ratio Lamina / torch.
"""

import time

import torch

import lamina
from lamina import layers


def _time_per_call(fn, x, repeats=2000, rounds=5, grad=False):
    with torch.set_grad_enabled(grad):
        for _ in range(200):
            fn(x)
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(x)
            best = min(best, (time.perf_counter() - start) / repeats)
    return best


def dense_call(batch=8, features=32, units=32, grad=False):
    x = torch.randn(batch, features)
    ours = layers.Dense(units)
    ours(x)
    theirs = torch.nn.Linear(features, units)
    return _time_per_call(ours, x, grad=grad), _time_per_call(theirs, x, grad=grad)


def sequential_predict(batch=32, width=64, depth=10):
    x = torch.randn(batch, width)
    ours = lamina.Sequential(
        [lamina.Input((width,))] + [layers.Dense(width, activation="relu") for _ in range(depth)]
    )
    mods = []
    for _ in range(depth):
        mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    theirs = torch.nn.Sequential(*mods)
    return _time_per_call(ours, x, repeats=500), _time_per_call(theirs, x, repeats=500)


def main():
    torch.set_num_threads(1)
    rows = [
        ("Dense(32) eager call, batch 8", *dense_call()),
        # Autograd on, as a plain eager call runs: the result is relabelled for numpy conversion.
        ("Dense(32) eager call with autograd, batch 8", *dense_call(grad=True)),
        ("Sequential 10 x Dense(64, relu), batch 32", *sequential_predict()),
    ]
    print(f"{'benchmark':45s} {'lamina':>10s} {'torch':>10s} {'ratio':>7s}")
    for name, ours, theirs in rows:
        print(f"{name:45s} {ours * 1e6:8.1f}us {theirs * 1e6:8.1f}us {ours / theirs:6.2f}x")


if __name__ == "__main__":
    main()
