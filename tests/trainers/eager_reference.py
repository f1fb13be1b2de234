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


def assert_loops_agree(model, reference, loop, *args, calls, rtol=1e-5, atol=1e-6, **kwargs):
    """Call ``model.<loop>(*args, **kwargs)`` and the same on ``reference`` ``calls`` times (a
    compiled step's build, compile and timed calls happen on the way), asserting equal results
    each time."""
    for _ in range(calls):
        np.testing.assert_allclose(
            getattr(model, loop)(*args, verbose=0, **kwargs),
            getattr(reference, loop)(*args, verbose=0, **kwargs), rtol=rtol, atol=atol,
        )
