"""torch module hooks on layers.

``Layer.__call__`` skips ``torch.nn.Module``'s dispatch (its hook bookkeeping costs more than a
small layer's math). Registering a hook on a layer, or a global module hook with torch, sends the
calls through that dispatch instead, so hooks fire exactly as on any torch module.
"""

import torch

from lamina.backend import torch_compat
from lamina.backend.numpy_interop import mark_eager_output
from lamina.backend.call_context import CONTEXT
from lamina.backend import tree

# torch's registries of global module hooks (mutated in place by torch's register functions).
GLOBAL_FORWARD_HOOKS = torch.nn.modules.module._global_forward_hooks
GLOBAL_FORWARD_PRE_HOOKS = torch.nn.modules.module._global_forward_pre_hooks


class TorchHooks:
    """Hook registration that marks the layer for torch's dispatch (mixed into ``Layer``)."""

    _hooked = False

    def _mark_hooked(self):
        self.__dict__["_hooked"] = True

    def register_forward_pre_hook(self, *args, **kwargs):
        self._mark_hooked()
        return super().register_forward_pre_hook(*args, **kwargs)

    def register_forward_hook(self, *args, **kwargs):
        self._mark_hooked()
        return super().register_forward_hook(*args, **kwargs)

    def register_full_backward_pre_hook(self, *args, **kwargs):
        self._mark_hooked()
        return super().register_full_backward_pre_hook(*args, **kwargs)

    def register_full_backward_hook(self, *args, **kwargs):
        self._mark_hooked()
        return super().register_full_backward_hook(*args, **kwargs)

    def register_backward_hook(self, *args, **kwargs):
        self._mark_hooked()
        return super().register_backward_hook(*args, **kwargs)

    def _call_through_torch_hooks(self, args, kwargs):
        """Run the call inside ``torch.nn.Module``'s own dispatch, so hooks fire as on any module."""
        self.__dict__["_in_torch_dispatch"] = True
        try:
            outputs = torch.nn.Module._call_impl(self, *args, **kwargs)
        finally:
            self.__dict__["_in_torch_dispatch"] = False
        if CONTEXT.depth == 0 and not torch_compat.is_compiling():
            # A hook may have replaced the result: relabel what the user receives.
            tree.map_structure(mark_eager_output, outputs)
        return outputs
