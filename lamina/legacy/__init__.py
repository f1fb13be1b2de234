"""``lamina.legacy`` (mirrors ``keras.legacy``)."""

from lamina.legacy import saving
