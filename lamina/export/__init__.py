"""Export Lamina models for serving: ``torch.export`` programs (``.pt2``) and ONNX files.

``Model.export(path, format="torch" | "onnx")`` writes one model; ``ExportArchive`` writes several
endpoints into one ``.pt2`` archive and ``load_archive`` reads it back. ONNX export needs the
optional packages ``onnx`` and ``onnxscript`` (``pip install lamina[export]``).
"""

from lamina.export.export_archive import ExportArchive, load_archive

# `Model.export` (a floor below) calls the exporter through the door models keep for it.
from lamina.export import export_lib as _export_lib  # noqa: E402
from lamina.models import _archive as _models_archive  # noqa: E402

_models_archive.set_exporter(_export_lib.export_model)
