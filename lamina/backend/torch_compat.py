"""Every private torch API Lamina uses, in one place, so a torch upgrade is checked here.

Lamina pins torch 2.13 in CI; these names exist there. Each is wrapped in a small function or
re-exported under a stable name so the rest of the package never imports ``torch._*`` itself.
"""

import torch
import torch.compiler
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily

__all__ = ["FakeTensorMode", "unset_fake_temporarily", "is_compiling"]


def is_compiling():
    """Whether torch.compile or torch.export is tracing the running code (public API; here so
    that every version-sensitive torch question is asked in one module)."""
    return torch.compiler.is_compiling()
