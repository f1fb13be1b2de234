"""Keras 2 module path ``keras.layers.wrappers``: ``Wrapper``, ``TimeDistributed`` and
``Bidirectional``."""

from lamina.layers.core.wrapper import Wrapper
from lamina.layers.recurrent import Bidirectional, TimeDistributed

__all__ = ["Bidirectional", "TimeDistributed", "Wrapper"]
