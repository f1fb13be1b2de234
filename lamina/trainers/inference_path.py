"""``predict`` / ``evaluate``: BatchNormalization folded into the convolution before it.

In inference a BatchNormalization computes ``x * scale + shift`` per channel with
``scale = gamma / sqrt(moving_variance + epsilon)`` and ``shift = beta - moving_mean * scale``.
When its input is the output of a convolution with a linear activation and nothing else reads
that output, the two collapse into one convolution with kernel ``kernel * scale`` (over the
filters axis) and bias ``bias * scale + shift``: one full pass over the activations less. Measured
on this project's 2-core CPU, 1 thread, the ResNet-style block of ``bench/workloads.py`` (three
Conv2D + BatchNormalization pairs, batch 64): 38.5 ms of CPU per batch unfolded, 33.8 folded.

The folded weights are computed from the current weights and kept with a copy of what they were
computed from; every eager folded call (compiled, the graph refolds on each call) compares the
weights with that copy (a few microseconds for the
small vectors and kernels of such layers) and refolds when anything differs, so no way of changing
a weight (``set_weights``, ``load_weights``, a training step, ``assign``, a direct write into the
tensor's memory) can leave stale folded weights behind.

Folding happens only inside the loops' own steps (``predict`` / ``evaluate`` /
``predict_on_batch`` / ``test_on_batch`` with the default ``predict_step`` / ``test_step``, which
call the model with ``training=False`` under ``no_grad``), for pairs inside one ``Sequential`` or
functional graph where:

* the convolution is a plain ``Conv1D`` / ``Conv2D`` / ``Conv3D`` (linear activation, no forward
  hooks, no activity regularizer, not quantized), called once in the graph;
* the BatchNormalization normalizes over the convolution's channel axis with its fused kernel
  (float32/float64 statistics of the output's dtype), no hooks, no activity regularizer, called
  once, and reads only the convolution's output, which nothing else reads (nor is it a model
  output).

In the same steps and under the same graph conditions, a plain ``Conv*D`` with the ReLU
activation whose output only a ``MaxPooling*D`` reads leaves its ReLU to the pooling layer, which
rectifies the (smaller) pooled output instead: equal numbers (``relu`` commutes with ``max``; only
the sign of a zero result can differ, ``-0.0`` for ``0.0``). Measured on this project's 2-core CPU,
1 thread, the Keras MNIST convnet's first pair (batch 128, 26x26x32): 0.2-0.3 ms less per batch.

In the same steps, a run of ``"valid"`` convolutions (plain ``Conv*D`` with an elementwise
activation) and max / average poolings, each read only by the next, starts by cropping its input
to the positions the run's last layer uses (``_inference.CropChain``): the Keras MNIST convnet's
second 2x2 pooling drops the last row and column of its 11x11 input, so the convolutions and the
first pooling need only 24x24 of the first convolution's 26x26 outputs and 10x10 of the second's
11x11. Bit-identical outputs. Measured on this project's 2-core CPU, 1 thread, batch 128: the
convolution stack took 8.4 ms of CPU per batch instead of 9.9.

Also in those steps: a convolution whose output only a pooling layer reads computes and pools
a large output a slice of the batch at a time (``_inference.conv_pool_in_chunks``), and a narrow
``Dense`` (at most 16 units) multiplies by a transposed copy of its kernel, remade when the
kernel changes (``_inference.TransposedKernel``). Measured with ``bench/inference_rewrites.py``
on this project's 2-core CPU, 1 thread, the Keras MNIST convnet's ``predict`` (batch 128, medians
of CPU time per batch): 11.3 ms before these three, 9.5 with the cropping, 8.9 with the slices,
8.8 with the transposed Dense kernel.

Also in those steps, a plain convolution with a linear activation whose output only a plain
``ReLU`` / ``Activation("relu")`` layer reads -- directly, or through the BatchNormalization folded
into it -- rectifies its output in place for that layer, which passes it through
(``_inference.takes_relu``); so does an ``Add`` read only by such a layer. One output tensor less
to allocate and write per pair, bit-identical numbers (NaN included). Measured with
``bench/inference_rewrites.py`` on this project's 2-core CPU, 1 thread, the ResNet-style block of
``bench/workloads.py`` (two Conv + BatchNormalization + ReLU triples and an Add + ReLU, batch 64):
32.1 ms of CPU per batch before, 30.3 after (medians of 10 interleaved rounds).

With ``jit_compile=True``, ``predict``'s and ``evaluate``'s forward passes (the default
``predict_step`` / ``test_step``; the loss and the metrics stay eager) also go through
``torch.compile`` for the batch shape it first sees (a last, smaller batch runs eagerly instead of
compiling again), with the measure-and-keep-the-faster choice of the train step
(``compile_path.py``), logged once. The compiled graph keeps the cropping, the BatchNormalization
folding and the transposed narrow Dense kernel (the folded and transposed weights are computed
inside the graph from the current weights on each call), and adds one rewrite of its own: a
convolution with few input channels whose output only a max pooling reads computes the pooled
output as one elementwise expression (``_inference.compiled_max_pool``), which inductor fuses into
one loop. Measured on this project's 2-core CPU, 2 threads, the Keras MNIST convnet's compiled
predict: 6.9 ms per batch of 128 before these (slower than eager, so the step ran eagerly), 4.0
after (wall clock, ``bench/workloads.py``). The in-place ReLU rewrites and the batch slices stay
eager-only: inductor fuses such elementwise work by itself.

With ``jit_compile="auto"`` (the default), each of those forward passes runs eagerly until it has
taken ``AUTO_COMPILE_AFTER`` seconds in all (more for a long forward pass), then takes the
``jit_compile=True`` path, logged once: a job that predicts or evaluates for long gets the compiled
speed without asking, and a short one never pays for a compilation (seconds) that it could not
earn back.
"""

import contextlib
import logging
import math
import time

import torch
from torch.overrides import TorchFunctionMode

from lamina import activations
from lamina.backend import symbolic
from lamina.layers._torch_hooks import GLOBAL_FORWARD_HOOKS, GLOBAL_FORWARD_PRE_HOOKS
from lamina.layers._inference import (
    MAX_POOLED_TERMS,
    NARROW_UNITS,
    ConvBatchNormFold,
    CropChain,
    TransposedKernel,
)
from lamina.layers.activations.relu import ReLU
from lamina.layers.core.activation import Activation
from lamina.layers.core.dense import Dense
from lamina.layers.merging.add import Add
from lamina.layers.merging.base_merge import Merge
from lamina.layers.convolutional.base_conv import BaseConv
from lamina.layers.normalization.batch_normalization import BatchNormalization
from lamina.layers.pooling.base_pooling import BasePooling
from lamina.trainers.compile_path import CompiledStep
from lamina.utils import tree

logger = logging.getLogger("lamina")


def _plain_layer(layer):
    """No hook (the layer's or torch's global ones: a hook sees each layer's own output), no
    ``call`` replaced on the instance, no activity regularizer, not quantized."""
    return (
        not layer._forward_hooks
        and not layer._forward_pre_hooks
        and not GLOBAL_FORWARD_HOOKS
        and not GLOBAL_FORWARD_PRE_HOOKS
        and "call" not in layer.__dict__
        and getattr(layer, "activity_regularizer", None) is None
        and getattr(layer, "quantization_mode", None) is None
    )


def _plain_conv(layer):
    """A built plain ``Conv1D/2D/3D`` whose call and convolution are ``BaseConv``'s own."""
    return (
        isinstance(layer, BaseConv)
        and type(layer).call is BaseConv.call
        and type(layer)._convolve is BaseConv._convolve
        and layer.built
        and _plain_layer(layer)
    )


def _plain_pool(layer):
    """A plain pooling layer whose call is ``BasePooling``'s own."""
    return (
        isinstance(layer, BasePooling)
        and type(layer).call is BasePooling.call
        and _plain_layer(layer)
    )


def _foldable(conv, bn):
    if not _plain_conv(conv) or type(bn).call is not BatchNormalization.call:
        return False
    if not bn.built or not _plain_layer(bn):
        return False
    if conv.activation is not activations.linear:
        return False
    if not _float_kernel_at_compute_dtype(conv):
        return False
    rank = conv.rank + 2
    channel_axis = rank - 1 if conv.data_format == "channels_last" else 1
    axes = bn._axes
    return (
        axes is not None
        and len(axes) == 1
        and axes[0] % rank == channel_axis
        and bn.moving_mean.dtype == conv.kernel.dtype
    )


def _float_kernel_at_compute_dtype(conv):
    """A float32/float64 kernel that the layer computes in as it is (no autocast copy)."""
    return (
        conv.kernel.dtype in (torch.float32, torch.float64)
        and getattr(torch, conv.compute_dtype, None) == conv.kernel.dtype
    )


def _deferrable(conv, pool):
    """Whether ``conv``'s ReLU may run after ``pool`` instead (see ``_inference.relu_deferred``)."""
    return (
        _plain_conv(conv)
        and _plain_pool(pool)
        and pool.pool_mode == "max"
        and conv.activation is activations.relu
    )


# Activations acting on each element alone: cropping the positions a convolution computes leaves
# the others' values unchanged (not so for softmax-like ones, which read a whole axis).
_ELEMENTWISE_NAMES = (
    "linear", "relu", "leaky_relu", "relu6", "sigmoid", "softplus", "softsign", "tanh", "elu",
    "selu", "celu", "exponential", "gelu", "silu", "hard_sigmoid", "hard_silu", "mish",
    "hard_tanh", "log_sigmoid", "tanh_shrink", "soft_shrink", "hard_shrink", "squareplus",
    "sparse_plus", "sparse_sigmoid",
)


def _elementwise(activation):
    # Looked up on use: `activations` is still being imported when this module is.
    return any(activation is getattr(activations, name) for name in _ELEMENTWISE_NAMES)


def _croppable(layer):
    """Whether ``layer`` is a ``"valid"`` window layer a ``CropChain`` may hold."""
    if isinstance(layer, BaseConv):
        return _plain_conv(layer) and layer.padding == "valid" and _elementwise(layer.activation)
    return _plain_pool(layer) and layer.padding == "valid"


def _crop_chains(linked):
    """The runs of croppable layers along ``linked`` pairs (first layer -> ``CropChain``)."""
    following, preceded = {}, set()
    for a, b in linked:
        if (
            _croppable(a)
            and _croppable(b)
            and a.data_format == b.data_format
            and len(_window_size(a)) == len(_window_size(b))
        ):
            following[id(a)] = (a, b)
            preceded.add(id(b))
    chains = []
    for key, (head, _) in following.items():
        if key in preceded:
            continue
        run = [head]
        while id(run[-1]) in following:
            run.append(following[id(run[-1])][1])
        chains.append(run)
    return chains


def _window_size(layer):
    return layer.pool_size if isinstance(layer, BasePooling) else layer.kernel_size


def _chunkable(conv, pool):
    """Whether ``conv`` may compute and pool its output (``pool`` reading only it) in slices of the
    batch (see ``_inference.conv_pool_in_chunks``)."""
    return (
        _plain_conv(conv)
        and _plain_pool(pool)
        # Nothing may cast the pooled output on its way into `pool`: it must arrive as it left.
        and conv.compute_dtype == pool.compute_dtype
    )


def _fusable_max_pool(conv, pool):
    """Whether ``conv``, read only by the max pooling ``pool``, may compute the pooled output itself
    under ``torch.compile`` (see ``_inference.compiled_max_pool``)."""
    if not (
        _chunkable(conv, pool)  # a plain convolution (what the expression redoes) and pooling
        and conv.groups == 1
        and conv.padding == "valid"
        # Applied after the maximum: only activations that keep the order of their inputs.
        and (conv.activation is activations.linear or conv.activation is activations.relu)
        and _float_kernel_at_compute_dtype(conv)
        and pool.pool_mode == "max"
        and pool.padding == "valid"
        and pool.data_format == conv.data_format
        and len(pool.pool_size) == conv.rank
    ):
        return False
    # One product per pooling offset, kernel tap and input channel.
    terms = math.prod(pool.pool_size) * math.prod(conv.kernel_size) * conv.kernel.shape[-2]
    return terms <= MAX_POOLED_TERMS


def _relu_layer(layer):
    """Whether ``layer`` is a plain ``ReLU`` / ``Activation("relu")`` computing ``max(x, 0)``."""
    if isinstance(layer, ReLU):
        plain = (
            type(layer).call is ReLU.call
            and layer.max_value is None
            and layer.negative_slope == 0
            and layer.threshold == 0
        )
    elif isinstance(layer, Activation):
        plain = type(layer).call is Activation.call and layer.activation is activations.relu
    else:
        return False
    return plain and _plain_layer(layer)


def _relu_taker(layer):
    """Whether ``layer`` is a plain convolution with a linear activation, or a plain ``Add``, that
    may rectify its output in place for the ReLU layer after it (see ``_inference.takes_relu``)."""
    if isinstance(layer, BaseConv):
        return _plain_conv(layer) and layer.activation is activations.linear
    if isinstance(layer, Add):
        return (
            type(layer).call is Merge.call
            and type(layer)._merge_function is Add._merge_function
            and layer.built
            and _plain_layer(layer)
        )
    return False


def _relu_takeovers(linked, folds):
    """``(layer, relu, after_bn)`` where ``relu`` (a plain ``ReLU`` / ``Activation("relu")``)
    reads only the output of ``layer`` (a convolution or an ``Add``; ``after_bn`` false), or only
    the output of the BatchNormalization folded into the convolution ``layer`` (``after_bn``
    true)."""
    folded_into = {id(bn): conv for conv, bn in folds}
    found = []
    for a, b in linked:
        conv = folded_into.get(id(a), a)
        if _relu_layer(b) and _relu_taker(conv):
            found.append((conv, b, conv is not a))
    return found


def _narrow_dense(layer):
    """Whether ``layer`` is a plain narrow ``Dense`` that may use a transposed kernel copy."""
    return (
        isinstance(layer, Dense)
        and type(layer).call is Dense.call
        and layer.built
        and not layer.lora_enabled
        and layer.units <= NARROW_UNITS
        and _plain_layer(layer)
        and layer.kernel.dtype == torch.float32
    )


def _graph(model):
    """``(plan, children)`` of ``model``'s own graph: the functional plan (``None`` for a
    Sequential's stack) and the layers it calls in order (a layer called twice appears twice);
    ``(None, None)`` when it has no graph (a subclassed model's ``call``)."""
    stack = model.__dict__.get("_stack")
    if stack is not None and model.__dict__.get("_symbolic_plan") is None:
        return None, list(stack)
    plan = model.__dict__.get("_plan")
    if plan is not None:
        return plan, [step.layer for step in plan if hasattr(step, "layer")]
    return None, None


def _graphs(model):
    """``(owner, plan, children)`` for ``model``'s graph and each graph nested in it, each once,
    and ``uses``: how many places of all these graphs call each layer (by id). A layer without a
    graph (a subclassed layer's own ``call``) may call any layer it holds, so those count as used
    there too."""
    graphs, seen, uses = [], set(), {}

    def visit(owner):
        if id(owner) in seen:
            return
        seen.add(id(owner))
        plan, children = _graph(owner)
        if children is None:
            for layer in owner._flatten_layers(include_self=False):
                uses[id(layer)] = uses.get(id(layer), 0) + 1
            return
        graphs.append((owner, plan, children))
        for child in children:
            uses[id(child)] = uses.get(id(child), 0) + 1
            if child is not owner:
                visit(child)

    visit(model)
    return graphs, uses


def _graph_layers(graphs):
    """The layers the ``graphs`` call, each once."""
    return list({id(c): c for _, _, children in graphs for c in children}.values())


def _linked_pairs(model, walked=None):
    """``(first, second)`` layer pairs in ``model``'s graph and the graphs nested in it where each
    layer is called in one place only and only ``second`` reads ``first``'s output. ``walked``:
    ``_graphs(model)``, when the caller has it already."""
    graphs, uses = walked or _graphs(model)
    found = []
    for owner, plan, children in graphs:
        if plan is not None:
            pairs = _plan_pairs(owner, plan)
        else:
            pairs = zip(children, children[1:])
        # One place in all the graphs: a layer also used elsewhere (another level, a subclassed
        # layer's call) would be rewritten there too.
        found.extend((a, b) for a, b in pairs if uses[id(a)] == 1 and uses[id(b)] == 1)
    return found


def _plan_pairs(model, plan):
    if not all(hasattr(step, "args") and hasattr(step, "layer") for step in plan):
        return []  # a step of another kind (a symbolic loss) reads values this cannot see
    readers = {}
    for step in plan:
        flat = tree.flatten((step.args, step.kwargs))
        for i in {id(t) for t in flat if symbolic.is_keras_tensor(t)}:
            readers[i] = readers.get(i, 0) + 1
    for i in model._output_ids:
        readers[i] = readers.get(i, 0) + 1
    producer = {step.output_ids[0]: step for step in plan if len(step.output_ids) == 1}
    found = []
    for step in plan:
        source = producer.get(step.simple_id) if step.simple_id is not None else None
        if (
            source is not None
            and not step.kwargs
            and not source.kwargs
            and readers.get(step.simple_id) == 1
        ):
            found.append((source.layer, step.layer))
    return found


@contextlib.contextmanager
def folded(model, step_name):
    """Run the loop's inference steps with the model's Conv + BatchNormalization pairs folded.

    Args:
        model: The model (a ``Trainer``).
        step_name: ``"predict_step"`` or ``"test_step"``: no folding when the model's class
            overrides it (a custom step may call the model in training mode).
    """
    from lamina.trainers.trainer import Trainer

    if getattr(type(model), step_name) is not getattr(Trainer, step_name) or model.__dict__.get(
        "_inference_folded"
    ):
        yield
        return
    marks = []  # (layer, keys): flags set for this loop, and keys the layers may set during it

    def mark(layer, key, value, *transient):
        layer.__dict__[key] = value
        marks.append((layer, (key,) + transient))

    # One walk of the graphs serves every rewrite.
    walked = _graphs(model)
    graphs = walked[0]
    linked = _linked_pairs(model, walked)
    pairs = [pair for pair in linked if _foldable(*pair)]
    for conv, bn in pairs:
        mark(conv, "_inference_fold", _kept(model, ConvBatchNormFold, conv, bn))
        mark(bn, "_inference_absorbed", True)
    for conv, pool in (pair for pair in linked if _deferrable(*pair)):
        mark(conv, "_inference_relu_deferred", True)
        mark(pool, "_inference_relu_deferred", True)
    for run in _crop_chains(linked):
        mark(run[0], "_inference_crop", _kept(model, CropChain, *run))
    for conv, pool in (pair for pair in linked if _chunkable(*pair)):
        mark(conv, "_inference_chunk_pool", pool)
        marks.append((pool, ("_inference_pooled",)))
        if _fusable_max_pool(conv, pool):
            mark(conv, "_inference_fused_pool", pool)
    for conv, relu, after_bn in _relu_takeovers(linked, pairs):
        mark(conv, "_inference_relu", (relu, after_bn))
        marks.append((relu, ("_inference_rectified",)))
    for layer in _graph_layers(graphs):
        if _narrow_dense(layer):
            mark(layer, "_inference_transposed", _kept(model, TransposedKernel, layer))
    model.__dict__["_inference_folded"] = True
    try:
        yield
    finally:
        model.__dict__.pop("_inference_folded", None)
        for layer, keys in marks:
            for key in keys:
                layer.__dict__.pop(key, None)


def _kept(model, make, *layers):
    """``make(*layers)``, kept on ``model`` from loop to loop: the folded and transposed weights it
    holds are then remade only when their sources change. Made anew when other layers took the
    ids of those it was made for."""
    cache = model.__dict__.setdefault("_inference_kept", {})
    key = (make, tuple(id(layer) for layer in layers))
    entry = cache.get(key)
    if entry is None or any(a is not b for a, b in zip(entry[0], layers)):
        entry = cache[key] = (layers, make(*layers))
    return entry[1]


def _signature(x):
    flat = tree.flatten(x)
    return tuple((tuple(t.shape), t.dtype) if torch.is_tensor(t) else type(t) for t in flat)


# jit_compile="auto": a loop's forward pass is compiled once it has run eagerly for this many
# seconds in all (counted from its first call, or from when quantization or a new `jit_compile`
# replaced it), and at least as long as compiling it is expected to take, so that a compilation
# that does not pay back costs at most the time already spent. The compile time grows with the
# torch calls in a forward pass (functions, tensor methods and attribute reads, roughly what the
# compiler traces): measured on this project's 2-core CPU with torch's compile cache empty, the
# Keras MNIST convnet (87 calls per forward pass) compiled in 11 s (3 s with the cache filled)
# and then predicted 28% faster (5.4 -> 3.9 ms per batch of 128); MobileNetV2 at 96x96 (1672
# calls) in 37 s, then 36% faster; an RNN of an LSTMCell over 100 steps (2036 calls) in 27 s,
# then 45% faster; the transformer and ResNet-style blocks of `bench/workloads.py` gained 5-6%.
# Hence 30 s at least, and 0.02 s per call. (On a GPU the eager time is the host's: launching
# the kernels, not waiting for them.)
AUTO_COMPILE_AFTER = 30.0
COMPILE_SECONDS_PER_CALL = 0.02


class _CallCounter(TorchFunctionMode):
    """Counts the torch functions, tensor methods and attribute reads called under it."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def _counting_calls():
    # Code the user compiled runs eagerly meanwhile: compiled under the counter, it would be
    # compiled again without it (dynamo guards on the active modes).
    counter = _CallCounter()
    with torch.compiler.set_stance("force_eager"), counter:
        yield counter


class _CompiledPredict:
    """The compiled-or-eager forward pass of ``predict`` or ``evaluate``, for one batch signature
    (the first one seen; others run eagerly).

    Under ``jit_compile="auto"`` it runs eagerly, timing each call, until the calls have taken
    ``AUTO_COMPILE_AFTER`` seconds (more for a long forward pass); then it compiles as under
    ``jit_compile=True`` (measuring both paths and keeping the faster), saying so once in the log.
    """

    def __init__(self, what="predict step", auto=False):
        self.auto = auto
        self.eager_seconds = 0.0
        self.compile_after = None  # seconds, from the first call's torch calls
        self._what = what
        self.step = None
        self.signature = None

    def __call__(self, model, x):
        if self.step is None:
            if self.signature is None:
                self.signature = _signature(x)
            if self.auto:
                return self._eager(model, x)
            self.step = self._compiled_step(model, x)
        elif _signature(x) != self.signature:
            return model(x, training=False)
        return self.step(x, None, None)

    def _compiled_step(self, model, x):
        # On the CPU a call's outputs are complete when it returns: its trials time the call
        # alone. On an accelerator a call returns once its kernels are queued, so the call alone
        # would time only the queuing; the trials run to the next call, which waits for them
        # when the loop does.
        on_cpu = all(t.device.type == "cpu" for t in tree.flatten(x) if torch.is_tensor(t))
        return CompiledStep(
            model, function=model._predict_forward, what=self._what, auto=self.auto, per_call=on_cpu
        )

    def _eager(self, model, x):
        start = time.perf_counter()
        if self.compile_after is None:
            with _counting_calls() as counter:
                outputs = model(x, training=False)
            self.compile_after = max(AUTO_COMPILE_AFTER, COMPILE_SECONDS_PER_CALL * counter.calls)
        else:
            outputs = model(x, training=False)
        self.eager_seconds += time.perf_counter() - start
        if self.eager_seconds >= self.compile_after:
            logger.info(
                '`jit_compile="auto"`: the %s of model \'%s\' has run eagerly for %.0f s; '
                "trying torch.compile on it (`jit_compile=False` keeps it eager).",
                self._what, model.name, self.eager_seconds,
            )
            self.step = self._compiled_step(model, x)
        return outputs


def predict_forward(model, x, loop="predict"):
    """``model(x, training=False)``, through ``torch.compile`` when ``jit_compile`` asks for it.

    Called by the default ``predict_step`` and ``test_step`` (under ``no_grad``). With
    ``jit_compile=True`` the forward pass is compiled from its second call (the first builds);
    with ``"auto"`` (the default) once it has run eagerly for ``AUTO_COMPILE_AFTER`` seconds or
    more. ``run_eagerly`` keeps it eager.

    Args:
        model: The model (a ``Trainer``).
        x: The batch's inputs.
        loop: ``"predict"`` or ``"evaluate"``: each loop keeps its own compiled forward pass (and
            its own compiled-or-eager choice), for the batch shape it first sees.
    """
    jit = model._jit_compile
    if not (jit or model._auto_jit_compile) or model.run_eagerly or torch.is_grad_enabled():
        return model(x, training=False)
    state = model.__dict__
    key = "_predict_function" if loop == "predict" else "_test_function"
    compiled = state.get(key)
    if compiled is None or compiled.auto == jit:
        compiled = state[key] = _CompiledPredict(what=f"{loop} step", auto=not jit)
    return compiled(model, x)
