"""The calibration ``Model.quantize("gptq" | "awq")`` runs after the layers got their variables.

The model is walked block by block (``{"pre_block_layers": [...], "sequential_blocks":
[...]}``): calibration windows of token ids go through the pre-block layers once; each block then
runs on every sample while its ``Dense`` / ``EinsumDense`` layers record their inputs (GPTQ: the
Hessian, AWQ: the largest magnitude per input channel); the layers are quantized, and the block
runs again, now quantized, to make the next block's inputs. So each block is calibrated on the
inputs the already-quantized blocks before it produce, as in Keras 3.15.
"""

import contextlib
import math

import numpy as np
import torch

from lamina.ops import awq as _awq
from lamina.ops import gptq as _gptq

_NAMES = {"gptq": "GPTQ", "awq": "AWQ"}


def check_calibration_inputs(mode, config, structure):
    """Refuse a config without data or a model without a block structure, before any change."""
    name = _NAMES[mode]
    if config.dataset is None or config.tokenizer is None:
        raise ValueError(
            f"{name} quantization requires a dataset and a tokenizer. Please provide them in the "
            f"`{name}Config`."
        )
    if structure is None:
        raise ValueError(
            f"For mode='{mode}', a valid quantization structure must be provided either via "
            "`config.quantization_layer_structure` or by overriding "
            "`model.get_quantization_layer_structure(mode)`. The structure should be a dictionary "
            "with keys 'pre_block_layers' and 'sequential_blocks'."
        )
    if not structure.get("sequential_blocks"):
        raise ValueError("No sequential blocks found in the provided structure to quantize.")


def _to_numpy(tokens):
    if isinstance(tokens, torch.Tensor):
        return tokens.detach().cpu().numpy()
    return np.asarray(tokens)


def calibration_windows(tokenizer, sequence_length, dataset, num_samples, seed=42):
    """``num_samples`` windows of ``sequence_length`` token ids: ``(num_samples, 1, length)`` int32.

    The samples are tokenized (strings) or flattened (arrays) and concatenated, repeated when
    too short, and cut at evenly strided starts from an offset derived from ``seed`` (Keras's
    "strided" sampling, with the same offset rule).
    """
    if not hasattr(dataset, "__iter__") or isinstance(dataset, (str, bytes)):
        raise TypeError(
            "The `dataset` argument must be an iterable (e.g., a list of strings, a generator, or a "
            f"NumPy array). Got type: {type(dataset).__name__}. Please pass the loaded dataset directly."
        )
    samples = list(dataset)
    if not samples:
        raise ValueError("Provided dataset is empty.")
    if isinstance(samples[0], str):
        pieces = [_to_numpy(tokenizer.tokenize(s)).reshape(-1) for s in samples]
    else:
        pieces = [_to_numpy(s).reshape(-1) for s in samples]
    tokens = np.concatenate(pieces).astype(np.int32, copy=False)
    needed = num_samples * sequence_length
    if tokens.size < needed:
        tokens = np.tile(tokens, math.ceil(needed / max(1, tokens.size)))
    max_start = tokens.size - sequence_length
    if max_start < 0:
        raise ValueError(f"Not enough tokens to form one sample of length {sequence_length} (have {tokens.size}).")
    stride = max(1, (max_start + 1) // num_samples)
    offset = abs(hash(("gptq-calib", seed))) % (max_start + 1) if max_start > 0 else 0
    starts = (offset + np.arange(num_samples, dtype=np.int64) * stride) % (max_start + 1)
    windows = np.lib.stride_tricks.sliding_window_view(tokens, sequence_length)[starts]
    return windows.astype(np.int32)[:, None, :]


def block_leaves(structure):
    """The leaf layers of the structure's sequential blocks, each once, in order."""
    seen, leaves = set(), []
    for block in structure["sequential_blocks"]:
        for layer in block._flatten_layers():
            if id(layer) not in seen and len(layer._flatten_layers()) == 1:
                seen.add(id(layer))
                leaves.append(layer)
    return leaves


def _block_layers(block, mode, selected):
    """The leaf layers of ``block`` prepared for ``mode`` (``quantize`` gave them its variables)."""
    found = {}
    for layer in block._flatten_layers():
        if len(layer._flatten_layers()) != 1 or layer.quantization_mode != mode:
            continue
        if layer.__dict__.get("_calibrated", True) or not selected(layer):
            continue
        found[getattr(layer, "path", layer.name)] = layer
    return found


@contextlib.contextmanager
def _recording_inputs(layers, record):
    """Call ``record(name, inputs)`` on each layer's inputs while the block runs."""
    saved = {}

    def hook(name, call):
        def recording_call(*args, **kwargs):
            record(name, args[0] if args else kwargs["inputs"])
            return call(*args, **kwargs)

        return recording_call

    try:
        for name, layer in layers.items():
            saved[name] = layer.__dict__.get("call")
            layer.__dict__["call"] = hook(name, layer.call)
        yield
    finally:
        for name, layer in layers.items():
            if saved.get(name) is None:
                layer.__dict__.pop("call", None)
            else:
                layer.__dict__["call"] = saved[name]


def _batched(sample):
    return sample[None] if sample.dim() == 2 else sample


def _quantize_block(block, layers, inputs, mode, config):
    if mode == "gptq":
        stats = {name: (torch.zeros(layer.calibration_rows(), layer.calibration_rows()), 0) for name, layer in layers.items()}
    else:
        stats = {name: torch.zeros(layer.calibration_rows()) for name, layer in layers.items()}

    def record(name, x):
        x = x.reshape(-1, layers[name].calibration_rows())
        if mode == "gptq":
            stats[name] = _gptq.update_hessian(*stats[name], x)
        else:
            stats[name] = _awq.update_activation_magnitudes(stats[name], x)

    with _recording_inputs(layers, record):
        for sample in inputs:
            block(_batched(sample))
    for name, layer in layers.items():
        kernel = layer.calibration_kernel()
        if mode == "gptq":
            quantized, scale, zero, g_idx = _gptq.gptq_quantize_layer_kernel(
                kernel, stats[name][0], weight_bits=config.weight_bits, group_size=config.group_size,
                symmetric=config.symmetric, per_channel=config.per_channel,
                activation_order=config.activation_order, hessian_damping=config.hessian_damping,
            )
            layer.store_calibration(quantized, scale, zero, g_idx)
        else:
            quantized, scale, zero, awq_scales, g_idx = _awq.awq_quantize_matrix(
                kernel.T, stats[name], num_grid_points=config.num_grid_points, group_size=config.group_size
            )
            layer.store_calibration(quantized, scale, zero, g_idx, awq_scales=awq_scales)


def calibrate(mode, config, structure, selected):
    """Calibrate and quantize, block by block, the layers ``selected`` (a predicate) accepts."""
    from lamina.utils.progbar import Progbar

    windows = calibration_windows(config.tokenizer, config.sequence_length, config.dataset, config.num_samples)
    blocks = structure["sequential_blocks"]
    with torch.no_grad():
        inputs = []
        for window in windows:  # `num_samples` of them
            x = torch.as_tensor(window, dtype=torch.int32)
            for layer in structure.get("pre_block_layers", []):
                x = layer(x)
            inputs.append(x)
        progbar = Progbar(target=len(blocks))
        for index, block in enumerate(blocks):
            layers = _block_layers(block, mode, selected)
            if layers:
                _quantize_block(block, layers, inputs, mode, config)
            if index < len(blocks) - 1:
                # Each sample keeps its batch axis of 1 (Keras drops and restores it, which works
                # for 2-D outputs only and fails on a block returning per-head 4-D outputs).
                inputs = [block(_batched(sample)) for sample in inputs]
            progbar.update(index + 1)
