"""What ``compile`` resolves: the per-output losses and metrics of a model."""

import torch

from lamina.utils import tree


def _output_names(model):
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return None


def _per_output(spec, names, what):
    """Spread a loss/metric spec over outputs: one for all, a list by position, a dict by name."""
    if names is None or len(names) <= 1:
        if isinstance(spec, dict) and names and len(spec) == 1 and names[0] in spec:
            return [spec[names[0]]]
        if isinstance(spec, (list, tuple)) and len(spec) == 1 and what == "loss":
            return [spec[0]]
        return [spec]
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(
                f"Unknown output name(s) in `{what}`: {sorted(unknown)}. The model's outputs are "
                f"{names}."
            )
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and (what == "loss" or (spec and isinstance(spec[0], (list, tuple)))):
        if len(spec) != len(names):
            raise ValueError(
                f"`{what}` has {len(spec)} entries but the model has {len(names)} outputs {names}."
            )
        return list(spec)
    return [spec] * len(names)


class CompileLoss:
    """Sum of the weighted per-output losses; keeps each output's loss for the logs."""

    def __init__(self, loss, loss_weights, output_names):
        from lamina import losses

        self.output_names = output_names
        specs = _per_output(loss, output_names, "loss")
        self.losses = [_resolve_loss(s, losses) if s is not None else None for s in specs]
        if loss_weights is None:
            self.weights = [1.0] * len(self.losses)
        else:
            self.weights = [w if w is not None else 1.0 for w in _per_output(loss_weights, output_names, "loss")]
        self.multi = len(self.losses) > 1

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true_list = _align(y_true, self.output_names, len(self.losses))
        y_pred_list = _align(y_pred, self.output_names, len(self.losses))
        sw_list = _align(sample_weight, self.output_names, len(self.losses)) if sample_weight is not None else [None] * len(self.losses)
        total, per_output = None, []
        for fn, w, yt, yp, sw in zip(self.losses, self.weights, y_true_list, y_pred_list, sw_list):
            if fn is None:
                per_output.append(None)
                continue
            value = fn(yt, yp, sample_weight=sw) if sw is not None else fn(yt, yp)
            per_output.append(value)
            term = value * w if w != 1.0 else value
            total = term if total is None else total + term
        if total is None:
            raise ValueError("No loss to compute: pass `loss` to `compile()` or add losses with `add_loss`.")
        return total, per_output


class CompileMetrics:
    """Per-output metric objects, updated on device every batch."""

    def __init__(self, metrics, weighted_metrics, output_names, loss_fns):
        self.output_names = output_names
        n = len(output_names) if output_names else 1
        self.metrics = [self._build(m, loss_fns[i] if i < len(loss_fns) else None, i) for i, m in enumerate(_per_output(metrics, output_names, "metrics"))]
        self.weighted = [self._build(m, loss_fns[i] if i < len(loss_fns) else None, i, prefix="weighted_") for i, m in enumerate(_per_output(weighted_metrics, output_names, "weighted_metrics"))]
        self.n = n

    def _build(self, spec, loss_fn, index, prefix=""):
        from lamina import metrics as metrics_module

        if spec is None:
            return []
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        built = []
        for s in specs:
            m = _resolve_metric(s, loss_fn, metrics_module)
            if self.output_names and len(self.output_names) > 1:
                m.name = f"{self.output_names[index]}_{m.name}"
            if prefix and not m.name.startswith(prefix):
                m.name = prefix + m.name
            built.append(m)
        return built

    @property
    def all(self):
        return [m for group in self.metrics + self.weighted for m in group]

    def update(self, y_true, y_pred, sample_weight=None):
        yt = _align(y_true, self.output_names, self.n)
        yp = _align(y_pred, self.output_names, self.n)
        sw = _align(sample_weight, self.output_names, self.n) if sample_weight is not None else [None] * self.n
        for i, group in enumerate(self.metrics):
            for m in group:
                m.update_state(yt[i], yp[i])
        for i, group in enumerate(self.weighted):
            for m in group:
                m.update_state(yt[i], yp[i], sample_weight=sw[i])


def _resolve_loss(spec, losses):
    """A ``Loss`` object: functions and names (which resolve to functions) get the default reduction."""
    obj = losses.get(spec)
    if isinstance(obj, losses.Loss):
        return obj
    return losses.LossFunctionWrapper(obj, name=getattr(obj, "__name__", None))


def _resolve_metric(spec, loss_fn, metrics_module):
    if spec in ("accuracy", "acc"):
        name = spec
        target = _accuracy_for_loss(loss_fn, metrics_module)
        metric = target(name=name)
        return metric
    if isinstance(spec, str) or not hasattr(spec, "update_state"):
        obj = metrics_module.get(spec)
        if not hasattr(obj, "update_state"):
            name = spec if isinstance(spec, str) else getattr(obj, "__name__", "metric")
            return metrics_module.MeanMetricWrapper(obj, name=name)
        return obj
    return spec


def _accuracy_for_loss(loss_fn, metrics_module):
    """Keras picks the accuracy matching the loss: binary, categorical or sparse categorical."""
    name = getattr(loss_fn, "name", None) or getattr(loss_fn, "__name__", "") or ""
    cls_name = type(loss_fn).__name__ if loss_fn is not None else ""
    key = (name + " " + cls_name).lower()
    if "sparse" in key:
        return metrics_module.SparseCategoricalAccuracy
    if "binary" in key:
        return metrics_module.BinaryAccuracy
    if "categorical" in key:
        return metrics_module.CategoricalAccuracy
    return metrics_module.Accuracy


def _align(struct, names, n):
    """Turn targets/predictions (single, list, or dict by output name) into a list per output."""
    if n == 1:
        if isinstance(struct, dict) and names:
            return [struct[names[0]]] if names[0] in struct else [next(iter(struct.values()))]
        if isinstance(struct, (list, tuple)) and len(struct) == 1:
            return [struct[0]]
        return [struct]
    if isinstance(struct, dict):
        missing = [k for k in names if k not in struct]
        if missing:
            raise ValueError(f"Missing data for output(s) {missing}; expected keys {names}.")
        return [struct[k] for k in names]
    if isinstance(struct, (list, tuple)):
        if len(struct) != n:
            raise ValueError(f"Expected data for {n} outputs, received {len(struct)}.")
        return list(struct)
    if isinstance(struct, torch.Tensor):
        raise ValueError(f"The model has {n} outputs; pass a list or dict of {n} targets.")
    return tree.flatten(struct)
