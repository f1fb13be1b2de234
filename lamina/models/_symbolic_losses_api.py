"""Keras 2's ``model.add_loss(t)`` / ``model.add_metric(t, name=...)`` with a symbolic tensor of the
model's graph: computed on every call of the model (``functional_losses.py`` does the work).

A mixin of ``Functional`` and ``Sequential``; other values go to the layer's own ``add_loss`` /
``add_metric``.
"""

from lamina.backend import symbolic


class SymbolicLossesAPI:
    """``add_loss`` / ``add_metric`` accepting symbolic tensors (mixed into the graph models)."""

    def add_loss(self, loss):
        """Add a loss; a symbolic tensor of this model's graph (Keras 2) is added on every call."""
        if symbolic.is_keras_tensor(loss):
            from lamina.models.functional_losses import add_symbolic_loss

            return add_symbolic_loss(self, loss)
        return super().add_loss(loss)

    def add_metric(self, value, name=None, aggregation="mean"):
        """Keras 2 API: track a metric; a symbolic tensor of this model's graph is tracked on every
        call."""
        if symbolic.is_keras_tensor(value):
            from lamina.models.functional_losses import add_symbolic_metric

            return add_symbolic_metric(self, value, name=name, aggregation=aggregation)
        return super().add_metric(value, name=name, aggregation=aggregation)
