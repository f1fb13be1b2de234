"""``format="onnx"``: the model as an ONNX file, through torch's own exporter.

torch 2.13 has two ONNX exporters. ``torch.onnx.export(..., dynamo=True)`` (the default since torch
2.9) converts a ``torch.export`` program, so it sees exactly what ``format="torch"`` exports,
keeps ``None`` dimensions symbolic and is maintained; it needs the ``onnxscript`` package. The
TorchScript exporter (``dynamo=False``) is deprecated, replays the model on one sample input (so
Python-side shape logic freezes) and is not used here.
"""

import importlib.util
import inspect

import torch

from lamina.export import export_utils
from lamina.export.torch_export import device_of, resolve_signature, tracing
from lamina.utils import io_utils


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None, **kwargs):
    """Export ``model`` as an ONNX file (needs ``pip install onnx onnxscript``).

    Args:
        model: A built Lamina model.
        filepath: Path of the ``.onnx`` file.
        verbose: Print where the artifact was written (default ``True``).
        input_signature: Inputs of the model's call; defaults to the model's own inputs.
            ``None`` dimensions are dynamic dimensions of the ONNX graph (the batch one is named
            ``batch``).
        opset_version: ONNX opset; torch's default when ``None``.
        **kwargs: Passed to ``torch.onnx.export`` (for example ``optimize``, ``external_data``).

    Example:

    >>> model.export("model.onnx", format="onnx")
    >>> session = onnxruntime.InferenceSession("model.onnx")
    >>> session.run(None, {session.get_inputs()[0].name: x})
    """
    _require("onnx", "onnxscript")
    for reserved in ("dynamo", "dynamic_axes", "dynamic_shapes", "input_names", "f", "args", "kwargs"):
        if reserved in kwargs:
            raise ValueError(
                f"`{reserved}` is set by `export(format='onnx')` itself and cannot be passed. "
                "Use `input_signature` to choose the inputs and their dynamic dimensions."
            )
    signature = resolve_signature(model, input_signature)
    args = export_utils.sample_inputs(signature, device=device_of(model))
    shapes = export_utils.dynamic_shapes(signature, batch_name="batch")
    call_kwargs = None
    if args and isinstance(args[-1], dict):
        # torch.onnx reads a trailing dict in `args` as keyword arguments; a model taking a dict
        # of inputs gets them by parameter name instead.
        names = list(inspect.signature(model.forward).parameters)[: len(args)]
        call_kwargs, args = dict(zip(names, args)), ()
        shapes = dict(zip(names, shapes)) if shapes is not None else None
    with tracing(model):
        program = torch.onnx.export(
            model,
            args,
            kwargs=call_kwargs,
            dynamic_shapes=shapes,
            input_names=export_utils.input_names(signature),
            opset_version=opset_version,
            dynamo=True,
            verbose=False,
            **kwargs,
        )
    program.save(str(filepath))
    if verbose is None or verbose:
        io_utils.print_msg(f"Saved artifact at '{filepath}'.")
    return filepath


def _require(*packages):
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise ImportError(
            f"Exporting to ONNX needs the package(s) {', '.join(missing)}: "
            f"`pip install {' '.join(missing)}` (or `pip install lamina[export]`, which also installs "
            "onnxruntime to run the exported file)."
        )
