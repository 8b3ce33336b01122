"""ONNX export and import (needs the 'onnx' extra: ``pip install 'nn-core-autoencoders[onnx]'``).

``nn_core.onnx.export(model, "model.onnx")`` writes what ``model.predict`` computes as an
ONNX graph; ``nn_core.onnx.load("model.onnx")`` builds an nn_core model from one (for
instance a graph ``torch.onnx.export`` wrote).

    import nn_core.onnx
    nn_core.onnx.export(autoencoder.model, "autoencoder.onnx")   # or .encoder, .decoder
    session = onnxruntime.InferenceSession("autoencoder.onnx")
    x_hat = session.run(None, {"input": x})[0]                   # == model.predict(x)

Layout decisions:

* The graph's inputs and outputs are nn_core's: NHWC images, (batch, *sample_shape) with a
  dynamic batch axis named "batch", the model's dtype (float32 or float64) and its input
  and output names. Inside, each op that ONNX defines on NCHW (Conv, ConvTranspose,
  MaxPool, AveragePool, Resize, BatchNormalization on images) is wrapped in Transpose
  nodes, and the pairs that cancel between two such ops are removed, so a conv stack
  transposes once on the way in and once on the way out.
* Kernels are converted to ONNX's layouts in the file (Conv: (F, C, kh, kw) from Keras's
  (kh, kw, C, F)); a weight is one initializer however many layers use it (a layer used
  twice, a DenseTransposed's tied kernel, which it reads with Gemm's transB=1).
* A float64 model exports in float64 (valid ONNX); onnxruntime's CPU provider has no
  double kernels for Conv, ConvTranspose, AveragePool, Resize, Softplus and Elu, so such
  graphs run in float32 only there.
* Inference only: Dropout and the noise / corruption layers are Identity,
  BatchNormalization uses its moving statistics, GaussianSampling returns the mean,
  average pooling divides by the real (non-padded) cells, as nn_core does.

Import: an ONNX input (N, C, H, W) becomes an nn_core input (N, H, W, C), so the caller
transposes the data, ``x.transpose(0, 2, 3, 1)``, and NCHW outputs come back as NHWC. A
graph whose 4-D input is read only by ``Transpose(perm=[0, 3, 1, 2])`` (an NHWC
exporter's, such as ours) keeps its NHWC input as it is. Errors: ``OnnxImportError`` (a
ValueError) naming the node, its op and what is supported; ``importer`` tracks the
layouts, ``_import_ops`` and ``_import_spatial`` hold the op table, ``_proto`` reads the
untrusted file.

Modules: ``export`` walks Sequential / graph models; ``_export_layers`` holds one
translation per layer; ``_graph_builder`` collects nodes and initializers;
``_transposes`` removes the cancelling Transpose pairs.
"""

try:
    import onnx as _onnx  # noqa: F401 - fail here, with the extra to install, not deep inside
except ModuleNotFoundError as error:
    if error.name is None or error.name.split(".")[0] != "onnx":
        raise
    raise ImportError(
        "nn_core.onnx needs the 'onnx' package, which is not installed; install the extra "
        "with: pip install 'nn-core-autoencoders[onnx]'"
    ) from error

from ._export_layers import ExportError
from .export import DEFAULT_OPSET, export, to_onnx
from .importer import OnnxImportError, load

__all__ = ["DEFAULT_OPSET", "ExportError", "OnnxImportError", "export", "load", "to_onnx"]
