"""What the layers and models install into the Keras 2 ``K.*`` functions, which sit floors below
them (DESIGN.md): ``K.placeholder``, ``K.to_dense`` and ``K.function`` build an ``Input``, a
``Lambda`` layer and a ``Model``. The public namespace installs them when it loads
(lamina/__init__.py).
"""

_GRAPH_BUILDERS = {}


def set_graph_builders(input, lambda_layer, model):
    """Install the ``Input`` function and the ``Lambda`` and ``Model`` classes."""
    _GRAPH_BUILDERS.update(input=input, lambda_layer=lambda_layer, model=model)


def set_graph_builder(name, builder):
    """Install one more builder under ``name`` (``"gradients"``: ``K.gradients`` on symbolic
    tensors, a graph node in the models floor)."""
    _GRAPH_BUILDERS[name] = builder


def graph_builder(name):
    """The installed ``"input"``, ``"lambda_layer"``, ``"model"`` or ``"gradients"``."""
    if name not in _GRAPH_BUILDERS:
        raise RuntimeError("The Keras 2 graph functions build layers and models: `import lamina` first.")
    return _GRAPH_BUILDERS[name]
