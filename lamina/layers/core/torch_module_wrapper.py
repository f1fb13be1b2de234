"""``TorchModuleWrapper``: use any ``torch.nn.Module`` as a layer, its parameters as weights."""

import base64
import copy
import inspect
import io

import numpy as np
import torch

from lamina.backend import config as backend_config
from lamina.backend.variables import Variable
from lamina.layers._shape_specs import shapes_to_keras_tensors
from lamina.layers.layer import Layer
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


def _is_uninitialized_lazy(module):
    return any(
        isinstance(m, torch.nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params()
        for m in module.modules()
    )


def _standardize_output_shape(shape):
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    if isinstance(shape, dict):
        return {k: _standardize_output_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_standardize_output_shape(s) for s in shape]
    raise ValueError(
        "`output_shape` must be a shape tuple (batch axis included, e.g. `(None, 10)`), a "
        f"structure of them, or None. Received: output_shape={shape!r}"
    )


def _encode_module(module):
    """The module pickled by ``torch.save``, base64 text (the Keras config format).

    Weights are stored as plain ``torch.nn.Parameter``s so that the pickle does not name Lamina
    classes (Keras' torch backend can read it).
    """
    plain = copy.deepcopy(module)
    replaced = {}
    for sub in plain.modules():
        for name, param in list(sub._parameters.items()):
            if isinstance(param, Variable):
                if id(param) not in replaced:  # tied weights stay tied
                    replaced[id(param)] = torch.nn.Parameter(
                        param.detach().cpu(), requires_grad=param.requires_grad
                    )
                sub._parameters[name] = replaced[id(param)]
    buffer = io.BytesIO()
    torch.save(plain.cpu(), buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@register_builtin("keras.layers")
class TorchModuleWrapper(Layer):
    """Wraps a ``torch.nn.Module`` as a layer.

    The module's parameters become the layer's weights (the same tensors, not copies): they show
    in ``layer.weights`` / ``model.trainable_weights``, the optimizer updates them, and
    ``get_weights``, ``set_weights`` and saving see them. Buffers (such as batch-norm running
    statistics) are not weights but are saved with them: the layer stores the module's
    ``state_dict``, keyed by its names, as Keras does.

    A lazy module (``torch.nn.LazyLinear``...) is materialized when the layer is built, from the
    first input shape (or from an ``Input`` when called symbolically).

    The module runs in train mode unless the call is made with ``training=False`` (``predict``,
    ``evaluate``), as in Keras.

    Args:
        module: The ``torch.nn.Module`` to wrap.
        name: Name of the layer.
        output_shape: Optional output shape, batch axis included (e.g. ``(None, 10)``). Without it
            the output shape of a symbolic call is found by running the module on fake tensors.
        **kwargs: Base layer keyword arguments, such as ``trainable`` and ``dtype``.

    Saving: the config holds the module pickled with ``torch.save`` (base64), as in Keras.
    Unpickling can run arbitrary code, so ``from_config`` / ``load_model`` refuse it unless
    ``safe_mode=False`` is passed.

    Example:

    >>> inputs = lamina.Input((8,))
    >>> x = lamina.layers.TorchModuleWrapper(torch.nn.Linear(8, 4))(inputs)
    >>> outputs = lamina.layers.Dense(1, activation="relu")(x)
    >>> model = lamina.Model(inputs, outputs)
    >>> [w.name for w in model.trainable_weights]
    ['weight', 'bias', 'kernel', 'bias']
    """

    def __init__(self, module, name=None, output_shape=None, **kwargs):
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                "`TorchModuleWrapper` expects a `torch.nn.Module` instance. "
                f"Received: module={module!r} (of type {type(module).__name__})"
            )
        super().__init__(name=name, **kwargs)
        self._module_output_shape = _standardize_output_shape(output_shape)
        self.module = module.to(backend_config.get_device())
        forward = inspect.signature(self.module.forward).parameters
        # Keras masks reach the module only if its forward asks for a `mask`.
        self._forward_takes_mask = "mask" in forward or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in forward.values()
        )
        if not _is_uninitialized_lazy(self.module):
            self._track_module_parameters()
            self.built = True

    @property
    def output_shape(self):
        if self._module_output_shape is not None:
            return self._module_output_shape
        return Layer.output_shape.fget(self)

    def _track_module_parameters(self):
        """Turn the module's parameters into Lamina variables, in place and without copies."""
        variables = {}
        for prefix, sub in self.module.named_modules(remove_duplicate=False):
            for key, param in list(sub._parameters.items()):
                if param is None:
                    continue
                var = variables.get(id(param))
                if var is None:
                    if isinstance(param, Variable):
                        var = param
                    else:
                        # Shares storage with `param`; the module then holds the variable itself.
                        name = f"{prefix}.{key}" if prefix else key
                        var = Variable(param, trainable=param.requires_grad, name=name)
                        var.requires_grad_(param.requires_grad and self.trainable)
                        var.regularizer = None
                        var.constraint = None
                    var.path = f"{self.name}/{var.name}"
                    variables[id(param)] = var
                    self._own_variables.append(var)
                sub._parameters[key] = var

    def build(self, input_shape=None):
        if _is_uninitialized_lazy(self.module):
            single = isinstance(input_shape, tuple) and all(
                d is None or isinstance(d, int) for d in input_shape
            )
            if not single:
                raise ValueError(
                    f"Layer '{self.name}' (TorchModuleWrapper) wraps an uninitialized lazy module "
                    "and can only materialize it from a single input shape. Received "
                    f"input_shape={input_shape}. Call the module once on real data first."
                )
            # Unknown dimensions (the batch) become 1: enough for the module to infer its sizes.
            probe = torch.zeros(
                [1 if d is None else d for d in input_shape],
                dtype=self._compute_torch_dtype,
                device=backend_config.get_device(),
            )
            with torch.no_grad():
                self.module(probe)
            self._track_module_parameters()
        self.built = True

    def call(self, inputs, *args, training=None, mask=None, **kwargs):
        self.module.train(training is not False)
        if mask is not None and self._forward_takes_mask:
            kwargs["mask"] = mask
        return self.module(inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._module_output_shape is not None:
            return self._module_output_shape
        return super().compute_output_shape(input_shape)

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        # The declared `output_shape`, else a fake-tensor run of the module on all the call's
        # arguments (not only the first input, as `compute_output_shape` would see).
        if self._module_output_shape is not None:
            return shapes_to_keras_tensors(self._module_output_shape, self.compute_dtype)
        return super()._symbolic_outputs(args, kwargs, False)

    def save_own_variables(self, store):
        """Save the module's ``state_dict`` (parameters and buffers), keyed by its names."""
        for key, value in self.module.state_dict().items():
            store[key] = value.detach().cpu().numpy()

    def load_own_variables(self, store):
        """Load the module's ``state_dict`` from ``save_own_variables`` output."""
        expected = self.module.state_dict()
        keys = {k.decode() if isinstance(k, bytes) else k for k in store.keys()}
        if keys != set(expected):
            raise ValueError(
                f"Layer '{self.name}' (TorchModuleWrapper) expected the state entries "
                f"{sorted(expected)}, but the saved state has {sorted(keys)}."
            )
        state = {}
        for key, target in expected.items():
            entry = store[key]
            # Checked before reading, so a hostile file cannot make the loader allocate more.
            if tuple(entry.shape) != tuple(target.shape):
                raise ValueError(
                    f"Layer '{self.name}' (TorchModuleWrapper): saved state '{key}' has shape "
                    f"{tuple(entry.shape)}, the module expects {tuple(target.shape)}."
                )
            state[key] = torch.as_tensor(np.asarray(entry[()]))
        self.module.load_state_dict(state)

    def get_config(self):
        config = super().get_config()
        config["module"] = _encode_module(self.module)
        config["output_shape"] = self._module_output_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        if "module" in config and not isinstance(config["module"], torch.nn.Module):
            # Outside any deserialization scope (a direct `from_config` call) counts as safe:
            # the pickle is only read when the caller explicitly turned safe mode off.
            if safe_mode is None:
                safe_mode = serialization_lib.in_safe_mode()
            if safe_mode is not False:
                raise ValueError(
                    f"Refusing to deserialize the `torch.nn.Module` of TorchModuleWrapper "
                    f"'{config.get('name')}': it is stored as a pickle (`torch.save`), and loading "
                    "it with `torch.load()` can run arbitrary code. If you trust the source, pass "
                    "`safe_mode=False` to the loading function (or to `from_config`)."
                )
            buffer = io.BytesIO(base64.b64decode(config["module"].encode("ascii")))
            config["module"] = torch.load(
                buffer, weights_only=False, map_location=backend_config.get_device()
            )
        return super().from_config(config)
