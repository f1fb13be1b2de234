"""What each ``predict`` rewrite of ``lamina/trainers/inference_path.py`` is worth, interleaved.

One process, one model per workload of ``workloads.py`` (``convnet``, ``resnet``), ``predict`` on
numpy arrays with the rewrites switched on one at a time: ``before`` (only BatchNormalization
folding and the ReLU after max pooling), ``+crop`` (runs of "valid" convolutions and poolings
compute only the positions their last layer reads), ``+slices`` (a large convolution output pooled
a slice of the batch at a time), ``+dense`` (a narrow Dense reads a transposed kernel copy),
``+relu`` (a convolution or an Add rectifies its output in place for the ReLU layer reading it):
each round times every variant once, in a rotating order, so that the load of a shared machine
falls on all of them alike. Reported: min and median over rounds of the CPU time per batch.

Run ``python bench/inference_rewrites.py [--rounds N] [--threads N] [convnet resnet]``.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import workloads  # noqa: E402

import lamina  # noqa: E402
from lamina.trainers import inference_path  # noqa: E402

_REWRITES = {
    "crop": ("_crop_chains", lambda linked: []),
    "slices": ("_chunkable", lambda conv, pool: False),
    "dense": ("_narrow_dense", lambda layer: False),
    "relu": ("_relu_takeovers", lambda linked, folds: []),
}
_VARIANTS = {
    "before": ("crop", "slices", "dense", "relu"),
    "+crop": ("slices", "dense", "relu"),
    "+slices": ("dense", "relu"),
    "+dense": ("relu",),
    "+relu": (),
}


def _switched_off(names):
    """Replace the finders of the named rewrites with ones that find nothing; returns an undo."""
    saved = {}
    for name in names:
        attribute, replacement = _REWRITES[name]
        saved[attribute] = getattr(inference_path, attribute)
        setattr(inference_path, attribute, replacement)

    def undo():
        for attribute, original in saved.items():
            setattr(inference_path, attribute, original)

    return undo


def measure(name, rounds, steps=8):
    build, _, shape, batch = workloads.WORKLOADS[name][:4]
    model = build(lamina)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(steps * batch,) + shape).astype("float32")
    outputs, times = {}, {v: [] for v in _VARIANTS}
    names = list(_VARIANTS)
    for r in range(rounds + 1):  # round 0 warms up
        for variant in names[r % len(names):] + names[: r % len(names)]:
            undo = _switched_off(_VARIANTS[variant])
            try:
                start = time.process_time()
                outputs[variant] = model.predict(x, batch_size=batch, verbose=0)
                spent = (time.process_time() - start) / steps
            finally:
                undo()
            if r:
                times[variant].append(spent * 1e3)
    print(f"{name} predict (ms of CPU per batch, batch {batch}; {rounds} rounds)")
    for variant, values in times.items():
        diff = np.abs(outputs[variant] - outputs["before"]).max()
        print(f"  {variant:9s} min {min(values):7.2f}  median {statistics.median(values):7.2f}"
              f"  max |diff| vs before {diff:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("workloads", nargs="*", default=["convnet", "resnet"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.workloads:
        measure(name, args.rounds)
    print(f"Threads: {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
