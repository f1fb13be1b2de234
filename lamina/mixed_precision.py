"""``lamina.mixed_precision`` (mirrors ``keras.mixed_precision``): global dtype policy."""

from lamina.backend.dtype_policy import DTypePolicy, Policy, global_policy, set_global_policy
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

dtype_policy = global_policy
set_dtype_policy = set_global_policy
