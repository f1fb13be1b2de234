"""Losses and metrics a layer adds during its call: ``add_loss`` (and the activity regularizer's
penalty), the weight regularizers' penalties, and Keras 2's ``add_metric``.

A layer's added losses belong to the outermost call in which they were added: a new outermost
call starts a new list, so ``model.losses`` after a call holds that call's losses only.
"""

from lamina.backend.variables import SCOPE as _SCOPE
from lamina.backend.call_context import CONTEXT


class LossesAPI:
    """``add_loss`` / ``losses`` / ``add_metric`` / ``metrics`` (mixed into ``Layer``)."""

    def add_loss(self, loss):
        """Add a loss tensor computed in ``call``; losses are reset on each outer call."""
        if _SCOPE.symbolic:
            return
        _refuse_symbolic(self, loss, "add_loss")
        if _SCOPE.stateless is not None and _SCOPE.stateless.collect_losses:
            _SCOPE.stateless.add_loss(loss)
        if self._loss_epoch != CONTEXT.epoch:
            self._losses = []
            self._loss_epoch = CONTEXT.epoch
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses from the last call (``add_loss``, activity regularizers) plus weight penalties."""
        return self._gather_losses(self._flatten_layers(include_self=True), self.weights)

    def _gather_losses(self, layers, weights):
        # The training loop passes lists it gathered once per epoch instead of walking the model.
        out = []
        epoch = self._call_epoch
        for layer in layers:
            if layer._loss_epoch == epoch and epoch >= 0:
                out.extend(layer._losses)
        for v in weights:
            reg = getattr(v, "regularizer", None)
            if reg is not None:
                out.append(reg(v))
        return out

    def add_metric(self, value, name=None, aggregation="mean"):
        """Keras 2 API: track a metric value computed in ``call`` (its mean over calls)."""
        if _SCOPE.symbolic:
            return
        _refuse_symbolic(self, value, "add_metric")
        from lamina.layers._added_metric import AddedMetric

        metric = next((m for m in self._metrics if getattr(m, "name", None) == name), None)
        if metric is None:
            metric = AddedMetric(name=name or f"{self.name}_metric_{len(self._metrics)}", aggregation=aggregation)
            self._metrics.append(metric)
        metric.update_state(value)

    @property
    def metrics(self):
        out = []
        for layer in self._flatten_layers(include_self=True):
            out.extend(layer._metrics)
        return out


def _refuse_symbolic(layer, value, method):
    # Inside a call on symbolic inputs layers see placeholder tensors, never a KerasTensor: one
    # arrives here only from outside any call, where only a model with a graph gives it meaning.
    if getattr(value, "_is_keras_tensor", False):
        raise ValueError(
            f"`{method}` on '{layer.name}' ({type(layer).__name__}) received the symbolic tensor "
            f"{value!r}. Only a functional or Sequential model accepts a symbolic "
            f"tensor of its graph; otherwise call `{method}` inside `call` with the computed value."
        )
