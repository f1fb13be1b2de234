"""Every private torch API Lamina uses, in one place, so a torch upgrade is checked here.

Lamina pins torch 2.13 in CI; these names exist there. Each is wrapped in a small function or
re-exported under a stable name so the rest of the package never imports ``torch._*`` itself.
"""

import torch
import torch.compiler
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily

from torch.utils._python_dispatch import _disable_current_modes as without_dispatch_modes

__all__ = [
    "FakeTensorMode",
    "unset_fake_temporarily",
    "without_dispatch_modes",
    "is_compiling",
    "is_exporting",
    "package_pt2",
    "load_pt2",
]


# Whether torch.compile or torch.export is tracing the running code (public API; here so that every
# version-sensitive torch question is asked in one module). An alias, not a wrapper: the layer call
# asks it on every call.
is_compiling = torch.compiler.is_compiling
# Whether torch.export (not torch.compile) is tracing it.
is_exporting = torch.compiler.is_exporting


def package_pt2(f, exported_programs, extra_files=None):
    """Write several named ``torch.export`` programs (and text files) into one PT2 archive.

    ``torch.export.save`` writes one program under the name ``"model"``; the archive format
    behind it holds any number, through this private function.
    """
    from torch.export.pt2_archive._package import package_pt2 as _package_pt2

    return _package_pt2(f, exported_programs=exported_programs, extra_files=extra_files)


def load_pt2(f):
    """Every program and text file of a PT2 archive (``.exported_programs``, ``.extra_files``)."""
    from torch.export.pt2_archive._package import load_pt2 as _load_pt2

    return _load_pt2(f)
