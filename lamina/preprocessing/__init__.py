"""Data preprocessing (``keras.preprocessing``).

Keras 3's names (``image_dataset_from_directory``, ``text_dataset_from_directory``,
``timeseries_dataset_from_array``) come from ``lamina.utils``; the Keras 2 modules ``image``,
``sequence`` and ``text`` hold ``ImageDataGenerator``, ``TimeseriesGenerator``, ``Tokenizer`` and
their helpers.
"""

from lamina.preprocessing import image, sequence, text

# Defined in lamina.utils; looked up on first use.
_FROM_UTILS = (
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
)


def __getattr__(name):
    if name in _FROM_UTILS:
        import lamina.utils

        try:
            return getattr(lamina.utils, name)
        except AttributeError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    names = set(globals()) | {n for n in _FROM_UTILS if _utils_has(n)}
    return sorted(names)


def _utils_has(name):
    import lamina.utils

    return hasattr(lamina.utils, name)
