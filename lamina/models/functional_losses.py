"""Keras 2's symbolic ``add_loss`` and ``add_metric`` on a functional (or ``Sequential``) model.

Keras 2 programs add losses and metrics computed from the model's own tensors after building it::

    kl = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    vae.add_loss(K.mean(kl))
    model.add_metric(K.std(x1), name="std_of_activation", aggregation="mean")

Such a tensor becomes an extra target of the model's execution plan: the nodes it needs (those the
outputs do not already compute) are appended to the plan, followed by a step that hands its value
to ``add_loss`` or to the metric. Every call of the model (eager, ``fit``, ``evaluate``) thus
computes it in the same pass as the outputs, and a model with no such tensor runs exactly the plan
it had before.

A ``Sequential`` model runs its stack of layers without a plan; once it holds such a tensor it
runs a plan made here instead (its stack's nodes, then the added ones): ``sequential_call``.
Adding or popping a layer rebuilds its graph and drops that plan with the tensors it referred to.

A functional model writes its added tensors to its config (``"added_losses"``,
``"added_metrics"``, which Keras ignores) with the nodes computing them, and adds them again when
loaded. That takes every such node to belong to the model itself: a tensor computed inside a nested
model (the VAE's ``z_mean``, made in the encoder's own graph) has no place in the model's config,
so saving leaves it out with a warning (add it again after loading). A ``Sequential`` model's
config has no nodes: its added tensors are never saved.
"""

import warnings

from lamina.layers import symbolic
from lamina.layers._added_metric import AddedMetric
from lamina.models.functional import _PlanStep, _topological_nodes


class _AddLossStep:
    """The last step for a symbolic loss: its computed value goes to ``model.add_loss``."""

    __slots__ = ("model", "tensor_id")

    def __init__(self, model, tensor):
        self.model = model
        self.tensor_id = id(tensor)

    def run(self, values, training=None):
        self.model.add_loss(values[self.tensor_id])

    def run_symbolic(self, values):
        # Called on new symbolic inputs, the model records nothing: its losses come from its own
        # eager calls, which the calling model's `losses` gathers.
        pass


class _AddMetricStep:
    """The last step for a symbolic metric: its computed value updates the metric."""

    __slots__ = ("metric", "tensor_id")

    def __init__(self, metric, tensor):
        self.metric = metric
        self.tensor_id = id(tensor)

    def run(self, values, training=None):
        self.metric.update_state(values[self.tensor_id])

    def run_symbolic(self, values):
        pass


def add_symbolic_loss(model, loss):
    """Make `loss`, a symbolic tensor of `model`'s graph, a loss added on every call of the model.

    Args:
        model: A functional model.
        loss: A ``KerasTensor`` computed from the model's inputs.

    Raises:
        ValueError: If `loss` cannot be computed from the model's inputs.
    """
    plan, saveable = _extend_plan(model, loss, "add_loss")
    plan.append(_AddLossStep(model, loss))
    _record_target(model, {"tensor": loss, "saveable": saveable})


def add_symbolic_metric(model, value, name=None, aggregation="mean"):
    """Make `value`, a symbolic tensor of `model`'s graph, a metric updated on every call.

    Args:
        model: A functional model.
        value: A ``KerasTensor`` computed from the model's inputs.
        name: The metric's name, as shown by ``fit`` (required, as in Keras 2).
        aggregation: ``"mean"`` (or ``None``, the same) averages the value over calls; ``"sum"``
            sums it.

    Raises:
        ValueError: If `name` is missing or already taken, if `aggregation` is not one of the
            values above, or if `value` cannot be computed from the model's inputs.
    """
    if not name:
        raise ValueError(
            f"`add_metric` on model '{model.name}' needs a `name` for the symbolic tensor {value!r}, "
            "e.g. `model.add_metric(K.std(x), name='std_of_activation')`."
        )
    if any(getattr(m, "name", None) == name for m in model.metrics):
        raise ValueError(
            f"`add_metric` on model '{model.name}': a metric named {name!r} already exists. Give "
            "each added metric a different name."
        )
    metric = AddedMetric(name=name, aggregation=aggregation)
    plan, saveable = _extend_plan(model, value, "add_metric")
    plan.append(_AddMetricStep(metric, value))
    model._metrics.append(metric)
    target = {"tensor": value, "saveable": saveable, "name": name, "aggregation": aggregation}
    _record_target(model, target)


def _record_target(model, target):
    if not getattr(model, "_is_sequential", False):
        model.__dict__.setdefault("_symbolic_targets", []).append(target)


def targets_config(model, tensor_ref):
    """The config entries of `model`'s added losses and metrics (those it can save).

    Args:
        model: A functional model.
        tensor_ref: Turns a tensor of the model's graph into its ``[layer, node, index]`` reference.

    Returns:
        A dict with ``"added_losses"`` and ``"added_metrics"`` (empty when there are none).
    """
    config = {}
    for target in model.__dict__.get("_symbolic_targets", ()):
        if not target["saveable"]:
            warnings.warn(
                f"Model '{model.name}': the {'metric' if 'name' in target else 'loss'} added from "
                f"{target['tensor']!r} is computed by layers of a nested model and is not saved. "
                "Add it again after loading the model.",
                stacklevel=4,
            )
        elif "name" in target:
            entry = {"tensor": tensor_ref(target["tensor"]), "name": target["name"]}
            entry["aggregation"] = target["aggregation"]
            config.setdefault("added_metrics", []).append(entry)
        else:
            config.setdefault("added_losses", []).append(tensor_ref(target["tensor"]))
    return config


def restore_targets(model, config, tensor_of):
    """Add again the losses and metrics ``targets_config`` wrote (`tensor_of` reads a reference)."""
    for ref in config.get("added_losses", ()):
        add_symbolic_loss(model, tensor_of(ref))
    for entry in config.get("added_metrics", ()):
        add_symbolic_metric(model, tensor_of(entry["tensor"]), entry["name"], entry.get("aggregation", "mean"))


def sequential_call(model, inputs, mask=None):
    """Run a ``Sequential`` model that holds symbolic losses or metrics: its plan, in one pass."""
    if mask is not None and hasattr(inputs, "shape"):
        inputs._keras_mask = mask
    values = {id(model.inputs[0]): inputs}
    for step in model._symbolic_plan:
        step.run(values)
    return values[id(model.outputs[0])]


def _plan_of(model):
    if not getattr(model, "_is_sequential", False):
        return model._plan, model._input_layers()
    if model.inputs is None:
        raise ValueError(
            f"Sequential model '{model.name}' has no graph yet: give it an `Input` (or build it) "
            "before adding a loss or metric computed from its tensors."
        )
    if model._symbolic_plan is None:
        model._symbolic_plan = [_PlanStep(node) for node in model._graph_nodes]
    return model._symbolic_plan, [model._input_layer]


def _extend_plan(model, tensor, method):
    """Append to `model`'s plan the nodes that compute `tensor` and that it does not run yet.

    Returns the plan (for the caller to append the step that consumes the tensor's value) and
    whether the tensor can be written to the model's config.
    """
    if not symbolic.is_keras_tensor(tensor):
        raise TypeError(f"`{method}` expects a symbolic tensor here. Received: {tensor!r}")
    plan, input_layers = _plan_of(model)
    try:
        nodes = _topological_nodes(model.inputs, [tensor])
    except ValueError as error:
        raise ValueError(
            f"`{method}` on model '{model.name}': the symbolic tensor {tensor!r} cannot be computed "
            f"from the model's inputs {[t.name for t in model.inputs]}. It must depend only on "
            f"those inputs (and the layers between them). Details: {error}"
        ) from None
    planned = {id(step.node) for step in plan if isinstance(step, _PlanStep)}
    new_nodes = [n for n in nodes if id(n) not in planned and n.layer not in input_layers]
    direct = {id(layer) for layer in model._modules.values()}
    tracked = {id(layer) for layer in model._flatten_layers(include_self=True)}
    for node in new_nodes:
        clash = model._modules.get(node.layer.name)
        if id(node.layer) not in tracked and clash is not None and clash is not node.layer:
            raise ValueError(
                f"`{method}` on model '{model.name}': the tensor {tensor!r} is computed by layer "
                f"'{node.layer.name}', but the model already has another layer of that name. All "
                "layer names should be unique."
            )
    # Written to the config only if every node belongs to the model itself (see the module notes).
    saveable = not getattr(model, "_is_sequential", False) and all(
        id(n.layer) in direct or id(n.layer) not in tracked for n in new_nodes
    )
    for node in new_nodes:
        plan.append(_PlanStep(node))
        layer = node.layer
        if saveable:
            model._nodes.append(node)
        # A layer used only by the added tensor (not by the outputs) must still train with the
        # model, and a saveable tensor's operations are saved with it: both join the graph's
        # layers.
        if id(layer) not in tracked and (saveable or not getattr(layer, "_is_op_node", False)):
            model._modules[layer.name] = layer
            model._graph_layer_keys.add(layer.name)
            tracked.add(id(layer))
    return plan, saveable
