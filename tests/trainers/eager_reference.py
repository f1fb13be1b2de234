"""The reference the inference-rewrite tests compare ``predict`` / ``evaluate`` with: the model
called eagerly, without any rewrite (no loop marks its layers)."""

import numpy as np
import torch


def eager_predict(model, x, batch_size=None):
    """``model(x, training=False)`` as numpy, batch by batch as ``predict`` runs (BLAS kernels may
    round differently for other batch sizes); a list for a model with several outputs."""
    batch_size = batch_size or len(x)
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out = model(x[start : start + batch_size], training=False)
            parts.append([t.numpy() for t in out] if isinstance(out, (list, tuple)) else [out.numpy()])
    outs = [np.concatenate(column) for column in zip(*parts)]
    return outs if len(outs) > 1 else outs[0]
