"""The Keras 2 node API of layers: ``input``, ``output``, ``get_input_at(i)``, shapes and masks.

A layer called on symbolic tensors records one inbound node per call (``layer._inbound_nodes``);
these read them back.
"""

from lamina.layers._shape_specs import unwrap_single
from lamina.utils import tree


class NodeAPI:
    """Mixin of `Layer`: the node accessors (``input``, ``output_shape``, ``get_output_at``...)."""

    def _single_node(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called and thus has no defined {attr}."
            )
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer '{self.name}' has multiple inbound nodes, hence the notion of \"layer {attr}\" "
                f"is ill-defined. Use `get_{attr.replace(' ', '_')}_at(node_index)` instead."
            )
        return self._inbound_nodes[0]

    def _node_at(self, node_index, attr):
        if not self._inbound_nodes:
            raise RuntimeError(f"Layer '{self.name}' has never been called and has no {attr}.")
        if not 0 <= node_index < len(self._inbound_nodes):
            raise ValueError(
                f"Asked to get {attr} at node {node_index}, but layer '{self.name}' has only "
                f"{len(self._inbound_nodes)} inbound nodes."
            )
        return self._inbound_nodes[node_index]

    @property
    def input(self):
        return self._single_node("input")._primary_input()

    @property
    def output(self):
        return unwrap_single(self._single_node("output").outputs)

    @property
    def input_shape(self):
        if not self._inbound_nodes and self._batch_input_shape is not None:
            return self._batch_input_shape
        return self._single_node("input shape").input_shapes

    @property
    def output_shape(self):
        return unwrap_single(self._single_node("output shape").output_shapes)

    def get_input_at(self, node_index):
        return self._node_at(node_index, "input")._primary_input()

    def get_output_at(self, node_index):
        return unwrap_single(self._node_at(node_index, "output").outputs)

    def get_input_shape_at(self, node_index):
        return self._node_at(node_index, "input shape").input_shapes

    def get_output_shape_at(self, node_index):
        return unwrap_single(self._node_at(node_index, "output shape").output_shapes)

    def get_input_mask_at(self, node_index):
        x = self.get_input_at(node_index)
        return tree.map_structure(lambda t: getattr(t, "_keras_mask", None), x)

    def get_output_mask_at(self, node_index):
        x = self.get_output_at(node_index)
        return tree.map_structure(lambda t: getattr(t, "_keras_mask", None), x)

    @property
    def input_mask(self):
        return self.get_input_mask_at(0) if len(self._inbound_nodes) == 1 else self._single_node("input mask")

    @property
    def output_mask(self):
        return self.get_output_mask_at(0) if len(self._inbound_nodes) == 1 else self._single_node("output mask")
