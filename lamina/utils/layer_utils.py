"""Keras 2 module path ``keras.utils.layer_utils``: parameter counts, model summaries and the
source inputs of a symbolic tensor."""

from lamina.backend.variables import count_scalars
from lamina.utils.source_inputs import get_source_inputs  # noqa: F401  (Keras 2 path)


def count_params(weights):
    """Total number of scalars in ``weights`` (each distinct weight counted once)."""
    unique = {id(w): w for w in weights}.values()
    return count_scalars(w for w in unique if hasattr(w, "shape"))


def print_summary(
    model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
    layer_range=None,
):
    """Print ``model``'s summary table (``model.summary`` with the same arguments)."""
    model.summary(
        line_length=line_length,
        positions=positions,
        print_fn=print_fn,
        expand_nested=expand_nested,
        show_trainable=show_trainable,
        layer_range=layer_range,
    )


__all__ = ["count_params", "get_source_inputs", "print_summary"]
