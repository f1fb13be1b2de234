"""Export Lamina models for serving: ``torch.export`` programs (``.pt2``) and ONNX files.

``Model.export(path, format="torch" | "onnx")`` writes one model; ``ExportArchive`` writes several
endpoints into one ``.pt2`` archive and ``load_archive`` reads it back. ONNX export needs the
optional packages ``onnx`` and ``onnxscript`` (``pip install lamina[export]``).
"""

from lamina.export.export_archive import ExportArchive, load_archive
