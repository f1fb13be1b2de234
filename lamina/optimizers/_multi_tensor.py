"""Shared machinery of the built-in optimizers: one batched update for many variables.

The built-in update rules are written once, over lists of tensors, with torch's ``_foreach_*``
kernels: a step launches a handful of kernels for the whole model instead of a handful per variable.
Variables are grouped by device and dtype (the kernels need one of each); per-step scalars such as
the learning rate and the bias corrections are 0-d tensors on the device, so nothing is read back.
"""

import functools

import torch

from lamina.optimizers.base_optimizer import Optimizer


class MultiTensorOptimizer(Optimizer):
    """An optimizer whose rule is ``_update_many(grads, variables, learning_rate)`` over lists.

    ``update_step`` (one variable) runs the same rule on one-element lists. A subclass that
    overrides ``update_step`` gets it called per variable, as with a custom optimizer.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per variable list seen by `apply` (a training loop passes the same one every step): its
        # positions grouped by device and dtype, and the matching slot variables.
        self._groups_cache = {}
        self._slots_cache = {}

    def __setstate__(self, state):
        super().__setstate__(state)
        self._groups_cache, self._slots_cache = {}, {}  # keyed by the originals' ids

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if type(self).update_step is not MultiTensorOptimizer.update_step:
            super()._backend_update_step(grads, trainable_variables, learning_rate)
            return
        key = tuple(map(id, trainable_variables))
        groups = self._groups_cache.get(key)
        if groups is None:
            groups = _group_by_device_and_dtype(trainable_variables)
            if len(self._groups_cache) >= 16:
                self._groups_cache.clear()
            self._groups_cache[key] = groups
        if len(groups) == 1:
            self._update_many(grads, trainable_variables, learning_rate)
            return
        for positions in groups:
            self._update_many(
                [grads[i] for i in positions],
                [trainable_variables[i] for i in positions],
                learning_rate,
            )

    def update_step(self, gradient, variable, learning_rate):
        with torch.no_grad():
            self._update_many([gradient], [variable], learning_rate)

    def _update_many(self, grads, variables, learning_rate):
        """Update `variables` (same device and dtype) in place; runs under ``torch.no_grad()``."""
        raise NotImplementedError

    def _gather(self, slots, variables):
        """The slot variables of `slots` (a list built per model variable) matching `variables`."""
        key = (id(slots), tuple(map(id, variables)))
        gathered = self._slots_cache.get(key)
        if gathered is None:
            index = self._trainable_variables_indices
            gathered = [slots[index[id(v)]] for v in variables]
            if len(self._slots_cache) >= 64:
                self._slots_cache.clear()
            self._slots_cache[key] = gathered
        return gathered

    def _local_step(self, like):
        """``iterations + 1`` as a 0-d tensor of `like`'s float dtype (1 on the first update)."""
        return (self.iterations + 1).to(like.dtype)

    def _local_step_value(self):
        """``iterations + 1`` as a Python int: reads the device (cheap only on the CPU)."""
        return int(self.iterations) + 1


def _group_by_device_and_dtype(variables):
    """Positions of `variables` grouped by (device, dtype), in first-seen order."""
    groups = {}
    for position, v in enumerate(variables):
        groups.setdefault((v.device, v.dtype), []).append(position)
    return list(groups.values())


def complement_in_dtype(value, like):
    """``1 - value`` with `value` first rounded to `like`'s dtype.

    Where Keras casts a hyperparameter to the variable's dtype before taking ``1 - beta``, the
    rounding of ``beta`` (e.g. 0.999 in float32) shows in the result; this reproduces it.
    """
    return _complement_in_dtype(float(value), like.dtype)


@functools.lru_cache(maxsize=64)
def _complement_in_dtype(value, dtype):
    # Computed once per (value, dtype) on a host tensor, never per step.
    return 1.0 - torch.tensor(value, dtype=dtype).item()


def cast_scalar(value, like):
    """A 0-d tensor (e.g. the learning rate) in `like`'s dtype and device, as Keras casts it."""
    # Asked every step and usually already right: comparing costs half of a no-op `.to`.
    if value.dtype is like.dtype and value.device == like.device:
        return value
    return value.to(device=like.device, dtype=like.dtype)
