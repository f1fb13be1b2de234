"""Layer members of Keras's base-class API that sit beside the call: variables by another name,
the layer's path, the saving hooks subclasses extend with ``super()``, and the stateless and
rematerialized calls.

A mixin of ``Layer``; it holds no state of its own.
"""

import numpy as np
import torch

from lamina.backend.core import convert_to_numpy
from lamina.backend.substitution import current_values, substituted


class LayerAPI:
    """Keras's ``Layer`` members beyond weights and the call (mixed into ``Layer``)."""

    def _build_at_init(self):
        """Mark the layer built when it has no state to create (its class keeps ``Layer.build``).

        Keras counts such layers (pooling, activations, dropout...) as built right after
        construction; a subclass with its own ``build`` is built by its first call instead.
        """
        from lamina.layers.layer import Layer

        if type(self).build is Layer.build:
            self.built = True

    def add_variable(
        self,
        shape,
        initializer,
        dtype=None,
        trainable=True,
        autocast=True,
        regularizer=None,
        constraint=None,
        name=None,
    ):
        """Add a variable to the layer (Keras's alias of ``add_weight``, with the same arguments).

        Example:

        >>> layer = lamina.layers.Layer()
        >>> v = layer.add_variable((2, 3), "zeros", name="table")
        """
        return self.add_weight(
            shape=shape,
            initializer=initializer,
            dtype=dtype,
            trainable=trainable,
            autocast=autocast,
            regularizer=regularizer,
            constraint=constraint,
            name=name,
        )

    @property
    def _seed_generators(self):
        """The layer's own ``SeedGenerator``s (Keras's list; their states are in ``variables``)."""
        return self.__dict__.setdefault("_seed_generators", [])

    @property
    def autocast(self):
        """Whether floating inputs are cast to the compute dtype before ``call``."""
        return self._autocast

    @property
    def input_dtype(self):
        """The dtype the layer's floating inputs are cast to (its compute dtype)."""
        return self.compute_dtype

    @property
    def path(self):
        """Where the layer sits: ``"dense"`` or ``"model/dense"``; ``None`` until it is built."""
        if not self.built:
            return None
        own = self._own_variables
        if own and "/" in own[0].path:
            return own[0].path.rsplit("/", 1)[0]
        # Set by a build that ran in the layer's name scope (see _dtype_policy_api).
        return self.__dict__.get("_path") or self.name

    @property
    def metrics_variables(self):
        """The variables of the layer's metrics (and those of nested layers)."""
        out = []
        for metric in self.metrics:
            out.extend(metric.variables)
        return out

    # --- saving hooks -------------------------------------------------------------------------
    def _own_saved_variables(self):
        own = self._own_variables
        return [v for v in own if v.trainable] + [v for v in own if not v.trainable]

    def save_own_variables(self, store):
        """Write the layer's own variables into ``store`` under the keys ``"0"``, ``"1"``, ...

        Override it to save extra state; call ``super().save_own_variables(store)`` to keep the
        variables, then add keys after them.

        Args:
            store: A dict-like object (an HDF5 group when saving to a file).
        """
        for i, v in enumerate(self._own_saved_variables()):
            store[str(i)] = np.asarray(convert_to_numpy(v))

    def load_own_variables(self, store):
        """Assign the layer's own variables from ``store`` (the keys ``save_own_variables`` wrote).

        Args:
            store: A dict-like object (an HDF5 group when loading from a file).
        """
        variables = self._own_saved_variables()
        # Only the numbered keys are variables; a subclass may store other state beside them.
        keys = [k for k in store.keys() if str(k).isdigit()]
        if len(keys) != len(variables):
            if not variables and not self.built:
                raise ValueError(
                    f"Layer '{self.name}' was never built and thus it doesn't have any variables. "
                    f"However the weights file lists {len(keys)} variables for this layer."
                )
            raise ValueError(
                f"Layer '{self.name}' expected {len(variables)} variables, but received "
                f"{len(keys)} variables during loading. Expected: {[v.name for v in variables]}"
            )
        for i, v in enumerate(variables):
            value = np.asarray(store[str(i)])
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(
                    f"Layer '{self.name}' variable '{v.name}' has shape {tuple(v.shape)}, but the "
                    f"stored value has shape {tuple(value.shape)}."
                )
            v.assign(torch.as_tensor(value).to(v.dtype))

    # --- calls --------------------------------------------------------------------------------
    def symbolic_call(self, *args, **kwargs):
        """The output spec (``KerasTensor``s) of a call on these symbolic inputs; records no node."""
        return self.compute_output_spec(*args, **kwargs)

    def rematerialized_call(self, layer_call, *args, **kwargs):
        """``layer_call`` wrapped as the layer's ``RematScope`` mode asks (unchanged without one).

        Args:
            layer_call: The call to wrap (usually ``layer.call``).

        Returns:
            A callable taking the same arguments as ``layer_call``.
        """
        from lamina.layers._remat_call import remat_call

        mode = self._remat_mode
        if mode is None or mode.mode is None:
            return layer_call

        def call(*call_args, **call_kwargs):
            return remat_call(self, call_args, call_kwargs, fn=layer_call)

        return call

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, return_losses=False, **kwargs):
        """Call the layer on given variable values, changing none of its variables.

        A pure function of its arguments: usable under ``torch.func`` (``grad``, ``vmap``) with
        the values as the traced inputs.

        Args:
            trainable_variables: Values for ``layer.trainable_variables``, in that order.
            non_trainable_variables: Values for ``layer.non_trainable_variables``, in that order.
            *args: Positional arguments of ``call``.
            return_losses: If ``True``, also return the losses the call added.
            **kwargs: Keyword arguments of ``call``.

        Returns:
            ``(outputs, non_trainable_variables)`` with the non-trainable values after the call
            (e.g. BatchNormalization's moving statistics), or
            ``(outputs, non_trainable_variables, losses)`` with ``return_losses=True``.

        Example:

        >>> outputs, new_state = layer.stateless_call(
        ...     [v.value for v in layer.trainable_variables],
        ...     [v.value for v in layer.non_trainable_variables],
        ...     x, training=True)
        """
        if not self.built:
            raise ValueError(
                f"To call stateless_call, {type(self).__name__} must be built (i.e. its variables "
                "must have been already created). You can build it by calling it on some data."
            )
        trainable, non_trainable = self.trainable_variables, self.non_trainable_variables
        for given, expected, what in (
            (trainable_variables, trainable, "trainable_variables"),
            (non_trainable_variables, non_trainable, "non_trainable_variables"),
        ):
            if len(given) != len(expected):
                raise ValueError(
                    f"Argument `{what}` must be a list of tensors corresponding 1:1 to "
                    f"{type(self).__name__}().{what}. Received list with length {len(given)}, "
                    f"but expected {len(expected)} variables."
                )
        variables = list(trainable) + list(non_trainable)
        values = list(trainable_variables) + list(non_trainable_variables)
        with substituted(variables, values, collect_losses=return_losses) as scope:
            outputs = self(*args, **kwargs)
            losses = list(self.losses) if return_losses else None
        new_non_trainable = current_values(scope, variables, values)[len(trainable):]
        if return_losses:
            return outputs, new_non_trainable, losses
        return outputs, new_non_trainable
