"""``lamina.callbacks`` (mirrors ``keras.callbacks``)."""

from lamina.callbacks.callback import Callback, CallbackList
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger
