"""Inference shortcuts shared by the layers whose outputs are freshly computed tensors.

Without autograd (``predict``, ``model(x)`` under ``no_grad`` / ``inference_mode``) nothing keeps a
layer's pre-activation output, so a ReLU may overwrite it instead of writing a new tensor: the new
tensor's allocation (page faults for large outputs) is what makes the separate pass slow. Measured
on this project's 2-core CPU, 1 thread, float32: the first convolution of the Keras MNIST convnet
(batch 128, 1 -> 32 channels, 28x28, channels_last) with its ReLU took 5.6 ms out of place and
2.1 ms in place (oneDNN's fused ReLU post-op: 1.8 ms, but it turns NaN into 0 where ``relu``
keeps NaN, so it is not used). The numbers are bit-identical to the out-of-place ReLU.

A convolution followed by a BatchNormalization can run as one convolution with folded weights
(``ConvBatchNormFold``); which pairs fold is decided by the inference loops
(``lamina/trainers/inference_path.py``), and the layers ask ``folded_weights`` / ``absorbed``.

A run of ``"valid"`` convolutions and poolings whose last windows leave input positions unread
(a 2x2 pooling of an odd-sized map drops its last row and column) computes only what the end of
the run uses: the run's first layer crops its input to the positions the run reads
(``CropChain``), and every layer of the run then works on smaller maps. Each output position
reads the same inputs through the same kernel either way, so the numbers are bit-identical.
The layers ask ``cropped``.

A convolution whose output only a pooling layer reads, and whose output for the batch is large
(over ``_CHUNKED_BYTES``), computes and pools it a slice of the batch at a time
(``conv_pool_in_chunks``): each slice's convolution output (about ``_CHUNK_BYTES``) is still in
the cache when the pooling reads it, where the whole batch's would not be. Each image is computed
as before; oneDNN may choose another kernel for another batch size, so the numbers agree to
float32 rounding (bit-identical for the MNIST convnet; slices hold at least
``_MIN_CHUNK_IMAGES`` images). Measured on this project's 2-core CPU, 1 thread,
with other processes running: the Keras MNIST convnet's first convolution and pooling (batch 128,
24x24x32 outputs after cropping, 9.4 MB) in 2, 3 or 4 slices saved 0.3-0.6 ms per batch (of
8.3-9.5 for the convolution stack; 3 slices of 42-43 images are used); 8 slices of 16 images
were slower than none. With two threads the slices cost more than they save (measured: 5.8 ms
per batch of wall time sliced, 4.8 unsliced), so only a single-threaded process slices. Under
``torch.compile`` a small convolution computes its max-pooled output itself instead
(``compiled_max_pool``). The layers ask ``chunked_pool`` (or ``compiled_max_pool``) and
``pooled_already``.

A narrow ``Dense`` (at most ``NARROW_UNITS`` units) multiplies by a contiguous transposed copy of
its kernel (``TransposedKernel``): the BLAS of this torch build (MKL) runs a 2-D product with
few output columns much faster from a transposed right operand. Measured on this project's
2-core CPU, 1 thread, float32: the Keras MNIST convnet's head, 128 x 1600 by 1600 x 10, took
0.37 ms with the kernel as stored and 0.16 ms transposed (128 x 128 by 128 x 10: 35 and 22 us;
with 64 or more units both took the same time). The summation order differs, so the numbers
agree to float32 rounding (relative differences around 1e-6), as with BatchNormalization folding.
The layer asks ``transposed_kernel``.

A ReLU-activated convolution whose output only a max pooling reads may leave its ReLU to the
pooling layer, which applies it to the pooled output: ``relu`` is monotone, so
``max(relu(a), relu(b)) == relu(max(a, b))`` (NaN propagating through both), with a quarter of the
elements to rectify behind 2x2 pooling. The layers ask ``relu_deferred``.

A convolution with a linear activation whose output only a plain ``ReLU`` / ``Activation("relu")``
layer reads (directly, or through a BatchNormalization folded into it and so returning its input
unchanged) rectifies that output in place, as ``activate`` does for its own ReLU, and hands the
tensor to the ReLU layer, which passes exactly that tensor through: no second output tensor is
allocated and written. An ``Add`` of two or more inputs (a fresh sum) does the same. The numbers
are bit-identical, NaN included. oneDNN's ReLU post-op
(``torch.ops.mkldnn._convolution_pointwise(..., "relu", ...)``) was measured too: on the ResNet
block of ``bench/workloads.py`` it saved another 0.45 ms per batch (of 31.5), but it also turns
NaN into 0, and checking the input for NaN first (a read of the input) costs what it saves. The
layers ask ``takes_relu`` and ``rectified_already``.
"""

import numpy as np
import torch

from lamina import activations
from lamina.backend import torch_compat
from lamina.backend.call_context import CONTEXT
from lamina.ops import _conv_math


def activate(activation, out):
    """``activation(out)``; in place for the default ReLU where nothing else needs ``out``.

    Args:
        activation: The layer's activation function.
        out: A tensor the layer has just computed (no other reference to it exists).
    """
    # Cheapest test first: with autograd on (training, eager calls) this is one C call.
    if (
        not torch.is_grad_enabled()
        and activation is activations.relu
        and out.is_floating_point()
        and not torch_compat.is_compiling()
        and not torch.jit.is_tracing()  # a trace's check run must record the same ops
    ):
        return out.relu_()
    return activation(out)


def _same(a, b):
    """Whether tensors ``a`` and ``b`` (or both ``None``) hold the same values; a NaN never
    equals itself, so a derived value made from one is remade each time."""
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    if a.device.type == "cpu" and a.dtype in (torch.float32, torch.float64):
        # numpy compares a 1600 x 10 float32 kernel in 6 us, torch.equal in 16.
        return np.array_equal(a.numpy(), b.numpy())
    return torch.equal(a, b)


class _DerivedFromWeights:
    """A value computed from some weights, kept until any of them changes.

    Each eager use compares the weights with copies of what the value was made from, so every
    way of changing them (``set_weights``, ``assign``, in-place writes, training) is seen without
    hooks; under ``torch.compile`` the value is derived again in the graph on every call.
    """

    def __init__(self):
        self._sources = None
        self._value = None

    def _weights(self):
        raise NotImplementedError

    def _derive(self, *weights):
        raise NotImplementedError

    def get(self):
        current = [t.detach() if t is not None else None for t in self._weights()]
        if torch_compat.is_compiling():
            # Inside a compiled graph: computed from the weights on each call, part of the graph
            # (a few small kernels), so the graph never holds stale values.
            return self._derive(*current)
        if self._sources is None or not all(_same(a, b) for a, b in zip(current, self._sources)):
            self._value = self._derive(*current)
            self._sources = [t.clone() if t is not None else None for t in current]
        return self._value


class ConvBatchNormFold(_DerivedFromWeights):
    """The folded ``(torch_kernel, bias)`` of one Conv + BatchNormalization pair (torch's kernel
    layout), refolded on change."""

    def __init__(self, conv, bn):
        super().__init__()
        self.conv, self.bn = conv, bn

    def _weights(self):
        conv, bn = self.conv, self.bn
        return conv.kernel, conv.bias, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance

    def _derive(self, kernel, bias, gamma, beta, mean, variance):
        scale = torch.rsqrt(variance + self.bn.epsilon)
        if gamma is not None:
            scale = scale * gamma
        shift = -mean * scale
        if beta is not None:
            shift = shift + beta
        per_filter = scale.reshape((-1,) + (1,) * (kernel.dim() - 1))
        folded_kernel = _conv_math.torch_kernel(kernel) * per_filter
        folded_bias = shift if bias is None else bias * scale + shift
        return folded_kernel.contiguous(), folded_bias


def folded_weights(conv, inputs):
    """The folded ``(torch_kernel, bias)`` for ``conv`` when a fold applies to this call, else
    ``None`` (asked by the convolution's ``call``; see ``lamina/trainers/inference_path.py``)."""
    fold = conv.__dict__.get("_inference_fold")
    if (
        fold is None
        or torch.is_grad_enabled()
        or CONTEXT.training  # the model called in training mode: its BatchNormalization runs
        or CONTEXT.depth < 2  # called on its own (e.g. by a callback), not inside the model
        or inputs.device.type == "meta"
    ):
        return None
    return fold.get()


def absorbed(bn, inputs, training):
    """Whether ``bn``'s normalization is already in the convolution before it (asked by its
    ``call``)."""
    return (
        bn.__dict__.get("_inference_absorbed", False)
        and not training
        and CONTEXT.depth >= 2  # inside the model's call, right after its folded convolution
        and not torch.is_grad_enabled()
        and inputs.device.type != "meta"
    )


def relu_deferred(layer):
    """Whether ``layer`` (a ReLU-activated convolution, or the max pooling reading its output)
    leaves / applies that ReLU after the pooling in this call (asked by both layers' ``call``:
    the same answer for both, as they run in the same model call)."""
    return (
        layer.__dict__.get("_inference_relu_deferred", False)
        and not torch.is_grad_enabled()
        and CONTEXT.depth >= 2  # inside the model's call, where the pair was found
        and not torch_compat.is_compiling()
        and not torch.jit.is_tracing()
    )


def _window(layer):
    """``(window, strides, dilation)`` of a convolution or pooling layer of a ``CropChain``."""
    if hasattr(layer, "pool_size"):
        return layer.pool_size, layer.strides, (1,) * len(layer.pool_size)
    return layer.kernel_size, layer.strides, layer.dilation_rate


class CropChain:
    """A run of ``"valid"`` convolution / pooling layers, each read only by the next, all with
    the same data format and spatial rank: which leading input positions the run reads."""

    def __init__(self, *layers):
        self._windows = [_window(layer) for layer in layers]
        first = layers[0]
        self._spatial = len(self._windows[0][0])
        self._first_axis = 1 if first.data_format == "channels_last" else 2
        self._index = {}  # input shape -> the slicing index, or None where nothing is saved

    def index(self, shape):
        """The index selecting the positions of an input of ``shape`` the run reads, or ``None``
        when it reads them all."""
        if shape not in self._index:
            self._index[shape] = self._compute_index(shape)
        return self._index[shape]

    def _compute_index(self, shape):
        if len(shape) != self._spatial + 2:
            return None
        first = self._first_axis
        sizes = [list(shape[first : first + self._spatial])]
        for window, strides, dilation in self._windows:
            sizes.append([
                _conv_math.conv_output_length(n, k, s, "valid", d)
                for n, k, s, d in zip(sizes[-1], window, strides, dilation)
            ])
        if any(n < 1 for row in sizes for n in row):
            return None  # too small: let the layers raise their own errors
        needed = sizes[-1]
        for window, strides, dilation in reversed(self._windows):
            needed = [
                _conv_math.window_input_extent(n, k, s, d)
                for n, k, s, d in zip(needed, window, strides, dilation)
            ]
        if needed == sizes[0]:
            return None
        return (slice(None),) * first + tuple(slice(0, n) for n in needed)


def cropped(layer, inputs):
    """``inputs`` cut to the positions the run of layers starting at ``layer`` reads, in
    predict / evaluate (asked by the first layer of a ``CropChain``; see
    ``lamina/trainers/inference_path.py``); ``inputs`` itself elsewhere."""
    chain = layer.__dict__.get("_inference_crop")
    if (
        chain is None
        or torch.is_grad_enabled()
        or CONTEXT.training
        or CONTEXT.depth < 2  # called on its own, not inside the model where the run was found
        or torch.jit.is_tracing()
        or inputs.device.type == "meta"
    ):
        return inputs
    # Under torch.compile too: the graph then computes only the positions the run reads.
    index = chain.index(tuple(inputs.shape))
    return inputs if index is None else inputs[index]


NARROW_UNITS = 16
# Below this many input elements (batch x features) the product is too small for the transposed
# kernel to pay: 64 x 32 by 32 x 10 took 9 us as stored and 10 us transposed.
_MIN_INPUT_SIZE = 1 << 14


class TransposedKernel(_DerivedFromWeights):
    """A contiguous ``(units, input_dim)`` copy of a ``Dense`` kernel, remade when the kernel
    changes."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def _weights(self):
        return (self.layer.kernel,)

    def _derive(self, kernel):
        return kernel.t().contiguous()


def transposed_kernel(layer, inputs):
    """The ``(units, input_dim)`` contiguous kernel of a narrow ``Dense`` for this call in predict /
    evaluate, or ``None`` (asked by its ``call`` with 2-D inputs)."""
    cache = layer.__dict__.get("_inference_transposed")
    if (
        cache is None
        or torch.is_grad_enabled()
        or CONTEXT.depth < 2  # called on its own, not inside the model
        or inputs.dtype is not torch.float32
        or inputs.device.type != "cpu"
        or inputs.numel() < _MIN_INPUT_SIZE
        or torch.jit.is_tracing()
    ):
        return None
    return cache.get()


# A convolution output over this many bytes for the batch is computed and pooled in slices of
# about _CHUNK_BYTES (measured: slices of 2.4-3.5 MB did best for the MNIST convnet's 9.4 MB).
_CHUNKED_BYTES = 4 << 20
_CHUNK_BYTES = 3 << 20
# oneDNN's per-call cost makes smaller slices slower (16 images: no gain left on the MNIST
# convnet), and a kernel chosen for a small batch may round differently.
_MIN_CHUNK_IMAGES = 16


def chunked_pool(conv, inputs):
    """``(pooling layer, number of slices)`` when ``conv`` is to compute and pool its output (read
    only by that pooling layer) in slices of the batch in this call, else ``None`` (asked by the
    convolution's ``call``; the pair is found by ``lamina/trainers/inference_path.py``)."""
    pool = conv.__dict__.get("_inference_chunk_pool")
    if (
        pool is None
        or torch.is_grad_enabled()
        or CONTEXT.depth < 2  # called on its own, not inside the model where the pair was found
        or inputs.device.type != "cpu"
        or torch_compat.is_compiling()  # first: torch.get_num_threads would break the graph
        or torch.jit.is_tracing()
        # With several threads each slice is split again among them: on this project's 2-core CPU
        # the convnet's predict took 5.8 ms per batch (wall) sliced against 4.8 unsliced.
        or torch.get_num_threads() > 1
    ):
        return None
    count = _slices(conv, inputs)
    return (pool, count) if count > 1 else None


def _slices(conv, inputs):
    first = 1 if conv.data_format == "channels_last" else 2
    per_image = conv.filters * inputs.element_size()
    for n, k, s, d in zip(
        inputs.shape[first : first + conv.rank], conv.kernel_size, conv.strides, conv.dilation_rate
    ):
        per_image *= max(_conv_math.conv_output_length(n, k, s, conv.padding, d), 0)
    total = per_image * inputs.shape[0]
    if total <= _CHUNKED_BYTES:
        return 1
    return max(min(-(-total // _CHUNK_BYTES), inputs.shape[0] // _MIN_CHUNK_IMAGES), 1)


def conv_pool_in_chunks(conv, pool, count, inputs):
    """``pool``'s output for ``conv``'s output on ``inputs``, in ``count`` slices of the batch;
    ``pool``'s next call with exactly this result hands it on (``pooled_already``)."""
    n = inputs.shape[0]
    size = -(-n // count)
    # Each slice as the pooling's own call takes it: cropped first where a run starts there.
    out = torch.cat([
        pool._pool(cropped(pool, conv._convolve(inputs[i : i + size]))) for i in range(0, n, size)
    ])
    pool.__dict__["_inference_pooled"] = out
    return out


# Under torch.compile (predict / evaluate with ``jit_compile=True``), a convolution with at most
# this many products per pooled output (pooling window x kernel taps x input channels) whose output
# only a max pooling reads computes the pooled output itself as one elementwise expression
# (``_conv_math.max_pooled_conv``) that inductor fuses into one loop: nothing of the convolution's
# output is stored. Measured on this project's 2-core CPU, 2 threads, batch 128, 32 filters, each
# compiled, fused against oneDNN's convolution then the pooling: 28x28x1 inputs, 3x3 kernel, 2x2
# pooling (36 products: the Keras MNIST convnet's first pair) 0.53 against 0.94 ms; 2 channels
# (72 products) 1.32 against 1.27; a 5x5 kernel (100) 1.69 against 1.28. Eagerly it is slower.
MAX_POOLED_TERMS = 40


def compiled_max_pool(conv, inputs):
    """The output of the max pooling after ``conv`` for ``conv``'s output on ``inputs`` when
    ``conv`` computes it itself in this call (under ``torch.compile`` in predict / evaluate; the
    pair is found by ``lamina/trainers/inference_path.py``), else ``None``. The pooling's next
    call with exactly this result hands it on (``pooled_already``)."""
    pool = conv.__dict__.get("_inference_fused_pool")
    if (
        pool is None
        or not torch_compat.is_compiling()
        or torch.is_grad_enabled()
        or CONTEXT.training
        or CONTEXT.depth < 2  # called on its own, not inside the model where the pair was found
        or inputs.device.type != "cpu"  # measured on the CPU only
        or inputs.dtype != conv.kernel.dtype
    ):
        return None
    channels_last = conv.data_format == "channels_last"
    x = inputs if channels_last else torch.movedim(inputs, 1, -1)
    out = _conv_math.max_pooled_conv(
        x, conv.kernel, conv.bias, conv.strides, conv.dilation_rate, pool.pool_size,
        pool.strides, None if conv.activation is activations.linear else conv.activation,
    )
    out = out if channels_last else torch.movedim(out, -1, 1)
    pool.__dict__["_inference_pooled"] = out
    return out


def pooled_already(pool, inputs):
    """Whether ``inputs`` is the output the convolution before already pooled for ``pool``."""
    pooled = pool.__dict__.get("_inference_pooled")
    if pooled is None:
        return False
    del pool.__dict__["_inference_pooled"]
    return pooled is inputs


def takes_relu(layer, out, folded=False):
    """Rectify ``out`` in place when ``layer`` takes over the ReLU of the layer after it in this
    call, and tell that layer so; returns whether it did (asked by a convolution's ``_convolve``
    and by ``Add``, with the output they have just computed and nothing else holds).

    Args:
        layer: The convolution or ``Add`` layer.
        out: Its freshly computed output.
        folded: Whether the convolution used folded BatchNormalization weights in this call.
    """
    relu, after_bn = layer.__dict__.get("_inference_relu", (None, False))
    if (
        relu is None
        # The ReLU reads the BatchNormalization's output: only the same tensor when it is folded.
        or (after_bn and not folded)
        or torch.is_grad_enabled()
        or CONTEXT.depth < 2  # called on its own, not inside the model where the pair was found
        or not out.is_floating_point()
        or torch_compat.is_compiling()
        or torch.jit.is_tracing()  # a trace's check run must record the same ops
    ):
        return False
    out.relu_()
    relu.__dict__["_inference_rectified"] = out
    return True


def rectified_already(relu, inputs):
    """Whether ``inputs`` is the output the convolution before rectified for ``relu`` (asked by
    the ``ReLU`` / ``Activation`` layer's ``call``, which then passes it through)."""
    rectified = relu.__dict__.pop("_inference_rectified", None)
    return rectified is not None and rectified is inputs
