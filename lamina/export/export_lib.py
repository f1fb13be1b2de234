"""``Model.export``: one entry point choosing the exporter by ``format``."""

from lamina.export.onnx import export_onnx
from lamina.export.torch_export import export_torch

_FORMATS = ("torch", "onnx")
# Keras's formats that need TensorFlow (or another toolchain Lamina does not use).
_TENSORFLOW_FORMATS = {
    "tf_saved_model": "a TensorFlow SavedModel, which Keras builds with TensorFlow",
    "litert": "a LiteRT (TFLite) flatbuffer, which Keras builds with TensorFlow or litert-torch",
    "openvino": "an OpenVINO model, which Keras builds from a TensorFlow or OpenVINO graph "
    "(OpenVINO reads the file of format='onnx' directly)",
}


def export_model(model, filepath, format="torch", verbose=None, input_signature=None, **kwargs):
    """Export ``model`` for inference in ``format`` (see ``Model.export``)."""
    if format == "torch_export":
        format = "torch"
    if format in _TENSORFLOW_FORMATS:
        raise ValueError(
            f"format={format!r} writes {_TENSORFLOW_FORMATS[format]}; Lamina runs on PyTorch and "
            "does not write it. Lamina offers "
            "format='torch' (a torch.export program, .pt2) and format='onnx' (an ONNX file, "
            "which ONNX Runtime, OpenVINO and TensorRT load); `lamina.export.ExportArchive` "
            "writes several endpoints into one .pt2 file."
        )
    if format == "torch":
        return export_torch(model, filepath, input_signature=input_signature, verbose=verbose, **kwargs)
    if format == "onnx":
        return export_onnx(model, filepath, verbose=verbose, input_signature=input_signature, **kwargs)
    raise ValueError(
        f"Unrecognized format={format!r}. Supported formats are: {list(_FORMATS)} (Keras's "
        f"TensorFlow formats {sorted(_TENSORFLOW_FORMATS)} are not available in Lamina)."
    )
