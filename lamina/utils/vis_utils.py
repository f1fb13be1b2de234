"""Keras 2 module path ``keras.utils.vis_utils``: ``plot_model`` and ``model_to_dot`` live in
``lamina.utils.model_visualization`` (``keras.utils.plot_model`` in Keras 3)."""

from lamina.utils.model_visualization import model_to_dot, plot_model

__all__ = ["model_to_dot", "plot_model"]
