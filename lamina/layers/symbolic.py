"""Symbolic tensors and graph nodes: they live in ``lamina.backend.symbolic`` (ops record calls on
them, and ops sit below layers; DESIGN.md). This module keeps the old import path working."""

from lamina.backend.symbolic import (  # noqa: F401
    KerasTensor,
    Node,
    any_symbolic,
    is_keras_tensor,
    run_on_meta,
)
