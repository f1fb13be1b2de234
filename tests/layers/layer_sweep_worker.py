"""Forward + backward of every layer case in many input variants, in a process of its own.

Run by tests/layers/test_layer_sweep.py: a torch kernel that crashes kills only this process, and
the last "START" line it printed names the case. Prints "DONE <count>" at the end.
"""

import sys

import numpy as np
import torch

import lamina
from layer_cases import CASES

# Multi-input layers, not in the single-input table: (factory, input shapes, called with a list).
MULTI_INPUT = {
    "MultiHeadAttention": (lambda: lamina.layers.MultiHeadAttention(2, 4), [(3, 4), (5, 4)], False),
    "GroupQueryAttention": (lambda: lamina.layers.GroupQueryAttention(4, 4, 2), [(3, 8), (5, 8)], False),
    "Attention": (lambda: lamina.layers.Attention(use_scale=True), [(3, 4), (5, 4)], True),
    "AdditiveAttention": (lambda: lamina.layers.AdditiveAttention(), [(3, 4), (5, 4)], True),
    "Add": (lambda: lamina.layers.Add(), [(3, 4), (3, 4)], True),
    "Concatenate": (lambda: lamina.layers.Concatenate(), [(3, 4), (3, 2)], True),
    "Dot": (lambda: lamina.layers.Dot(axes=2), [(3, 4), (5, 4)], True),
}


# Cases on top of the shared table: rank-4 inputs where kernels have channels_last paths.
EXTRA_CASES = {
    "GroupNormalization-4d": (lambda: lamina.layers.GroupNormalization(2), (4, 4, 4), "float32"),
    "BatchNormalization-4d": (lambda: lamina.layers.BatchNormalization(), (4, 4, 4), "float32"),
    "LayerNormalization-4d": (lambda: lamina.layers.LayerNormalization(), (4, 4, 4), "float32"),
    "MaxPooling2D-4d": (lambda: lamina.layers.MaxPooling2D(2), (4, 4, 4), "float32"),
    "AveragePooling2D-4d": (lambda: lamina.layers.AveragePooling2D(2, padding="same"), (5, 5, 4), "float32"),
}


def _variants(shape, dtype):
    """(label, tensor) inputs: with and without grad, contiguous and permuted, batch size 1."""
    rng = np.random.default_rng(0)
    if not dtype.startswith("float"):
        data = rng.integers(0, 10, size=(1,) + shape).astype(dtype)
        yield "int", torch.from_numpy(data)
        return
    data = rng.standard_normal((1,) + shape)
    for float_dtype in (torch.float32, torch.float64):
        base = torch.tensor(data, dtype=float_dtype)
        layouts = [("contiguous", base)]
        if base.dim() >= 3:
            # Same values, stored channels-first and viewed channels-last (torch.channels_last).
            moved = base.movedim(-1, 1).contiguous().movedim(1, -1)
            layouts.append(("permuted", moved))
        for layout, x in layouts:
            for needs_grad in (False, True):
                leaf = x.detach().clone() if layout == "contiguous" else x.detach()
                if layout == "permuted":
                    leaf = leaf.movedim(-1, 1).contiguous().movedim(1, -1)
                leaf.requires_grad_(needs_grad)
                yield f"{float_dtype}-{layout}-grad={needs_grad}", leaf


def _run(layer, *inputs):
    for training in (True, False):
        outputs = layer(*inputs, training=training)
        flat = [o for o in lamina.utils.tree.flatten(outputs) if isinstance(o, torch.Tensor)]
        loss = sum(o.float().sum() for o in flat if o.is_floating_point())
        if isinstance(loss, torch.Tensor) and loss.requires_grad:
            loss.backward()
        for o in flat:
            if o.is_floating_point() and not torch.isfinite(o.detach()).all():
                raise AssertionError(f"non-finite output, training={training}")


def main():
    count = 0
    cases = {**CASES, **EXTRA_CASES}
    for name in sorted(cases):
        factory, shape, dtype = cases[name]
        for label, x in _variants(shape, dtype):
            floatx = "float64" if "float64" in label else "float32"
            print(f"START {name} {label}", flush=True)
            lamina.backend.set_floatx(floatx)
            try:
                _run(factory(), x)
            finally:
                lamina.backend.set_floatx("float32")
            count += 1
    for name in sorted(MULTI_INPUT):
        factory, shapes, as_list = MULTI_INPUT[name]
        for needs_grad in (False, True):
            print(f"START {name} grad={needs_grad}", flush=True)
            rng = np.random.default_rng(1)
            xs = [torch.tensor(rng.standard_normal((1,) + s), dtype=torch.float32) for s in shapes]
            for x in xs:
                x.requires_grad_(needs_grad)
            _run(factory(), xs) if as_list else _run(factory(), *xs)
            count += 1
    print(f"DONE {count}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
