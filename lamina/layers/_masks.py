"""Keras masks on eager tensors: carried as the tensor's ``_keras_mask`` attribute, collected
from a layer's inputs and attached to its outputs (never overwriting the caller's own tensor)."""

import torch

from lamina.backend import symbolic
from lamina.backend import tree


def keep_mask(src, dst):
    mask = getattr(src, "_keras_mask", None)
    if mask is not None:
        dst._keras_mask = mask
    return dst


def collect_mask(inputs):
    if isinstance(inputs, torch.Tensor) or symbolic.is_keras_tensor(inputs):
        return getattr(inputs, "_keras_mask", None)
    masks = tree.map_structure(lambda t: getattr(t, "_keras_mask", None), inputs)
    return None if all(m is None for m in tree.flatten(masks)) else masks


def attach_masks(outputs, masks, inputs):
    if masks is None:
        return outputs
    flat_in = {id(t) for t in tree.flatten(inputs)}
    if isinstance(outputs, torch.Tensor):
        if id(outputs) in flat_in and getattr(outputs, "_keras_mask", None) is not masks:
            # Never overwrite the mask carried by the caller's tensor: mark an alias instead.
            outputs = outputs.view_as(outputs)
        outputs._keras_mask = masks
        return outputs
    flat_out = tree.flatten(outputs)
    flat_masks = tree.flatten(masks) if tree.is_nested(masks) else [masks] * len(flat_out)
    new = []
    for out, m in zip(flat_out, flat_masks):
        if isinstance(out, torch.Tensor) and m is not None:
            if id(out) in flat_in:
                out = out.view_as(out)
            out._keras_mask = m
        new.append(out)
    return tree.pack_sequence_as(outputs, new)
