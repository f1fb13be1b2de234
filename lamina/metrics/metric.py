"""The ``Metric`` base class: state held in non-trainable variables on the device."""

import contextlib

import torch

from lamina import initializers
from lamina.backend import config
from lamina.backend import dtype_policy as _dtype_policy
from lamina.backend.core import one_like
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend.variables import Variable
from lamina.saving.object_registration import register_builtin


@register_builtin("keras")
@register_builtin("keras.metrics")
class Metric:
    """Accumulates statistics over batches and reports a value computed from them.

    The state lives in non-trainable ``lamina.Variable``s (torch tensors on the device).
    ``update_state`` only does tensor math on them, so calling it every batch never makes the host
    wait for the device; ``result()`` returns a tensor, which the caller converts when it needs a
    Python number.

    Args:
        dtype: Dtype of the metric's computations (a dtype name or a ``DTypePolicy``, whose compute
            dtype is used). Defaults to ``floatx()``.
        name: Name of the metric instance; defaults to the snake-cased class name, made unique
            (``auc``, ``auc_1``, ...).

    Subclasses create their variables in ``__init__`` with ``self.add_variable(...)``, accumulate
    into them in ``update_state`` and compute the value in ``result``.

    Example:

    >>> class CountPositives(lamina.metrics.Metric):
    ...     def __init__(self, name="count_positives", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
    ...     def update_state(self, values):
    ...         self.count.assign_add(torch.sum(torch.as_tensor(values) > 0))
    ...     def result(self):
    ...         return self.count.detach().clone()
    """

    _is_lamina_metric = True  # lets Layer.__setattr__ track metrics without importing them

    def __init__(self, dtype=None, name=None):
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype_policy = _dtype_policy.get(dtype or config.floatx())
        self._dtype = self._dtype_policy.compute_dtype

    # --- state ----------------------------------------------------------------------------------
    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state variable tracked in ``self.variables``.

        Args:
            shape: Shape of the variable.
            initializer: Initializer (name, instance or callable) or initial value.
            dtype: Variable dtype; defaults to ``floatx()``.
            aggregation: How replicas combine the variable (``"sum"``, ``"mean"``, ...).
            name: Variable name; its path is ``"<metric name>/<name>"``.

        Returns:
            The new ``lamina.Variable``.
        """
        self._check_super_called()
        if isinstance(initializer, (str, dict)):
            initializer = initializers.get(initializer)
        variable = Variable(
            initializer=initializer,
            shape=shape,
            dtype=dtype,
            trainable=False,
            aggregation=aggregation,
            synchronization="on_read",
            name=name,
        )
        variable.path = f"{self.name.replace('/', '>')}/{variable.name}"
        device = self._state_device()
        if device is not None and variable.device != device:
            variable.data = variable.data.to(device)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Alias of ``add_variable`` kept for older code."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """The state variables: this metric's own, then those of metrics it holds as attributes."""
        out = list(self._variables)
        for metric in self._metrics:
            out.extend(metric.variables)
        return out

    @property
    def dtype(self):
        """The compute dtype name (e.g. ``"float32"``)."""
        return self._dtype

    def reset_state(self):
        """Set every state variable back to zero (called between epochs)."""
        with torch.no_grad():
            for v in self.variables:
                v.zero_()

    def reset_states(self):
        """Keras 2 name of ``reset_state``."""
        return self.reset_state()

    # --- the metric contract --------------------------------------------------------------------
    def update_state(self, *args, **kwargs):
        """Accumulate statistics from one batch."""
        raise NotImplementedError

    def result(self):
        """The current value: a scalar tensor (or a tensor / dict of tensors for some metrics)."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """Update the state with one batch and return the new ``result()``."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # --- functional use (state passed in and returned, variables left untouched) ----------------
    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """Return the values the variables would hold after ``update_state(*args, **kwargs)``."""
        with self._substituted(metric_variables):
            self.update_state(*args, **kwargs)
            return [v.data for v in self.variables]

    def stateless_result(self, metric_variables):
        """Return ``result()`` computed from ``metric_variables`` instead of the variables."""
        with self._substituted(metric_variables):
            return self.result()

    def stateless_reset_state(self):
        """Return the values the variables would hold after ``reset_state()``."""
        with self._substituted([v.data for v in self.variables]):
            self.reset_state()
            return [v.data for v in self.variables]

    @contextlib.contextmanager
    def _substituted(self, values):
        variables = self.variables
        if len(values) != len(variables):
            raise ValueError(
                "Argument `metric_variables` must be a list of tensors corresponding 1:1 to "
                f"{type(self).__name__}().variables. Received list with length {len(values)}, but "
                f"expected {len(variables)} variables."
            )
        saved = [v.data for v in variables]
        try:
            for v, value in zip(variables, values):
                v.data = torch.as_tensor(value, dtype=v.dtype, device=v.device).clone()
            yield
        finally:
            for v, data in zip(variables, saved):
                v.data = data

    # --- helpers for subclasses -----------------------------------------------------------------
    def _assign_add(self, variable, value):
        """``variable += value`` in place, outside autograd; the state follows the data's device."""
        tensor = isinstance(value, torch.Tensor)
        if tensor and value.device != variable.device:
            self._move_state(value.device)
        if variable.requires_grad or (tensor and value.requires_grad):
            with torch.no_grad():
                variable.add_(value)
        elif type(value) is int:
            # A sample count, every batch: wrapping the int in a tensor would cost twice this.
            variable.add_(one_like(variable), alpha=value)
        else:
            # Nothing to keep out of autograd: a `no_grad` block would cost more than the add.
            variable.add_(value)

    def _state_device(self):
        variables = self.variables
        return variables[0].device if variables else None

    def _move_state(self, device):
        # The training loop may put the model (and so the batches) on another device after the
        # metric was made; moving the state once is cheaper than copying every batch back.
        for v in self.variables:
            v.data = v.data.to(device)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` method of your metric.")

    def __setattr__(self, name, value):
        # Metrics held as attributes contribute their variables, as do variables set directly.
        tracked = self.__dict__.get("_variables")
        if tracked is not None:
            if isinstance(value, Metric) and not any(m is value for m in self._metrics):
                self._metrics.append(value)
            elif isinstance(value, Variable) and not any(v is value for v in tracked):
                tracked.append(value)
        object.__setattr__(self, name, value)

    # --- serialization --------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments, as a JSON-friendly dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"
