"""``Optimizer.stateless_apply``: one update computed from given values, changing no variable."""

import torch

from lamina.backend.core import convert_to_tensor


class StatelessApplyMixin:
    """Keras's ``stateless_apply`` for ``Optimizer`` (a mixin: it uses ``apply`` and ``variables``)."""

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """The values an ``apply(grads)`` step would give, from the given state; no variable changes.

        Args:
            optimizer_variables: Values for ``optimizer.variables``, in that order.
            grads: One gradient per trainable variable the optimizer was built with.
            trainable_variables: Values for those trainable variables, in order.

        Returns:
            ``(trainable_variables, optimizer_variables)``: the new values, as new tensors.

        Example:

        >>> optimizer.build(model.trainable_variables)
        >>> new_weights, new_state = optimizer.stateless_apply(
        ...     [v.value for v in optimizer.variables], grads,
        ...     [v.value for v in model.trainable_variables])
        """
        if not self.built:
            raise ValueError(
                f"To call `stateless_apply`, {type(self).__name__} must be built (i.e. its "
                "variables must have been created). You can build it via "
                "`optimizer.build(trainable_variables)`."
            )
        own = list(self.variables)
        weights = list(self._trainable_variables)
        for given, expected, what in (
            (optimizer_variables, own, "optimizer_variables"),
            (trainable_variables, weights, "trainable_variables"),
        ):
            if len(given) != len(expected):
                raise ValueError(
                    f"Argument `{what}` must be a list of tensors corresponding 1:1 to "
                    f"{type(self).__name__}().{'variables' if what == 'optimizer_variables' else what}. "
                    f"Received list with length {len(given)}, but expected {len(expected)} variables."
                )
        targets = weights + own
        values = list(trainable_variables) + list(optimizer_variables)
        # The update rules write into the variables in place: run them on the given values, then
        # put every variable back as it was, whatever happens.
        saved = [v.detach().clone() for v in targets]
        try:
            with torch.no_grad():
                for v, value in zip(targets, values):
                    v.copy_(convert_to_tensor(value).to(device=v.device, dtype=v.dtype))
            self.apply(grads)
            new = [v.detach().clone() for v in targets]
        finally:
            with torch.no_grad():
                for v, value in zip(targets, saved):
                    v.copy_(value)
        return new[: len(weights)], new[len(weights):]
