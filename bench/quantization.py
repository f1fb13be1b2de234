"""Inference time and weight memory of a float MLP next to its int8/int4-quantized copies.

Builds a 3-layer MLP (1024 -> 1024 -> 1024 -> 10), times ``model(x)`` under ``torch.no_grad``
for the float model and the same model after ``model.quantize("int8")`` and
``model.quantize("int4")`` (best of several rounds), and reports the bytes held by the weights.
With ``--keras`` it also times the oracle Keras model (JAX backend, jitted
``predict_on_batch``) quantized the same way. With ``--kernels`` it times, for one layer, the
integer matmul kernels torch offers on CPU next to the path Lamina takes (int8 values multiplied
in float), with each one's distance from Keras's formula.

Run: ``python bench/quantization.py [--batch 64] [--threads N] [--keras] [--kernels]``.
"""

import argparse
import copy
import os
import time

import numpy as np
import torch

import lamina


def _mlp(lib, width):
    return lib.Sequential(
        [
            lib.Input((width,)),
            lib.layers.Dense(width, activation="relu"),
            lib.layers.Dense(width, activation="relu"),
            lib.layers.Dense(10),
        ]
    )


def _best_time(fn, repeats=30, rounds=5):
    for _ in range(5):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _weight_bytes(model):
    return sum(w.numel() * w.element_size() for w in model.weights)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--keras", action="store_true", help="also time the Keras (JAX) oracle")
    parser.add_argument("--kernels", action="store_true", help="time torch's int8 matmul kernels")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((args.batch, args.width)).astype("float32")
    xt = torch.as_tensor(x)
    float_model = _mlp(lamina, args.width)
    int8_model = copy.deepcopy(float_model)
    int8_model.quantize("int8")
    int4_model = copy.deepcopy(float_model)
    int4_model.quantize("int4")
    error = np.abs(float_model(xt).detach().numpy() - int8_model(xt).detach().numpy()).max()
    error4 = np.abs(float_model(xt).detach().numpy() - int4_model(xt).detach().numpy()).max()
    with torch.no_grad():
        t_float = _best_time(lambda: float_model(xt))
        t_int8 = _best_time(lambda: int8_model(xt))
        t_int4 = _best_time(lambda: int4_model(xt))
    m_float, m_int8, m_int4 = _weight_bytes(float_model), _weight_bytes(int8_model), _weight_bytes(int4_model)
    print(f"torch threads: {torch.get_num_threads()}, batch {args.batch}, width {args.width}")
    print(f"lamina float32: {t_float * 1e3:8.3f} ms/call   weights {m_float / 2**20:7.2f} MiB")
    print(f"lamina int8:    {t_int8 * 1e3:8.3f} ms/call   weights {m_int8 / 2**20:7.2f} MiB")
    print(f"lamina int4:    {t_int4 * 1e3:8.3f} ms/call   weights {m_int4 / 2**20:7.2f} MiB")
    print(f"int8 / float32: time x{t_int8 / t_float:.2f}, memory x{m_int8 / m_float:.3f}; max |diff| {error:.4f}")
    print(f"int4 / float32: time x{t_int4 / t_float:.2f}, memory x{m_int4 / m_float:.3f}; max |diff| {error4:.4f}")
    if args.kernels:
        _time_kernels(args.batch, args.width)
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras

        k_float = _mlp(keras, args.width)
        k_float.set_weights(float_model.get_weights())
        k_int8 = _mlp(keras, args.width)
        k_int8.set_weights(float_model.get_weights())
        k_int8.quantize("int8")
        tk_float = _best_time(lambda: np.asarray(k_float.predict_on_batch(x)))
        tk_int8 = _best_time(lambda: np.asarray(k_int8.predict_on_batch(x)))
        diff = np.abs(np.asarray(k_int8.predict_on_batch(x)) - int8_model(xt).detach().numpy()).max()
        print(f"keras float32:  {tk_float * 1e3:8.3f} ms/call")
        print(f"keras int8:     {tk_int8 * 1e3:8.3f} ms/call   (int8 / float32: x{tk_int8 / tk_float:.2f})")
        print(f"lamina int8 / keras int8: x{t_int8 / tk_int8:.2f}; outputs max |diff| {diff:.2e}")


def _time_kernels(batch, width):
    """One layer's int8 matmul: Lamina's path next to torch's integer kernels (CPU)."""
    from lamina.ops import quantization as q

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, width, generator=gen)
    kernel, kernel_scale = q.abs_max_quantize(torch.randn(width, width, generator=gen), axis=0)
    # Keras's formula: (q(x) @ q(k)) / (x_scale * k_scale), products summed exactly.
    xq, x_scale = q.abs_max_quantize(x, axis=-1)
    reference = (xq.double() @ kernel.double()) / (x_scale.double() * kernel_scale.double())
    packed_t = kernel.t().contiguous()
    # `_int_mm` needs more than 16 rows.
    rows = max(batch, 17)
    xq_rows = torch.cat([xq] * (rows // batch + 1))[:rows]
    candidates = {
        "float32 matmul (no quantization)": lambda: x @ (kernel.float() / kernel_scale),
        "lamina int8 (ints in float)": lambda: q.int8_matmul(x, kernel, kernel_scale),
        "torch._int_mm (int32 sums)": lambda: (
            torch._int_mm(xq_rows, kernel)[:batch].float() / (x_scale * kernel_scale)
        ),
        "torch._weight_int8pack_mm": lambda: (
            torch._weight_int8pack_mm(xq.float(), packed_t, (1.0 / kernel_scale).reshape(-1)) / x_scale
        ),
    }
    print(f"one {batch}x{width} @ {width}x{width} layer:")
    with torch.no_grad():
        for name, fn in candidates.items():
            try:
                diff = (fn().double() - reference).abs().max().item()
                print(f"  {name:34s} {_best_time(fn) * 1e3:8.3f} ms   max |diff| from Keras's formula {diff:.2e}")
            except (RuntimeError, AttributeError) as e:  # Kernel missing in this torch build.
                print(f"  {name:34s} unavailable: {str(e).splitlines()[0]}")


if __name__ == "__main__":
    main()
