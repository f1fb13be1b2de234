"""``Function``: a graph of operations from symbolic inputs to outputs, run on new inputs.

Like a functional model without the ``Layer`` API: no weights of its own, no training. The graph is
walked once at construction into the list of nodes in execution order.
"""

from lamina.backend import symbolic
from lamina.layers.operation import Operation
from lamina.utils import tree


def _graph_nodes(inputs, outputs):
    """Nodes from ``inputs`` to ``outputs`` in execution order; fails on a disconnected graph."""
    input_ids = {id(t) for t in inputs}
    order, done = [], set()

    def visit(tensor, path):
        if id(tensor) in input_ids:
            return
        history = tensor._keras_history
        if history is None:
            raise ValueError(
                f"Graph disconnected: cannot find parent for tensor {tensor}. It is neither one of "
                "the `inputs` nor computed from them."
            )
        operation, node_index, _ = history
        node = operation._inbound_nodes[node_index]
        if id(node) in done:
            return
        if id(node) in path:
            raise ValueError(f"The graph has a cycle through operation '{operation.name}'.")
        path.add(id(node))
        for parent in node.input_tensors:
            visit(parent, path)
        path.discard(id(node))
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t, set())
    return order


class Function(Operation):
    """A computation graph of operations, re-applied to new inputs.

    Args:
        inputs: A ``KerasTensor`` or a nested structure of them.
        outputs: A ``KerasTensor`` or a nested structure of them, computed from ``inputs``.
        name: Name of the function.

    Example:

    >>> input_1 = lamina.KerasTensor(shape=(None, 2, 3))
    >>> input_2 = lamina.KerasTensor(shape=(None, 2, 3))
    >>> output = lamina.ops.sigmoid(input_1 + input_2)
    >>> fn = lamina.Function(inputs=[input_1, input_2], outputs=output)
    >>> fn([np.ones((4, 2, 3)), np.ones((4, 2, 3))]).shape
    torch.Size([4, 2, 3])
    """

    def __init__(self, inputs, outputs, name=None):
        super().__init__(name=name)
        self._inputs_struct = tree.map_structure(lambda x: x, inputs)
        self._outputs_struct = tree.map_structure(lambda x: x, outputs)
        self._inputs = tree.flatten(inputs)
        self._outputs = tree.flatten(outputs)
        for label, flat in (("inputs", self._inputs), ("outputs", self._outputs)):
            if not flat:
                raise ValueError(
                    f"`{label}` argument cannot be empty. Received:\ninputs={inputs}\n"
                    f"outputs={outputs}"
                )
        for t in self._inputs + self._outputs:
            if not symbolic.is_keras_tensor(t):
                raise ValueError(
                    f"All `inputs` and `outputs` of a Function must be KerasTensors. Received: {t!r}"
                )
        self._nodes = _graph_nodes(self._inputs, self._outputs)
        self._operations = []
        for node in self._nodes:
            if not any(node.layer is op for op in self._operations):
                self._operations.append(node.layer)

    @property
    def operations(self):
        """The operations of the graph, in execution order."""
        return self._operations[:]

    @property
    def inputs(self):
        """Flat list of the symbolic inputs."""
        return self._inputs

    @property
    def outputs(self):
        """Flat list of the symbolic outputs."""
        return self._outputs

    def call(self, inputs):
        """Run the graph on ``inputs`` (laid out like the ``inputs`` given at construction)."""
        flat = tree.flatten(inputs)
        if len(flat) != len(self._inputs):
            raise ValueError(
                f"Function '{self.name}' expects {len(self._inputs)} input(s) laid out like "
                f"{self._inputs_struct}, but received {len(flat)}: {inputs!r}"
            )
        values = {id(t): v for t, v in zip(self._inputs, flat)}

        def resolve(x):
            return values[id(x)] if symbolic.is_keras_tensor(x) else x

        for node in self._nodes:
            args = tree.map_structure(resolve, node.call_args)
            kwargs = tree.map_structure(resolve, node.call_kwargs)
            result = node.layer(*args, **kwargs)
            for t, value in zip(tree.flatten(node.outputs), tree.flatten(result)):
                if symbolic.is_keras_tensor(t):
                    values[id(t)] = value
        return tree.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self._outputs])

    def __call__(self, inputs):
        return super().__call__(inputs)
