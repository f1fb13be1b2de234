"""``Sequential``: a plain stack of layers, each with one input and one output."""

import warnings

import torch

from lamina.backend.name_scoping import name_scope
from lamina.backend.naming import unique_name
from lamina.layers import symbolic
from lamina.layers.core.input_layer import InputLayer
from lamina.layers._call_inputs import is_string_array
from lamina.layers.layer import Layer
from lamina.models._symbolic_losses_api import SymbolicLossesAPI
from lamina.models.model import Model
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.utils import tree


@register_builtin("keras.models")
@register_builtin("keras")
class Sequential(SymbolicLossesAPI, Model):
    """A linear stack of layers.

    The model is built (weights created, output shapes known) as soon as the input shape is
    known: from an ``Input`` added first, from ``input_shape=`` on the first layer, from
    ``build(input_shape)``, or from the first call on data.

    Args:
        layers: Optional list of layers to add.
        trainable: Whether the model's weights are trainable.
        name: Model name.

    Example:

    >>> model = lamina.Sequential()
    >>> model.add(lamina.layers.Dense(32, input_shape=(16,)))
    >>> model.add(lamina.layers.Dense(32))
    >>> model.output_shape
    (None, 32)
    """

    # Asked by the summary instead of importing this class.
    _is_sequential = True
    # The plan that replaces the plain loop once a symbolic loss or metric is added
    # (`functional_losses`); None keeps the loop.
    _symbolic_plan = None

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name or unique_name("sequential"), **kwargs)
        self._stack = []
        self.__dict__["_graph_layer_keys"] = set()
        self._set_input_layer(None)
        self._graph = None
        self._graph_nodes = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        """Add a layer (or an ``Input`` tensor, which must come first) on top of the stack."""
        if symbolic.is_keras_tensor(layer) and layer._keras_history is not None:
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `lamina.layers.Layer` can be added to a Sequential model. "
                f"Received: {layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(
                    f"Sequential model '{self.name}' has already been configured to use an input; "
                    "an InputLayer can only be the first layer."
                )
            self._set_input_layer(layer)
        else:
            if any(existing is layer for existing in self._stack):
                raise ValueError(f"Layer '{layer.name}' is already in Sequential model '{self.name}'.")
            names = {l.name for l in self._stack}
            if layer.name in names:
                raise ValueError(
                    f"All layers added to a Sequential model should have unique names. Name "
                    f"'{layer.name}' is already the name of a layer in this model."
                )
            self._stack.append(layer)
            self._modules[layer.name] = layer
            self._graph_layer_keys.add(layer.name)
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False

    def pop(self, rebuild=True):
        """Remove the last layer and return it."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        del self._modules[layer.name]
        self._graph_layer_keys.discard(layer.name)
        self._drop_graph()
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _set_input_layer(self, layer):
        # Not a submodule: it has no weights, and it is not an attribute Keras would save.
        self.__dict__["_input_layer"] = layer

    def _drop_graph(self):
        # Nodes made by an earlier build must not linger: the node API would see two calls.
        for node in self._graph_nodes:
            if node in node.layer._inbound_nodes:
                node.layer._inbound_nodes.remove(node)
        self._graph_nodes = []
        self._graph = None
        self._symbolic_plan = None
        self.built = False

    def _maybe_rebuild(self):
        self._drop_graph()
        if self._input_layer is not None:
            self._build_graph(self._input_layer._input_tensor)
        elif self._stack and _known_input_shape(self._stack[0]) is not None:
            first = self._stack[0]
            self._set_input_layer(InputLayer(batch_shape=_known_input_shape(first)))
            self._build_graph(self._input_layer._input_tensor)

    def _build_graph(self, inputs):
        before = {id(l): len(l._inbound_nodes) for l in self._stack}
        x = inputs
        try:
            # Keras builds the layers inside the model's name scope: variables are created with
            # their final paths ("sequential/dense/kernel"), which a distribution's LayoutMap and
            # a DTypePolicyMap are keyed by.
            with name_scope(self.name, caller=self):
                for layer in self._stack:
                    x = layer(x)
                    if len(tree.flatten(x)) != 1:
                        raise ValueError(
                            "All layers in a Sequential model should have a single output tensor. "
                            "For multi-output layers, use the functional API. Layer "
                            f"'{layer.name}' returned {len(tree.flatten(x))} outputs."
                        )
        except Exception:
            for l in self._stack:
                del l._inbound_nodes[before[id(l)]:]
            raise
        made = [n for l in self._stack for n in l._inbound_nodes[before[id(l)]:]]
        self._graph_nodes = made
        self._graph = (inputs, x)
        self.built = True
        self._refresh_paths()

    def build(self, input_shape=None):
        """Build the model for ``input_shape`` (batch dimension included)."""
        if input_shape is None:
            if self._graph is None:
                raise ValueError("You must provide an `input_shape` argument.")
            return
        if self._input_layer is None:
            input_shape = tuple(input_shape)
            self._set_input_layer(InputLayer(batch_shape=input_shape))
        self._maybe_rebuild()

    def __call__(self, *args, **kwargs):
        if not self.built and args and not symbolic.any_symbolic(args[0]):
            x = args[0]
            if isinstance(x, torch.Tensor) or hasattr(x, "shape"):
                self._build_from_data(x)
        return super().__call__(*args, **kwargs)

    def _maybe_build(self, inputs):
        if not self.built:
            self._build_from_data(tree.flatten(inputs)[0])

    def _build_from_data(self, x):
        if self._input_layer is None and is_string_array(x):
            # String data has no torch dtype to infer the input from: declare a string input.
            self._set_input_layer(InputLayer(batch_shape=tuple(x.shape), dtype="string"))
            self._maybe_rebuild()
        else:
            self.build(tuple(x.shape))

    def call(self, inputs, training=None, mask=None):
        if self._symbolic_plan is not None:
            from lamina.models.functional_losses import sequential_call

            return sequential_call(self, inputs, mask)
        x = inputs
        if mask is not None and isinstance(x, torch.Tensor):
            x._keras_mask = mask
        for layer in self._stack:
            x = layer(x)
        return x

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        x = args[0]
        for layer in self._stack:
            x = layer(x)
        return symbolic.KerasTensor(x.shape, dtype=x.dtype)

    def compute_output_shape(self, input_shape):
        x = symbolic.KerasTensor(input_shape, dtype=self.compute_dtype)
        return self._symbolic_outputs((x,), {}, True).shape

    @property
    def inputs(self):
        return [self._graph[0]] if self._graph else None

    @property
    def outputs(self):
        return [self._graph[1]] if self._graph else None

    @property
    def input(self):
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input yet: build it first.")
        return self._graph[0]

    @property
    def output(self):
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output yet: build it first.")
        return self._graph[1]

    @property
    def input_shape(self):
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._graph[0].shape

    @property
    def output_shape(self):
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined output shape yet.")
        return self._graph[1].shape

    @property
    def _nodes(self):
        input_node = [self._input_layer._inbound_nodes[0]] if self._input_layer is not None else []
        return input_node + list(self._graph_nodes)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class predictions for ``x`` (Keras 2's ``Sequential.predict_classes``).

        Args:
            x: Input data, as ``predict`` takes it.
            batch_size: Number of samples per batch.
            verbose: Verbosity mode, 0 or 1.

        Returns:
            A numpy array: the arg-max over the last axis of the predictions, or, for a single
            output unit, ``int32`` 0/1 from thresholding at 0.5.

        Example:

        >>> model.predict_classes(x_test)
        array([3, 1, 0, ...])
        """
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Class probabilities for ``x`` (Keras 2's ``Sequential.predict_proba``).

        The same as ``predict``, with a warning when the outputs are not in ``[0, 1]`` (the last
        layer then does not normalize, as softmax or sigmoid would).

        Args:
            x: Input data, as ``predict`` takes it.
            batch_size: Number of samples per batch.
            verbose: Verbosity mode, 0 or 1.

        Returns:
            A numpy array of predictions.
        """
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.min() < 0.0 or probabilities.max() > 1.0:
            warnings.warn(
                "Network returning invalid probability values. The last layer might not normalize "
                "predictions into probabilities (like softmax or sigmoid would).",
                stacklevel=2,
            )
        return probabilities

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_build_config(self):
        if self._graph is None:
            return None
        return {"input_shape": self._graph[0].shape}

    def get_config(self):
        layer_configs = []
        if self._input_layer is not None:
            layer_configs.append(serialization_lib.serialize_keras_object(self._input_layer))
        for layer in self._stack:
            layer_configs.append(serialization_lib.serialize_keras_object(layer))
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": serialization_lib.serialize_keras_object(self.dtype_policy),
            "layers": layer_configs,
        }
        if self._graph is not None:
            config["build_input_shape"] = self._graph[0].shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.layers import deserialize as deserialize_layer

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(deserialize_layer(layer_config, custom_objects=custom_objects), rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model


def _known_input_shape(layer):
    """The batch input shape a first layer declares (``input_shape=``, or a built nested model)."""
    if layer._batch_input_shape is not None:
        return layer._batch_input_shape
    inputs = getattr(layer, "inputs", None) if isinstance(layer, Model) else None
    if inputs and len(inputs) == 1:
        return inputs[0].shape
    return None
