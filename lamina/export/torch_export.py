"""``format="torch"``: the model as a ``torch.export`` program in a ``.pt2`` file.

The native export format: ``torch.export.load(path).module()`` runs the model again without
Lamina, and the same program feeds AOTInductor, ExecuTorch and torch's ONNX exporter.
"""

import contextlib
import inspect
import warnings

import torch

from lamina.export import export_utils
from lamina.utils import io_utils


def export_torch(model, filepath, input_signature=None, verbose=None, **kwargs):
    """Export ``model`` as a ``torch.export.ExportedProgram`` saved with ``torch.export.save``.

    Args:
        model: A built Lamina model (or layer, with ``input_signature``).
        filepath: Path of the artifact; must end with ``.pt2``.
        input_signature: Inputs of the model's call (see ``Model.export``); defaults to the
            model's own inputs. ``None`` dimensions stay dynamic.
        verbose: Print where the artifact was written (default ``True``).
        **kwargs: Passed to ``torch.export.export``: ``strict`` (default ``False``),
            ``dynamic_shapes`` (default: every ``None`` dimension of the signature),
            ``preserve_module_call_signature``, ...

    Returns:
        ``filepath``.

    Example:

    >>> model.export("model.pt2", format="torch")
    >>> program = torch.export.load("model.pt2")
    >>> program.module()(torch.randn(4, 3))
    """
    filepath = str(filepath)
    if not filepath.endswith(".pt2"):
        raise ValueError(
            f"`format='torch'` writes a `.pt2` file; `filepath` must end with '.pt2'. Got: {filepath}"
        )
    program = export_program(model, input_signature, **kwargs)
    torch.export.save(program, filepath)
    if verbose is None or verbose:
        io_utils.print_msg(f"Saved PyTorch ExportedProgram at '{filepath}'.")
    return filepath


def export_program(model, input_signature=None, **kwargs):
    """Trace ``model`` with ``torch.export.export`` from its input signature; return the program."""
    allowed = set(inspect.signature(torch.export.export).parameters) - {"mod", "args", "kwargs"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(
            f"Unsupported arguments for `format='torch'`: {', '.join(unknown)}. Supported "
            f"arguments (those of torch.export.export): {', '.join(sorted(allowed))}."
        )
    signature = resolve_signature(model, input_signature)
    args = export_utils.sample_inputs(signature, device=device_of(model))
    kwargs.setdefault("strict", False)
    if kwargs.get("dynamic_shapes") is None:
        kwargs["dynamic_shapes"] = export_utils.dynamic_shapes(signature)
    elif isinstance(kwargs["dynamic_shapes"], dict) and len(args) == 1 and all(
        isinstance(k, int) for k in kwargs["dynamic_shapes"]
    ):
        # `{0: Dim("batch")}` for a one-input model, as Keras accepts it.
        kwargs["dynamic_shapes"] = (kwargs["dynamic_shapes"],)
    with tracing(model):
        return torch.export.export(model, args, **kwargs)


def resolve_signature(model, input_signature):
    if input_signature is None:
        return export_utils.get_input_signature(model)
    return export_utils.standardize_signature(input_signature)


def device_of(model):
    for param in model.parameters():
        return param.device
    return None


@contextlib.contextmanager
def tracing(model):
    """Inference settings while a model is traced, restored afterwards.

    Lamina layers run in inference mode whenever no ``training=True`` is passed; ``eval()`` only
    tells torch's exporters (which warn about modules left in training mode) what Lamina does.
    """
    # Per module: `train(flag)` on the root would overwrite every submodule's own setting.
    was_training = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        # No autograd in a serving program; it also keeps the `torch.no_grad()` blocks of
        # variable updates out of the graph (torch 2.13 cannot reload a saved program with them).
        with torch.no_grad(), warnings.catch_warnings():
            # Lamina keeps a variable both in `_parameters` and as a plain attribute (see
            # `layers/_parameter_mirror.py`); torch's lifting check reports the alias.
            warnings.filterwarnings("ignore", message=r".*not properly registered as a submodule.*")
            yield
    finally:
        for module, flag in was_training:
            module.training = flag
