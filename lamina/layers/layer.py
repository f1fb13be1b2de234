"""The ``Layer`` base class: a ``torch.nn.Module`` with the Keras layer API.

A layer owns variables (``add_weight``), builds them lazily from the first input shape, and is called
on torch tensors (eager) or on ``KerasTensor``s (symbolic, recording a graph node). Attributes,
building and the eager call live here. Mixins hold the rest: weights (`_weights_api.py`), the
symbolic call (`_symbolic_call.py`), added losses and metrics (`_losses_api.py`), the config
(`_layer_config.py`), torch hooks
(`_torch_hooks.py`), the Keras 2 node API (`_node_api.py`) and the other base-class members
(`_layer_api.py`). The call's helpers are in `_call_inputs.py`, `_masks.py` and `_shape_specs.py`;
the per-thread call state in ``lamina.backend.call_context``; graph execution in ``lamina.models``.
"""

import contextlib
import functools
import inspect

import torch

from lamina.backend.dtypes import standardize_dtype
from lamina.backend import torch_compat
from lamina.backend.legacy import training_phase as _training_phase
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend.numpy_interop import mark_eager_output
from lamina.backend.remat import get_current_remat_mode
from lamina.backend.torch_compat import unset_fake_temporarily
from lamina.backend.variables import Variable
from lamina.backend import symbolic
from lamina.layers._call_inputs import (
    arrays_to_tensors,
    fast_spec_ok,
    reject_strings,
    to_tensor,
    to_tensor_if_array,
)
from lamina.layers._masks import attach_masks, collect_mask, keep_mask
from lamina.layers._shape_specs import (
    batch_input_shape_from_kwargs,
    map_specs,
    shape_structure,
    shapes_to_keras_tensors,
    to_shape_structure,
)
from lamina.backend.call_context import CONTEXT as _CONTEXT
from lamina.layers._dtype_policy_api import DTypePolicyAPI, build_in_policy_scope
from lamina.layers._layer_api import LayerAPI
from lamina.layers._layer_config import LayerConfig
from lamina.layers._losses_api import LossesAPI
from lamina.layers._node_api import NodeAPI
from lamina.layers._quantization import QuantizationMixin
from lamina.layers._autocast import AutocastVariables
from lamina.layers import _forward_signature
from lamina.layers._remat_call import remat_call
from lamina.layers._symbolic_call import SymbolicCall
from lamina.layers._torch_hooks import GLOBAL_FORWARD_HOOKS as _GLOBAL_FORWARD_HOOKS
from lamina.layers._torch_hooks import GLOBAL_FORWARD_PRE_HOOKS as _GLOBAL_FORWARD_PRE_HOOKS
from lamina.layers._torch_hooks import TorchHooks
from lamina.layers._weights_api import WeightsAPI, gather_shards
from lamina.distribution import distribution_lib, shard_views
from lamina.backend.name_scoping import name_scope
from lamina.layers.input_spec import assert_input_compatibility
from lamina.saving.object_registration import register_builtin
from lamina.backend import tree

_ALLOWED_KWARGS = {
    "input_dim",
    "input_shape",
    "batch_input_shape",
    "batch_size",
    "weights",
    "input_length",
}


def _accepting_arrays(method):
    """Wrap ``method(self, inputs, mask=None, ...)`` so numpy and list data become tensors."""

    @functools.wraps(method)
    def wrapper(self, inputs, *args, **kwargs):
        if not isinstance(inputs, torch.Tensor):
            inputs = arrays_to_tensors(inputs)
        if args and not isinstance(args[0], torch.Tensor):
            args = (arrays_to_tensors(args[0]),) + args[1:]
        if kwargs.get("mask") is not None:
            kwargs["mask"] = arrays_to_tensors(kwargs["mask"])
        return method(self, inputs, *args, **kwargs)

    wrapper._accepts_arrays = True
    return wrapper


def _wrapped_build(build, marks_built):
    """The one wrapper around a layer class's ``build``.

    A layer holding a ``DTypePolicyMap`` builds inside its own name scope (see
    ``build_in_policy_scope``). With ``marks_built`` (users' layers; Lamina's own mark themselves),
    calling ``build`` directly leaves the layer built, as in Keras: without it, ``layer.build(shape)``
    followed by a call would build again, new weights replacing (and tracked beside) the ones the
    user may have set in between.
    """
    if getattr(build, "_lamina_wrapped_build", False):
        return build

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build_in_policy_scope(self, build, args, kwargs)
        if marks_built:
            if args and self.__dict__.get("_build_shapes") is None and isinstance(args[0], (tuple, list)):
                self._build_shapes = to_shape_structure(args[0])
            self.built = True
        return result

    wrapper._lamina_wrapped_build = True
    return wrapper


def _call_signature(cls):
    # Facts about `call`'s signature, computed once per class rather than once per call and kept
    # on the class itself (torch.compile misreads a dict keyed by classes here).
    owner_and_info = getattr(cls, "_lamina_call_facts", None)
    if owner_and_info is not None and owner_and_info[0] is cls:
        return owner_and_info[1]
    params = inspect.signature(cls.call).parameters
    has_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [name for name, p in params.items() if p.kind in kinds]
    info = (
        "training" in params or has_var_kw,
        "mask" in params or has_var_kw,
        cls.compute_mask is not Layer.compute_mask,
        cls.compute_output_shape is not Layer.compute_output_shape,
        # `layer(logits=x, targets=y)` passes the inputs by name: as in Keras, they are the
        # argument bound to `call`'s first parameter (after `self`).
        positional[1] if len(positional) > 1 else "inputs",
    )
    # With its owner: a subclass finds its parent's entry by inheritance and must not use it.
    cls._lamina_call_facts = (cls, info)
    return info


@register_builtin("keras.layers")
class Layer(
    WeightsAPI, SymbolicCall, NodeAPI, LayerAPI, LossesAPI, LayerConfig, TorchHooks, QuantizationMixin, DTypePolicyAPI,
    torch.nn.Module,
):
    """Base class of all layers: state (weights) plus a computation (``call``).

    Args:
        trainable: Whether the layer's weights are updated by training.
        name: Name of the layer; a unique default is derived from the class name.
        dtype: Dtype or dtype policy (``"float32"``, ``"mixed_float16"``, a ``DTypePolicy``...).
        dynamic: Keras 2 flag for layers that cannot run in graph mode; stored, no effect here.
        activity_regularizer: Regularizer applied to the layer output (loss divided by batch size).
        autocast: Whether float inputs are cast to the layer's compute dtype.
        input_shape, input_dim, batch_size, batch_input_shape: Give the first layer of a
            ``Sequential`` model its input shape.

    Example:

    >>> class Linear(lamina.layers.Layer):
    ...     def __init__(self, units=32, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units = units
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
    ...     def call(self, inputs):
    ...         return inputs @ self.w
    """

    # Whether the layer reads string data (numpy arrays of str, KerasTensors of dtype "string").
    # torch has no string tensors, so any other layer refuses them with a ValueError naming it.
    _accepts_string_inputs = False

    # Whether integer and boolean inputs are cast to the compute dtype. Layers whose math combines
    # the input with float weights (Dense, convolutions, RNNs, normalization) say yes: Keras gets
    # there by type promotion (int x float -> float), which torch kernels do not do. Layers that
    # read integers (Embedding, lookups) or keep the input's dtype (reshaping, pooling) say no.
    _promotes_non_float_inputs = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = _forward_signature.forward_for(cls, Layer.forward)
        if forward is not None:
            cls.forward = forward
        build = cls.__dict__.get("build")
        if build is not None:
            cls.build = _wrapped_build(build, marks_built=not cls.__module__.startswith("lamina."))
        own = cls.__dict__.get("compute_mask")
        if own is not None and own is not Layer.compute_mask and not getattr(own, "_accepts_arrays", False):
            # Keras documents `compute_mask` as public: numpy arrays and nested lists work there.
            cls.compute_mask = _accepting_arrays(own)

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # Remember constructor arguments so simple custom layers get a working `get_config`.
        obj.__dict__["_init_call"] = (args, kwargs)
        return obj

    def __init__(
        self,
        *,
        activity_regularizer=None,
        trainable=True,
        dtype=None,
        autocast=True,
        name=None,
        dynamic=False,
        **kwargs,
    ):
        super().__init__()
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"`name` must be a string without '/'. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._autocast = autocast
        self._set_dtype_policy(dtype)
        self._trainable = bool(trainable)
        self.dynamic = bool(dynamic)
        self.built = False
        self.supports_masking = False
        self.input_spec = None
        self._own_variables = []
        self._losses = []
        self._loss_epoch = -1
        self._call_epoch = -1
        self._metrics = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._build_shapes = None
        self._initial_weights = kwargs.get("weights")
        from lamina import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._batch_input_shape = batch_input_shape_from_kwargs(kwargs)
        # As Keras, the `RematScope` open when the layer is made decides its rematerialization.
        self._remat_mode = get_current_remat_mode()

    @classmethod
    def _call_facts(cls):
        """``(takes_training, takes_mask, overrides compute_mask, overrides compute_output_shape,
        name of the inputs parameter)``."""
        return _call_signature(cls)

    # --- attributes ---------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if isinstance(value, Variable) and any(value is v for v in self.__dict__.get("_own_variables", ())):
            # Already registered by `add_weight`: keep a plain reference (fast attribute reads).
            self.__dict__[name] = value
            return
        if isinstance(value, (list, tuple, dict)) and not name.startswith("_") and "_modules" in self.__dict__:
            self._track_layer_collection(name, value)
        elif getattr(value, "_is_lamina_seed_generator", False) and "_own_variables" in self.__dict__:
            # Its state joins `layer.variables` (not `weights`), as a Keras layer's seed generators.
            generators = self.__dict__.setdefault("_seed_generators", [])
            if not any(value is g for g in generators):
                generators.append(value)
        elif getattr(value, "_is_lamina_metric", False) and not name.startswith("_") and "_metrics" in self.__dict__:
            # A metric held as a public attribute joins `layer.metrics` (and so `model.metrics`);
            # private ones are the trainer's own (`_loss_tracker`, `_compile_metrics`).
            if not any(value is m for m in self._metrics):
                self._metrics.append(value)
        super().__setattr__(name, value)

    def _track_layer_collection(self, name, value):
        items = list(value.values()) if isinstance(value, dict) else list(value)
        layers = [item for item in items if isinstance(item, torch.nn.Module)]
        if not layers:
            return
        # torch sees the members as submodules; saving walks the collection under its own name.
        self.__dict__.setdefault("_layer_collections", {})[name] = layers
        for i, item in enumerate(layers):
            self._modules[f"{name}_{i}"] = item

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            # A property that raised AttributeError (e.g. `layer.output` before any call) lands
            # here; re-run it so the user sees its message rather than torch's generic one.
            prop = getattr(type(self), name, None)
            if isinstance(prop, property):
                prop.fget(self)
            raise

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        for layer in self._flatten_layers(include_self=True):
            layer._trainable = value
            for v in layer._own_variables:
                v.requires_grad_(value and v.trainable and v.is_floating_point())

    def _flatten_layers(self, include_self=True, recursive=True):
        seen = set()
        out = []
        stack = [self] if include_self else list(self._direct_layers())[::-1]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            if recursive or layer is self:
                stack.extend(reversed(list(layer._direct_layers())))
        return out

    def _direct_layers(self):
        seen = set()
        for module in self._modules.values():
            if isinstance(module, Layer) and id(module) not in seen:
                seen.add(id(module))
                yield module

    @property
    def _layers(self):
        return list(self._direct_layers())

    # --- building -----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the layer's weights for ``input_shape``; subclasses override it."""
        self.built = True

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = shape_structure(inputs)
        self._build_shapes = shapes
        # A sublayer first called while its parent's output shape is inferred builds here inside
        # fake-tensor mode: its state must be real all the same.
        with unset_fake_temporarily(), self._sharding_build_scope():
            self.build(shapes)
        self.built = True
        self._gather_shards_after_build(inputs)
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    def _sharding_build_scope(self):
        # While a distribution may create variables as shards, the sublayers built here get
        # this layer's name in their paths at once (as Keras's build scope gives them), not
        # only later from `_refresh_paths`: layouts are looked up by path when a variable is made.
        if not isinstance(distribution_lib.distribution(), distribution_lib.ModelParallel):
            return contextlib.nullcontext()
        return name_scope(self.name, caller=self)

    def _gather_shards_after_build(self, inputs):
        if shard_views.views_needed() and not shard_views.views_active() and not symbolic.any_symbolic(inputs):
            # Built by an eager call: weights just created as shards compute whole in it.
            gather_shards(self.weights)

    def get_build_config(self):
        if self._build_shapes is not None:
            return {"input_shape": self._build_shapes}
        return None

    def build_from_config(self, config):
        if config and not self.built:
            shape = config.get("input_shape")
            if shape is not None:
                shape = to_shape_structure(shape)
                self._build_shapes = shape
                self.build(shape)
                self.built = True

    # --- calling ------------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        """The layer's computation; subclasses override it."""
        return inputs

    def forward(self, *args, **kwargs):
        # torch tools (DDP, torch.compile, torch's hook dispatch) enter through `forward`.
        return self.__call__(*args, **kwargs)

    def _apply(self, fn, *args, **kwargs):
        # `.to(torch.bfloat16)`, `.half()`, `.double()`: the weights change dtype, so the layer
        # computes in that dtype from now on (its dtype policy follows), as Keras on torch does.
        result = super()._apply(fn, *args, **kwargs)
        try:
            probe = fn(torch.empty(0, dtype=self._compute_torch_dtype))
        except Exception:  # a function meant for real tensors only: nothing to learn from it
            return result
        if isinstance(probe, torch.Tensor) and probe.is_floating_point() and probe.dtype != self._compute_torch_dtype:
            self._set_dtype_policy(standardize_dtype(probe.dtype))
        return result

    def __call__(self, *args, **kwargs):
        # Hooks (this layer's, or torch's global module hooks) fire through torch's dispatch,
        # which comes back here through `forward`; without hooks the call stays on the fast path.
        if (self._hooked or _GLOBAL_FORWARD_HOOKS or _GLOBAL_FORWARD_PRE_HOOKS) and not self.__dict__.get(
            "_in_torch_dispatch"
        ):
            return self._call_through_torch_hooks(args, kwargs)
        if not args:
            name = _call_signature(type(self))[4]
            if name not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs (`{name}`).")
            args = (kwargs.pop(name),)
        inputs = args[0]
        if not self.built:
            scope = self._first_call_scope()
            if scope is not None:
                with scope:
                    return self.__call__(*args, **kwargs)
        # Fast path: one tensor in, nothing symbolic in the keyword arguments.
        if isinstance(inputs, torch.Tensor) and len(args) == 1 and not (
            kwargs and symbolic.any_symbolic(kwargs)
        ):
            if inputs.dtype is not self._compute_torch_dtype and self._autocast and (
                inputs.is_floating_point() or self._promotes_non_float_inputs
            ):
                inputs = keep_mask(inputs, inputs.to(self._compute_torch_dtype))
            args = (inputs,)
            spec = self.__dict__["_input_spec"]
            if spec is not None:
                # A shape the spec accepted once is accepted again (the spec is replaced, never
                # edited, and replacing it clears this memo: see the `input_spec` setter). Only
                # outside tracing: comparing symbolic sizes (torch.export, dynamic compile) with
                # a remembered shape would pin them to its values.
                shape = inputs.shape
                if torch_compat.is_compiling():
                    if not fast_spec_ok(spec, inputs):
                        assert_input_compatibility(spec, inputs, self.name)
                elif shape != self.__dict__.get("_spec_ok_shape"):
                    if fast_spec_ok(spec, inputs):
                        self.__dict__["_spec_ok_shape"] = shape
                    else:
                        assert_input_compatibility(spec, inputs, self.name)
        else:
            if symbolic.any_symbolic(args, kwargs):
                return self._symbolic_call(args, kwargs)
            if not isinstance(inputs, torch.Tensor):
                inputs = tree.map_structure(to_tensor, inputs)
                if not self._accepts_string_inputs:
                    reject_strings(self, inputs)
            inputs = self._autocast_inputs(inputs)
            args = (inputs,) + tuple(tree.map_structure(to_tensor_if_array, a) for a in args[1:])
            if self._input_spec is not None:
                assert_input_compatibility(self._input_spec, inputs, self.name)
        if not self.built:
            self._maybe_build(inputs)
            if self.__dict__.get("_path") is not None:
                # Built just now from a DTypePolicyMap: the inputs were cast before the layer
                # knew its own entry.
                inputs = self._autocast_inputs(inputs)
                args = (inputs,) + args[1:]

        takes_training, takes_mask, mask_overridden = _call_signature(type(self))[:3]
        in_mask = getattr(inputs, "_keras_mask", None) if type(inputs) is torch.Tensor else collect_mask(inputs)
        if takes_mask and in_mask is not None and kwargs.get("mask") is None:
            kwargs["mask"] = in_mask
        ctx = _CONTEXT
        previous = ctx.state
        previous_training, depth, epoch = previous
        training = kwargs.get("training")
        if training is None:
            training = previous_training
            if training is None and depth == 0 and _training_phase._PHASE is not None:
                # Keras 2's `K.set_learning_phase` sets the default of outermost calls.
                training = bool(_training_phase._PHASE)
            if takes_training and training is not None:
                kwargs["training"] = training
        elif not takes_training:
            kwargs.pop("training")
        if depth == 0:
            epoch += 1
            previous = (previous_training, 0, epoch)  # the new epoch outlives the call
        # Plain dict writes: this runs on every call and Module.__setattr__ is slow.
        self.__dict__["_call_epoch"] = epoch
        ctx.state = (training, depth + 1, epoch)
        try:
            if self._autocast_context:
                with AutocastVariables(self):
                    if self._remat_mode is None:
                        outputs = self.call(*args, **kwargs)
                    else:
                        outputs = remat_call(self, args, kwargs)
            elif self._remat_mode is None:
                outputs = self.call(*args, **kwargs)
            else:
                outputs = remat_call(self, args, kwargs)
        finally:
            ctx.state = previous

        if self.activity_regularizer is not None:
            for out in tree.flatten(outputs):
                if isinstance(out, torch.Tensor):
                    batch = out.shape[0] if out.dim() else 1
                    self.add_loss(self.activity_regularizer(out) / batch)
        if mask_overridden or self.supports_masking:
            previous_mask = kwargs.get("mask") if takes_mask else in_mask
            if mask_overridden or previous_mask is not None:
                outputs = attach_masks(outputs, self.compute_mask(inputs, previous_mask), inputs)
        if depth == 0:
            # What the user receives converts to numpy as a Keras value does (see numpy_interop).
            if type(outputs) is torch.Tensor:
                mark_eager_output(outputs)
            elif not isinstance(outputs, torch.Tensor):
                tree.map_structure(mark_eager_output, outputs)
        return outputs

    @property
    def input_spec(self):
        return self.__dict__.get("_input_spec")

    @input_spec.setter
    def input_spec(self, value):
        self.__dict__["_input_spec"] = value
        self.__dict__["_spec_ok_shape"] = None

    def _autocast_inputs(self, inputs):
        if not self._autocast:
            return inputs
        target = self._compute_torch_dtype
        promote = self._promotes_non_float_inputs

        def cast(x):
            if isinstance(x, torch.Tensor) and x.dtype != target and (x.is_floating_point() or promote):
                return keep_mask(x, x.to(target))
            return x

        if isinstance(inputs, torch.Tensor):
            return cast(inputs)
        return tree.map_structure(cast, inputs)

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the output; by default the input mask passes through maskable layers."""
        if not self.supports_masking:
            return None
        return previous_mask

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; inferred on meta tensors unless overridden."""
        inputs = shapes_to_keras_tensors(input_shape, self.compute_dtype)
        specs = self._meta_run((inputs,), {})
        return map_specs(lambda s: s[0], specs)

    def compute_output_spec(self, *args, **kwargs):
        return self._symbolic_outputs(args, kwargs, _call_signature(type(self))[3])

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # torch.nn.Module's own repr helper is kept for `print(model)` of nested modules.
    def extra_repr(self):
        return f"name={self.name!r}"
