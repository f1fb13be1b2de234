"""What ``compile`` resolves: the per-output losses and metrics of a model.

Both are built on the first batch, when the shapes of the targets and predictions are known:
``"accuracy"`` (or ``"acc"``) becomes binary, sparse categorical or categorical accuracy, and the
loss ``"crossentropy"`` (or ``"ce"``) the matching crossentropy, by the rule Keras uses:

- binary when the prediction's last axis has size 1;
- else sparse categorical when the target has a lower rank than the prediction, or its last axis
  has size 1 while the prediction's is larger;
- else categorical.

Naming follows Keras: with several outputs, metrics are reported as ``<output>_<metric>`` and the
unweighted loss of each output as ``<output>_loss``.
"""

import warnings

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.trainers.trainer_utils import batch_size
from lamina.utils import tree


def is_binary_or_sparse_categorical(y_true, y_pred):
    """The ``(is_binary, is_sparse_categorical)`` pair Keras derives from the shapes."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    is_binary = pred_shape[-1] == 1
    is_sparse = len(true_shape) < len(pred_shape) or (true_shape[-1] == 1 and pred_shape[-1] > 1)
    return is_binary, is_sparse


def _is_serialized(spec):
    """A config dict of one loss or metric (as ``compile_config`` stores them), not a per-output dict."""
    return isinstance(spec, dict) and "class_name" in spec and "config" in spec


def _flatten_specs(spec):
    """All loss / metric identifiers in ``spec`` (config dicts count as one identifier)."""
    if isinstance(spec, dict) and not _is_serialized(spec):
        return [s for key in sorted(spec) for s in _flatten_specs(spec[key])]
    if isinstance(spec, (list, tuple)):
        return [s for item in spec for s in _flatten_specs(item)]
    return [spec]


def resolve_saved(loss=None, metrics=None, weighted_metrics=None):
    """The losses and metrics of a saved compile config, resolved now.

    Loading calls this inside the file's custom-object scope: left as configs and names, custom
    ones would be resolved on the first batch, outside it ("Unknown class"). A name that is not
    built in is looked up among the custom objects (older Lamina files name custom functions);
    built-in names stay names (``"accuracy"`` and ``"crossentropy"`` are chosen by the shapes).
    A config that does not resolve here (a lambda, a custom object not given) stays a config,
    with a warning: the model still loads for inference, and training or evaluating it fails
    on the first batch, naming the object.

    Returns:
        ``(loss, metrics, weighted_metrics)`` in the same structures.
    """
    from lamina import losses
    from lamina import metrics as metrics_module
    from lamina.saving.object_registration import get_registered_object

    unresolved = []

    def resolve(spec, get):
        if isinstance(spec, (list, tuple)):
            return [resolve(item, get) for item in spec]
        if _is_serialized(spec):
            try:
                return get(spec)
            except (ValueError, TypeError) as e:
                unresolved.append(f"{spec.get('config')!r} ({e})")
                return spec
        if isinstance(spec, dict):
            return {key: resolve(value, get) for key, value in spec.items()}
        if isinstance(spec, str):
            try:
                get(spec)
            except ValueError:
                custom = get_registered_object(spec)
                if custom is not None:
                    return get(custom)
        return spec

    resolved = (resolve(loss, losses.get), resolve(metrics, metrics_module.get),
                resolve(weighted_metrics, metrics_module.get))
    if unresolved:
        warnings.warn(
            "The saved compile configuration names losses or metrics that could not be "
            f"resolved: {'; '.join(unresolved)}. The model is loaded, but training or evaluating "
            "it will fail until it is compiled again (or load it with the objects in "
            "`custom_objects`).",
            stacklevel=4,
        )
    return resolved


def check_names(loss=None, metrics=None, weighted_metrics=None):
    """Resolve every name given to ``compile`` now, so a typo fails there, not on the first batch.

    Raises:
        ValueError: naming the argument, the unknown name and the valid names.
    """
    from lamina import losses
    from lamina import metrics as metrics_module

    checks = [("loss", loss, losses.get, ("crossentropy", "ce")),
              ("metrics", metrics, metrics_module.get, ("accuracy", "acc")),
              ("weighted_metrics", weighted_metrics, metrics_module.get, ("accuracy", "acc"))]
    for arg, spec, get, by_shape in checks:
        if spec is None:
            continue
        for identifier in _flatten_specs(spec):
            if isinstance(identifier, str) and identifier.lower() not in by_shape:
                try:
                    get(identifier)
                except ValueError as e:
                    raise ValueError(f"Invalid `{arg}` in `compile()`: {e}") from None


def _object_name(obj):
    if hasattr(obj, "name") and isinstance(obj.name, str):
        return obj.name
    return getattr(obj, "__name__", type(obj).__name__)


def get_metric(identifier, y_true, y_pred):
    """Resolve one metric identifier for an output (``"accuracy"`` by the shapes)."""
    from lamina import metrics as metrics_module

    if identifier is None:
        raise ValueError("Expected a metric, received `None`.")
    if str(identifier).lower() in ("accuracy", "acc"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if is_binary:
            metric = metrics_module.BinaryAccuracy()
        elif is_sparse:
            metric = metrics_module.SparseCategoricalAccuracy()
        else:
            metric = metrics_module.CategoricalAccuracy()
    else:
        metric = metrics_module.get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(metric)
    if not hasattr(metric, "update_state"):
        metric = metrics_module.MeanMetricWrapper(metric, name=name)
    metric.name = name
    return metric


def get_loss(identifier, y_true, y_pred):
    """Resolve one loss identifier for an output (``"crossentropy"`` by the shapes)."""
    from lamina import losses

    if identifier is None:
        return None
    if str(identifier).lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if is_binary:
            fn = losses.binary_crossentropy
        elif is_sparse:
            fn = losses.sparse_categorical_crossentropy
        else:
            fn = losses.categorical_crossentropy
    else:
        fn = losses.get(identifier)
    if isinstance(fn, losses.Loss):
        return fn
    if not callable(fn):
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    name = identifier if isinstance(identifier, str) else _object_name(fn)
    return losses.LossFunctionWrapper(fn, name=name)


def _resolve_outputs(y_pred, output_names):
    """The model outputs as a flat list with one name per output (``None`` when unknown).

    A dict of predictions is read in sorted-key order; its keys name the outputs unless they are
    exactly the model's output names, which then keep the model's order.
    """
    if isinstance(y_pred, dict):
        if output_names and set(y_pred) == set(output_names):
            keys = list(output_names)
        else:
            keys = sorted(y_pred)
        return keys, keys
    flat = tree.flatten(y_pred)
    if output_names and len(output_names) == len(flat):
        return None, list(output_names)
    return None, [None] * len(flat)


def _align(struct, keys, names, n, what, partial=None):
    """Targets / weights in the order of the outputs (``keys`` when predictions are a dict).

    Outputs missing from a dict get ``None``; a list may also hold one entry per output in
    ``partial`` (the outputs that have a loss), as Keras allows.
    """
    if n == 1 and not tree.is_nested(struct):
        return [struct]
    if isinstance(struct, dict):
        order = keys if keys is not None else names
        if order is None or any(k is None for k in order):
            return tree.flatten(struct)
        return [struct.get(k) for k in order]
    if isinstance(struct, (list, tuple)):
        flat = tree.flatten(struct)
        if len(flat) == n:
            return flat
        if partial is not None and len(flat) == len(partial):
            aligned = [None] * n
            for i, value in zip(partial, flat):
                aligned[i] = value
            return aligned
        raise ValueError(f"The model has {n} outputs, but `{what}` holds {len(flat)} arrays.")
    if n > 1:
        raise ValueError(
            f"The model has {n} outputs {list(names)}: pass `{what}` as a list or a dict with "
            f"one entry per output. Received a single {type(struct).__name__}."
        )
    return [struct]


def _missing_target(names, i):
    label = f"'{names[i]}'" if names[i] is not None else f"#{i}"
    return ValueError(f"No target `y` was given for output {label}, which has a loss or metrics.")


class _MetricsList:
    """The metrics of one output, with the output name that prefixes them in the logs."""

    def __init__(self, metrics, output_name=None):
        self.metrics = metrics
        self.output_name = output_name

    def update_state(self, y_true, y_pred, sample_weight=None):
        for m in self.metrics:
            m.update_state(y_true, y_pred, sample_weight=sample_weight)


def _metrics_list(spec, y_true, y_pred, output_name):
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    return _MetricsList([get_metric(s, y_true, y_pred) for s in specs], output_name)


class CompileMetrics:
    """The metrics and weighted metrics passed to ``compile``, reported as one dict.

    It behaves as one metric of ``model.metrics`` (named ``"compile_metrics"``), like in Keras:
    ``update_state(y_true, y_pred, sample_weight)``, ``reset_state()``, and ``result()`` giving a
    dict of values. Weighted metrics receive the sample weights, the others do not.
    """

    def __init__(self, metrics, weighted_metrics, output_names=None):
        for arg, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value and (not isinstance(value, (list, tuple, dict)) or _is_serialized(value)):
                raise ValueError(
                    f"Expected `{arg}` argument to be a list, tuple, or dict. Received instead: "
                    f"{arg}={value!r} of type {type(value)}"
                )
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self.output_names = output_names
        self.name = "compile_metrics"
        self.built = False
        self._flat_metrics = []
        self._flat_weighted_metrics = []

    @property
    def metrics(self):
        """The metric objects (empty until the first batch)."""
        groups = self._flat_metrics + self._flat_weighted_metrics
        return [m for g in groups if g is not None for m in g.metrics]

    @property
    def variables(self):
        return [v for m in self.metrics for v in m.variables]

    def build(self, y_true, y_pred):
        keys, names = _resolve_outputs(y_pred, self.output_names)
        n = len(names)
        self._keys, self._names, self._n = keys, names, n
        plain = self._per_output(self._user_metrics, "metrics")
        weighted = self._per_output(self._user_weighted_metrics, "weighted_metrics")
        self._with_metrics = [i for i in range(n) if plain[i] or weighted[i]]
        flat_true = _align(y_true, keys, names, n, "y", self._with_metrics)
        flat_pred = _align(y_pred, keys, names, n, "y_pred")
        prefixes = names if n > 1 else [None]

        def build_set(specs):
            return [
                _metrics_list(spec, t, p, prefix) if spec else None
                for spec, t, p, prefix in zip(specs, flat_true, flat_pred, prefixes)
            ]

        self._flat_metrics = build_set(plain)
        self._flat_weighted_metrics = build_set(weighted)
        self.built = True

    def _per_output(self, spec, arg):
        """One entry (a metric, a list of them, or ``None``) per output."""
        n, names = self._n, self._names
        if not spec:
            return [None] * n
        if n == 1:
            return [_flatten_specs(spec)]
        if isinstance(spec, (list, tuple)) and len(spec) == n:
            return list(spec)
        if isinstance(spec, dict) and not _is_serialized(spec) and all(k in names for k in spec):
            return [spec.get(name) for name in names]
        raise ValueError(
            f"Invalid `{arg}`. For a model with {n} outputs {names}, `{arg}` should be a list "
            f"with one entry (a metric or a list of metrics) per output, or a dict keyed by "
            f"output name. Received: {arg}={spec!r}"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        n = self._n
        flat_true = _align(y_true, self._keys, self._names, n, "y", self._with_metrics)
        flat_pred = _align(y_pred, self._keys, self._names, n, "y_pred")
        for i, (group, t, p) in enumerate(zip(self._flat_metrics, flat_true, flat_pred)):
            if group is not None:
                if t is None:
                    raise _missing_target(self._names, i)
                group.update_state(t, p)
        if any(g is not None for g in self._flat_weighted_metrics):
            if sample_weight is None or not tree.is_nested(sample_weight):
                weights = [sample_weight] * n
            else:
                weights = _align(sample_weight, self._keys, self._names, n, "sample_weight",
                                 self._with_metrics)
            groups = zip(self._flat_weighted_metrics, flat_true, flat_pred, weights)
            for i, (group, t, p, w) in enumerate(groups):
                if group is not None:
                    if t is None:
                        raise _missing_target(self._names, i)
                    group.update_state(t, p, sample_weight=w)

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()

    def result(self):
        """A dict ``{name: value}``; duplicate names get a ``_1``, ``_2`` ... suffix (or ``weighted_``)."""
        results, seen = {}, {}

        def prefixed(group, name):
            return f"{group.output_name}_{name}" if group.output_name else name

        def unique(name):
            if name not in seen:
                seen[name] = 1
                return name
            index = seen[name]
            seen[name] += 1
            return f"{name}_{index}"

        for group in self._flat_metrics:
            for m in group.metrics if group else ():
                results[unique(prefixed(group, m.name))] = m.result()
        for group in self._flat_weighted_metrics:
            for m in group.metrics if group else ():
                name = prefixed(group, m.name)
                if name in seen:
                    name = unique(prefixed(group, f"weighted_{m.name}"))
                else:
                    seen[name] = 1
                results[name] = m.result()
        return results


class CompileLoss:
    """The total loss: the sum over outputs of ``loss_weight * loss(y_true, y_pred, sample_weight)``.

    With more than one loss term, each output's unweighted loss is also tracked by a ``Mean``
    named ``<output>_loss`` (weighted by the batch size), found in ``metrics``.
    """

    def __init__(self, loss, loss_weights=None, output_names=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output case) or a list, "
                "tuple, or dict (multiple output case). Received instead: "
                f"loss_weights={loss_weights!r} of type {type(loss_weights)}"
            )
        self._user_loss = loss
        self._user_loss_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.metrics = []
        self._terms = []
        self._with_loss = []

    def build(self, y_true, y_pred):
        from lamina import metrics as metrics_module

        keys, names = _resolve_outputs(y_pred, self.output_names)
        n = len(names)
        self._keys, self._names, self._n = keys, names, n
        losses = self._per_output(self._user_loss, names, "loss")
        weights = self._per_output(self._user_loss_weights, names, "loss_weights")
        self._with_loss = [i for i in range(n) if losses[i] is not None]
        flat_true = _align(y_true, keys, names, n, "y", self._with_loss)
        flat_pred = _align(y_pred, keys, names, n, "y_pred")
        self._terms = []
        for i in self._term_order(y_pred, keys, n):
            if losses[i] is None:
                continue
            if flat_true[i] is None:
                raise _missing_target(names, i)
            fn = get_loss(losses[i], flat_true[i], flat_pred[i])
            weight = weights[i] if weights is not None else None
            name = names[i] if names[i] is not None else fn.name
            self._terms.append((i, fn, None if weight is None else float(weight), name))
        if not self._terms:
            raise ValueError(
                f"No loss to compute: every entry of `loss` is None. Received: loss={self._user_loss!r}"
            )
        if len(self._terms) > 1:
            self.metrics = [metrics_module.Mean(name=f"{name}_loss") for _, _, _, name in self._terms]
        self._floatx = to_torch_dtype(config.floatx())
        self.built = True

    def _term_order(self, y_pred, keys, n):
        """Output indices in the order Keras adds the loss terms (and their trackers).

        For a dict of predictions that is the order of the ``loss`` dict, or else of the
        predictions dict itself; otherwise the order of the outputs.
        """
        if keys is None:
            return range(n)
        loss = self._user_loss
        preferred = list(loss) if isinstance(loss, dict) and not _is_serialized(loss) else list(y_pred)
        return sorted(range(n), key=lambda i: preferred.index(keys[i]) if keys[i] in preferred else n)

    def _per_output(self, spec, names, arg):
        n = len(names)
        if spec is None:
            return None if arg == "loss_weights" else [None] * n
        if isinstance(spec, dict) and not _is_serialized(spec):
            order = self._keys if self._keys is not None else names
            if any(k is None for k in order):
                raise ValueError(
                    f"`{arg}` is a dict, but the model's outputs have no names. Pass a list instead."
                )
            unknown = [k for k in spec if k not in order]
            if unknown:
                raise ValueError(
                    f"Unknown output name(s) {unknown} in `{arg}`. The model's outputs are {order}."
                )
            if arg == "loss" and self._keys is None and len(spec) != n:
                raise ValueError(
                    f"Expected keys {order} in loss dict, but found loss.keys()={list(spec)}"
                )
            return [spec.get(k) for k in order]
        if isinstance(spec, (list, tuple)):
            if len(spec) != n:
                raise ValueError(
                    f"`{arg}` has {len(spec)} entries, but the model has {n} output(s) {names}."
                )
            return list(spec)
        if arg == "loss_weights" and n > 1:
            raise ValueError(
                f"`loss_weights` must match the number of losses: the model has {n} outputs "
                f"{names}; pass a list or dict. Received: loss_weights={spec!r}"
            )
        return [spec] * n

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        n = self._n
        flat_true = _align(y_true, self._keys, self._names, n, "y", self._with_loss)
        flat_pred = _align(y_pred, self._keys, self._names, n, "y_pred")
        if sample_weight is not None and tree.is_nested(sample_weight):
            weights = _align(sample_weight, self._keys, self._names, n, "sample_weight", self._with_loss)
        else:
            weights = [sample_weight] * n
        floatx = self._floatx
        total = None
        for j, (i, fn, loss_weight, _) in enumerate(self._terms):
            if flat_true[i] is None:
                raise _missing_target(self._names, i)
            value = fn(flat_true[i], flat_pred[i], sample_weight=weights[i])
            if value.dtype != floatx:
                value = value.to(floatx)
            if self.metrics:
                self.metrics[j].update_state(value.detach(), sample_weight=batch_size(flat_pred[i]))
            if loss_weight is not None:
                value = value * loss_weight
            total = value if total is None else total + value
        return total

