"""The running value behind Keras 2's ``Layer.add_metric``."""

import torch


class AddedMetric:
    """Mean (or sum) of the values passed to ``add_metric`` since the last reset."""

    def __init__(self, name, aggregation="mean"):
        if aggregation not in ("mean", "sum", None):
            raise ValueError(f"`aggregation` must be 'mean' or 'sum'. Received: {aggregation!r}")
        self.name = name
        self.aggregation = aggregation or "mean"
        self.reset_state()

    def update_state(self, value):
        value = torch.as_tensor(value).detach()
        self._total = self._total + value.float().mean()
        self._count += 1

    def result(self):
        if self.aggregation == "sum":
            return self._total
        return self._total / max(self._count, 1)

    def reset_state(self):
        self._total = torch.zeros(())
        self._count = 0
