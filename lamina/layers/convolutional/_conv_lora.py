"""LoRA for ``Conv1D`` / ``Conv2D`` / ``Conv3D``: the factors, the merged kernel and saving.

As in Keras 3.15: ``lora_kernel_a`` has the kernel's shape with ``rank`` in place of the
filters axis, ``lora_kernel_b`` is ``(rank, filters)``, the kernel is frozen, and a saved LoRA
layer holds the merged kernel (so a plain layer loads it).
"""

from lamina.layers._quantized_weights import LoraKernel


class ConvLora(LoraKernel):
    """``enable_lora`` for the N-D convolution layers (``LoraKernel``'s) and their saving."""

    def _serialized_variables(self):
        return [self.__dict__["_kernel"]] + ([self.bias] if self.bias is not None else [])

    def _serialized_values(self):
        return [self._merged_kernel()] + ([self.bias] if self.bias is not None else [])
