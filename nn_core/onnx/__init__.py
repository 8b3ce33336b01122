"""ONNX bridge: ``load(path)`` builds an nn_core model from an ONNX graph.

Layout: nn_core images are NHWC, ONNX's NCHW. An ONNX input (N, C, H, W) becomes an
nn_core input (N, H, W, C), so the caller transposes the data, ``x.transpose(0, 2, 3,
1)``, and NCHW outputs come back as NHWC (``y.transpose(0, 3, 1, 2)`` gives ONNX's). A
graph whose 4-D input is read only by ``Transpose(perm=[0, 3, 1, 2])`` (an NHWC
exporter's) keeps its NHWC input as it is. Errors: ``OnnxImportError`` (a ValueError).
See ``importer`` for the layout tracking and ``_import_ops`` for the op table.
"""

from .importer import OnnxImportError, load

__all__ = ["OnnxImportError", "load"]
