"""Recording ops on symbolic tensors, for op modules outside ``lamina.ops``'s wrapped namespace.

The machinery lives with the symbolic tensor in ``lamina.backend.symbolic``; these are its names
as the op modules use them.
"""

from lamina.backend.symbolic import holds_keras_tensor, record_op, records_keras_op  # noqa: F401
