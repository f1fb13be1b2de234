"""LoRA for ``Conv1D`` / ``Conv2D`` / ``Conv3D``: the factors, the merged kernel and saving.

As in Keras 3.15: ``lora_kernel_a`` has the kernel's shape with ``rank`` in place of the
filters axis, ``lora_kernel_b`` is ``(rank, filters)``, the kernel is frozen, and a saved LoRA
layer holds the merged kernel (so a plain layer loads it).
"""

import torch


class ConvLora:
    """``enable_lora`` for the N-D convolution layers."""

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the kernel and train a low-rank update ``lora_kernel_a @ lora_kernel_b`` instead.

        The layer convolves with ``kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b``.

        Args:
            rank: Inner dimension of the two factors.
            lora_alpha: Scale numerator of the update; defaults to ``rank``.
            a_initializer: Initializer of ``lora_kernel_a`` ``(*kernel_size, in_channels, rank)``.
            b_initializer: Initializer of ``lora_kernel_b`` ``(rank, filters)`` (zeros: the layer
                starts out unchanged).

        Example:

        >>> layer = lamina.layers.Conv2D(8, 3)
        >>> layer.build((None, 16, 16, 3))
        >>> layer.enable_lora(4)
        >>> [w.name for w in layer.trainable_weights]
        ['bias', 'lora_kernel_a', 'lora_kernel_b']
        """
        self._check_lora_allowed(self.kernel_constraint, "kernel")
        base = self.__dict__["kernel"]
        self.lora_kernel_a, self.lora_kernel_b = self._add_lora_weights(
            base, "lora_kernel_a", "lora_kernel_b", tuple(base.shape[:-1]) + (rank,), (rank, self.filters),
            rank, lora_alpha, a_initializer, b_initializer, self.kernel_regularizer,
        )
        self.__dict__["_kernel"] = base
        self._set_computed_attribute("kernel", ConvLora._merged_kernel)
        self._install_variable_hooks()

    def _merged_kernel(self):
        kernel = self.__dict__["_kernel"]
        delta = (self.lora_alpha / self.lora_rank) * torch.matmul(self.lora_kernel_a, self.lora_kernel_b)
        return (kernel + delta).to(self._compute_torch_dtype)

    def _serialized_variables(self):
        return [self.__dict__["_kernel"]] + ([self.bias] if self.bias is not None else [])

    def _serialized_values(self):
        return [self._merged_kernel()] + ([self.bias] if self.bias is not None else [])
