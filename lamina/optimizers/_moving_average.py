"""The exponential moving average of the weights (``use_ema``), shared through ``Optimizer``.

All on the device: the first step's copy and the periodic overwrite select with 0/1 factors
computed from the step counter, never reading it back to the host.
"""

import torch


class MovingAverageMixin:
    """``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency`` and ``finalize_variable_values``.

    Expects ``self.iterations``, ``self._trainable_variables`` and the averages in
    ``self._model_variables_moving_average`` (``None`` for variables without one), made by
    ``Optimizer.build``.
    """

    def _ema_pairs(self, trainable_variables):
        return [
            (v, a)
            for v, a in zip(trainable_variables, self._model_variables_moving_average)
            if a is not None
        ]

    def _update_model_variables_moving_average(self, trainable_variables):
        pairs = self._ema_pairs(trainable_variables)
        if not pairs:
            return
        variables, averages = [p[0] for p in pairs], [p[1] for p in pairs]
        # The first step copies the weights (momentum 0), later steps average.
        momentum = (self.iterations != 0).to(averages[0].dtype) * self.ema_momentum
        torch._foreach_mul_(averages, momentum)
        torch._foreach_add_(averages, torch._foreach_mul(variables, 1 - momentum))

    def _overwrite_model_variables_periodically(self):
        pairs = self._ema_pairs(self._trainable_variables)
        if not pairs:
            return
        variables, averages = [p[0] for p in pairs], [p[1] for p in pairs]
        due = (torch.remainder(self.iterations + 1, self.ema_overwrite_frequency) == 0)
        due = due.to(variables[0].dtype)
        # Exact selection with 0/1 weights: the weights become exactly their averages when due.
        torch._foreach_mul_(variables, 1 - due)
        torch._foreach_add_(variables, torch._foreach_mul(averages, due))

    def _overwrite_model_variables_with_average_value(self, trainable_variables):
        if len(trainable_variables) != len(self._model_variables_moving_average):
            raise ValueError(
                f"The length of model variables ({len(trainable_variables)}) to override does not "
                "match the length of model variables stored in the optimizer "
                f"({len(self._model_variables_moving_average)}). Please check if the optimizer "
                "was called on your model."
            )
        with torch.no_grad():
            for variable, average in self._ema_pairs(trainable_variables):
                variable.copy_(average)

    def finalize_variable_values(self, var_list):
        """End of training: with `use_ema`, overwrite the variables with their moving averages.

        Args:
            var_list: The model variables, in the order the optimizer was built with.
        """
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)
